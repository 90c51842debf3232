package pgdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors of Migrate.
var (
	// ErrBadMigration is returned for a migration file set that cannot be applied as it
	// stands: a misnamed .sql file, two files with one version, an empty file.
	ErrBadMigration = errors.New("bad migration file")
	// ErrModified is returned when a migration already applied to the database differs
	// from the file of the same version: applied migrations are never edited, a change is
	// a new version.
	ErrModified = errors.New("applied migration was modified")
)

// MigrationsTable is the table, in each service's schema, that records applied versions.
const MigrationsTable = "schema_migrations"

// Migration is one versioned SQL file.
type Migration struct {
	// Version orders migrations; it is the number the file name starts with.
	Version int64
	// Name is the file name.
	Name string
	// SQL is the file's content: one or more statements.
	SQL string
	// Checksum is the hex SHA-256 of SQL, recorded when applied.
	Checksum string
}

// migrationName is NNNN_description.sql: at least four digits, so names sort as versions.
var migrationName = regexp.MustCompile(`^([0-9]{4,})_([a-z0-9][a-z0-9_]*)\.sql$`)

// maxAttempts bounds the retries of a migration transaction that lost a race, which on
// CockroachDB (serializable, no blocking advisory lock) is how concurrent starts resolve.
const maxAttempts = 8

