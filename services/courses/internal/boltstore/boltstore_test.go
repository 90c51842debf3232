package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"github.com/nrs-pilots/retrain/services/courses/internal/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) catalog.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "courses.db"), boltstore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "courses.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProvider(t.Context(), storetest.Provider("E37000060", "10000001")); err != nil {
		t.Fatal(err)
	}
	want := storetest.Course("E37000060", "kept", "10000001")
	if err := s.CreateCourse(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetCourse(t.Context(), want.Area, want.ID)
	if err != nil || got.Title != want.Title || got.StartDate != want.StartDate || got.Level != want.Level {
		t.Errorf("after reopen GetCourse = %+v, %v, want %+v", got, err, want)
	}
}

// BenchmarkWrites measures durable (fsync'd) writes; compare with pgstore's:
//
//	go test -run '^$' -bench BenchmarkWrites -benchtime 2s ./services/courses/internal/boltstore/ ./services/courses/internal/pgstore/
func BenchmarkWrites(b *testing.B) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "courses.db"), boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	storetest.BenchmarkWrites(b, s)
}
