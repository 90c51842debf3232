// Package pgstore is the PostgreSQL implementation of domain.Store, shared by every
// replica of the service: pgx v5 with a connection pool (platform/pgdb), the service's own
// schema, versioned SQL migrations embedded here and applied at Open.
//
// What replicas could race on is decided by the database, not by Go code: primary keys
// for assessment ids and ruleset versions, a unique event id in the outbox, INSERT ... ON
// CONFLICT DO NOTHING for idempotent writes, every write in one transaction with its audit
// record. Audit sequences come from a one-row counter locked until the write commits, so
// they follow commit order with no gaps (a replica's concurrent assessment reads and
// writes share transactions, see committer, so the lock is paid once per group); a ruleset's position is the audit sequence of
// its publication, so a replica polling for versions after the first n misses none. The
// outbox is delivered by one relay at a time, the holder of a lease row (see
// PendingConversions). The retention sweep claims rows with FOR UPDATE SKIP LOCKED, so
// replicas sweeping at once delete disjoint rows.
//
// The SQL is plain DDL and DML (no PL/pgSQL, no advisory locks, no LISTEN/NOTIFY), so it
// also suits PostgreSQL-compatible engines such as CockroachDB; transactions that fail
// with a serialization failure or a deadlock, which such engines report for conflicts
// PostgreSQL would queue, are retried.
//
// OPERATIONS.md says what operators need to know: how audited operations are committed,
// and what PostgreSQL keeps after an erasure until VACUUM FULL.
package pgstore

import (
	"context"
	crand "crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/pgdb"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's versioned SQL files, for pgdb.Migrate.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Migrate brings the schema of the database at url up to date and returns, without
// keeping a store open: for a migration step run before a rollout.
func Migrate(ctx context.Context, url, schema string) error {
	if schema == "" {
		schema = DefaultSchema
	}
	pool, err := pgdb.Open(ctx, url, pgdb.Options{Schema: schema, MaxConns: 1})
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool, schema)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	files, err := Migrations()
	if err != nil {
		return err
	}
	_, err = pgdb.Migrate(ctx, pool, schema, files)
	return err
}

// DefaultSchema is the service's schema.
const DefaultSchema = "eligibility"

// DefaultRelayLease is how long a replica holds the outbox relay lease after taking or
// renewing it. It must exceed the relay's longest pause between calls while it delivers
// (a Send, bounded by the relay's SendTimeout, 10s by default), so that a working relay
// never loses the lease mid-stream.
const DefaultRelayLease = 30 * time.Second

// relayLeaseName names the outbox's row in relay_lease.
const relayLeaseName = "outbox"

// Options tune the store.
type Options struct {
	// Schema is the service's schema (DefaultSchema when empty).
	Schema string
	// RelayLease is how long the relay lease lasts (DefaultRelayLease when zero).
	RelayLease time.Duration
	// Pool tunes the connection pool; its Schema is set from Schema.
	Pool pgdb.Options
}

// Store is a domain.Store in a PostgreSQL schema.
type Store struct {
	pool   *pgxpool.Pool
	group  *committer
	holder string
	lease  time.Duration

	closeOnce sync.Once
}

var _ domain.Store = (*Store)(nil)

// Open connects to the database at url (postgres://...; see pgdb.Open), brings the schema
// up to date and returns the store. Several replicas may open it at once: migrations run
// under pgdb.Migrate's lock.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.RelayLease < 0 {
		return nil, errors.New("relay lease must not be negative")
	}
	if o.RelayLease == 0 {
		o.RelayLease = DefaultRelayLease
	}
	po := o.Pool
	po.Schema = o.Schema
	pool, err := pgdb.Open(ctx, url, po)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool, o.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, holder: newHolder(), lease: o.RelayLease}
	s.group = newCommitter(pool, s.retry)
	return s, nil
}

// newHolder names this store in the relay lease: the host (the pod, on Kubernetes) and a
// random suffix, unique per Open.
func newHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [6]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return host + "/" + hex.EncodeToString(b[:])
}

