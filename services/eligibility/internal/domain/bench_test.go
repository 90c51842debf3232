package domain_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// BenchmarkRecordAssessment records assessments from many parallel writers into a real,
// fsync'ing bbolt file (t.TempDir on disk): validation, postcode lookup, evaluation,
// sealing, and the durable write of the assessment and its audit record, committed in
// groups. Run with
//
//	go test -run '^$' -bench RecordAssessment -benchtime 3s ./services/eligibility/internal/domain/
func BenchmarkRecordAssessment(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			e := newEnvSync(b, nil, true)
			ctx := context.Background()
			var n atomic.Int64
			// RunParallel starts parallelism x GOMAXPROCS goroutines.
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					parent := fmt.Sprintf("learners/bench-%d", i%1000)
					if _, err := e.svc.CreateAssessment(ctx, adviser, parent, raw("1985-04-12", rules.Level3, salary(2500000), "2024-05-01"), "L1 8JQ"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assessments/s")
		})
	}
}

// ackSink acknowledges every conversion at once.
type ackSink struct{}

func (ackSink) Send(context.Context, []domain.Conversion) error { return nil }

// BenchmarkCheckWithJourney answers eligibility checks that carry a journey id from many
// parallel callers: each returns once its conversion is durably in the outbox (fsync'ing
// bbolt), while the relay drains the outbox to a sink that acknowledges at once. The
// pgstore package has its PostgreSQL twin. Run with
//
//	go test -run '^$' -bench CheckWithJourney -benchtime 3s ./services/eligibility/internal/domain/
func BenchmarkCheckWithJourney(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			e := newEnvSync(b, func(o *domain.Options) { o.Sink = ackSink{} }, true)
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := domain.CheckRequest{Raw: raw("1985-04-12", rules.Level3, salary(2500000), "2024-05-01"), Postcode: "L1 8JQ", JourneyID: fmt.Sprintf("journey-%d", n.Add(1))}
					if _, err := e.svc.Check(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}
