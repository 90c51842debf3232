// Package pgstore keeps the outreach service's campaigns and events in PostgreSQL, in
// the schema "outreach" (see migrations/ for the tables), for several replicas sharing
// one database.
//
// The invariants replicas could race on are the database's: an event id is the primary
// key of events (a duplicate sent to two replicas at once is stored once, and the loser
// still tells a duplicate from a conflict by the stored fingerprint), a campaign is the
// primary key (area, id) and a lookup code the primary key (area, code) of
// campaign_codes. A batch of events is one multi-row INSERT ... SELECT FROM unnest(...)
// ON CONFLICT DO NOTHING RETURNING, committed (durable) before PutEvents returns.
//
// Each replica keeps its attribution index in step with the events of every replica by
// a Follower, which polls the table in seq order.
//
// The SQL is written for CockroachDB too (tested on PostgreSQL 15 only): plain DDL and
// DML, no PL/pgSQL, no advisory locks or LISTEN/NOTIFY, and transactions that lose a
// race (serialization failures, deadlocks) retried.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/pgdb"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
)

// Schema is the service's schema in the shared database.
const Schema = "outreach"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's versioned SQL files, for pgdb.Migrate.
func Migrations() (fs.FS, error) { return fs.Sub(migrationFiles, "migrations") }

// Migrate brings the schema of the database at url up to date and returns without
// keeping a store open: for a migration step run before a rollout.
func Migrate(ctx context.Context, url string) error {
	pool, err := pgdb.Open(ctx, url, pgdb.Options{Schema: Schema, MaxConns: 1})
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	files, err := Migrations()
	if err != nil {
		return err
	}
	_, err = pgdb.Migrate(ctx, pool, Schema, files)
	return err
}

// DefaultStatementTimeout bounds every statement of the store on the server. It also
// bounds how long an event insert can hold a seq number without committing, which is
// what lets a Follower give up on a gap (see FollowerOptions.GapTimeout).
const DefaultStatementTimeout = 30 * time.Second

// Options configure the store.
type Options struct {
	// MaxConns bounds the pool (0: the URL's pool_max_conns, or pgx's max(4, CPUs)).
	MaxConns int32
	// StatementTimeout is DefaultStatementTimeout when zero.
	StatementTimeout time.Duration
}

// Store is the PostgreSQL store. It implements domain.Store.
type Store struct {
	pool             *pgxpool.Pool
	statementTimeout time.Duration
}

var _ domain.Store = (*Store)(nil)

// Open connects to the database at url, applies the schema's pending migrations (safe
// when replicas start together) and returns the store, which owns the pool: Close it.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	timeout := opts.StatementTimeout
	if timeout == 0 {
		timeout = DefaultStatementTimeout
	}
	pool, err := pgdb.Open(ctx, url, pgdb.Options{Schema: Schema, MaxConns: opts.MaxConns, StatementTimeout: timeout})
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, statementTimeout: timeout}, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// maxAttempts bounds the runs of a transaction that lost a race the database resolved
// by aborting it (a serialization failure on CockroachDB, a deadlock).
const maxAttempts = 5

// retryable reports errors after which running the same work again is correct.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// retry runs fn until it succeeds, fails for a reason other than a lost race, or has
// run maxAttempts times.
func retry(ctx context.Context, fn func() error) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// inTx runs fn in a transaction, committed when fn returns nil, retried on lost races.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

const campaignColumns = `area, id, display_name, channel, messenger, target_audience, message_variant,
	start_date, end_date, cost_pence, utm_campaign, codes, create_time, update_time, revision, creator, last_modifier`

