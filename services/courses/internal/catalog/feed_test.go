package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// changeLog is a change feed kept in memory beside a store that several Catalogs share, as
// replicas share a database: it records which record each write touched, and reads the
// record's current state when asked, as pgstore does.
type changeLog struct {
	mu   sync.Mutex
	keys []catalog.Change // Seq, Kind, Area, Key only
}

// feedStore is a catalog.Store with the shared changeLog as its ChangeFeed.
type feedStore struct {
	catalog.Store
	log *changeLog
}

func (f feedStore) record(err error, kind catalog.ChangeKind, area string, keys ...string) error {
	if err != nil {
		return err
	}
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	for _, k := range keys {
		f.log.keys = append(f.log.keys, catalog.Change{Seq: int64(len(f.log.keys) + 1), Kind: kind, Area: area, Key: k})
	}
	return nil
}

func (f feedStore) CreateProvider(ctx context.Context, p catalog.Provider) error {
	return f.record(f.Store.CreateProvider(ctx, p), catalog.ChangeProvider, p.Area, p.UKPRN)
}

func (f feedStore) UpdateProvider(ctx context.Context, p catalog.Provider) error {
	return f.record(f.Store.UpdateProvider(ctx, p), catalog.ChangeProvider, p.Area, p.UKPRN)
}

func (f feedStore) DeleteProvider(ctx context.Context, area, ukprn string) error {
	return f.record(f.Store.DeleteProvider(ctx, area, ukprn), catalog.ChangeProvider, area, ukprn)
}

func (f feedStore) CreateCourse(ctx context.Context, c catalog.Course) error {
	return f.record(f.Store.CreateCourse(ctx, c), catalog.ChangeCourse, c.Area, c.ID)
}

func (f feedStore) PutCourses(ctx context.Context, cs []catalog.Course) error {
	err := f.Store.PutCourses(ctx, cs)
	for _, c := range cs {
		if err := f.record(err, catalog.ChangeCourse, c.Area, c.ID); err != nil {
			return err
		}
	}
	return err
}

func (f feedStore) WriteCourses(ctx context.Context, ws []catalog.CourseWrite) error {
	err := f.Store.WriteCourses(ctx, ws)
	for _, w := range ws {
		if err := f.record(err, catalog.ChangeCourse, w.Course.Area, w.Course.ID); err != nil {
			return err
		}
	}
	return err
}

func (f feedStore) DeleteCourse(ctx context.Context, area, id string) error {
	return f.record(f.Store.DeleteCourse(ctx, area, id), catalog.ChangeCourse, area, id)
}

func (f feedStore) LatestChange(context.Context) (int64, error) {
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	return int64(len(f.log.keys)), nil
}

func (f feedStore) Changes(ctx context.Context, after int64, limit int) ([]catalog.Change, error) {
	f.log.mu.Lock()
	page := slices.Clone(f.log.keys[min(int(after), len(f.log.keys)):])
	f.log.mu.Unlock()
	page = page[:min(limit, len(page))]
	for i, ch := range page {
		switch ch.Kind {
		case catalog.ChangeCourse:
			c, err := f.GetCourse(ctx, ch.Area, ch.Key)
			if err == nil {
				page[i].Course = &c
			} else if !errors.Is(err, catalog.ErrNotFound) {
				return nil, err
			}
		case catalog.ChangeProvider:
			p, err := f.GetProvider(ctx, ch.Area, ch.Key)
			if err == nil {
				page[i].Provider = &p
			} else if !errors.Is(err, catalog.ErrNotFound) {
				return nil, err
			}
		}
	}
	return page, nil
}

// replicas returns two Catalogs over one store, each following the other's writes.
func replicas(t *testing.T) (a, b *catalog.Catalog) {
	t.Helper()
	dir, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	areas, err := catalog.BuiltinAreas()
	if err != nil {
		t.Fatal(err)
	}
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "courses.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := &changeLog{}
	var out [2]*catalog.Catalog
	for i := range out {
		if out[i], err = catalog.New(context.Background(), feedStore{store, log}, dir, areas, func() time.Time { return now }); err != nil {
			t.Fatal(err)
		}
		if !out[i].Following() {
			t.Fatal("a Catalog over a store with a feed does not follow it")
		}
	}
	return out[0], out[1]
}

// names returns "id@provider" of what a search near Lincoln for keyword finds.
func names(t *testing.T, c *catalog.Catalog, keyword string) []string {
	t.Helper()
	res, err := c.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: keyword, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range res.Results {
		out = append(out, f.Course.ID+"@"+f.ProviderName)
	}
	slices.Sort(out)
	return out
}

