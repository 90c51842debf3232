// Package boltstore keeps the outreach service's campaigns and events in one bbolt file.
//
// Layout (schema version 1; buckets created by platform/boltdb):
//
//	campaigns       area (9 bytes) + campaign id            -> JSON campaign
//	campaign_codes  area (9 bytes) + 0x00 + normalised code -> campaign id
//	events          event id                                -> binary event (see encodeEvent)
//
// Event writes go through bbolt's DB.Batch, so concurrent requests share one write
// transaction and one fsync (group commit); the batch function is idempotent (it reads
// before it writes), as Batch requires, because Batch may run it twice.
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
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this package reads and writes.
const SchemaVersion = 1

// The bucket registry: every bucket of the file, in one place.
var (
	bucketCampaigns = []byte("campaigns")
	bucketCodes     = []byte("campaign_codes")
	bucketEvents    = []byte("events")
)

func buckets() [][]byte { return [][]byte{bucketCampaigns, bucketCodes, bucketEvents} }

// Options configure the store.
type Options struct {
	// MaxBatchDelay is how long a write waits for others to share its transaction
	// (default 2ms).
	MaxBatchDelay time.Duration
	// NoSync turns fsync off: tests and benchmarks only.
	NoSync bool
}

// Store is the bbolt store. It implements domain.Store.
type Store struct {
	db *bolt.DB
}

var _ domain.Store = (*Store)(nil)

// Open opens (creating) the file at path.
func Open(path string, opts Options) (*Store, error) {
	db, err := boltdb.Open(path, boltdb.Options{Buckets: buckets(), SchemaVersion: SchemaVersion, NoSync: opts.NoSync})
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = opts.MaxBatchDelay
	if db.MaxBatchDelay <= 0 {
		db.MaxBatchDelay = 2 * time.Millisecond
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func campaignKey(area, id string) []byte {
	k := make([]byte, 0, len(area)+len(id))
	return append(append(k, area...), id...)
}

func codeKey(area, code string) []byte {
	k := make([]byte, 0, len(area)+1+len(code))
	return append(append(append(k, area...), 0), code...)
}

// storedCampaign is the JSON form of a campaign in the file.
type storedCampaign struct {
	Area           string    `json:"area"`
	ID             string    `json:"id"`
	DisplayName    string    `json:"display_name"`
	Channel        int32     `json:"channel"`
	Messenger      int32     `json:"messenger"`
	TargetAudience string    `json:"target_audience,omitempty"`
	MessageVariant string    `json:"message_variant,omitempty"`
	Start          string    `json:"start"`
	End            string    `json:"end,omitempty"`
	CostPence      int64     `json:"cost_pence"`
	UTMCampaign    string    `json:"utm_campaign,omitempty"`
	Codes          []string  `json:"codes,omitempty"`
	CreateTime     time.Time `json:"create_time"`
	UpdateTime     time.Time `json:"update_time"`
	Revision       uint64    `json:"revision"`
	Creator        string    `json:"creator,omitempty"`
	LastModifier   string    `json:"last_modifier,omitempty"`
}

func encodeCampaign(c domain.Campaign) ([]byte, error) {
	sc := storedCampaign{
		Area: c.Area, ID: c.ID, DisplayName: c.DisplayName, Channel: int32(c.Channel), Messenger: int32(c.Messenger),
		TargetAudience: c.TargetAudience, MessageVariant: c.MessageVariant, CostPence: c.CostPence,
		UTMCampaign: c.UTMCampaign, Codes: c.Codes, CreateTime: c.CreateTime, UpdateTime: c.UpdateTime, Revision: c.Revision,
		Creator: c.Creator, LastModifier: c.LastModifier,
	}
	sc.Start = c.Start.String()
	if !c.End.IsZero() {
		sc.End = c.End.String()
	}
	return json.Marshal(sc)
}

func decodeCampaign(b []byte) (domain.Campaign, error) {
	var sc storedCampaign
	if err := json.Unmarshal(b, &sc); err != nil {
		return domain.Campaign{}, fmt.Errorf("decode campaign: %w", err)
	}
	c := domain.Campaign{
		Area: sc.Area, ID: sc.ID, DisplayName: sc.DisplayName, Channel: domain.Channel(sc.Channel), Messenger: domain.Messenger(sc.Messenger),
		TargetAudience: sc.TargetAudience, MessageVariant: sc.MessageVariant, CostPence: sc.CostPence,
		UTMCampaign: sc.UTMCampaign, Codes: sc.Codes, CreateTime: sc.CreateTime, UpdateTime: sc.UpdateTime, Revision: sc.Revision,
		Creator: sc.Creator, LastModifier: sc.LastModifier,
	}
	var err error
	if c.Start, err = civil.Parse(sc.Start); err != nil {
		return domain.Campaign{}, fmt.Errorf("decode campaign start: %w", err)
	}
	if sc.End != "" {
		if c.End, err = civil.Parse(sc.End); err != nil {
			return domain.Campaign{}, fmt.Errorf("decode campaign end: %w", err)
		}
	}
	return c, nil
}

// CreateCampaign implements domain.Store.
func (s *Store) CreateCampaign(ctx context.Context, c domain.Campaign) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	val, err := encodeCampaign(c)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCampaigns)
		key := campaignKey(c.Area, c.ID)
		if b.Get(key) != nil {
			return fmt.Errorf("campaign id: %w", domain.ErrAlreadyExists)
		}
		if err := putCodes(tx, c, nil); err != nil {
			return err
		}
		return b.Put(key, val)
	})
}

