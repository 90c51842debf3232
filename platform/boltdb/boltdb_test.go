package boltdb

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenCreatesFileAndBuckets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "svc.db")
	db, err := Open(path, Options{Buckets: [][]byte{[]byte("a"), []byte("b")}, SchemaVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode = %o, want 600", got)
	}
	if v, err := SchemaVersion(db); err != nil || v != 3 {
		t.Errorf("SchemaVersion() = %d, %v, want 3, nil", v, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range []string{"a", "b"} {
			if tx.Bucket([]byte(b)) == nil {
				t.Errorf("bucket %q missing", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenSchemaVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.db")
	db, err := Open(path, Options{SchemaVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A newer binary migrates once.
	var migratedFrom []uint64
	db, err = Open(path, Options{SchemaVersion: 3, Migrate: func(tx *bolt.Tx, from uint64) error {
		migratedFrom = append(migratedFrom, from)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if len(migratedFrom) != 1 || migratedFrom[0] != 2 {
		t.Errorf("Migrate called with %v, want [2]", migratedFrom)
	}

	// An older binary refuses the file.
	if _, err := Open(path, Options{SchemaVersion: 1}); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open(older binary) error = %v, want ErrNewerSchema", err)
	}
}

func TestOpenLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.db")
	db, err := Open(path, Options{SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(path, Options{SchemaVersion: 1, LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Error("second Open of a locked file succeeded, want a timeout error")
	}
}
