// Package pgstore is the PostgreSQL implementation of catalog.Store, for several replicas
// of the courses service sharing one database: tables in the schema "courses" (migrations
// embedded under migrations/, applied by Open), invariants held by the database (primary
// keys for providers and courses, a foreign key from each course to its provider), and a
// change feed (catalog.ChangeFeed) that each replica follows to keep its search index
// current. The SQL is plain DML and DDL that CockroachDB also runs: no PL/pgSQL, no
// advisory locks and no LISTEN/NOTIFY on the store's path.
package pgstore

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/pgdb"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// Schema is the service's schema in the shared database.
const Schema = "courses"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's versioned SQL files, for pgdb.Migrate.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Options tune Open.
type Options struct {
	// MaxConns bounds the pool (0: the URL's pool_max_conns, or pgx's default).
	MaxConns int32
}

// Store is a catalog.Store and catalog.ChangeFeed in PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

var (
	_ catalog.Store      = (*Store)(nil)
	_ catalog.ChangeFeed = (*Store)(nil)
)

// Open connects to the database at url (postgres://...), waiting for it to come up, and
// applies the schema's pending migrations; replicas opening at once apply them once.
// The caller closes the Store. Errors never contain the URL's password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	pool, err := pgdb.Open(ctx, url, pgdb.Options{Schema: Schema, MaxConns: opts.MaxConns})
	if err != nil {
		return nil, err
	}
	migrations, err := Migrations()
	if err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := pgdb.Migrate(ctx, pool, Schema, migrations); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// maxAttempts bounds the retries of a write that lost a race the database resolved by
// aborting it: a deadlock, or a serialization failure (CockroachDB, or SERIALIZABLE).
const maxAttempts = 5