func TestSyncFollowsAnotherCatalog(t *testing.T) {
	ctx := context.Background()
	a, b := replicas(t)
	sync := func(c *catalog.Catalog, want int) {
		t.Helper()
		if n, err := c.Sync(ctx); err != nil || n != want {
			t.Fatalf("Sync() = %d, %v, want %d changes", n, err, want)
		}
	}
	if _, err := a.CreateProvider(ctx, "test", catalog.Provider{Area: lincs, UKPRN: ukprn, Name: "First Name", LoanFacility: true, Premises: []string{"LN1 3BL"}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"care-1", "care-2"} {
		if _, err := a.CreateCourse(ctx, "test", course(id)); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name  string
		write func() error
		// changes is how many changes the other Catalog's Sync reads.
		changes int
		on      *catalog.Catalog
		keyword string
		want    []string
	}{
		{
			name:    "creates",
			write:   func() error { return nil },
			changes: 3, on: b, keyword: "care",
			want: []string{"care-1@First Name", "care-2@First Name"},
		},
		{
			name: "an update and a rename",
			write: func() error {
				co := course("care-1")
				co.Title = "Level 3 Diploma in Plumbing"
				if _, err := b.UpdateCourse(ctx, "test", co, []string{"title"}); err != nil {
					return err
				}
				_, err := b.UpdateProvider(ctx, "test", catalog.Provider{Area: lincs, UKPRN: ukprn, Name: "Second Name"}, []string{"display_name"})
				return err
			},
			// a also reads its own three writes, which change nothing in its index.
			changes: 5, on: a, keyword: "plumbing",
			want: []string{"care-1@Second Name"},
		},
		{
			name:    "a delete",
			write:   func() error { return a.DeleteCourse(ctx, lincs, "care-2") },
			changes: 3, on: b, keyword: "care",
			want: []string{"care-1@Second Name"}, // by its description
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.write(); err != nil {
				t.Fatal(err)
			}
			sync(st.on, st.changes)
			if got := names(t, st.on, st.keyword); !slices.Equal(got, st.want) {
				t.Errorf("search for %q finds %v, want %v", st.keyword, got, st.want)
			}
			sync(st.on, 0)
		})
	}
	// Both now answer the same, and a Sync with nothing new reads nothing.
	sync(a, 1)
	sync(b, 0)
	for _, kw := range []string{"care", "plumbing", "adult"} {
		if ga, gb := names(t, a, kw), names(t, b, kw); !slices.Equal(ga, gb) {
			t.Errorf("search for %q: a finds %v, b finds %v", kw, ga, gb)
		}
	}
}

// A Catalog over a store without a feed (bbolt, one process) has nothing to follow.
func TestSyncWithoutFeed(t *testing.T) {
	f := newFixture(t)
	if f.cat.Following() {
		t.Error("a Catalog over bbolt says it follows a feed")
	}
	if n, err := f.cat.Sync(context.Background()); n != 0 || err != nil {
		t.Errorf("Sync() = %d, %v, want 0, nil", n, err)
	}
}

// racingStore refuses every course write as a store does when another replica deleted
// the course's provider after the Catalog checked it.
type racingStore struct{ catalog.Store }

func (racingStore) CreateCourse(context.Context, catalog.Course) error {
	return fmt.Errorf("insert: %w", catalog.ErrNoProvider)
}

func (racingStore) PutCourses(context.Context, []catalog.Course) error {
	return fmt.Errorf("upsert: %w", catalog.ErrNoProvider)
}

func (racingStore) WriteCourses(context.Context, []catalog.CourseWrite) error {
	return &catalog.WriteError{Index: 0, Err: fmt.Errorf("upsert: %w", catalog.ErrNoProvider)}
}

// A provider deleted by another replica between the Catalog's check and the write is
// reported as the check would have reported it.
func TestProviderDeletedDuringWrite(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	if _, err := f.cat.CreateCourse(context.Background(), "test", course("care-1")); err != nil {
		t.Fatal(err)
	}
	areas, err := catalog.BuiltinAreas()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(context.Background(), racingStore{f.store}, f.dir, areas, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	changed := course("care-1")
	changed.Title = "Level 3 Diploma in Plumbing"
	writes := []struct {
		name  string
		write func() error
	}{
		{"create", func() error { _, err := cat.CreateCourse(context.Background(), "test", course("care-2")); return err }},
		{"update", func() error {
			_, err := cat.UpdateCourse(context.Background(), "test", changed, []string{"title"})
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			err := w.write()
			var ve *catalog.ValidationError
			if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Field != "provider_ukprn" || ve.Violations[0].Rule != catalog.RuleProviderKnown {
				t.Errorf("write = %v, want one %s violation of provider_ukprn", err, catalog.RuleProviderKnown)
			}
		})
	}
}
