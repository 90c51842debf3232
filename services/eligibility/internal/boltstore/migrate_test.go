package boltstore

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/boltdb"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	bolt "go.etcd.io/bbolt"
)

// A schema 2 file's pending conversions are indexed by event id when it is opened, so an
// event id pending before the upgrade is not appended again after it.
func TestMigrateIndexesPendingEventIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eligibility.db")
	v2 := allBuckets[:len(allBuckets)-1] // every bucket but outbox_events
	db, err := boltdb.Open(path, boltdb.Options{Buckets: v2, SchemaVersion: 2, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err := json.Marshal(conversionJSON{EventID: "old-event", JourneyID: "j", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOutbox).Put(u64(7), v) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.AppendConversion(ctx, domain.Conversion{EventID: "old-event", JourneyID: "j", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingConversions(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Sequence != 7 {
		t.Fatalf("pending after appending a migrated event id again = %+v, %v; want only the original, sequence 7", pending, err)
	}
	if err := s.RemoveConversions(ctx, []uint64{7}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendConversion(ctx, domain.Conversion{EventID: "old-event", JourneyID: "j", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if pending, err := s.PendingConversions(ctx, 10); err != nil || len(pending) != 1 || pending[0].Sequence == 7 {
		t.Errorf("after delivery the event id can be appended anew: pending = %+v, %v", pending, err)
	}
}
