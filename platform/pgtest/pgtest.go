// Package pgtest runs a throwaway PostgreSQL server for tests: one per test process,
// started on first use on a free port of 127.0.0.1 in a temporary directory, with a fresh
// database for each test, and stopped and removed when the tests end.
//
// A package opts in with
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and each test calls pgtest.URL(t) for a database of its own. Where PostgreSQL's server
// (initdb) is not installed the tests that ask for it are skipped, saying so, unless the
// environment sets RETRAIN_REQUIRE_POSTGRES=1 (CI does), where they fail instead.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing PostgreSQL from a skip into
// a failure, so that CI cannot pass by skipping.
const RequireEnv = "RETRAIN_REQUIRE_POSTGRES"

// process is the test process's server. A package-level variable is the one way
// TestMain and the tests of a process can share it, as testing.M itself is shared; it is
// only ever touched under mu.
var process struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	cluster *Cluster
	err     error
}

// Main runs the tests of a package and then stops the server if any test started one. Call
// it from TestMain; it does not return. If the process dies instead (a panicking test,
// the test timeout) the server is killed with it, and its directory is removed by the
// next process that starts one.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	process.mu.Lock()
	process.inMain = true
	process.mu.Unlock()
	defer func() {
		process.mu.Lock()
		c := process.cluster
		process.cluster = nil
		process.mu.Unlock()
		if c == nil {
			return
		}
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stopping PostgreSQL:", err)
			if code == 0 {
				code = 1
			}
		}
	}()
	return m.Run()
}

// URL returns the connection URL of a new, empty database for this test, dropped when the
// test ends. It starts the process's server on first use. It skips the test when
// PostgreSQL is not installed, or fails it when RETRAIN_REQUIRE_POSTGRES=1.
func URL(t testing.TB) string {
	t.Helper()
	c := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := c.CreateDatabase(ctx, t.Name())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c.URL(name)
}

// shared returns the process's server, starting it if needed.
func shared(t testing.TB) *Cluster {
	t.Helper()
	process.mu.Lock()
	defer process.mu.Unlock()
	if !process.inMain {
		t.Fatal("pgtest: the package needs func TestMain(m *testing.M) { pgtest.Main(m) } so that the server is stopped after its tests")
	}
	if !process.started {
		process.started = true
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		process.cluster, process.err = Start(ctx)
		cancel()
	}
	if err := process.err; err != nil {
		if errors.Is(err, ErrNotInstalled) {
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("pgtest: %v; %s=1, so this fails instead of skipping (install it with: make deps)", err, RequireEnv)
			}
			t.Skipf("pgtest: SKIPPED, PostgreSQL tests need PostgreSQL: %v (install it with: make deps; set %s=1 to fail instead of skipping)", err, RequireEnv)
		}
		t.Fatalf("pgtest: %v", err)
	}
	return process.cluster
}

// databaseName makes a database name from a test name: lower case, [a-z0-9_], unique by
// its sequence number, at most 63 bytes.
func databaseName(seq int64, testName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t%d_", seq)
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 63 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