// write runs fn in a transaction, retrying it when the database aborted it for a
// conflict with another transaction.
func (s *Store) write(ctx context.Context, fn func(pgx.Tx) error) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// SQLSTATE codes the store handles.
const (
	codeForeignKey    = "23503"
	codeSerialization = "40001"
	codeDeadlock      = "40P01"
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func retryable(err error) bool {
	c := pgCode(err)
	return c == codeSerialization || c == codeDeadlock
}

// Kinds of record in the changes table.
const (
	kindCourse   = "course"
	kindProvider = "provider"
)

// changed names a record a transaction wrote.
type changed struct{ kind, area, key string }

// recordChanges gives each record written by tx the next position of the feed. It is the
// last statement before the commit: the counter row's lock, which makes writers take
// positions in commit order, is then held only for the commit.
func recordChanges(ctx context.Context, tx pgx.Tx, cs ...changed) error {
	var last int64
	if err := tx.QueryRow(ctx, `UPDATE change_counter SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq`, len(cs)).Scan(&last); err != nil {
		return fmt.Errorf("record changes: %w", err)
	}
	first := last - int64(len(cs)) + 1
	if len(cs) == 1 {
		if _, err := tx.Exec(ctx, `INSERT INTO changes (kind, area, key, seq) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind, area, key) DO UPDATE SET seq = excluded.seq`, cs[0].kind, cs[0].area, cs[0].key, first); err != nil {
			return fmt.Errorf("record changes: %w", err)
		}
		return nil
	}
	// Many records (an import's batch): one statement. The records are distinct, as
	// ON CONFLICT DO UPDATE requires.
	kinds, areas, keys, seqs := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs)), make([]int64, len(cs))
	for i, c := range cs {
		kinds[i], areas[i], keys[i], seqs[i] = c.kind, c.area, c.key, first+int64(i)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO changes (kind, area, key, seq)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
		ON CONFLICT (kind, area, key) DO UPDATE SET seq = excluded.seq`, kinds, areas, keys, seqs); err != nil {
		return fmt.Errorf("record changes: %w", err)
	}
	return nil
}

const providerCols = `area, ukprn, name, loan_facility, premises, demo, create_time, update_time, updated_by`

func providerArgs(p catalog.Provider) []any {
	premises := p.Premises
	if premises == nil {
		premises = []string{}
	}
	return []any{p.Area, p.UKPRN, p.Name, p.LoanFacility, premises, p.Demo, p.CreateTime, p.UpdateTime, p.UpdatedBy}
}

func scanProvider(row pgx.Row) (catalog.Provider, error) {
	var p catalog.Provider
	if err := row.Scan(&p.Area, &p.UKPRN, &p.Name, &p.LoanFacility, &p.Premises, &p.Demo, &p.CreateTime, &p.UpdateTime, &p.UpdatedBy); err != nil {
		return p, err
	}
	if len(p.Premises) == 0 {
		p.Premises = nil
	}
	p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
	return p, nil
}

const courseCols = `area, id, learning_aim, title, description, level, sector, awarding_body,
	provider_ukprn, venue_postcode, delivery, study, attendance, duration_value, duration_unit,
	start_date, flexible_start, full_cost_pence, modular, discount_percent, learner_cost_pence,
	demo, create_time, update_time, updated_by`

const insertCourse = `INSERT INTO courses (` + courseCols + `) VALUES
	($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`

// upsertCourses writes many courses in one statement, from one array per column.
const upsertCourses = `INSERT INTO courses (` + courseCols + `) SELECT * FROM unnest(
	$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
	$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::integer[], $15::text[],
	$16::date[], $17::boolean[], $18::bigint[], $19::boolean[], $20::integer[], $21::bigint[],
	$22::boolean[], $23::timestamptz[], $24::timestamptz[], $25::text[])` + onConflictReplace

// onConflictReplace makes an insert of a course replace the course with its key.
const onConflictReplace = ` ON CONFLICT (area, id) DO UPDATE SET
	learning_aim = excluded.learning_aim, title = excluded.title, description = excluded.description,
	level = excluded.level, sector = excluded.sector, awarding_body = excluded.awarding_body,
	provider_ukprn = excluded.provider_ukprn, venue_postcode = excluded.venue_postcode,
	delivery = excluded.delivery, study = excluded.study, attendance = excluded.attendance,
	duration_value = excluded.duration_value, duration_unit = excluded.duration_unit,
	start_date = excluded.start_date, flexible_start = excluded.flexible_start,
	full_cost_pence = excluded.full_cost_pence, modular = excluded.modular,
	discount_percent = excluded.discount_percent, learner_cost_pence = excluded.learner_cost_pence,
	demo = excluded.demo, create_time = excluded.create_time, update_time = excluded.update_time,
	updated_by = excluded.updated_by`

// courseColumns returns the arguments of upsertCourses: one array per column.
func courseColumns(cs []catalog.Course) []any {
	cols := make([][]any, 25)
	for i := range cols {
		cols[i] = make([]any, len(cs))
	}
	for j, c := range cs {
		for i, v := range courseArgs(c) {
			cols[i][j] = v
		}
	}
	args := make([]any, len(cols))
	for i, col := range cols {
		args[i] = col
	}
	return args
}

func courseArgs(c catalog.Course) []any {
	start := pgtype.Date{}
	if !c.StartDate.IsZero() {
		start = pgtype.Date{Time: time.Date(c.StartDate.Year, c.StartDate.Month, c.StartDate.Day, 0, 0, 0, 0, time.UTC), Valid: true}
	}
	return []any{
		c.Area, c.ID, c.LearningAim, c.Title, c.Description, c.Level.String(), c.Sector, c.AwardingBody,
		c.ProviderUKPRN, c.VenuePostcode, c.Delivery.String(), c.Study.String(), c.Attendance.String(),
		c.DurationValue, c.DurationUnit.String(), start, c.FlexibleStart, c.FullCostPence, c.Modular,
		c.DiscountPercent, c.LearnerCostPence, c.Demo, c.CreateTime, c.UpdateTime, c.UpdatedBy,
	}
}

func scanCourse(row pgx.Row) (catalog.Course, error) {
	var c catalog.Course
	var level, delivery, study, attendance, unit string
	var start pgtype.Date
	err := row.Scan(&c.Area, &c.ID, &c.LearningAim, &c.Title, &c.Description, &level, &c.Sector, &c.AwardingBody,
		&c.ProviderUKPRN, &c.VenuePostcode, &delivery, &study, &attendance, &c.DurationValue, &unit,
		&start, &c.FlexibleStart, &c.FullCostPence, &c.Modular, &c.DiscountPercent, &c.LearnerCostPence,
		&c.Demo, &c.CreateTime, &c.UpdateTime, &c.UpdatedBy)
	if err != nil {
		return c, err
	}
	c.CreateTime, c.UpdateTime = c.CreateTime.UTC(), c.UpdateTime.UTC()
	if start.Valid {
		c.StartDate = civil.Date{Year: start.Time.Year(), Month: start.Time.Month(), Day: start.Time.Day()}
	}
	var ok bool
	if c.Level, ok = catalog.ParseLevel(level); !ok {
		return c, fmt.Errorf("course %s: stored level is unreadable", c.ID)
	}
	if c.Delivery, err = catalog.ParseDeliveryMode(delivery); err != nil {
		return c, fmt.Errorf("course %s: %w", c.ID, err)
	}
	if c.Study, err = catalog.ParseStudyMode(study); err != nil {
		return c, fmt.Errorf("course %s: %w", c.ID, err)
	}
	if attendance != "" {
		if c.Attendance, err = catalog.ParseAttendancePattern(attendance); err != nil {
			return c, fmt.Errorf("course %s: %w", c.ID, err)
		}
	}
	if c.DurationUnit, err = catalog.ParseDurationUnit(unit); err != nil {
		return c, fmt.Errorf("course %s: %w", c.ID, err)
	}
	return c, nil
}

// collect reads every row of a query with scan.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// one reads the single row of a query, or ErrNotFound.
func one[T any](row pgx.Row, scan func(pgx.Row) (T, error)) (T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, catalog.ErrNotFound
	}
	return v, err
}

// GetProvider implements catalog.Store.
func (s *Store) GetProvider(ctx context.Context, area, ukprn string) (catalog.Provider, error) {
	return one(s.pool.QueryRow(ctx, `SELECT `+providerCols+` FROM providers WHERE area = $1 AND ukprn = $2`, area, ukprn), scanProvider)
}

// ListProviders implements catalog.Store.
func (s *Store) ListProviders(ctx context.Context, area, after string, limit int) ([]catalog.Provider, error) {
	q := `SELECT ` + providerCols + ` FROM providers WHERE area = $1 AND ukprn > $2 ORDER BY ukprn`
	args := []any{area, after}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	return collect(rows, err, scanProvider)
}

// CreateProvider implements catalog.Store.
func (s *Store) CreateProvider(ctx context.Context, p catalog.Provider) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO providers (`+providerCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (area, ukprn) DO NOTHING`, providerArgs(p)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return catalog.ErrAlreadyExists
		}
		return recordChanges(ctx, tx, changed{kindProvider, p.Area, p.UKPRN})
	})
}

// UpdateProvider implements catalog.Store.
func (s *Store) UpdateProvider(ctx context.Context, p catalog.Provider) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE providers SET name = $3, loan_facility = $4, premises = $5, demo = $6,
			create_time = $7, update_time = $8, updated_by = $9 WHERE area = $1 AND ukprn = $2`, providerArgs(p)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return catalog.ErrNotFound
		}
		return recordChanges(ctx, tx, changed{kindProvider, p.Area, p.UKPRN})
	})
}

