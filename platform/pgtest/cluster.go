package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotInstalled is returned by Start when PostgreSQL's server programs are not found.
var ErrNotInstalled = errors.New("PostgreSQL's initdb was not found")

// BinDirEnv names a directory holding initdb and postgres, overriding the search.
const BinDirEnv = "RETRAIN_PG_BINDIR"

// dirPrefix names the temporary directories of servers, so stale ones can be found.
const dirPrefix = "retrain-pgtest-"

// Cluster is a running throwaway PostgreSQL server: trust authentication for the
// superuser postgres on 127.0.0.1 only, durability off (fsync, full-page writes,
// synchronous commit) because nothing in it outlives the tests.
type Cluster struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	admin  *pgxpool.Pool
	seq    atomic.Int64
}

// BinDir returns the directory of PostgreSQL's server programs: $RETRAIN_PG_BINDIR, the
// directory of initdb on PATH, or the newest /usr/lib/postgresql/<version>/bin (Debian and
// Ubuntu keep them off PATH). The error wraps ErrNotInstalled.
func BinDir() (string, error) {
	if d := os.Getenv(BinDirEnv); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("%w in %s=%s", ErrNotInstalled, BinDirEnv, d)
		}
		return d, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(matches, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", fmt.Errorf("%w (looked on PATH and in /usr/lib/postgresql/*/bin)", ErrNotInstalled)
}

// pgVersion is the major version in /usr/lib/postgresql/<version>/bin/initdb, or 0.
func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Start initialises a cluster in a new temporary directory and starts its server on a
// free port of 127.0.0.1, returning once it accepts connections. As root it runs the
// server as the user postgres, since PostgreSQL refuses to run as root. The server dies
// with the calling process; call Stop to stop it and remove its directory.
func Start(ctx context.Context) (c *Cluster, err error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	sweepStale()
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("give the server its directory: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = sysProcAttr(cred, false)
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// A port found free can be taken before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		c, err = startServer(ctx, bin, dir, cred)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return c, err
		}
	}
}

var errPortTaken = errors.New("port taken")

// startServer starts postgres on a free port and waits until it answers.
func startServer(ctx context.Context, bin, dir string, cred *syscall.Credential) (*Cluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "synchronous_commit=off",
		"-c", "max_connections=200",
		"-c", "log_min_messages=warning",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(cred, true)
	c := &Cluster{dir: dir, port: port, cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the child ends, so
		// that thread is kept, locked to this goroutine, for as long as the server runs.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := c.waitReady(ctx); err != nil {
		c.kill()
		out, _ := os.ReadFile(logPath)
		if bytes.Contains(out, []byte("could not bind")) || bytes.Contains(out, []byte("already in use")) {
			return nil, fmt.Errorf("%w: %d", errPortTaken, port)
		}
		return nil, fmt.Errorf("postgres did not start: %w\n%s", err, out)
	}
	return c, nil
}

// waitReady polls until the server accepts a connection, it exits, or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(c.URL("postgres") + "&pool_max_conns=4")
	if err != nil {
		return err
	}
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			c.admin, err = pgxpool.NewWithConfig(context.Background(), cfg)
			return err
		}
		select {
		case <-c.exited:
			return errors.New("the server exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL is the connection URL of database name on the server.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// CreateDatabase creates an empty database named after label (a test name, say) and
// returns its name.
func (c *Cluster) CreateDatabase(ctx context.Context, label string) (string, error) {
	name := databaseName(c.seq.Add(1), label)
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, nil
}

// DropDatabase drops database name, closing any connection still open to it.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if _, err := c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and removes its
// directory.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	var err error
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			err = errors.New("the server did not stop within 15s; killed")
			c.kill()
		}
	}
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	return err
}

// kill stops the server at once (immediate shutdown) and waits for it.
func (c *Cluster) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// serverUser is the user the server runs as: nil (this process's) unless this process
// is root, which PostgreSQL refuses, and then postgres.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the user postgres to run as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres has uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sweepStale removes the directories of servers whose test process died without stopping
// them (its server died with it), such as after a panic or a test timeout.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		if alive(filepath.Join(dir, "owner.pid")) || alive(filepath.Join(dir, "data", "postmaster.pid")) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// alive reports whether the process whose id is on the first line of pidFile exists. A
// missing or unreadable file counts as dead, except that a directory whose owner.pid is
// not yet written is left to the process creating it (it is younger than a minute).
func alive(pidFile string) bool {
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(pidFile, "owner.pid") {
			if fi, err := os.Stat(filepath.Dir(pidFile)); err == nil && time.Since(fi.ModTime()) < time.Minute {
				return true
			}
		}
		return false
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	return processAlive(pid)
}

// processAlive reports whether process pid exists and is not a zombie (an orphan's exit
// is reaped late where PID 1 is not an init, as in some containers).
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
