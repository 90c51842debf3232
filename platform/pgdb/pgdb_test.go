package pgdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/pgdb"
	"github.com/nrs-pilots/retrain/platform/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConfig(t *testing.T) {
	const url = "postgres://svc:s3cret-pw@db.internal:5432/retrain?sslmode=verify-full"
	tests := []struct {
		name    string
		url     string
		opts    pgdb.Options
		wantErr string
		check   func(t *testing.T, params map[string]string, maxConns, minConns int32, dial time.Duration)
	}{
		{
			name: "defaults",
			url:  url,
			opts: pgdb.Options{Schema: "eligibility"},
			check: func(t *testing.T, p map[string]string, maxConns, minConns int32, dial time.Duration) {
				if p["search_path"] != `"eligibility"` {
					t.Errorf("search_path = %q, want %q", p["search_path"], `"eligibility"`)
				}
				if p["application_name"] != "retrain-eligibility" {
					t.Errorf("application_name = %q, want retrain-eligibility", p["application_name"])
				}
				if _, ok := p["statement_timeout"]; ok {
					t.Errorf("statement_timeout set without being asked for")
				}
				if dial != 5*time.Second {
					t.Errorf("dial timeout = %v, want 5s", dial)
				}
			},
		},
		{
			name: "options override",
			url:  url + "&pool_max_conns=50&application_name=from-url&connect_timeout=2",
			opts: pgdb.Options{Schema: "courses", ApplicationName: "courses-7f9c", MaxConns: 12, MinConns: 2, StatementTimeout: 1500 * time.Millisecond},
			check: func(t *testing.T, p map[string]string, maxConns, minConns int32, dial time.Duration) {
				if maxConns != 12 || minConns != 2 {
					t.Errorf("pool = %d..%d conns, want 2..12", minConns, maxConns)
				}
				if p["application_name"] != "courses-7f9c" {
					t.Errorf("application_name = %q, want courses-7f9c", p["application_name"])
				}
				if p["statement_timeout"] != "1500" {
					t.Errorf("statement_timeout = %q, want 1500", p["statement_timeout"])
				}
				if dial != 2*time.Second {
					t.Errorf("dial timeout = %v, want the URL's 2s", dial)
				}
			},
		},
		{
			name: "url pool settings kept when options are zero",
			url:  url + "&pool_max_conns=7&pool_min_conns=3&application_name=ops-chosen",
			opts: pgdb.Options{Schema: "outreach"},
			check: func(t *testing.T, p map[string]string, maxConns, minConns int32, _ time.Duration) {
				if maxConns != 7 || minConns != 3 {
					t.Errorf("pool = %d..%d conns, want 3..7 from the URL", minConns, maxConns)
				}
				if p["application_name"] != "ops-chosen" {
					t.Errorf("application_name = %q, want the URL's", p["application_name"])
				}
			},
		},
		{name: "missing schema", url: url, opts: pgdb.Options{}, wantErr: "schema must be"},
		{name: "upper-case schema", url: url, opts: pgdb.Options{Schema: "Eligibility"}, wantErr: "schema must be"},
		{name: "injection in schema", url: url, opts: pgdb.Options{Schema: `x"; DROP SCHEMA public; --`}, wantErr: "schema must be"},
		{name: "reserved pg_ prefix", url: url, opts: pgdb.Options{Schema: "pg_temp"}, wantErr: "schema must be"},
		{name: "schema too long", url: url, opts: pgdb.Options{Schema: strings.Repeat("a", 64)}, wantErr: "schema must be"},
		{name: "min above max", url: url, opts: pgdb.Options{Schema: "a", MinConns: 5, MaxConns: 2}, wantErr: "pool size"},
		{name: "negative timeout", url: url, opts: pgdb.Options{Schema: "a", ConnectTimeout: -time.Second}, wantErr: "negative"},
		{name: "bad url", url: "postgres://svc:s3cret-pw@db.internal:notaport/retrain", opts: pgdb.Options{Schema: "a"}, wantErr: "database url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := pgdb.Config(tt.url, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Config() error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret-pw") {
					t.Errorf("Config() error %q reveals the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Config() error = %v", err)
			}
			if cfg.MaxConnLifetimeJitter <= 0 {
				t.Errorf("MaxConnLifetimeJitter = %v, want some jitter", cfg.MaxConnLifetimeJitter)
			}
			tt.check(t, cfg.ConnConfig.RuntimeParams, cfg.MaxConns, cfg.MinConns, cfg.ConnConfig.ConnectTimeout)
		})
	}
}

func TestValidSchema(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"eligibility", true}, {"_private", true}, {"outreach_v2", true}, {strings.Repeat("s", 63), true},
		{"", false}, {"1st", false}, {"pg_catalog", false}, {"with-dash", false}, {"Mixed", false}, {"a b", false},
	}
	for _, tt := range tests {
		err := pgdb.ValidSchema(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidSchema(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, pgdb.ErrBadSchema) {
			t.Errorf("ValidSchema(%q) = %v, want ErrBadSchema", tt.name, err)
		}
	}
}

func TestOpen(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, url, pgdb.Options{Schema: "eligibility", MaxConns: 3, StatementTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(pool.Close)
	// Every connection of the pool, not just the first, gets the settings.
	for i := range 3 {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire() error = %v", err)
		}
		defer conn.Release()
		var searchPath, app, timeout string
		if err := conn.QueryRow(ctx, "SELECT current_setting('search_path'), current_setting('application_name'), current_setting('statement_timeout')").Scan(&searchPath, &app, &timeout); err != nil {
			t.Fatalf("read settings: %v", err)
		}
		if searchPath != `"eligibility"` || app != "retrain-eligibility" || timeout != "2s" {
			t.Errorf("connection %d: search_path=%q application_name=%q statement_timeout=%q, want \"eligibility\", retrain-eligibility, 2s", i, searchPath, app, timeout)
		}
	}
}

func TestOpenFailures(t *testing.T) {
	url := pgtest.URL(t)
	missingDB := url[:strings.LastIndex(url, "/")] + "/no_such_database?sslmode=disable"
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		want    string
	}{
		// The server answers that the database does not exist: waiting will not help,
		// so Open fails at once rather than after its 30s default.
		{name: "missing database fails at once", url: missingDB, timeout: 0, want: "no_such_database"},
		// Nothing listens: Open retries until its deadline, then gives up.
		{name: "unreachable gives up at the deadline", url: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", timeout: 400 * time.Millisecond, want: "gave up after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pool, err := pgdb.Open(ctx, tt.url, pgdb.Options{Schema: "eligibility", ConnectTimeout: tt.timeout})
			if err == nil {
				pool.Close()
				t.Fatal("Open() succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open() error = %v, want one containing %q", err, tt.want)
			}
			if ctx.Err() != nil {
				t.Errorf("Open() returned only when the test's own deadline ended")
			}
		})
	}
}