// DeleteProvider implements catalog.Store. The foreign key of courses refuses the delete
// while a course names the provider, including one another replica is inserting.
func (s *Store) DeleteProvider(ctx context.Context, area, ukprn string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM providers WHERE area = $1 AND ukprn = $2`, area, ukprn)
		if pgCode(err) == codeForeignKey {
			return catalog.ErrProviderHasCourses
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return catalog.ErrNotFound
		}
		return recordChanges(ctx, tx, changed{kindProvider, area, ukprn})
	})
}

// GetCourse implements catalog.Store.
func (s *Store) GetCourse(ctx context.Context, area, id string) (catalog.Course, error) {
	return one(s.pool.QueryRow(ctx, `SELECT `+courseCols+` FROM courses WHERE area = $1 AND id = $2`, area, id), scanCourse)
}

// ListCourses implements catalog.Store.
func (s *Store) ListCourses(ctx context.Context, area, after string, limit int) ([]catalog.Course, error) {
	q := `SELECT ` + courseCols + ` FROM courses WHERE area = $1 AND id > $2 ORDER BY id`
	args := []any{area, after}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	return collect(rows, err, scanCourse)
}

// noProvider turns the foreign key's refusal into ErrNoProvider.
func noProvider(err error) error {
	if pgCode(err) == codeForeignKey {
		return fmt.Errorf("%w (%v)", catalog.ErrNoProvider, err)
	}
	return err
}

// CreateCourse implements catalog.Store. The primary key decides between replicas
// creating the same course at once: one inserts, the others find it there.
func (s *Store) CreateCourse(ctx context.Context, c catalog.Course) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertCourse+` ON CONFLICT (area, id) DO NOTHING`, courseArgs(c)...)
		if err != nil {
			return noProvider(err)
		}
		if tag.RowsAffected() == 0 {
			return catalog.ErrAlreadyExists
		}
		return recordChanges(ctx, tx, changed{kindCourse, c.Area, c.ID})
	})
}

// PutCourses implements catalog.Store: one transaction of upserts by (area, id), written
// in key order so that concurrent imports lock rows in the same order and cannot
// deadlock.
func (s *Store) PutCourses(ctx context.Context, cs []catalog.Course) error {
	if len(cs) == 0 {
		return nil
	}
	// Key order, and the last course of each key, as a sequence of puts would leave it.
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b catalog.Course) int {
		return cmp.Or(cmp.Compare(a.Area, b.Area), cmp.Compare(a.ID, b.ID))
	})
	unique := sorted[:0]
	for i, c := range sorted {
		if i+1 < len(sorted) && sorted[i+1].Area == c.Area && sorted[i+1].ID == c.ID {
			continue
		}
		unique = append(unique, c)
	}
	keys := make([]changed, len(unique))
	for i, c := range unique {
		keys[i] = changed{kindCourse, c.Area, c.ID}
	}
	args := courseColumns(unique)
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, upsertCourses, args...); err != nil {
			return noProvider(err)
		}
		return recordChanges(ctx, tx, keys...)
	})
}

// DeleteCourse implements catalog.Store.
func (s *Store) DeleteCourse(ctx context.Context, area, id string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM courses WHERE area = $1 AND id = $2`, area, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return catalog.ErrNotFound
		}
		return recordChanges(ctx, tx, changed{kindCourse, area, id})
	})
}

