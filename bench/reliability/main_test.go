// Package reliability runs the all-in-one binary as a real process and abuses it: held
// load, kill -9 during writes, restarts on the same data directory. `make test` runs the
// short form; `make soak` (RETRAIN_SOAK=1) the full length.
package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the retrain binary built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "retrain-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "retrain")
	build := exec.Command("go", "build", "-o", binary, "github.com/nrs-pilots/retrain/cmd/retrain")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build retrain:", err)
		return 1
	}
	return m.Run()
}

// soak reports whether the full-length form was asked for.
func soak() bool { return os.Getenv("RETRAIN_SOAK") == "1" }

// proc is a running retrain process.
type proc struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
	stderr   *syncBuffer
	exited   chan struct{}
	exitErr  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs retrain on 127.0.0.1:0 with dataDir and waits for it to listen.
func start(t *testing.T, dataDir string, args ...string) *proc {
	t.Helper()
	return startBinary(t, binary, dataDir, args...)
}

// startBinary is start for another binary with the same flags (the per-service ones).
func startBinary(t *testing.T, binary, dataDir string, args ...string) *proc {
	t.Helper()
	all := append([]string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json", "--rate-limits", testRates}, args...)
	cmd := exec.Command(binary, all...)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	found := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = p.stderr.Write(append(append([]byte(nil), line...), '\n'))
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == "retrain listening" {
				select {
				case found <- m:
				default:
				}
			}
		}
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case m := <-found:
		p.grpcAddr, _ = m["grpc_addr"].(string)
		p.httpAddr, _ = m["http_addr"].(string)
	case <-p.exited:
		t.Fatalf("retrain exited before listening: %v\n%s", p.exitErr, p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("retrain did not start within 60s:\n%s", p.stderr.String())
	}
	return p
}

// testRates lifts the per-caller rate limits: these tests measure the service, not the
// limiter.
const testRates = "frontend=1000000:1000000,adviser=1000000:1000000,lep=1000000:1000000,evaluator=1000000:1000000,admin=1000000:1000000,service=1000000:1000000"

// token runs `retrain token` against dataDir and returns the token.
func token(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"token", "--data-dir", dataDir}, args...)...).Output()
	if err != nil {
		t.Fatalf("retrain token %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// bearer is per-RPC credentials with a fixed token over plaintext loopback.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", p.exitErr, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("no exit 30s after SIGTERM")
		p.kill()
	}
}

// rss is the resident set size of the process in bytes.
func (p *proc) rss(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
