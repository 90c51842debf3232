package baseline

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/load"
	bolt "go.etcd.io/bbolt"
)

// BoltWrites measures raw durable bbolt writes of value-sized records by writers
// concurrent writers: one fsync'd transaction per write, or grouped with DB.Batch. This is
// the fastest any of our durable writes can go on this disk.
func BoltWrites(ctx context.Context, dir string, writers int, batched bool, value int, opts load.Options) (load.Result, error) {
	name := "single.db"
	if batched {
		name = "batched.db"
	}
	db, err := bolt.Open(filepath.Join(dir, name), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return load.Result{}, err
	}
	defer db.Close()
	bucket := []byte("records")
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		return load.Result{}, err
	}
	payload := make([]byte, value)
	opts.Concurrency = writers
	write := func(tx *bolt.Tx, w, seq int) error {
		key := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(seq)), uint32(w))
		return tx.Bucket(bucket).Put(key, payload)
	}
	res := load.Run(ctx, opts, func(ctx context.Context, w, seq int) error {
		if batched {
			return db.Batch(func(tx *bolt.Tx) error { return write(tx, w, seq) })
		}
		return db.Update(func(tx *bolt.Tx) error { return write(tx, w, seq) })
	})
	return res, nil
}
