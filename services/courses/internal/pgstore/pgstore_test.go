package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"github.com/nrs-pilots/retrain/services/courses/internal/pgstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a store on the database at url, closed when the test ends.
func open(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) catalog.Store { return open(t, pgtest.URL(t)) })
}

// TestReopenKeepsData opens the schema again (as a restarted or second replica does):
// the migrations find nothing to do and the data is there.
func TestReopenKeepsData(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	if err := s.CreateProvider(t.Context(), storetest.Provider("E37000060", "10000001")); err != nil {
		t.Fatal(err)
	}
	want := storetest.Course("E37000060", "kept", "10000001")
	if err := s.CreateCourse(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	again := open(t, url)
	got, err := again.GetCourse(t.Context(), want.Area, want.ID)
	if err != nil || got != want {
		t.Errorf("through a second store GetCourse = %+v, %v, want %+v", got, err, want)
	}
}

// race runs each fn at once (released together) and returns their errors.
func race(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// count returns how many errs are nil and how many are target.
func count(errs []error, target error) (ok, matched int, other []error) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			other = append(other, err)
		}
	}
	return ok, matched, other
}

// TestRaces has two stores on one database (two replicas) write the same records at
// once: the database lets exactly one win each race.
func TestRaces(t *testing.T) {
	url := pgtest.URL(t)
	stores := []*pgstore.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	const area = "E37000060"
	const writers = 3 // per store
	if err := stores[0].CreateProvider(ctx, storetest.Provider(area, "10000001")); err != nil {
		t.Fatal(err)
	}

	t.Run("same course created through both", func(t *testing.T) {
		for round := range 5 {
			c := storetest.Course(area, fmt.Sprintf("dup-%d", round), "10000001")
			var fns []func() error
			for i := range 2 * writers {
				fns = append(fns, func() error { return stores[i%2].CreateCourse(ctx, c) })
			}
			ok, dup, other := count(race(fns...), catalog.ErrAlreadyExists)
			if ok != 1 || dup != len(fns)-1 || len(other) > 0 {
				t.Errorf("round %d: %d created, %d already existed, other errors %v; want 1 and %d", round, ok, dup, other, len(fns)-1)
			}
		}
	})

	t.Run("same provider created through both", func(t *testing.T) {
		for round := range 5 {
			p := storetest.Provider(area, fmt.Sprintf("1100000%d", round))
			var fns []func() error
			for i := range 2 * writers {
				fns = append(fns, func() error { return stores[i%2].CreateProvider(ctx, p) })
			}
			ok, dup, other := count(race(fns...), catalog.ErrAlreadyExists)
			if ok != 1 || dup != len(fns)-1 || len(other) > 0 {
				t.Errorf("round %d: %d created, %d already existed, other errors %v; want 1 and %d", round, ok, dup, other, len(fns)-1)
			}
		}
	})

	t.Run("provider deleted while a course is added", func(t *testing.T) {
		outcomes := map[string]int{}
		for round := range 12 {
			ukprn := fmt.Sprintf("12%06d", round)
			if err := stores[0].CreateProvider(ctx, storetest.Provider(area, ukprn)); err != nil {
				t.Fatal(err)
			}
			c := storetest.Course(area, "orphan-"+ukprn, ukprn)
			errs := race(
				func() error { return stores[0].DeleteProvider(ctx, area, ukprn) },
				func() error { return stores[1].CreateCourse(ctx, c) },
			)
			_, provErr := stores[0].GetProvider(ctx, area, ukprn)
			_, courseErr := stores[0].GetCourse(ctx, area, c.ID)
			switch {
			case errs[0] == nil && errors.Is(errs[1], catalog.ErrNoProvider):
				outcomes["delete won"]++
				if !errors.Is(provErr, catalog.ErrNotFound) || !errors.Is(courseErr, catalog.ErrNotFound) {
					t.Errorf("round %d: delete won but provider %v, course %v", round, provErr, courseErr)
				}
			case errors.Is(errs[0], catalog.ErrProviderHasCourses) && errs[1] == nil:
				outcomes["course won"]++
				if provErr != nil || courseErr != nil {
					t.Errorf("round %d: course won but provider %v, course %v", round, provErr, courseErr)
				}
			default:
				t.Errorf("round %d: delete = %v, create course = %v: not one winner", round, errs[0], errs[1])
			}
		}
		t.Logf("outcomes: %v", outcomes)
	})

	t.Run("overlapping imports in opposite orders", func(t *testing.T) {
		var batch []catalog.Course
		for i := range 200 {
			batch = append(batch, storetest.Course(area, fmt.Sprintf("imp-%03d", i), "10000001"))
		}
		reversed := slices.Clone(batch)
		slices.Reverse(reversed)
		for round := range 3 {
			errs := race(
				func() error { return stores[0].PutCourses(ctx, batch) },
				func() error { return stores[1].PutCourses(ctx, reversed) },
			)
			if errs[0] != nil || errs[1] != nil {
				t.Errorf("round %d: imports = %v, %v, want both to succeed", round, errs[0], errs[1])
			}
		}
		got, err := stores[1].ListCourses(ctx, area, "imp-", 0)
		if n := len(slices.DeleteFunc(got, func(c catalog.Course) bool { return c.ID[:4] != "imp-" })); err != nil || n != len(batch) {
			t.Errorf("after the imports ListCourses = %d imported courses, %v, want %d, each once", n, err, len(batch))
		}
	})
}

