// Package boltdb opens the bbolt file of a service: one file per service, created with
// mode 0600, a bounded wait for the file lock, the service's buckets created up front, and
// a schema version kept in one place so an old binary refuses a newer file.
package boltdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// metaBucket holds the schema version of the file.
var metaBucket = []byte("meta")

var schemaKey = []byte("schema_version")

// ErrNewerSchema is returned when the file was written by a newer schema than the binary knows.
var ErrNewerSchema = errors.New("bbolt file has a newer schema version than this binary supports")

// Options describes what a service needs of its file.
type Options struct {
	// Buckets are created if missing.
	Buckets [][]byte
	// SchemaVersion is the version this binary writes. A new file gets it; an older file is
	// passed to Migrate; a newer one is refused with ErrNewerSchema.
	SchemaVersion uint64
	// Migrate upgrades a file from version from to SchemaVersion inside one transaction.
	// Nil means there is nothing to migrate (any older version is simply stamped).
	Migrate func(tx *bolt.Tx, from uint64) error
	// LockTimeout bounds the wait for another process holding the file (default 2s).
	LockTimeout time.Duration
	// NoSync turns off fsync: for tests and benchmarks only, never in production.
	NoSync bool
}

// Open opens (creating if needed) the bbolt file at path and prepares it as opts says.
func Open(path string, opts Options) (*bolt.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return prepare(tx, opts) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("prepare %s: %w", filepath.Base(path), err)
	}
	return db, nil
}

func prepare(tx *bolt.Tx, opts Options) error {
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	var current uint64
	fresh := true
	if v := meta.Get(schemaKey); v != nil {
		if len(v) != 8 {
			return fmt.Errorf("schema version is %d bytes, want 8", len(v))
		}
		current = binary.BigEndian.Uint64(v)
		fresh = false
	}
	if !fresh && current > opts.SchemaVersion {
		return fmt.Errorf("%w (file %d, binary %d)", ErrNewerSchema, current, opts.SchemaVersion)
	}
	for _, b := range opts.Buckets {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
	}
	if !fresh && current < opts.SchemaVersion && opts.Migrate != nil {
		if err := opts.Migrate(tx, current); err != nil {
			return fmt.Errorf("migrate from schema %d: %w", current, err)
		}
	}
	return meta.Put(schemaKey, binary.BigEndian.AppendUint64(nil, opts.SchemaVersion))
}

// SchemaVersion reads the schema version stamped in the file.
func SchemaVersion(db *bolt.DB) (uint64, error) {
	var v uint64
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(metaBucket)
		if b == nil {
			return errors.New("no meta bucket")
		}
		raw := b.Get(schemaKey)
		if len(raw) != 8 {
			return errors.New("no schema version")
		}
		v = binary.BigEndian.Uint64(raw)
		return nil
	})
	return v, err
}
