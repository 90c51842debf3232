package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// helperEnv selects what TestHelperProcess does when the test binary runs itself.
const helperEnv = "PGTEST_HELPER"

// TestHelperProcess is not a test: the tests below run the test binary again to exercise
// it in a process of its own.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("helper process only")
	case "url":
		_ = URL(t)
		fmt.Println("HELPER GOT A DATABASE")
	case "panic":
		conn, err := pgx.Connect(context.Background(), URL(t))
		if err != nil {
			t.Fatal(err)
		}
		var dataDir string
		if err := conn.QueryRow(context.Background(), "SHOW data_directory").Scan(&dataDir); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("DATADIR=%s\n", dataDir)
		panic("a test panics with the server running")
	}
}

func runHelper(t *testing.T, mode string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestURL(t *testing.T) {
	ctx := context.Background()
	var names []string
	for i := range 2 {
		url := URL(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect to %s: %v", url, err)
		}
		var name string
		var tables int
		err = conn.QueryRow(ctx, "SELECT current_database(), (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')").Scan(&name, &tables)
		_ = conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("database %d has %d tables, want a fresh one", i, tables)
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Errorf("two URL calls gave the same database %s", names[0])
	}
	// The databases are dropped when the test ends.
	var created string
	t.Run("dropped after the test", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, URL(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&created); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(ctx) // left open would not matter: the drop forces it closed
	})
	conn, err := pgx.Connect(ctx, URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", created).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s of a finished subtest still exists", created)
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct {
		seq  int64
		test string
		want string
	}{
		{1, "TestStore/Put", "t1_teststore_put"},
		{12, "TestÄpfel#01", "t12_test_pfel_01"},
		{3, strings.Repeat("Long", 30), "t3_" + strings.Repeat("long", 15)},
	}
	for _, tt := range tests {
		got := databaseName(tt.seq, tt.test)
		if got != tt.want || len(got) > 63 {
			t.Errorf("databaseName(%d, %q) = %q, want %q", tt.seq, tt.test, got, tt.want)
		}
	}
}

func TestMissingPostgres(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("in a helper process")
	}
	notThere := BinDirEnv + "=" + filepath.Join(t.TempDir(), "no-postgres-here")
	tests := []struct {
		name     string
		require  string
		wantFail bool
		wantOut  string
	}{
		{name: "skips, saying why", require: "", wantFail: false, wantOut: "pgtest: SKIPPED, PostgreSQL tests need PostgreSQL"},
		{name: "fails when required", require: "1", wantFail: true, wantOut: RequireEnv + "=1, so this fails instead of skipping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runHelper(t, "url", notThere, RequireEnv+"="+tt.require)
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("helper failed = %v (%v), want %v; output:\n%s", failed, err, tt.wantFail, out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("helper output lacks %q:\n%s", tt.wantOut, out)
			}
			if strings.Contains(out, "HELPER GOT A DATABASE") {
				t.Errorf("helper got a database without PostgreSQL:\n%s", out)
			}
		})
	}
}

// A test process that dies takes its server with it, and the next one removes the
// directory left behind.
func TestServerDiesWithTestProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("in a helper process")
	}
	if _, err := BinDir(); err != nil {
		t.Skipf("needs PostgreSQL: %v", err)
	}
	out, err := runHelper(t, "panic")
	if err == nil || !strings.Contains(out, "a test panics with the server running") {
		t.Fatalf("helper did not panic (err %v):\n%s", err, out)
	}
	_, after, ok := strings.Cut(out, "DATADIR=")
	if !ok {
		t.Fatalf("helper printed no data directory:\n%s", out)
	}
	dataDir, _, _ := strings.Cut(after, "\n")
	dir := filepath.Dir(dataDir)
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		// The server already removed its pid file on the way down.
		raw = nil
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
		deadline := time.Now().Add(30 * time.Second)
		for processAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if processAlive(pid) {
			t.Fatalf("postgres (pid %d) outlived its test process", pid)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the dead process's directory %s is gone already (%v): nothing left to sweep", dir, err)
	}
	sweepStale()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s of a dead test process survived the sweep (stat: %v)", dir, err)
		_ = os.RemoveAll(dir)
	}
}