// TestFeedMissesNothing has writers on two stores create, replace and delete courses at
// random while a reader on a third follows the change feed: once the writers stop and the
// reader catches up, what it built equals the store. A change the feed skipped (a position
// that became visible after a later one was read) would leave a difference.
func TestFeedMissesNothing(t *testing.T) {
	url := pgtest.URL(t)
	writers := []*pgstore.Store{open(t, url), open(t, url)}
	reader := open(t, url)
	ctx := t.Context()
	const area = "E37000060"
	for _, u := range []string{"10000001", "10000002"} {
		if err := writers[0].CreateProvider(ctx, storetest.Provider(area, u)); err != nil {
			t.Fatal(err)
		}
	}
	opsPerWriter := 150
	if testing.Short() {
		opsPerWriter = 40
	}
	view := map[string]catalog.Course{}
	var pos int64
	follow := func() {
		for {
			cs, err := reader.Changes(ctx, pos, 50)
			if err != nil {
				t.Error(err)
				return
			}
			for _, ch := range cs {
				if ch.Seq <= pos {
					t.Errorf("change at %d after %d", ch.Seq, pos)
				}
				pos = ch.Seq
				if ch.Kind != catalog.ChangeCourse {
					continue
				}
				if ch.Course == nil {
					delete(view, ch.Key)
				} else {
					view[ch.Key] = *ch.Course
				}
			}
			if len(cs) < 50 {
				return
			}
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		s := writers[w%2]
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range opsPerWriter {
				c := storetest.Course(area, fmt.Sprintf("k%02d", rng.IntN(30)), []string{"10000001", "10000002"}[rng.IntN(2)])
				c.Title = fmt.Sprintf("writer %d op %d", w, i)
				var err error
				switch rng.IntN(4) {
				case 0:
					if err = s.DeleteCourse(ctx, c.Area, c.ID); errors.Is(err, catalog.ErrNotFound) {
						err = nil
					}
				case 1:
					if err = s.CreateCourse(ctx, c); errors.Is(err, catalog.ErrAlreadyExists) {
						err = nil
					}
				default:
					c2 := c
					c2.ID += "x"
					err = s.PutCourses(ctx, []catalog.Course{c, c2})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	for following := true; following; {
		select {
		case <-done:
			following = false
		case <-time.After(2 * time.Millisecond):
		}
		follow()
	}
	follow()
	var want []catalog.Course
	if err := reader.ScanCourses(ctx, func(c catalog.Course) error { want = append(want, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(view) != len(want) {
		t.Errorf("the reader follows %d courses, the store has %d", len(view), len(want))
	}
	for _, c := range want {
		if got, ok := view[c.ID]; !ok || got != c {
			t.Errorf("course %s: the reader has %+v (present %v), the store %+v", c.ID, got.Title, ok, c.Title)
		}
	}
	if latest, err := reader.LatestChange(ctx); err != nil || latest != pos {
		t.Errorf("the reader is at %d, LatestChange = %d, %v", pos, latest, err)
	}
}

// catalogs returns two Catalogs, as two replicas have, on one database.
func catalogs(t *testing.T) (a, b *catalog.Catalog) {
	t.Helper()
	url := pgtest.URL(t)
	dir, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	areas, err := catalog.BuiltinAreas()
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC) }
	var out [2]*catalog.Catalog
	for i := range out {
		if out[i], err = catalog.New(t.Context(), open(t, url), dir, areas, now); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1]
}

// lincsCourse is a valid Lincolnshire course of provider 10000001.
func lincsCourse(id string) catalog.Course {
	return catalog.Course{
		Area: "E37000060", ID: id, LearningAim: "60318011", Title: "Level 3 Diploma in Adult Care",
		Description: "Person-centred care and safeguarding for senior carers.", Level: catalog.Level3,
		Sector: "1.3", AwardingBody: "NCFE CACHE", ProviderUKPRN: "10000001", VenuePostcode: "LN1 3BL",
		Delivery: catalog.DeliveryClassroom, Study: catalog.StudyPartTime, Attendance: catalog.AttendanceEvening,
		DurationValue: 30, DurationUnit: catalog.DurationWeeks, StartDate: civil.Date{Year: 2027, Month: 1, Day: 11},
		FullCostPence: 245000, Modular: true, DiscountPercent: 75,
	}
}

// found returns the ids a keyword search near Lincoln finds, with their provider names.
func found(t *testing.T, c *catalog.Catalog, keyword string) []string {
	t.Helper()
	res, err := c.Search(t.Context(), catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: keyword, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range res.Results {
		ids = append(ids, f.Course.ID+"@"+f.ProviderName)
	}
	slices.Sort(ids)
	return ids
}

// TestCatalogsFollowEachOther shows two replicas' search indexes following each other's
// writes through the feed (Sync, which the service calls every poll interval).
func TestCatalogsFollowEachOther(t *testing.T) {
	a, b := catalogs(t)
	ctx := t.Context()
	sync := func(c *catalog.Catalog) {
		t.Helper()
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.CreateProvider(ctx, "test", catalog.Provider{Area: "E37000060", UKPRN: "10000001", Name: "Lincoln College", LoanFacility: true, Premises: []string{"LN1 3BL"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateCourse(ctx, "test", lincsCourse("care-1")); err != nil {
		t.Fatal(err)
	}
	if got := found(t, b, "care"); len(got) != 0 {
		t.Fatalf("b found %v before syncing: the test proves nothing", got)
	}
	sync(b)
	if got := found(t, b, "care"); !slices.Equal(got, []string{"care-1@Lincoln College"}) {
		t.Errorf("after a created a course, b finds %v, want [care-1@Lincoln College]", got)
	}

	// b changes the course and renames the provider; a follows.
	co := lincsCourse("care-1")
	co.Title = "Level 3 Diploma in Plumbing"
	if _, err := b.UpdateCourse(ctx, "test", co, []string{"title"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateProvider(ctx, "test", catalog.Provider{Area: "E37000060", UKPRN: "10000001", Name: "Lincoln Institute"}, []string{"display_name"}); err != nil {
		t.Fatal(err)
	}
	sync(a)
	if got := found(t, a, "plumbing"); !slices.Equal(got, []string{"care-1@Lincoln Institute"}) {
		t.Errorf("after b's update, a finds %v for plumbing, want [care-1@Lincoln Institute]", got)
	}
	if got, _ := a.Search(ctx, catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: "adult care"}); got.Total != 0 {
		t.Errorf("after b's update, a still finds the old title")
	}

	// The same import sent to both: every course stored once, both indexes agree.
	var rows []catalog.ImportRow
	for i := range 50 {
		rows = append(rows, catalog.ImportRow{Row: i + 2, Course: lincsCourse(fmt.Sprintf("imp-%02d", i))})
	}
	errs := race(
		func() error { _, err := a.Import(ctx, "test", "E37000060", rows, false); return err },
		func() error { _, err := b.Import(ctx, "test", "E37000060", rows, false); return err },
	)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("imports = %v, %v", errs[0], errs[1])
	}
	sync(a)
	sync(b)
	stored, err := a.ListCourses(ctx, "E37000060", "", 0)
	if err != nil || len(stored) != 51 {
		t.Errorf("after the same import through both, %d courses stored (%v), want 51", len(stored), err)
	}
	fa, fb := found(t, a, "adult"), found(t, b, "adult")
	if len(fa) != 50 || !slices.Equal(fa, fb) {
		t.Errorf("after the imports a finds %d, b finds %d courses for adult; want the same 50", len(fa), len(fb))
	}

	// A deletion through a disappears from b.
	if err := a.DeleteCourse(ctx, "E37000060", "care-1"); err != nil {
		t.Fatal(err)
	}
	sync(b)
	if got := found(t, b, "plumbing"); len(got) != 0 {
		t.Errorf("after a deleted the course, b finds %v", got)
	}
	if _, _, err := b.GetCourse(ctx, "E37000060", "care-1"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("b.GetCourse of the deleted course = %v, want ErrNotFound", err)
	}
}

// BenchEnv names a PostgreSQL server (a URL with a database the user may create databases
// from) for BenchmarkWrites to measure durable writes on: the throwaway test server runs
// with fsync and synchronous commit off, which a benchmark of durable writes must not.
const BenchEnv = "RETRAIN_BENCH_POSTGRES_URL"

// BenchmarkWrites measures writes on PostgreSQL, durable on the server $RETRAIN_BENCH_POSTGRES_URL
// names (as the server is configured: initdb's defaults are durable), or else on the
// throwaway test server, which is not durable. Compare with boltstore's BenchmarkWrites,
// which fsyncs every transaction:
//
//	RETRAIN_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//	go test -run '^$' -bench BenchmarkWrites -benchtime 2s ./services/courses/internal/boltstore/ ./services/courses/internal/pgstore/
func BenchmarkWrites(b *testing.B) {
	url := os.Getenv(BenchEnv)
	if url == "" {
		url = pgtest.URL(b)
		b.Logf("on the throwaway test server, durability OFF: set %s for durable figures", BenchEnv)
	} else {
		url = freshDatabase(b, url)
	}
	s := open(b, url)
	var fsync, syncCommit string
	if err := s.QueryRowForTest(context.Background(), "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &syncCommit); err != nil {
		b.Fatal(err)
	}
	b.Logf("server settings: fsync=%s synchronous_commit=%s", fsync, syncCommit)
	storetest.BenchmarkWrites(b, s)
}

// freshDatabase creates an empty database on the server at url, dropped when b ends, and
// returns its URL.
func freshDatabase(b *testing.B, url string) string {
	b.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		b.Fatalf("%s: %v", BenchEnv, err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("courses_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			b.Error(err)
		}
		_ = conn.Close(ctx)
	})
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatalf("%s must be a URL: %v", BenchEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}
