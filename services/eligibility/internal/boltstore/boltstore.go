// Package boltstore is the bbolt implementation of domain.Store: one file, the buckets and
// schema version declared here, big-endian sequence keys, writes of learner data and their
// audit records in one transaction grouped with concurrent writers (bbolt Batch, one fsync
// per group), and erasure that overwrites the freed pages so nothing erased stays in the
// file.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nrs-pilots/retrain/platform/boltdb"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout of the file this package reads and writes. Version 1 was
// the empty file of the first release; version 2 adds every bucket below but
// outbox_events (creating them is the whole migration); version 3 adds outbox_events,
// filled from the outbox by migrate.
const SchemaVersion = 3

// The buckets. Keys are noted beside each; "seq" is a big-endian uint64.
var (
	// bucketRulesets: seq -> rulesetJSON, in publication order.
	bucketRulesets = []byte("rulesets")
	// bucketAssessments: learner "/" id -> assessmentJSON. '/' cannot occur in a learner
	// reference, so a learner's assessments are one key range, in id (= time) order.
	bucketAssessments = []byte("assessments")
	// bucketAssessmentsByTime: create time (unix ns, big-endian) learner "/" id -> empty,
	// for the retention sweep.
	bucketAssessmentsByTime = []byte("assessments_by_time")
	// bucketAudit: seq -> auditJSON. Append-only except for erasure's redaction.
	bucketAudit = []byte("audit")
	// bucketAuditByLearner: learner "/" seq -> empty.
	bucketAuditByLearner = []byte("audit_by_learner")
	// bucketOutbox: seq -> conversionJSON, in the order the checks were made.
	bucketOutbox = []byte("outbox")
	// bucketOutboxDead: seq -> conversionJSON rejected for good by the sink.
	bucketOutboxDead = []byte("outbox_dead")
	// bucketOutboxEvents: event id -> seq of the pending entry, so an event id is in the
	// outbox at most once.
	bucketOutboxEvents = []byte("outbox_events")
	// bucketScrub is created and deleted by erasure to overwrite freed pages.
	bucketScrub = []byte("scrub")
)

var allBuckets = [][]byte{bucketRulesets, bucketAssessments, bucketAssessmentsByTime, bucketAudit, bucketAuditByLearner, bucketOutbox, bucketOutboxDead, bucketOutboxEvents}

// Options tune the store.
type Options struct {
	// NoSync turns off fsync: tests only.
	NoSync bool
	// MaxBatchDelay is how long a write waits for others to share its commit
	// (DefaultMaxBatchDelay when zero).
	MaxBatchDelay time.Duration
	// MaxBatchSize is the most writes in one commit (bbolt's default, 1000, when zero).
	MaxBatchSize int
}

// DefaultMaxBatchDelay is how long a write waits for others to join its commit. bbolt's
// own default (10ms) is ten fsyncs on a local SSD: a lone writer would wait that long for
// nothing. 2ms keeps a lone write fast and still groups a busy server's writes.
const DefaultMaxBatchDelay = 2 * time.Millisecond

// Store is a domain.Store in one bbolt file.
type Store struct {
	db *bolt.DB
}

var _ domain.Store = (*Store)(nil)

// Open opens (creating if needed) the store at path.
func Open(path string, o Options) (*Store, error) {
	db, err := boltdb.Open(path, boltdb.Options{Buckets: allBuckets, SchemaVersion: SchemaVersion, Migrate: migrate, NoSync: o.NoSync})
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = DefaultMaxBatchDelay
	if o.MaxBatchDelay > 0 {
		db.MaxBatchDelay = o.MaxBatchDelay
	}
	if o.MaxBatchSize > 0 {
		db.MaxBatchSize = o.MaxBatchSize
	}
	return &Store{db: db}, nil
}