// Close gives up the relay lease, so another replica takes over the outbox at its next
// poll, and closes the pool. It is safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.group.close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = s.pool.Exec(ctx, `DELETE FROM relay_lease WHERE name = $1 AND holder = $2`, relayLeaseName, s.holder)
		if err != nil {
			err = fmt.Errorf("release relay lease: %w", err)
		}
		s.pool.Close()
	})
	return err
}

// Pool is the store's connection pool, for tests and health checks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// maxAttempts bounds the retries of a transaction that lost a conflict.
const maxAttempts = 10

// inTx runs fn in a transaction and commits it, retrying the whole transaction on a
// serialization failure or a deadlock. fn must set its results afresh on every run.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

// retry runs fn, a transaction or a single statement (its own transaction), again on a
// serialization failure or a deadlock, with jittered backoff.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// retryable reports a conflict that a new attempt of the transaction may not meet.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01" // serialization_failure, deadlock_detected
}

// appendAuditSQL takes the next audit sequence and appends the record with it. The
// counter row stays locked until the transaction commits, so run it as the last statement
// of a transaction: other writers queue behind it only for the commit.
const appendAuditSQL = `
WITH head AS (UPDATE audit_head SET seq = seq + 1 RETURNING seq)
INSERT INTO audit (seq, time, actor, action, learner, assessment, rpc, detail)
SELECT head.seq, $1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, $7 FROM head
RETURNING seq`

// appendAudit appends r in tx and returns its sequence.
func appendAudit(ctx context.Context, tx pgx.Tx, r domain.AuditRecord) (uint64, error) {
	var seq int64
	err := tx.QueryRow(ctx, appendAuditSQL, r.Time, r.Actor, r.Action, r.Learner, r.Assessment, r.RPC, r.Detail).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("append audit record: %w", err)
	}
	return uint64(seq), nil
}

const auditColumns = `seq, time, actor, action, COALESCE(learner, ''), COALESCE(assessment, ''), rpc, detail, redacted`

func scanAudit(row pgx.CollectableRow) (domain.AuditRecord, error) {
	var r domain.AuditRecord
	var seq int64
	err := row.Scan(&seq, &r.Time, &r.Actor, &r.Action, &r.Learner, &r.Assessment, &r.RPC, &r.Detail, &r.Redacted)
	r.Sequence, r.Time = uint64(seq), r.Time.UTC()
	return r, err
}

const assessmentColumns = `learner, id, create_time, recorded_by, ruleset_version, outcome, key_id, sealed`

func scanAssessment(row pgx.CollectableRow) (domain.StoredAssessment, error) {
	var a domain.StoredAssessment
	var outcome int16
	err := row.Scan(&a.Learner, &a.ID, &a.CreateTime, &a.RecordedBy, &a.RulesetVersion, &outcome, &a.KeyID, &a.Sealed)
	a.Outcome, a.CreateTime = rules.Outcome(outcome), a.CreateTime.UTC()
	return a, err
}