// LoadMigrations reads the migrations at the top level of fsys, sorted by version. Files
// not ending in .sql are ignored; a .sql file not named NNNN_description.sql, an empty
// one, or two with the same version are ErrBadMigration.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("%w: %s is not named NNNN_description.sql (lower case)", ErrBadMigration, name)
		}
		version, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || version == 0 {
			return nil, fmt.Errorf("%w: %s: version must be a positive 64-bit number", ErrBadMigration, name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("%w: %s is empty", ErrBadMigration, name)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: version, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b Migration) int { return compareInt(a.Version, b.Version) })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("%w: %s and %s have the same version", ErrBadMigration, out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Migrate brings schema up to date with the migrations in fsys (see LoadMigrations; a
// service embeds them with //go:embed and passes fs.Sub of the directory). It creates the
// schema and its MigrationsTable if needed, then applies, in version order, every
// migration not yet recorded there, and records each with its checksum. It returns the
// migrations it applied.
//
// Everything runs in one transaction holding pg_advisory_xact_lock keyed by the schema, so
// replicas starting together apply each version exactly once: the others wait for the
// lock, then find nothing to do. A failing migration rolls back the whole run. The
// migrations run with search_path set to schema alone, so they name tables unqualified,
// and without a statement timeout; they must not contain BEGIN/COMMIT or statements that
// cannot run in a transaction (CREATE INDEX CONCURRENTLY).
//
// Versions recorded in the database but absent from fsys are left alone: an older binary
// may run against a newer schema during a rolling update, so migrations must be
// backward-compatible (add, then remove in a later release). A recorded version whose
// file has changed is ErrModified.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) ([]Migration, error) {
	return migrate(ctx, pool, schema, fsys, true)
}

// migrate is Migrate, with or without the advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS, useLock bool) ([]Migration, error) {
	if err := ValidSchema(schema); err != nil {
		return nil, err
	}
	migrations, err := LoadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		applied, err := migrateOnce(ctx, pool, schema, migrations, useLock)
		if err == nil {
			return applied, nil
		}
		if useLock && isCode(err, "42883") {
			// undefined_function: an engine without advisory locks. Serializable
			// isolation and the version primary key still let only one run win; the
			// losers retry below and find the work done.
			useLock = false
			continue
		}
		if attempt >= maxAttempts || !lostRace(err, useLock) || ctx.Err() != nil {
			return nil, fmt.Errorf("migrate schema %s: %w", schema, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("migrate schema %s: %w", schema, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// migrateOnce is one attempt of Migrate, in one transaction.
func migrateOnce(ctx context.Context, pool *pgxpool.Pool, schema string, migrations []Migration, useLock bool) (applied []Migration, err error) {
	opts := pgx.TxOptions{}
	if !useLock {
		// Without the lock, concurrent runs must conflict rather than interleave.
		opts.IsoLevel = pgx.Serializable
	}
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// The transaction's error is the one worth returning; a rollback failure
			// only means the connection is already gone, and the server rolls back.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if useLock {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", LockKey(schema)); err != nil {
			return nil, fmt.Errorf("advisory lock: %w", err)
		}
	}
	ident := pgx.Identifier{schema}.Sanitize()
	table := pgx.Identifier{schema, MigrationsTable}.Sanitize()
	setup := []string{
		"SET LOCAL statement_timeout = 0",
		"CREATE SCHEMA IF NOT EXISTS " + ident,
		"SET LOCAL search_path TO " + ident,
		"CREATE TABLE IF NOT EXISTS " + table + ` (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
	}
	for _, stmt := range setup {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("prepare schema: %w", err)
		}
	}
	done, err := appliedChecksums(ctx, tx, table)
	if err != nil {
		return nil, err
	}
	for _, m := range migrations {
		if sum, ok := done[m.Version]; ok {
			if sum != m.Checksum {
				return nil, fmt.Errorf("%w: %s differs from the version applied (checksum %.12s, file %.12s)", ErrModified, m.Name, sum, m.Checksum)
			}
			continue
		}
		// No arguments: pgx sends it by the simple protocol, so a file may hold many
		// statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return nil, &applyError{name: m.Name, err: err}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name, checksum) VALUES ($1, $2, $3)", m.Version, m.Name, m.Checksum); err != nil {
			return nil, fmt.Errorf("record %s: %w", m.Name, err)
		}
		applied = append(applied, m)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return applied, nil
}

func appliedChecksums(ctx context.Context, tx pgx.Tx, table string) (map[int64]string, error) {
	rows, err := tx.Query(ctx, "SELECT version, checksum FROM "+table)
	if err != nil {
		return nil, fmt.Errorf("read applied versions: %w", err)
	}
	done := map[int64]string{}
	var version int64
	var sum string
	_, err = pgx.ForEachRow(rows, []any{&version, &sum}, func() error {
		done[version] = sum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read applied versions: %w", err)
	}
	return done, nil
}

// AppliedVersions returns the versions recorded in schema's MigrationsTable, in order;
// none if the schema has never been migrated.
func AppliedVersions(ctx context.Context, pool *pgxpool.Pool, schema string) ([]int64, error) {
	if err := ValidSchema(schema); err != nil {
		return nil, err
	}
	var exists bool
	err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2)", schema, MigrationsTable).Scan(&exists)
	if err != nil || !exists {
		return nil, err
	}
	rows, err := pool.Query(ctx, "SELECT version FROM "+pgx.Identifier{schema, MigrationsTable}.Sanitize()+" ORDER BY version")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// LockKey is the advisory lock key of schema's migrations: a hash of the schema name,
// namespaced so it does not collide with other users of advisory locks in the database.
func LockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("retrain/pgdb/migrate/"))
	h.Write([]byte(schema))
	return int64(h.Sum64())
}

// lostRace reports errors that mean another transaction got there first, after which a
// new attempt sees its work: serialization failures and deadlocks, and unique violations
// from two runs creating the same schema, table or version at once.
func lostRace(err error, locked bool) bool {
	codes := []string{"40001", "40P01", "23505", "42P06", "42P07"}
	if _, ok := errors.AsType[*applyError](err); ok && locked {
		// Under the lock no other run can interleave, so a migration's own unique
		// violation is its bug, not a race: do not repeat it.
		codes = codes[:2]
	}
	for _, code := range codes {
		if isCode(err, code) {
			return true
		}
	}
	return false
}

// applyError is a failure of a migration's own SQL.
type applyError struct {
	name string
	err  error
}

func (e *applyError) Error() string { return "apply " + e.name + ": " + e.err.Error() }
func (e *applyError) Unwrap() error { return e.err }

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