// migrate upgrades a file of an older schema; the buckets are already created.
func migrate(tx *bolt.Tx, from uint64) error {
	if from < 3 {
		// Index the event ids of the pending entries.
		events := tx.Bucket(bucketOutboxEvents)
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var cj conversionJSON
			if err := json.Unmarshal(v, &cj); err != nil {
				return fmt.Errorf("outbox entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			return events.Put([]byte(cj.EventID), bytes.Clone(k))
		})
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Stored forms. They are this package's schema, independent of the domain's Go types.

type rulesetJSON struct {
	Ruleset       json.RawMessage `json:"ruleset"`
	EffectiveFrom civil.Date      `json:"effective_from"`
	PublishedAt   time.Time       `json:"published_at"`
	PublishedBy   string          `json:"published_by"`
	Source        string          `json:"source"`
}

type assessmentJSON struct {
	CreateTime     time.Time `json:"create_time"`
	RecordedBy     string    `json:"recorded_by"`
	RulesetVersion string    `json:"ruleset_version"`
	Outcome        int       `json:"outcome"`
	KeyID          string    `json:"key_id"`
	Sealed         []byte    `json:"sealed"`
}

type auditJSON struct {
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Learner    string    `json:"learner,omitempty"`
	Assessment string    `json:"assessment,omitempty"`
	RPC        string    `json:"rpc,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	Redacted   bool      `json:"redacted,omitempty"`
}

type conversionJSON struct {
	EventID        string    `json:"event_id"`
	JourneyID      string    `json:"journey_id"`
	Outcome        int       `json:"outcome"`
	Areas          []string  `json:"areas,omitempty"`
	RulesetVersion string    `json:"ruleset_version"`
	Time           time.Time `json:"time"`
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

func learnerPrefix(learner string) []byte { return []byte(learner + "/") }

func assessmentKey(learner, id string) []byte { return []byte(learner + "/" + id) }

func timeKey(t time.Time, learner, id string) []byte {
	return append(u64(uint64(t.UnixNano())), assessmentKey(learner, id)...)
}

// appendAudit adds r to the trail and to the learner's index.
func appendAudit(tx *bolt.Tx, r domain.AuditRecord) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(auditJSON{Time: r.Time, Actor: r.Actor, Action: r.Action, Learner: r.Learner, Assessment: r.Assessment, RPC: r.RPC, Detail: r.Detail})
	if err != nil {
		return err
	}
	if err := b.Put(u64(seq), v); err != nil {
		return err
	}
	if r.Learner != "" {
		return tx.Bucket(bucketAuditByLearner).Put(append(learnerPrefix(r.Learner), u64(seq)...), nil)
	}
	return nil
}

func decodeAudit(k, v []byte) (domain.AuditRecord, error) {
	var a auditJSON
	if err := json.Unmarshal(v, &a); err != nil {
		return domain.AuditRecord{}, fmt.Errorf("audit record: %w", err)
	}
	return domain.AuditRecord{
		Sequence: binary.BigEndian.Uint64(k), Time: a.Time, Actor: a.Actor, Action: a.Action,
		Learner: a.Learner, Assessment: a.Assessment, RPC: a.RPC, Detail: a.Detail, Redacted: a.Redacted,
	}, nil
}

func decodeAssessment(learner, id string, v []byte) (domain.StoredAssessment, error) {
	var a assessmentJSON
	if err := json.Unmarshal(v, &a); err != nil {
		return domain.StoredAssessment{}, fmt.Errorf("assessment: %w", err)
	}
	return domain.StoredAssessment{
		Learner: learner, ID: id, CreateTime: a.CreateTime, RecordedBy: a.RecordedBy,
		RulesetVersion: a.RulesetVersion, Outcome: rules.Outcome(a.Outcome), KeyID: a.KeyID, Sealed: a.Sealed,
	}, nil
}

// CreateRuleset implements domain.Store.
func (s *Store) CreateRuleset(ctx context.Context, r domain.RulesetRecord, audit domain.AuditRecord) error {
	rs, err := json.Marshal(r.Ruleset)
	if err != nil {
		return err
	}
	v, err := json.Marshal(rulesetJSON{Ruleset: rs, EffectiveFrom: r.EffectiveFrom, PublishedAt: r.PublishedAt, PublishedBy: r.PublishedBy, Source: r.Source})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRulesets)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var existing struct {
				Ruleset struct {
					Version string `json:"version"`
				} `json:"ruleset"`
			}
			if err := json.Unmarshal(v, &existing); err != nil {
				return fmt.Errorf("ruleset %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if existing.Ruleset.Version == r.Ruleset.Version {
				return fmt.Errorf("ruleset %s: %w", r.Ruleset.Version, domain.ErrAlreadyExists)
			}
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), v); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
}

// Rulesets implements domain.Store.
func (s *Store) Rulesets(ctx context.Context, skip int) ([]domain.RulesetRecord, error) {
	var out []domain.RulesetRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		i := 0
		return tx.Bucket(bucketRulesets).ForEach(func(k, v []byte) error {
			if i++; i <= skip {
				return nil
			}
			var r rulesetJSON
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("ruleset %d: %w", binary.BigEndian.Uint64(k), err)
			}
			rs, err := rules.ParseRuleset(r.Ruleset)
			if err != nil {
				return fmt.Errorf("ruleset %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, domain.RulesetRecord{Ruleset: rs, EffectiveFrom: r.EffectiveFrom, PublishedAt: r.PublishedAt, PublishedBy: r.PublishedBy, Source: r.Source})
			return nil
		})
	})
	return out, err
}

// CreateAssessment implements domain.Store: the assessment, its time index and the audit
// record in one transaction, committed with concurrent writers.
func (s *Store) CreateAssessment(ctx context.Context, a domain.StoredAssessment, audit domain.AuditRecord) error {
	v, err := json.Marshal(assessmentJSON{CreateTime: a.CreateTime, RecordedBy: a.RecordedBy, RulesetVersion: a.RulesetVersion, Outcome: int(a.Outcome), KeyID: a.KeyID, Sealed: a.Sealed})
	if err != nil {
		return err
	}
	key := assessmentKey(a.Learner, a.ID)
	var exists bool
	// Batch may run the function twice (the second time alone, after another function of
	// the group failed); every run starts from a rolled-back state, so it is idempotent.
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAssessments)
		if exists = b.Get(key) != nil; exists {
			return nil
		}
		if err := b.Put(key, v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAssessmentsByTime).Put(timeKey(a.CreateTime, a.Learner, a.ID), nil); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("assessment %s: %w", a.ID, domain.ErrAlreadyExists)
	}
	return nil
}

// GetAssessment implements domain.Store. The read and its audit record share a grouped
// write transaction, so the read is on record before the data leaves.
func (s *Store) GetAssessment(ctx context.Context, learner, id string, audit domain.AuditRecord) (domain.StoredAssessment, error) {
	var out domain.StoredAssessment
	var found bool
	err := s.db.Batch(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAssessments).Get(assessmentKey(learner, id))
		if found = v != nil; !found {
			return nil
		}
		var err error
		if out, err = decodeAssessment(learner, id, v); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
	if err != nil {
		return domain.StoredAssessment{}, err
	}
	if !found {
		return domain.StoredAssessment{}, fmt.Errorf("assessment %s: %w", id, domain.ErrNotFound)
	}
	return out, nil
}

// ListAssessments implements domain.Store.
func (s *Store) ListAssessments(ctx context.Context, learner, afterID string, limit int, audit domain.AuditRecord) ([]domain.StoredAssessment, error) {
	var out []domain.StoredAssessment
	err := s.db.Batch(func(tx *bolt.Tx) error {
		out = out[:0]
		var err error
		if out, err = scanAssessments(tx, learner, afterID, limit, out); err != nil {
			return err
		}
		return appendAudit(tx, audit)
	})
	return out, err
}

// scanAssessments appends to out up to limit (0: all) of the learner's assessments after
// afterID.
func scanAssessments(tx *bolt.Tx, learner, afterID string, limit int, out []domain.StoredAssessment) ([]domain.StoredAssessment, error) {
	prefix := learnerPrefix(learner)
	c := tx.Bucket(bucketAssessments).Cursor()
	seek := prefix
	if afterID != "" {
		seek = assessmentKey(learner, afterID)
	}
	for k, v := c.Seek(seek); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		id := string(k[len(prefix):])
		if afterID != "" && id <= afterID {
			continue
		}
		a, err := decodeAssessment(learner, id, v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// ExportLearner implements domain.Store.
func (s *Store) ExportLearner(ctx context.Context, learner string, audit domain.AuditRecord) (domain.LearnerData, error) {
	var out domain.LearnerData
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := appendAudit(tx, audit); err != nil {
			return err
		}
		var err error
		if out.Assessments, err = scanAssessments(tx, learner, "", 0, nil); err != nil {
			return err
		}
		prefix := learnerPrefix(learner)
		ab := tx.Bucket(bucketAudit)
		c := tx.Bucket(bucketAuditByLearner).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			seq := k[len(prefix):]
			v := ab.Get(seq)
			if v == nil {
				continue
			}
			r, err := decodeAudit(seq, v)
			if err != nil {
				return err
			}
			out.Audit = append(out.Audit, r)
		}
		return nil
	})
	return out, err
}

// EraseLearner implements domain.Store: it deletes the learner's assessments and index
// entries, blanks the learner from their audit records, appends the erasure record, and
// then overwrites the pages the deletion freed (see scrub).
func (s *Store) EraseLearner(ctx context.Context, learner string, audit domain.AuditRecord) (int, error) {
	if audit.Learner != "" {
		return 0, errors.New("erasure audit record must not name the learner")
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		prefix := learnerPrefix(learner)
		ab := tx.Bucket(bucketAssessments)
		bt := tx.Bucket(bucketAssessmentsByTime)
		var keys [][]byte
		c := ab.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var a assessmentJSON
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("assessment: %w", err)
			}
			if err := bt.Delete(timeKey(a.CreateTime, learner, string(k[len(prefix):]))); err != nil {
				return err
			}
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := ab.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)

		audits := tx.Bucket(bucketAudit)
		idx := tx.Bucket(bucketAuditByLearner)
		keys = keys[:0]
		c = idx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			seq := k[len(prefix):]
			if v := audits.Get(seq); v != nil {
				var r auditJSON
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("audit record: %w", err)
				}
				r.Learner, r.Assessment, r.Redacted = "", "", true
				nv, err := json.Marshal(r)
				if err != nil {
					return err
				}
				if err := audits.Put(seq, nv); err != nil {
					return err
				}
			}
			if err := idx.Delete(k); err != nil {
				return err
			}
		}
		audit.Detail = fmt.Sprintf("%d assessments erased", n)
		return appendAudit(tx, audit)
	})
	if err != nil {
		return 0, err
	}
	return n, s.scrub()
}

// DeleteAssessmentsBefore implements domain.Store.
func (s *Store) DeleteAssessmentsBefore(ctx context.Context, cutoff time.Time, limit int, audit domain.AuditRecord) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		bt := tx.Bucket(bucketAssessmentsByTime)
		ab := tx.Bucket(bucketAssessments)
		end := u64(uint64(cutoff.UnixNano()))
		var keys [][]byte
		c := bt.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) < 0 && len(keys) < limit; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := ab.Delete(k[8:]); err != nil {
				return err
			}
			if err := bt.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		if n == 0 {
			return nil
		}
		audit.Detail = fmt.Sprintf("%d assessments deleted", n)
		return appendAudit(tx, audit)
	})
	if err != nil || n == 0 {
		return n, err
	}
	return n, s.scrub()
}

// ListAudit implements domain.Store.
func (s *Store) ListAudit(ctx context.Context, afterSeq uint64, limit int) ([]domain.AuditRecord, error) {
	var out []domain.AuditRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(u64(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			r, err := decodeAudit(k, v)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// AppendConversion implements domain.Store.
func (s *Store) AppendConversion(ctx context.Context, c domain.Conversion) error {
	v, err := json.Marshal(conversionJSON{EventID: c.EventID, JourneyID: c.JourneyID, Outcome: int(c.Outcome), Areas: c.Areas, RulesetVersion: c.RulesetVersion, Time: c.Time})
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketOutboxEvents)
		if events.Get([]byte(c.EventID)) != nil {
			return nil
		}
		b := tx.Bucket(bucketOutbox)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), v); err != nil {
			return err
		}
		return events.Put([]byte(c.EventID), u64(seq))
	})
}

// PendingConversions implements domain.Store.
func (s *Store) PendingConversions(ctx context.Context, limit int) ([]domain.OutboxEntry, error) {
	var out []domain.OutboxEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var cj conversionJSON
			if err := json.Unmarshal(v, &cj); err != nil {
				return fmt.Errorf("outbox entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, domain.OutboxEntry{Sequence: binary.BigEndian.Uint64(k), Conversion: domain.Conversion{
				EventID: cj.EventID, JourneyID: cj.JourneyID, Outcome: rules.Outcome(cj.Outcome),
				Areas: cj.Areas, RulesetVersion: cj.RulesetVersion, Time: cj.Time,
			}})
		}
		return nil
	})
	return out, err
}

// RemoveConversions implements domain.Store.
func (s *Store) RemoveConversions(ctx context.Context, delivered, deadLetter []uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		dead := tx.Bucket(bucketOutboxDead)
		events := tx.Bucket(bucketOutboxEvents)
		remove := func(seq uint64, toDead bool) error {
			k := u64(seq)
			v := b.Get(k)
			if v == nil {
				return nil
			}
			var cj conversionJSON
			if err := json.Unmarshal(v, &cj); err != nil {
				return fmt.Errorf("outbox entry %d: %w", seq, err)
			}
			if err := events.Delete([]byte(cj.EventID)); err != nil {
				return err
			}
			if toDead {
				if err := dead.Put(k, bytes.Clone(v)); err != nil {
					return err
				}
			}
			return b.Delete(k)
		}
		for _, seq := range delivered {
			if err := remove(seq, false); err != nil {
				return err
			}
		}
		for _, seq := range deadLetter {
			if err := remove(seq, true); err != nil {
				return err
			}
		}
		return nil
	})
}
