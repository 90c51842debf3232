// Package reliability runs the all-in-one binary as a real process and abuses it: held
// load, kill -9 during writes, restarts on the same data directory. `make test` runs the
// short form; `make soak` (RETRAIN_SOAK=1) the full length.
package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xproc "github.com/nrs-pilots/retrain/bench/internal/proc"
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

// proc is a running retrain process, with the test helpers below.
type proc struct{ *xproc.Proc }

// start runs retrain on 127.0.0.1:0 with dataDir and waits for it to listen.
func start(t *testing.T, dataDir string, args ...string) *proc {
	t.Helper()
	return startBinary(t, binary, dataDir, args...)
}

// startBinary is start for another binary with the same flags (the per-service ones).
func startBinary(t *testing.T, binary, dataDir string, args ...string) *proc {
	t.Helper()
	all := append([]string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json", "--rate-limits", testRates}, args...)
	p, err := xproc.Start(binary, all, 60*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(binary), err)
	}
	t.Cleanup(p.Kill)
	return &proc{p}
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
type bearer = xproc.Bearer

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() { p.Kill() }

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, p.Stderr.String())
	}
}

// rss is the resident set size of the process in bytes.
func (p *proc) rss(t *testing.T) int64 {
	t.Helper()
	n, err := p.RSS()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