// WriteCourses implements catalog.Store: the writes in order in one transaction, with one
// commit for the batch. A refused write aborts the transaction, which then writes nothing.
func (s *Store) WriteCourses(ctx context.Context, ws []catalog.CourseWrite) error {
	if len(ws) == 0 {
		return nil
	}
	keys := make([]changed, 0, len(ws))
	seen := make(map[changed]bool, len(ws))
	for _, w := range ws {
		k := changed{kindCourse, w.Course.Area, w.Course.ID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		for i, w := range ws {
			c := w.Course
			switch w.Kind {
			case catalog.CourseCreate:
				tag, err := tx.Exec(ctx, insertCourse+` ON CONFLICT (area, id) DO NOTHING`, courseArgs(c)...)
				if err != nil {
					return writeErr(i, noProvider(err))
				}
				if tag.RowsAffected() == 0 {
					return &catalog.WriteError{Index: i, Err: catalog.ErrAlreadyExists}
				}
			case catalog.CoursePut:
				if _, err := tx.Exec(ctx, insertCourse+onConflictReplace, courseArgs(c)...); err != nil {
					return writeErr(i, noProvider(err))
				}
			case catalog.CourseDelete:
				tag, err := tx.Exec(ctx, `DELETE FROM courses WHERE area = $1 AND id = $2`, c.Area, c.ID)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					return &catalog.WriteError{Index: i, Err: catalog.ErrNotFound}
				}
			default:
				return fmt.Errorf("write %d: unknown kind %d", i, w.Kind)
			}
		}
		return recordChanges(ctx, tx, keys...)
	})
}

