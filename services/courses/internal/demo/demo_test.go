package demo_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"github.com/nrs-pilots/retrain/services/courses/internal/demo"
)

func newCatalog(t *testing.T) *catalog.Catalog {
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
	cat, err := catalog.New(context.Background(), store, dir, areas, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	today := civil.Date{Year: 2030, Month: 6, Day: 1}
	cat := newCatalog(t)
	ps, cs, err := demo.Seed(ctx, cat, today)
	if err != nil {
		t.Fatal(err)
	}
	if ps < 6*3 || cs < 6*10 {
		t.Fatalf("Seed() = %d providers, %d courses, want at least 3 and 10 per area", ps, cs)
	}
	// Every area has a demo catalogue a learner there can find, all of it marked demo and
	// starting at least two weeks from today.
	learners := map[string]string{"E37000060": "LN2 1AB", "E37000016": "EX2 4AA", "E37000032": "ST3 1AA", "E37000062": "LS6 1AA", "E47000007": "B5 4AA", "E37000022": "L8 1AA"}
	for _, a := range cat.Areas() {
		res, err := cat.Search(ctx, catalog.SearchRequest{Postcode: learners[a.Code], PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if res.Area != a.Code || res.Total < 10 {
			t.Errorf("search from %s's learner: area %s, %d results, want %s and at least 10", a.Name, res.Area, res.Total, a.Code)
		}
		for _, r := range res.Results {
			c := r.Course
			if !c.Demo {
				t.Errorf("course %s is not flagged demo", c.Name())
			}
			if !c.FlexibleStart && c.StartDate.Before(today.AddDays(14)) {
				t.Errorf("course %s starts %s, before two weeks after %s", c.Name(), c.StartDate, today)
			}
		}
		if p, _ := cat.ListProviders(ctx, a.Code, "", 100); len(p) == 0 || !p[0].Demo {
			t.Errorf("providers of %s = %v, want demo providers", a.Code, p)
		}
	}
	ps, cs, err = demo.Seed(ctx, cat, today)
	if err != nil || ps != 0 || cs != 0 {
		t.Errorf("second Seed() = %d, %d, %v, want nothing seeded into a non-empty store", ps, cs, err)
	}
}

// TestSeedResumesAfterAnInterruptedFirstStart: a first start killed while seeding leaves
// some demo records and nothing else; the next start completes the catalogue. A store
// holding any record of its own is never seeded.
func TestSeedResumesAfterAnInterruptedFirstStart(t *testing.T) {
	ctx := context.Background()
	today := civil.Date{Year: 2030, Month: 6, Day: 1}

	full := newCatalog(t)
	wantP, wantC, err := demo.Seed(ctx, full, today)
	if err != nil {
		t.Fatal(err)
	}

	// The state a kill leaves after the first demo provider was written.
	cat := newCatalog(t)
	first, err := full.ListProviders(ctx, "E37000060", "", 1)
	if err != nil || len(first) != 1 {
		t.Fatalf("demo providers: %v, %v", first, err)
	}
	if _, err := cat.CreateProvider(ctx, demo.Actor, first[0]); err != nil {
		t.Fatal(err)
	}
	ps, cs, err := demo.Seed(ctx, cat, today)
	if err != nil {
		t.Fatal(err)
	}
	if ps != wantP-1 || cs != wantC {
		t.Errorf("resumed Seed() = %d providers, %d courses, want %d and %d", ps, cs, wantP-1, wantC)
	}

	// An operator's own provider in an otherwise partly seeded store: left alone.
	own := newCatalog(t)
	p := first[0]
	p.UKPRN, p.Demo = "10099999", false
	if _, err := own.CreateProvider(ctx, "lep-system", p); err != nil {
		t.Fatal(err)
	}
	if ps, cs, err := demo.Seed(ctx, own, today); err != nil || ps != 0 || cs != 0 {
		t.Errorf("Seed() of a store with its own records = %d, %d, %v, want nothing", ps, cs, err)
	}
}
