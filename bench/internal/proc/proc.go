// Package proc starts a retrain binary as a child process and watches it, for the
// benchmark harness and the reliability tests alike: it waits for the "retrain listening"
// log line to learn the addresses, keeps stderr for error reports, and records the exit.
package proc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Buffer is a bytes.Buffer safe for one writer goroutine and concurrent readers.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Proc is a running retrain process.
type Proc struct {
	// Cmd is the started command.
	Cmd *exec.Cmd
	// GRPCAddr and HTTPAddr are where it listens ("" for a component it does not run).
	GRPCAddr, HTTPAddr string
	// Stderr holds everything the process logged.
	Stderr *Buffer
	// Exited is closed once the process has exited; ExitErr is then its exit error.
	Exited  chan struct{}
	ExitErr error
}

// Start runs bin with args (which must include --log-format json) and waits up to
// timeout for it to log where it listens. On failure the process is killed.
func Start(bin string, args []string, timeout time.Duration) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	pr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, Stderr: &Buffer{}, Exited: make(chan struct{})}
	found := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = p.Stderr.Write(append(append([]byte(nil), line...), '\n'))
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == "retrain listening" {
				select {
				case found <- m:
				default:
				}
			}
		}
		p.ExitErr = cmd.Wait()
		close(p.Exited)
	}()
	select {
	case m := <-found:
		p.GRPCAddr, _ = m["grpc_addr"].(string)
		p.HTTPAddr, _ = m["http_addr"].(string)
		return p, nil
	case <-p.Exited:
		return nil, fmt.Errorf("exited before listening: %v\n%s", p.ExitErr, p.Stderr.String())
	case <-time.After(timeout):
		p.Kill()
		return nil, fmt.Errorf("did not start within %v:\n%s", timeout, p.Stderr.String())
	}
}

// PID is the process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	select {
	case <-p.Exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.Exited
}

// Stop sends SIGTERM and waits up to timeout for the exit, killing the process after
// that. It returns the exit error, or an error saying it had to kill.
func (p *Proc) Stop(timeout time.Duration) error {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited:
		return p.ExitErr
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("no exit %v after SIGTERM", timeout)
	}
}

// RSS is the resident set size of the process in bytes.
func (p *Proc) RSS() (int64, error) { return RSS(p.PID()) }

// RSS reads the resident set size of pid from /proc.
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// Bearer is gRPC per-RPC credentials carrying a fixed token over plaintext loopback.
type Bearer string

// GetRequestMetadata adds the Authorization metadata.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity allows plaintext: the tests and the harness run on loopback.
func (Bearer) RequireTransportSecurity() bool { return false }
