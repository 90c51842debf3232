package domain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

// BenchmarkRecord measures durable ingestion (fsync on) in batches of 100 events from
// concurrent clients; events/s is the figure to read:
//
//	go test -run '^$' -bench Record -benchtime 200x ./services/outreach/internal/domain/
func BenchmarkRecord(b *testing.B) {
	for _, clients := range []int{2, 16, 64} {
		b.Run(fmt.Sprintf("batch=100/clients=%d", clients), func(b *testing.B) {
			store, err := boltstore.Open(filepath.Join(b.TempDir(), "outreach.db"), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			ctx := context.Background()
			if err := store.CreateCampaign(ctx, storetest.Campaign(area, "radio", "LEAF1")); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			svc := domain.NewService(domain.Options{
				Store: store, Hasher: domain.NewJourneyHasher([]byte("0123456789abcdef0123456789abcdef")),
				Policy: policy(), Now: time.Now, MaxBatch: 500,
			})
			var next atomic.Int64
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				batch := make([]domain.RawEvent, 100)
				for pb.Next() {
					n := next.Add(1)
					for i := range batch {
						batch[i] = domain.RawEvent{
							ID: fmt.Sprintf("ev-%d-%d", n, i), JourneyID: fmt.Sprintf("j-%d", n*7+int64(i%7)), Area: area,
							OccurTime: now.Add(-time.Hour), Kind: domain.KindTouch, Source: domain.SourceCodeEntered, Code: "LEAF1",
						}
					}
					res, err := svc.Record(ctx, area, batch)
					if err != nil {
						b.Error(err)
						return
					}
					if res[0].Status != domain.StatusAccepted {
						b.Errorf("status %v", res[0].Status)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
		})
	}
}
