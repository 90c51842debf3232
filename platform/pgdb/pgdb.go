// Package pgdb opens the PostgreSQL connection pool of a service and applies its schema
// migrations. Each service owns one schema in a shared database: its pool puts that
// schema alone on every connection's search_path, and its migrations create it and record
// themselves in it, so services never see each other's tables.
//
// The SQL here also suits PostgreSQL-compatible engines such as CockroachDB: plain DDL and
// DML only, no PL/pgSQL, and transactions retried on serialization failures.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrBadSchema is returned for a schema name that is not a plain lower-case identifier.
var ErrBadSchema = errors.New("schema must be a lower-case identifier of at most 63 characters (a-z, 0-9, _), not starting with a digit or pg_")

// Options tunes a pool. Zero values keep what the connection URL says, or else pgx's
// defaults (at most max(4, CPUs) connections, none kept open, connections recycled after
// an hour or 30 idle minutes), which suit a service replica.
type Options struct {
	// Schema is the service's schema, the only one on the search_path of every connection.
	// Required; see ErrBadSchema for the allowed names.
	Schema string
	// ApplicationName is reported in pg_stat_activity (default "retrain-" + Schema).
	ApplicationName string
	// MaxConns bounds the pool. Size it so replicas x MaxConns stays below the server's
	// max_connections (or the pooler's limit).
	MaxConns int32
	// MinConns are kept open to absorb bursts without connection set-up.
	MinConns int32
	// ConnectTimeout bounds how long Open keeps trying to reach the database, so a
	// replica that starts just before its database (compose, a fresh cluster) waits for it
	// instead of failing at once, and one that can never reach it fails rather than hangs
	// (default 30s). Each attempt is bounded by the URL's connect_timeout, or 5s.
	ConnectTimeout time.Duration
	// StatementTimeout, when set, cancels any statement running longer on the server
	// (statement_timeout); migrations are exempt.
	StatementTimeout time.Duration
}

const (
	defaultConnectTimeout = 30 * time.Second
	defaultDialTimeout    = 5 * time.Second
	// lifetimeJitter spreads connection recycling so replicas started together do not all
	// reconnect in the same second.
	lifetimeJitter = 5 * time.Minute
)

var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidSchema reports whether name is acceptable as a service's schema.
func ValidSchema(name string) error {
	if !schemaPattern.MatchString(name) || len(name) >= 3 && name[:3] == "pg_" {
		return fmt.Errorf("%w: %q", ErrBadSchema, name)
	}
	return nil
}

// Config returns the pool configuration Open uses for url and opts, for callers that
// need to adjust it further (tracing hooks, say) before calling pgxpool.NewWithConfig.
// The error never contains the password.
func Config(url string, opts Options) (*pgxpool.Config, error) {
	if err := ValidSchema(opts.Schema); err != nil {
		return nil, err
	}
	if opts.MaxConns < 0 || opts.MinConns < 0 || opts.MaxConns > 0 && opts.MinConns > opts.MaxConns {
		return nil, fmt.Errorf("pool size: min %d and max %d connections are not 0 <= min <= max", opts.MinConns, opts.MaxConns)
	}
	if opts.ConnectTimeout < 0 || opts.StatementTimeout < 0 {
		return nil, errors.New("timeouts must not be negative")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn redacts the password from the connection string in its parse errors.
		return nil, fmt.Errorf("database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinConns > 0 {
		cfg.MinConns = opts.MinConns
	}
	if cfg.MinConns > cfg.MaxConns {
		return nil, fmt.Errorf("pool size: min %d connections above max %d", cfg.MinConns, cfg.MaxConns)
	}
	if cfg.MaxConnLifetimeJitter == 0 {
		cfg.MaxConnLifetimeJitter = lifetimeJitter
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = defaultDialTimeout
	}
	params := cfg.ConnConfig.RuntimeParams
	// Set in the startup message: no extra round trip per connection, and a pooler in
	// session mode keeps it. Only this schema: a service cannot reach another's tables
	// by an unqualified name, and pg_catalog is always searched first anyway.
	params["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	if opts.ApplicationName != "" {
		params["application_name"] = opts.ApplicationName
	} else if params["application_name"] == "" {
		params["application_name"] = "retrain-" + opts.Schema
	}
	if opts.StatementTimeout > 0 {
		params["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	return cfg, nil
}

// Open returns a pool for the service schema opts.Schema on the database at url
// (postgres://user:password@host:5432/db?sslmode=verify-full, or key=value form; pool_*
// parameters in the URL are honoured unless opts overrides them). It returns once one
// connection has been made and answered a ping, retrying refused or failed connections
// until opts.ConnectTimeout or ctx ends; wrong credentials or a missing database fail at
// once. The caller closes the pool.
func Open(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := Config(url, opts)
	if err != nil {
		return nil, err
	}
	timeout := opts.ConnectTimeout
	if timeout == 0 {
		timeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	if err := waitReady(ctx, pool, timeout); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// waitReady pings until the database answers, backing off between attempts.
func waitReady(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := pool.Ping(ctx)
		if err == nil {
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("connect to database: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to database: gave up after %d attempts: %w", attempt, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// permanent reports errors that waiting will not cure: the server answered and refused.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "28", // invalid authorization
		"3D": // invalid catalog name: the database does not exist
		return true
	}
	return false
}
