package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// BenchmarkWrites measures durable writes to s from parallel writers (b.RunParallel, so
// GOMAXPROCS x -cpu writers): CreateCourse is one course per transaction, as the API
// writes them; PutCourses100 is a batch of 100 courses per transaction, as an import
// writes them. s must be empty, and as durable as in production (fsync on).
func BenchmarkWrites(b *testing.B, s catalog.Store) {
	const area, ukprn = "E37000060", "10000001"
	if err := s.CreateProvider(ctx, Provider(area, ukprn)); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.Run("CreateCourse", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.CreateCourse(ctx, Course(area, fmt.Sprintf("w%010d", seq.Add(1)), ukprn)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "courses/s")
	})
	b.Run("PutCourses100", func(b *testing.B) {
		const batch = 100
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			cs := make([]catalog.Course, batch)
			for pb.Next() {
				for i := range cs {
					cs[i] = Course(area, fmt.Sprintf("p%010d", seq.Add(1)), ukprn)
				}
				if err := s.PutCourses(ctx, cs); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "courses/s")
	})
}