// writeErr names write i in err when err refuses that write (ErrNoProvider); other errors
// are the store's and are returned as they are, so that write can retry them.
func writeErr(i int, err error) error {
	if errors.Is(err, catalog.ErrNoProvider) {
		return &catalog.WriteError{Index: i, Err: err}
	}
	return err
}

// ProviderCourses implements catalog.Store.
func (s *Store) ProviderCourses(ctx context.Context, area, ukprn string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM courses WHERE area = $1 AND provider_ukprn = $2 ORDER BY id`, area, ukprn)
	return collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// scanPage is how many courses ScanCourses reads per query.
const scanPage = 1000

// ScanCourses implements catalog.Store. It reads in pages by key, and calls fn between
// queries, so no connection is held while fn runs; a course written during the scan may
// or may not be seen (the change feed covers it).
func (s *Store) ScanCourses(ctx context.Context, fn func(catalog.Course) error) error {
	area, id := "", ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT `+courseCols+` FROM courses WHERE (area, id) > ($1, $2)
			ORDER BY area, id LIMIT $3`, area, id, scanPage)
		page, err := collect(rows, err, scanCourse)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		area, id = page[len(page)-1].Area, page[len(page)-1].ID
	}
}

// Empty implements catalog.Store.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var empty bool
	err := s.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM providers) AND NOT EXISTS (SELECT 1 FROM courses)`).Scan(&empty)
	return empty, err
}

// LatestChange implements catalog.ChangeFeed.
func (s *Store) LatestChange(ctx context.Context) (int64, error) {
	var last int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM change_counter WHERE id = 1`).Scan(&last)
	return last, err
}

// Changes implements catalog.ChangeFeed. A poll that finds nothing new costs one
// primary-key read; otherwise the changes and the records they name are read in one
// snapshot, so a record is never reported deleted because it changed again meanwhile.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]catalog.Change, error) {
	if limit <= 0 {
		return nil, errors.New("changes: limit must be positive")
	}
	latest, err := s.LatestChange(ctx)
	if err != nil || latest <= after {
		return nil, err
	}
	var out []catalog.Change
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq, kind, area, key FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
		out, err = collect(rows, err, func(r pgx.Row) (catalog.Change, error) {
			var ch catalog.Change
			var kind string
			if err := r.Scan(&ch.Seq, &kind, &ch.Area, &ch.Key); err != nil {
				return ch, err
			}
			switch kind {
			case kindCourse:
				ch.Kind = catalog.ChangeCourse
			case kindProvider:
				ch.Kind = catalog.ChangeProvider
			default:
				return ch, fmt.Errorf("changes: unknown kind %q at %d", kind, ch.Seq)
			}
			return ch, nil
		})
		if err != nil || len(out) == 0 {
			return err
		}
		upTo := out[len(out)-1].Seq
		rows, err = tx.Query(ctx, `SELECT `+prefixed("c.", courseCols)+` FROM changes ch
			JOIN courses c ON c.area = ch.area AND c.id = ch.key
			WHERE ch.kind = 'course' AND ch.seq > $1 AND ch.seq <= $2`, after, upTo)
		courses, err := collect(rows, err, scanCourse)
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+prefixed("p.", providerCols)+` FROM changes ch
			JOIN providers p ON p.area = ch.area AND p.ukprn = ch.key
			WHERE ch.kind = 'provider' AND ch.seq > $1 AND ch.seq <= $2`, after, upTo)
		providers, err := collect(rows, err, scanProvider)
		if err != nil {
			return err
		}
		type key struct{ area, key string }
		cm := make(map[key]*catalog.Course, len(courses))
		for i := range courses {
			cm[key{courses[i].Area, courses[i].ID}] = &courses[i]
		}
		pm := make(map[key]*catalog.Provider, len(providers))
		for i := range providers {
			pm[key{providers[i].Area, providers[i].UKPRN}] = &providers[i]
		}
		for i := range out {
			k := key{out[i].Area, out[i].Key}
			if out[i].Kind == catalog.ChangeCourse {
				out[i].Course = cm[k]
			} else {
				out[i].Provider = pm[k]
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	return out, nil
}

// prefixed qualifies each column of cols (a comma-separated list) with prefix.
func prefixed(prefix, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = prefix + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}
