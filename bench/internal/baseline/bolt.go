package baseline

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/load"
	bolt "go.etcd.io/bbolt"
)

// ServiceMaxBatchDelay is how long a grouped write waits for others to share its commit in
// the services' bbolt stores (the eligibility and outreach stores' default), so the batched
// baseline groups writes exactly as the services do.
const ServiceMaxBatchDelay = 2 * time.Millisecond

// BoltOptions shape a raw bbolt write run.
type BoltOptions struct {
	// Batched groups concurrent writes with DB.Batch (one commit and one fsync per group,
	// waiting up to ServiceMaxBatchDelay for others); otherwise every write is its own
	// fsync'd DB.Update.
	Batched bool
	// Records is how many records one write puts (at least 1): 100 is the floor of an
	// ingested batch of 100 events.
	Records int
	// Value is the size of each record in bytes.
	Value int
}

// BoltWrites measures raw durable bbolt writes by opts.Concurrency concurrent writers, each
// write putting o.Records records of o.Value bytes under fresh keys: one fsync'd transaction
// per write, or grouped with DB.Batch. This is the fastest any of our durable writes can go
// on this disk; a call of the result is one write (of o.Records records).
func BoltWrites(ctx context.Context, dir string, o BoltOptions, opts load.Options) (load.Result, error) {
	name := "single.db"
	if o.Batched {
		name = "batched.db"
	}
	db, err := bolt.Open(filepath.Join(dir, name), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return load.Result{}, err
	}
	defer db.Close()
	db.MaxBatchDelay = ServiceMaxBatchDelay
	bucket := []byte("records")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		return load.Result{}, err
	}
	records := max(o.Records, 1)
	payload := make([]byte, o.Value)
	write := func(tx *bolt.Tx, w, seq int) error {
		b := tx.Bucket(bucket)
		for r := range records {
			key := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(seq)), uint32(w)), uint32(r))
			if err := b.Put(key, payload); err != nil {
				return err
			}
		}
		return nil
	}
	res := load.Run(ctx, opts, func(ctx context.Context, w, seq int) error {
		if o.Batched {
			return db.Batch(func(tx *bolt.Tx) error { return write(tx, w, seq) })
		}
		return db.Update(func(tx *bolt.Tx) error { return write(tx, w, seq) })
	})
	return res, nil
}
