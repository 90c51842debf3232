package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// gateStore holds its first WriteCourses until gate is closed, so that writers queue
// behind it, and records the size of every batch.
type gateStore struct {
	catalog.Store
	entered chan struct{} // closed when the first WriteCourses starts
	gate    chan struct{}

	mu      sync.Mutex
	batches []int
}

func (g *gateStore) WriteCourses(ctx context.Context, ws []catalog.CourseWrite) error {
	g.mu.Lock()
	g.batches = append(g.batches, len(ws))
	first := len(g.batches) == 1
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.gate
	}
	return g.Store.WriteCourses(ctx, ws)
}

// Writes queued while a commit is in flight share the next commit; a write refused fails
// alone; writes of one course in one commit apply in order.
func TestGroupCommit(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	bg := context.Background()
	for _, id := range []string{"upd", "gone"} {
		if _, err := f.cat.CreateCourse(bg, "test", course(id)); err != nil {
			t.Fatal(err)
		}
	}
	areas, err := catalog.BuiltinAreas()
	if err != nil {
		t.Fatal(err)
	}
	gs := &gateStore{Store: f.store, entered: make(chan struct{}), gate: make(chan struct{})}
	cat, err := catalog.New(bg, gs, f.dir, areas, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}

	leadDone := make(chan error, 1)
	go func() {
		_, err := cat.CreateCourse(bg, "test", course("lead"))
		leadDone <- err
	}()
	<-gs.entered

	title, desc := course("upd"), course("upd")
	title.Title = "Level 3 Diploma in Adult Care and Management"
	desc.Description = "A new description."
	writes := []struct {
		name  string
		write func() error
		want  error // nil, or the sentinel the write must fail with
	}{
		{"create c1", func() error { _, err := cat.CreateCourse(bg, "test", course("c1")); return err }, nil},
		{"create c2", func() error { _, err := cat.CreateCourse(bg, "test", course("c2")); return err }, nil},
		{"create c3", func() error { _, err := cat.CreateCourse(bg, "test", course("c3")); return err }, nil},
		{"create lead again", func() error { _, err := cat.CreateCourse(bg, "test", course("lead")); return err }, catalog.ErrAlreadyExists},
		{"update title", func() error { _, err := cat.UpdateCourse(bg, "test", title, []string{"title"}); return err }, nil},
		{"update description", func() error {
			_, err := cat.UpdateCourse(bg, "test", desc, []string{"description"})
			return err
		}, nil},
		{"delete absent", func() error { return cat.DeleteCourse(bg, lincs, "absent") }, catalog.ErrNotFound},
		{"delete gone", func() error { return cat.DeleteCourse(bg, lincs, "gone") }, nil},
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w.write() })
	}
	for catalog.QueueLen(cat) < len(writes) {
		time.Sleep(time.Millisecond) // waiting for the writers to queue, not timing them
	}
	close(gs.gate)
	wg.Wait()
	if err := <-leadDone; err != nil {
		t.Fatalf("create lead = %v", err)
	}
	for i, w := range writes {
		if w.want == nil && errs[i] != nil || w.want != nil && !errors.Is(errs[i], w.want) {
			t.Errorf("%s = %v, want %v", w.name, errs[i], w.want)
		}
	}
	// The lead's commit, then one for all eight queued writes, refused by the store for the
	// duplicate create and the delete of an absent course, one at a time, so committed
	// without them in the third attempt.
	if want := []int{1, 8, 7, 6}; !slices.Equal(gs.batches, want) {
		t.Errorf("batches = %v, want %v", gs.batches, want)
	}
	got, _, err := cat.GetCourse(bg, lincs, "upd")
	if err != nil || got.Title != title.Title || got.Description != desc.Description {
		t.Errorf("course after two updates = %q, %q, %v, want both updates", got.Title, got.Description, err)
	}
	for _, id := range []string{"lead", "c1", "c2", "c3"} {
		if _, _, err := cat.GetCourse(bg, lincs, id); err != nil {
			t.Errorf("GetCourse(%s) = %v", id, err)
		}
	}
	if _, _, err := cat.GetCourse(bg, lincs, "gone"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("GetCourse(gone) = %v, want ErrNotFound", err)
	}
	// The index holds what the store holds.
	res, err := cat.Search(bg, catalog.SearchRequest{Postcode: "LN1 3BL", Keyword: "care"})
	if err != nil || res.Total != 5 {
		t.Errorf("Search = %d results, %v, want 5 (lead, c1-c3, upd)", res.Total, err)
	}
}

// BenchmarkCreateCourseParallel measures CreateCourse through the Catalog on a bbolt file
// that fsyncs every commit, as in production: from one writer, and from 64 writers
// (b.RunParallel). Run with
//
//	go test -run '^$' -bench BenchmarkCreateCourseParallel -benchtime 3s ./services/courses/internal/catalog/
func BenchmarkCreateCourseParallel(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			dir, err := postcode.Builtin()
			if err != nil {
				b.Fatal(err)
			}
			areas, err := catalog.BuiltinAreas()
			if err != nil {
				b.Fatal(err)
			}
			store, err := boltstore.Open(filepath.Join(b.TempDir(), "courses.db"), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			cat, err := catalog.New(context.Background(), store, dir, areas, func() time.Time { return now })
			if err != nil {
				b.Fatal(err)
			}
			f := &fixture{cat: cat, store: store, dir: dir}
			f.provider(b, lincs, ukprn, true, "LN1 3BL")
			var seq atomic.Int64
			create := func() error {
				_, err := cat.CreateCourse(context.Background(), "bench", course(fmt.Sprintf("b%010d", seq.Add(1))))
				return err
			}
			b.ReportAllocs()
			b.ResetTimer()
			if writers == 1 {
				for b.Loop() {
					if err := create(); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := create(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "courses/s")
		})
	}
}