// CreateRuleset implements domain.Store. The version's position is the sequence of its
// audit record, taken under the audit counter's lock: publication order is commit order.
func (s *Store) CreateRuleset(ctx context.Context, r domain.RulesetRecord, audit domain.AuditRecord) error {
	body, err := json.Marshal(r.Ruleset)
	if err != nil {
		return fmt.Errorf("encode ruleset: %w", err)
	}
	from := pgtype.Date{}
	if !r.EffectiveFrom.IsZero() {
		from = pgtype.Date{Time: r.EffectiveFrom.In(time.UTC), Valid: true}
	}
	exists := errors.New("exists")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		seq, err := appendAudit(ctx, tx, audit)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
INSERT INTO rulesets (version, position, ruleset, effective_from, published_at, published_by, source)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (version) DO NOTHING`,
			r.Ruleset.Version, int64(seq), body, from, r.PublishedAt, r.PublishedBy, r.Source)
		if err != nil {
			return fmt.Errorf("insert ruleset: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return exists // rolls the audit record back
		}
		return nil
	})
	if errors.Is(err, exists) {
		return fmt.Errorf("ruleset %s: %w", r.Ruleset.Version, domain.ErrAlreadyExists)
	}
	return err
}

// Rulesets implements domain.Store.
func (s *Store) Rulesets(ctx context.Context, skip int) ([]domain.RulesetRecord, error) {
	rows, err := s.pool.Query(ctx, `
SELECT ruleset, effective_from, published_at, published_by, source
FROM rulesets ORDER BY position OFFSET $1`, max(skip, 0))
	if err != nil {
		return nil, fmt.Errorf("read rulesets: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.RulesetRecord, error) {
		var body []byte
		var from pgtype.Date
		var rec domain.RulesetRecord
		if err := row.Scan(&body, &from, &rec.PublishedAt, &rec.PublishedBy, &rec.Source); err != nil {
			return rec, fmt.Errorf("read rulesets: %w", err)
		}
		rs, err := rules.ParseRuleset(body)
		if err != nil {
			return rec, fmt.Errorf("stored ruleset: %w", err)
		}
		rec.Ruleset, rec.PublishedAt = rs, rec.PublishedAt.UTC()
		if from.Valid {
			rec.EffectiveFrom = civil.Of(from.Time, time.UTC)
		}
		return rec, nil
	})
}

// createAssessmentSQL inserts an assessment and, only if it was new, appends its audit
// record ($9...$15), in one statement: one round trip, its own transaction, and the
// audit counter locked only for the commit.
const createAssessmentSQL = `
WITH a AS (
	INSERT INTO assessments (` + assessmentColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (learner, id) DO NOTHING
	RETURNING 1),
head AS (UPDATE audit_head SET seq = seq + 1 WHERE EXISTS (SELECT 1 FROM a) RETURNING seq)
INSERT INTO audit (seq, time, actor, action, learner, assessment, rpc, detail)
SELECT head.seq, $9, $10, $11, NULLIF($12, ''), NULLIF($13, ''), $14, $15 FROM head
RETURNING seq`

// CreateAssessment implements domain.Store. It commits with the concurrent audited
// statements of this replica (see committer).
func (s *Store) CreateAssessment(ctx context.Context, a domain.StoredAssessment, audit domain.AuditRecord) error {
	err := s.group.do(ctx, createAssessmentSQL, func(rows pgx.Rows) error {
		_, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64])
		return err
	},
		a.Learner, a.ID, a.CreateTime, a.RecordedBy, a.RulesetVersion, int16(a.Outcome), a.KeyID, a.Sealed,
		audit.Time, audit.Actor, audit.Action, audit.Learner, audit.Assessment, audit.RPC, audit.Detail)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("assessment %s: %w", a.ID, domain.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("record assessment: %w", err)
	}
	return nil
}

// getAssessmentSQL reads an assessment and, only if it exists, appends the audit record
// of the read ($3...$9), in one statement; the row comes back only with its audit record
// committed, so the read is on record before the data leaves.
const getAssessmentSQL = `
WITH a AS (SELECT ` + assessmentColumns + ` FROM assessments WHERE learner = $1 AND id = $2),
head AS (UPDATE audit_head SET seq = seq + 1 WHERE EXISTS (SELECT 1 FROM a) RETURNING seq),
rec AS (
	INSERT INTO audit (seq, time, actor, action, learner, assessment, rpc, detail)
	SELECT head.seq, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''), $8, $9 FROM head
	RETURNING seq)
SELECT ` + assessmentColumns + ` FROM a CROSS JOIN rec`

// GetAssessment implements domain.Store. It commits with the concurrent audited
// statements of this replica (see committer).
func (s *Store) GetAssessment(ctx context.Context, learner, id string, audit domain.AuditRecord) (domain.StoredAssessment, error) {
	var out domain.StoredAssessment
	err := s.group.do(ctx, getAssessmentSQL, func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanAssessment)
		return err
	},
		learner, id, audit.Time, audit.Actor, audit.Action, audit.Learner, audit.Assessment, audit.RPC, audit.Detail)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.StoredAssessment{}, fmt.Errorf("assessment %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return domain.StoredAssessment{}, fmt.Errorf("read assessment: %w", err)
	}
	return out, nil
}