func dateValue(d civil.Date) any {
	if d.IsZero() {
		return nil
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

func dateOf(t time.Time) civil.Date {
	return civil.Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// campaignArgs are the values of campaignColumns, in order.
func campaignArgs(c domain.Campaign) []any {
	codes := c.Codes
	if codes == nil {
		codes = []string{}
	}
	return []any{
		c.Area, c.ID, c.DisplayName, int32(c.Channel), int32(c.Messenger), c.TargetAudience, c.MessageVariant,
		dateValue(c.Start), dateValue(c.End), c.CostPence, c.UTMCampaign, codes, c.CreateTime.UTC(), c.UpdateTime.UTC(),
		int64(c.Revision), c.Creator, c.LastModifier,
	}
}

func scanCampaign(row pgx.Row) (domain.Campaign, error) {
	var (
		c                  domain.Campaign
		channel, messenger int32
		start              time.Time
		end                *time.Time
		revision           int64
	)
	err := row.Scan(&c.Area, &c.ID, &c.DisplayName, &channel, &messenger, &c.TargetAudience, &c.MessageVariant,
		&start, &end, &c.CostPence, &c.UTMCampaign, &c.Codes, &c.CreateTime, &c.UpdateTime, &revision, &c.Creator, &c.LastModifier)
	if err != nil {
		return domain.Campaign{}, err
	}
	c.Channel, c.Messenger = domain.Channel(channel), domain.Messenger(messenger)
	c.Start = dateOf(start)
	if end != nil {
		c.End = dateOf(*end)
	}
	if len(c.Codes) == 0 {
		c.Codes = nil
	}
	c.CreateTime, c.UpdateTime, c.Revision = c.CreateTime.UTC(), c.UpdateTime.UTC(), uint64(revision)
	return c, nil
}

// insertCodes gives c's lookup codes to c; ErrAlreadyExists when one is taken.
func insertCodes(ctx context.Context, tx pgx.Tx, c domain.Campaign) error {
	codes := c.LookupCodes()
	if len(codes) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO campaign_codes (area, code, campaign_id)
		SELECT $1, code, $2 FROM unnest($3::text[]) AS t(code) ORDER BY code
		ON CONFLICT (area, code) DO NOTHING`, c.Area, c.ID, codes)
	if err != nil {
		return fmt.Errorf("insert campaign codes: %w", err)
	}
	if tag.RowsAffected() != int64(len(codes)) {
		return fmt.Errorf("campaign code: %w", domain.ErrAlreadyExists)
	}
	return nil
}

// CreateCampaign implements domain.Store.
func (s *Store) CreateCampaign(ctx context.Context, c domain.Campaign) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO campaigns (`+campaignColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (area, id) DO NOTHING`, campaignArgs(c)...)
		if err != nil {
			return fmt.Errorf("insert campaign: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("campaign id: %w", domain.ErrAlreadyExists)
		}
		return insertCodes(ctx, tx, c)
	})
}

// GetCampaign implements domain.Store.
func (s *Store) GetCampaign(ctx context.Context, area, id string) (domain.Campaign, error) {
	c, err := scanCampaign(s.pool.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE area = $1 AND id = $2`, area, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return domain.Campaign{}, domain.ErrNotFound
	case err != nil:
		return domain.Campaign{}, fmt.Errorf("get campaign: %w", err)
	}
	return c, nil
}

// UpdateCampaign implements domain.Store: the row is replaced only if its revision is
// still c.Revision-1, which the database checks under the row lock, so of two
// concurrent updates of one revision exactly one wins.
func (s *Store) UpdateCampaign(ctx context.Context, c domain.Campaign) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		args := append(campaignArgs(c), int64(c.Revision)-1)
		tag, err := tx.Exec(ctx, `UPDATE campaigns SET (`+campaignColumns+`) =
			($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			WHERE area = $1 AND id = $2 AND revision = $18`, args...)
		if err != nil {
			return fmt.Errorf("update campaign: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE area = $1 AND id = $2)`, c.Area, c.ID).Scan(&exists); err != nil {
				return fmt.Errorf("update campaign: %w", err)
			}
			if !exists {
				return domain.ErrNotFound
			}
			return domain.ErrEtagMismatch
		}
		if _, err := tx.Exec(ctx, `DELETE FROM campaign_codes WHERE area = $1 AND campaign_id = $2`, c.Area, c.ID); err != nil {
			return fmt.Errorf("update campaign codes: %w", err)
		}
		return insertCodes(ctx, tx, c)
	})
}