// putCodes indexes c's codes, after removing those of old (the previous version).
func putCodes(tx *bolt.Tx, c domain.Campaign, old *domain.Campaign) error {
	codes := tx.Bucket(bucketCodes)
	if old != nil {
		for _, code := range old.LookupCodes() {
			if err := codes.Delete(codeKey(old.Area, code)); err != nil {
				return err
			}
		}
	}
	for _, code := range c.LookupCodes() {
		k := codeKey(c.Area, code)
		if v := codes.Get(k); v != nil && string(v) != c.ID {
			return fmt.Errorf("campaign code: %w", domain.ErrAlreadyExists)
		}
		if err := codes.Put(k, []byte(c.ID)); err != nil {
			return err
		}
	}
	return nil
}

// GetCampaign implements domain.Store.
func (s *Store) GetCampaign(ctx context.Context, area, id string) (domain.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return domain.Campaign{}, err
	}
	var c domain.Campaign
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCampaigns).Get(campaignKey(area, id))
		if v == nil {
			return domain.ErrNotFound
		}
		var err error
		c, err = decodeCampaign(v) // json.Unmarshal copies out of the page.
		return err
	})
	return c, err
}

// UpdateCampaign implements domain.Store.
func (s *Store) UpdateCampaign(ctx context.Context, c domain.Campaign) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	val, err := encodeCampaign(c)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCampaigns)
		key := campaignKey(c.Area, c.ID)
		v := b.Get(key)
		if v == nil {
			return domain.ErrNotFound
		}
		old, err := decodeCampaign(v)
		if err != nil {
			return err
		}
		if old.Revision != c.Revision-1 {
			return domain.ErrEtagMismatch
		}
		if err := putCodes(tx, c, &old); err != nil {
			return err
		}
		return b.Put(key, val)
	})
}

// ListCampaigns implements domain.Store.
func (s *Store) ListCampaigns(ctx context.Context, area string, after domain.ListCursor, limit int) ([]domain.Campaign, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []domain.Campaign
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketCampaigns).Cursor()
		prefix := []byte(area)
		var k, v []byte
		if after.Area != "" {
			start := campaignKey(after.Area, after.ID)
			k, v = cur.Seek(start)
			if bytes.Equal(k, start) {
				k, v = cur.Next()
			}
		} else {
			k, v = cur.Seek(prefix)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = cur.Next() {
			c, err := decodeCampaign(v)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// CampaignByCode implements domain.Store.
func (s *Store) CampaignByCode(ctx context.Context, area, code string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCodes).Get(codeKey(area, code)); v != nil {
			id = string(v)
		}
		return nil
	})
	return id, id != "", err
}

