package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/pgstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

// BenchURLEnv names a PostgreSQL URL for the benchmarks. pgtest's throwaway server runs
// with fsync off, so durable figures need a server of your own with its defaults (fsync
// and synchronous_commit on); the benchmarks write to its "outreach" schema, with event
// ids of their own on every run.
const BenchURLEnv = "RETRAIN_BENCH_POSTGRES_URL"

func benchURL(b *testing.B) string {
	if url := os.Getenv(BenchURLEnv); url != "" {
		return url
	}
	b.Logf("%s unset: on pgtest's server, which runs with fsync off (figures are not durable)", BenchURLEnv)
	return pgtest.URL(b)
}

// BenchmarkRecord is domain's BenchmarkRecord (durable ingestion in batches of 100
// events from concurrent clients, through domain.Service) on PostgreSQL; events/s is
// the figure to read:
//
//	RETRAIN_BENCH_POSTGRES_URL=postgres://... go test -run '^$' -bench Record -benchtime 200x ./services/outreach/internal/pgstore/
func BenchmarkRecord(b *testing.B) {
	const area = "E37000022"
	for _, clients := range []int{2, 16, 64} {
		b.Run(fmt.Sprintf("batch=100/clients=%d", clients), func(b *testing.B) {
			store, err := pgstore.Open(context.Background(), benchURL(b), pgstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			ctx := context.Background()
			if err := store.CreateCampaign(ctx, storetest.Campaign(area, "radio", "LEAF1")); err != nil && !errors.Is(err, domain.ErrAlreadyExists) {
				b.Fatal(err)
			}
			var token [6]byte
			_, _ = rand.Read(token[:])
			run := hex.EncodeToString(token[:])
			now := time.Now()
			svc := domain.NewService(domain.Options{
				Store: store, Hasher: domain.NewJourneyHasher([]byte("0123456789abcdef0123456789abcdef")),
				Policy: domain.TimePolicy{MaxFuture: 5 * time.Minute, LateHorizon: 400 * 24 * time.Hour}, Now: time.Now, MaxBatch: 500,
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
							ID: fmt.Sprintf("ev-%s-%d-%d", run, n, i), JourneyID: fmt.Sprintf("j-%d", n*7+int64(i%7)), Area: area,
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
