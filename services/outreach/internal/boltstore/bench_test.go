package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

// BenchmarkScanEvents times reading 1,000,000 stored events, what a restart does to
// rebuild the attribution index:
//
//	go test -run '^$' -bench ScanEvents -benchtime 3x ./services/outreach/internal/boltstore/
func BenchmarkScanEvents(b *testing.B) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "outreach.db"), boltstore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	t0 := time.Date(2020, 9, 1, 0, 0, 0, 0, time.UTC)
	const n = 1_000_000
	batch := make([]domain.Event, 0, 50_000)
	for i := range n {
		batch = append(batch, storetest.Event(fmt.Sprintf("%036d", i), byte(i), t0.Add(time.Duration(i)*time.Second)))
		if len(batch) == cap(batch) {
			if _, err := s.PutEvents(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		count := 0
		if err := s.ScanEvents(ctx, func(domain.Event) error { count++; return nil }); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("scanned %d events, want %d", count, n)
		}
	}
}