// PutEvents implements domain.Store: one DB.Batch call, shared with concurrent callers,
// so the events are durable when it returns.
func (s *Store) PutEvents(ctx context.Context, events []domain.Event) ([]domain.PutOutcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	vals := make([][]byte, len(events))
	for i, e := range events {
		vals[i] = encodeEvent(e)
	}
	var outcomes []domain.PutOutcome
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Fresh results on every run: Batch may run this function again alone.
		outcomes = make([]domain.PutOutcome, len(events))
		b := tx.Bucket(bucketEvents)
		for i, e := range events {
			key := []byte(e.ID)
			if old := b.Get(key); old != nil {
				fp, err := eventFingerprint(old)
				if err != nil {
					return err
				}
				if fp == e.Fingerprint {
					outcomes[i] = domain.PutDuplicate
				} else {
					outcomes[i] = domain.PutConflict
				}
				continue
			}
			if err := b.Put(key, vals[i]); err != nil {
				return err
			}
			outcomes[i] = domain.PutStored
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("put events: %w", err)
	}
	return outcomes, nil
}

// ScanEvents implements domain.Store.
func (s *Store) ScanEvents(ctx context.Context, fn func(domain.Event) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		n := 0
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			e, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			return fn(e)
		})
	})
}

// eventVersion is the first byte of an encoded event.
const eventVersion = 1

// encodeEvent writes an event (its id is the key):
//
//	version(1) fingerprint(16) journey(16) time(varint ns) receive(varint ns)
//	kind source channel messenger stage outcome reason (1 byte each)
//	len+area len+campaign (uvarint lengths)
func encodeEvent(e domain.Event) []byte {
	b := make([]byte, 0, 64+len(e.Area)+len(e.Campaign))
	b = append(b, eventVersion)
	b = append(b, e.Fingerprint[:]...)
	b = append(b, e.Journey[:]...)
	b = binary.AppendVarint(b, e.Time.UnixNano())
	b = binary.AppendVarint(b, e.ReceiveTime.UnixNano())
	b = append(b, byte(e.Kind), byte(e.Source), byte(e.Channel), byte(e.Messenger), byte(e.Stage), byte(e.Outcome), byte(e.Reason))
	b = binary.AppendUvarint(b, uint64(len(e.Area)))
	b = append(b, e.Area...)
	b = binary.AppendUvarint(b, uint64(len(e.Campaign)))
	b = append(b, e.Campaign...)
	return b
}

var errCorrupt = errors.New("corrupt event record")

func eventFingerprint(b []byte) (domain.Fingerprint, error) {
	var fp domain.Fingerprint
	if len(b) < 1+16 || b[0] != eventVersion {
		return fp, errCorrupt
	}
	copy(fp[:], b[1:17])
	return fp, nil
}

func decodeEvent(key, b []byte) (domain.Event, error) {
	var e domain.Event
	if len(b) < 1+32 || b[0] != eventVersion {
		return e, errCorrupt
	}
	e.ID = string(key)
	copy(e.Fingerprint[:], b[1:17])
	copy(e.Journey[:], b[17:33])
	b = b[33:]
	t, n := binary.Varint(b)
	if n <= 0 {
		return e, errCorrupt
	}
	b = b[n:]
	r, n := binary.Varint(b)
	if n <= 0 || len(b[n:]) < 7 {
		return e, errCorrupt
	}
	b = b[n:]
	e.Time, e.ReceiveTime = time.Unix(0, t).UTC(), time.Unix(0, r).UTC()
	e.Kind, e.Source, e.Channel, e.Messenger = domain.Kind(b[0]), domain.TouchSource(b[1]), domain.Channel(b[2]), domain.Messenger(b[3])
	e.Stage, e.Outcome, e.Reason = domain.Stage(b[4]), domain.Outcome(b[5]), domain.WithdrawalReason(b[6])
	b = b[7:]
	str := func() (string, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b[n:])) < l {
			return "", false
		}
		s := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return s, true
	}
	var ok bool
	if e.Area, ok = str(); !ok {
		return e, errCorrupt
	}
	if e.Campaign, ok = str(); !ok {
		return e, errCorrupt
	}
	return e, nil
}