// ListCampaigns implements domain.Store.
func (s *Store) ListCampaigns(ctx context.Context, area string, after domain.ListCursor, limit int) ([]domain.Campaign, error) {
	var rows pgx.Rows
	var err error
	if area == "" {
		rows, err = s.pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns
			WHERE (area, id) > ($1, $2) ORDER BY area, id LIMIT $3`, after.Area, after.ID, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns
			WHERE area = $1 AND (area, id) > ($2, $3) ORDER BY area, id LIMIT $4`, area, after.Area, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return out, nil
}

// CampaignByCode implements domain.Store.
func (s *Store) CampaignByCode(ctx context.Context, area, code string) (string, bool, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT campaign_id FROM campaign_codes WHERE area = $1 AND code = $2`, area, code).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("campaign by code: %w", err)
	}
	return id, true, nil
}

// insertEvents stores the rows of unnest's arrays whose id is not stored yet, in id
// order (so that concurrent batches sharing ids take their index entries in one order
// and cannot deadlock), and returns the ids it stored. NOT EXISTS skips the ids
// already stored without drawing a seq number for them; ON CONFLICT skips those that a
// concurrent insert stores first.
const insertEvents = `INSERT INTO events (id, fingerprint, journey, area, occur_time, receive_time,
	kind, source, channel, messenger, stage, outcome, reason, campaign)
SELECT i.id, i.fingerprint, i.journey, i.area, i.occur_time, i.receive_time,
	i.kind, i.source, i.channel, i.messenger, i.stage, i.outcome, i.reason, i.campaign
FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::timestamptz[], $6::timestamptz[],
	$7::int2[], $8::int2[], $9::int2[], $10::int2[], $11::int2[], $12::int2[], $13::int2[], $14::text[])
	AS i(id, fingerprint, journey, area, occur_time, receive_time, kind, source, channel, messenger, stage, outcome, reason, campaign)
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = i.id)
ORDER BY i.id
ON CONFLICT (id) DO NOTHING
RETURNING id`

// eventArrays are the columns of a batch, as insertEvents takes them.
type eventArrays struct {
	ids, areas, campaigns                                    []string
	fingerprints, journeys                                   [][]byte
	occur, receive                                           []time.Time
	kind, source, channel, messenger, stage, outcome, reason []int16
}

func newEventArrays(events []domain.Event) eventArrays {
	n := len(events)
	a := eventArrays{
		ids: make([]string, n), areas: make([]string, n), campaigns: make([]string, n),
		fingerprints: make([][]byte, n), journeys: make([][]byte, n), occur: make([]time.Time, n), receive: make([]time.Time, n),
		kind: make([]int16, n), source: make([]int16, n), channel: make([]int16, n), messenger: make([]int16, n),
		stage: make([]int16, n), outcome: make([]int16, n), reason: make([]int16, n),
	}
	for i, e := range events {
		a.ids[i], a.areas[i], a.campaigns[i] = e.ID, e.Area, e.Campaign
		a.fingerprints[i], a.journeys[i] = e.Fingerprint[:], e.Journey[:]
		a.occur[i], a.receive[i] = e.Time, e.ReceiveTime
		a.kind[i], a.source[i], a.channel[i], a.messenger[i] = int16(e.Kind), int16(e.Source), int16(e.Channel), int16(e.Messenger)
		a.stage[i], a.outcome[i], a.reason[i] = int16(e.Stage), int16(e.Outcome), int16(e.Reason)
	}
	return a
}

// PutEvents implements domain.Store: one INSERT of every new event of the batch,
// committed before it returns, and for the events it did not insert one query of the
// stored fingerprints, to tell duplicates from conflicts.
func (s *Store) PutEvents(ctx context.Context, events []domain.Event) ([]domain.PutOutcome, error) {
	if len(events) == 0 {
		return nil, ctx.Err()
	}
	// The first event of an id in the batch is the one offered; repeats are judged
	// against whatever is stored for the id afterwards.
	first := make(map[string]int, len(events))
	offered := make([]domain.Event, 0, len(events))
	for i, e := range events {
		if _, ok := first[e.ID]; !ok {
			first[e.ID] = i
			offered = append(offered, e)
		}
	}
	a := newEventArrays(offered)
	inserted := make(map[string]bool, len(offered))
	err := retry(ctx, func() error {
		clear(inserted)
		rows, err := s.pool.Query(ctx, insertEvents, a.ids, a.fingerprints, a.journeys, a.areas, a.occur, a.receive,
			a.kind, a.source, a.channel, a.messenger, a.stage, a.outcome, a.reason, a.campaigns)
		if err != nil {
			return err
		}
		var id string
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
			inserted[id] = true
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("put events: %w", err)
	}
	outcomes := make([]domain.PutOutcome, len(events))
	stored := make(map[string]domain.Fingerprint, len(events))
	var others []string
	for _, e := range offered {
		if inserted[e.ID] {
			stored[e.ID] = e.Fingerprint
		} else {
			others = append(others, e.ID)
		}
	}
	if len(others) > 0 {
		// Events are never changed once stored, so reading after the insert committed
		// sees the row that beat this one, whichever replica stored it.
		rows, err := s.pool.Query(ctx, `SELECT id, fingerprint FROM events WHERE id = ANY($1)`, others)
		if err != nil {
			return nil, fmt.Errorf("put events: read fingerprints: %w", err)
		}
		var id string
		var fp []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &fp}, func() error {
			if len(fp) != len(domain.Fingerprint{}) {
				return errors.New("corrupt event row: fingerprint of the wrong length")
			}
			stored[id] = domain.Fingerprint(fp)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("put events: read fingerprints: %w", err)
		}
	}
	for i, e := range events {
		fp, ok := stored[e.ID]
		switch {
		case !ok:
			return nil, fmt.Errorf("put events: an event neither stored nor found")
		case first[e.ID] == i && inserted[e.ID]:
			outcomes[i] = domain.PutStored
		case fp == e.Fingerprint:
			outcomes[i] = domain.PutDuplicate
		default:
			outcomes[i] = domain.PutConflict
		}
	}
	return outcomes, nil
}

// eventColumns are read by scanChange, in order.
const eventColumns = `seq, statement_timestamp() - created_at, id, fingerprint, journey, area, occur_time, receive_time,
	kind, source, channel, messenger, stage, outcome, reason, campaign`

// Change is a stored event with its place in the events table's order.
type Change struct {
	// Seq orders the events table; see migrations/0001_init.sql.
	Seq int64
	// Age is how long before the query the row's seq was drawn, by the database's clock.
	Age time.Duration
	// Event is the stored event.
	Event domain.Event
}

func scanChange(row pgx.CollectableRow) (Change, error) {
	var (
		c                                                        Change
		fp, journey                                              []byte
		kind, source, channel, messenger, stage, outcome, reason int16
	)
	e := &c.Event
	err := row.Scan(&c.Seq, &c.Age, &e.ID, &fp, &journey, &e.Area, &e.Time, &e.ReceiveTime,
		&kind, &source, &channel, &messenger, &stage, &outcome, &reason, &e.Campaign)
	if err != nil {
		return Change{}, err
	}
	if len(fp) != len(e.Fingerprint) || len(journey) != len(e.Journey) {
		return Change{}, errors.New("corrupt event row: fingerprint or journey of the wrong length")
	}
	e.Fingerprint, e.Journey = domain.Fingerprint(fp), domain.JourneyKey(journey)
	e.Time, e.ReceiveTime = e.Time.UTC(), e.ReceiveTime.UTC()
	e.Kind, e.Source, e.Channel, e.Messenger = domain.Kind(kind), domain.TouchSource(source), domain.Channel(channel), domain.Messenger(messenger)
	e.Stage, e.Outcome, e.Reason = domain.Stage(stage), domain.Outcome(outcome), domain.WithdrawalReason(reason)
	return c, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func eventsAfter(ctx context.Context, q queryer, after int64, limit int) ([]Change, error) {
	rows, err := q.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanChange)
}

// EventsAfter returns up to limit events with a seq above after, in seq order. An event
// whose insert has not committed yet is not among them even if its seq is lower than
// theirs: see Follower.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]Change, error) {
	out, err := eventsAfter(ctx, s.pool, after, limit)
	if err != nil {
		return nil, fmt.Errorf("events after: %w", err)
	}
	return out, nil
}

// EventsAt returns the stored events among seqs, in seq order.
func (s *Store) EventsAt(ctx context.Context, seqs []int64) ([]Change, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE seq = ANY($1) ORDER BY seq`, seqs)
	if err != nil {
		return nil, fmt.Errorf("events at: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanChange)
	if err != nil {
		return nil, fmt.Errorf("events at: %w", err)
	}
	return out, nil
}

// scanPage is how many events ScanEvents reads per query.
const scanPage = 10_000

// ScanEvents implements domain.Store: pages in seq order in one read-only, repeatable
// read transaction, so the scan sees one state of the table.
func (s *Store) ScanEvents(ctx context.Context, fn func(domain.Event) error) error {
	// Not retried: fn has seen events by the time a page fails.
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var after int64
		for {
			page, err := eventsAfter(ctx, tx, after, scanPage)
			if err != nil {
				return fmt.Errorf("scan events: %w", err)
			}
			for _, c := range page {
				if err := fn(c.Event); err != nil {
					return err
				}
			}
			if len(page) < scanPage {
				return nil
			}
			after = page[len(page)-1].Seq
		}
	})
}

// EnsureSetting stores value under name unless a value is stored already, and returns
// the stored value: of replicas starting together with different values, all get the
// first one stored.
func (s *Store) EnsureSetting(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored []byte
	err := retry(ctx, func() error {
		if _, err := s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("setting: %w", err)
	}
	return slices.Clip(stored), nil
}