// listAssessments reads up to limit (0: all) of the learner's assessments after afterID.
func listAssessments(ctx context.Context, tx pgx.Tx, learner, afterID string, limit int) ([]domain.StoredAssessment, error) {
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	rows, err := tx.Query(ctx, `
SELECT `+assessmentColumns+` FROM assessments
WHERE learner = $1 AND id > $2 ORDER BY id LIMIT $3`, learner, afterID, lim)
	if err != nil {
		return nil, fmt.Errorf("list assessments: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanAssessment)
	if err != nil {
		return nil, fmt.Errorf("list assessments: %w", err)
	}
	return out, nil
}

// ListAssessments implements domain.Store.
func (s *Store) ListAssessments(ctx context.Context, learner, afterID string, limit int, audit domain.AuditRecord) ([]domain.StoredAssessment, error) {
	var out []domain.StoredAssessment
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if out, err = listAssessments(ctx, tx, learner, afterID, limit); err != nil {
			return err
		}
		_, err = appendAudit(ctx, tx, audit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ExportLearner implements domain.Store: the reads and the export's own audit record,
// appended last, in one transaction.
func (s *Store) ExportLearner(ctx context.Context, learner string, audit domain.AuditRecord) (domain.LearnerData, error) {
	var out domain.LearnerData
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out = domain.LearnerData{}
		if out.Assessments, err = listAssessments(ctx, tx, learner, "", 0); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit WHERE learner = $1 ORDER BY seq`, learner)
		if err != nil {
			return fmt.Errorf("read audit: %w", err)
		}
		if out.Audit, err = pgx.CollectRows(rows, scanAudit); err != nil {
			return fmt.Errorf("read audit: %w", err)
		}
		seq, err := appendAudit(ctx, tx, audit)
		if err != nil {
			return err
		}
		if audit.Learner == learner {
			own := audit
			own.Sequence, own.Time = seq, own.Time.UTC()
			out.Audit = append(out.Audit, own)
		}
		return nil
	})
	if err != nil {
		return domain.LearnerData{}, err
	}
	return out, nil
}

// EraseLearner implements domain.Store: in one transaction it deletes the learner's
// assessments, blanks the learner and assessment of their audit records and appends the
// erasure record. The rows are gone from every table; PostgreSQL keeps the old row
// versions in the table and index files until VACUUM reclaims their space, and in the
// write-ahead log and backups until those age out (see the package's tests and the
// OPERATIONS.md).
func (s *Store) EraseLearner(ctx context.Context, learner string, audit domain.AuditRecord) (int, error) {
	if audit.Learner != "" {
		return 0, errors.New("erasure audit record must not name the learner")
	}
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM assessments WHERE learner = $1`, learner)
		if err != nil {
			return fmt.Errorf("delete assessments: %w", err)
		}
		n = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, `UPDATE audit SET learner = NULL, assessment = NULL, redacted = true WHERE learner = $1`, learner); err != nil {
			return fmt.Errorf("redact audit: %w", err)
		}
		rec := audit
		rec.Detail = fmt.Sprintf("%d assessments erased", n)
		_, err = appendAudit(ctx, tx, rec)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteAssessmentsBefore implements domain.Store. It claims the oldest rows with FOR
// UPDATE SKIP LOCKED, so replicas sweeping at once delete disjoint sets and count each
// row once.
func (s *Store) DeleteAssessmentsBefore(ctx context.Context, cutoff time.Time, limit int, audit domain.AuditRecord) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
DELETE FROM assessments WHERE (learner, id) IN (
	SELECT learner, id FROM assessments WHERE create_time < $1
	ORDER BY create_time, learner, id LIMIT $2
	FOR UPDATE SKIP LOCKED)`, cutoff, int64(limit))
		if err != nil {
			return fmt.Errorf("delete assessments: %w", err)
		}
		if n = int(tag.RowsAffected()); n == 0 {
			return nil
		}
		rec := audit
		rec.Detail = fmt.Sprintf("%d assessments deleted", n)
		_, err = appendAudit(ctx, tx, rec)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ListAudit implements domain.Store.
func (s *Store) ListAudit(ctx context.Context, afterSeq uint64, limit int) ([]domain.AuditRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(afterSeq), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// AppendConversion implements domain.Store.
func (s *Store) AppendConversion(ctx context.Context, c domain.Conversion) error {
	areas := c.Areas
	if areas == nil {
		areas = []string{}
	}
	_, err := s.pool.Exec(ctx, `
INSERT INTO outbox (event_id, journey_id, outcome, areas, ruleset_version, time)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (event_id) DO NOTHING`,
		c.EventID, c.JourneyID, int16(c.Outcome), areas, c.RulesetVersion, c.Time)
	if err != nil {
		return fmt.Errorf("append conversion: %w", err)
	}
	return nil
}

// pendingSQL takes or renews the relay lease for $1 until now() + $2 and, only if this
// store holds it, returns the head of the outbox. The lease is taken when it is free or
// expired, by the database's clock, so replicas' clocks do not matter.
const pendingSQL = `
WITH lease AS (
	INSERT INTO relay_lease (name, holder, expires_at) VALUES ($3, $1, now() + $2::interval)
	ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
	WHERE relay_lease.holder = excluded.holder OR relay_lease.expires_at < now()
	RETURNING holder)
SELECT seq, event_id, journey_id, outcome, areas, ruleset_version, time FROM outbox
WHERE EXISTS (SELECT 1 FROM lease)
ORDER BY seq LIMIT $4`

// PendingConversions implements domain.Store. Only the holder of the relay lease gets
// entries, so with several replicas the outbox is still delivered by one relay at a time,
// batch after batch, in order. Delivering with FOR UPDATE SKIP LOCKED instead would let
// replicas send different batches at once and lose that order.
//
// Should a holder stall for longer than the lease (a pause, a partition) with a batch in
// flight, another replica takes over and sends that batch again while the first may
// still deliver it: the receiver deduplicates by event id (a conversion keeps its id on
// every delivery), so the duplicate is acknowledged and counted once, and the stalled
// replica loses the lease at its next call.
func (s *Store) PendingConversions(ctx context.Context, limit int) ([]domain.OutboxEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, pendingSQL, s.holder, s.lease, relayLeaseName, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.OutboxEntry, error) {
		var e domain.OutboxEntry
		var seq int64
		var outcome int16
		c := &e.Conversion
		err := row.Scan(&seq, &c.EventID, &c.JourneyID, &outcome, &c.Areas, &c.RulesetVersion, &c.Time)
		e.Sequence, c.Outcome, c.Time = uint64(seq), rules.Outcome(outcome), c.Time.UTC()
		if len(c.Areas) == 0 {
			c.Areas = nil
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// RemoveConversions implements domain.Store.
func (s *Store) RemoveConversions(ctx context.Context, delivered, deadLetter []uint64) error {
	if len(delivered)+len(deadLetter) == 0 {
		return nil
	}
	toInt := func(seqs []uint64) []int64 {
		out := make([]int64, len(seqs))
		for i, s := range seqs {
			out[i] = int64(s)
		}
		return out
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if len(deadLetter) > 0 {
			_, err := tx.Exec(ctx, `
WITH dead AS (DELETE FROM outbox WHERE seq = ANY($1) RETURNING seq, event_id, journey_id, outcome, areas, ruleset_version, time)
INSERT INTO outbox_dead (seq, event_id, journey_id, outcome, areas, ruleset_version, time)
SELECT seq, event_id, journey_id, outcome, areas, ruleset_version, time FROM dead
ON CONFLICT (seq) DO NOTHING`, toInt(deadLetter))
			if err != nil {
				return fmt.Errorf("dead-letter conversions: %w", err)
			}
		}
		if len(delivered) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, toInt(delivered)); err != nil {
				return fmt.Errorf("remove conversions: %w", err)
			}
		}
		return nil
	})
}
