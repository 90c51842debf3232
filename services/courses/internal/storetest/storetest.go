// Package storetest is the contract every catalog.Store must meet: Run it from the tests of
// each implementation (boltstore, pgstore).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// Run runs the contract suite. newStore returns an empty store; Run closes nothing.
func Run(t *testing.T, newStore func(t *testing.T) catalog.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s catalog.Store)
	}{
		{"ProviderCRUD", testProviderCRUD},
		{"CourseCRUD", testCourseCRUD},
		{"ListPaging", testListPaging},
		{"ProviderCourses", testProviderCourses},
		{"PutCoursesUpserts", testPutCoursesUpserts},
		{"ScanAndEmpty", testScanAndEmpty},
		{"AreasAreSeparate", testAreasAreSeparate},
		{"CourseNeedsProvider", testCourseNeedsProvider},
		{"PutCoursesRepeatedKey", testPutCoursesRepeatedKey},
		{"TimesToTheMicrosecond", testTimesToTheMicrosecond},
		{"ChangeFeed", testChangeFeed},
		{"WriteCourses", testWriteCourses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
)

// Provider returns a valid provider for tests.
func Provider(area, ukprn string) catalog.Provider {
	return catalog.Provider{Area: area, UKPRN: ukprn, Name: "Provider " + ukprn, LoanFacility: true,
		Premises: []string{"LN1 1AA"}, CreateTime: t0, UpdateTime: t0, UpdatedBy: "test"}
}

// Course returns a valid course for tests.
func Course(area, id, ukprn string) catalog.Course {
	return catalog.Course{
		Area: area, ID: id, LearningAim: "60318011", Title: "Level 3 Diploma in Adult Care",
		Description: "Care work", Level: catalog.Level3, Sector: "1.3", AwardingBody: "NCFE",
		ProviderUKPRN: ukprn, VenuePostcode: "LN1 1AA", Delivery: catalog.DeliveryClassroom,
		Study: catalog.StudyPartTime, Attendance: catalog.AttendanceEvening, DurationValue: 30,
		DurationUnit: catalog.DurationWeeks, StartDate: civil.Date{Year: 2027, Month: 1, Day: 11},
		FullCostPence: 123456, Modular: true, DiscountPercent: 75, LearnerCostPence: 30864,
		CreateTime: t0, UpdateTime: t0, UpdatedBy: "test",
	}
}

func testProviderCRUD(t *testing.T, s catalog.Store) {
	p := Provider("E37000060", "10000001")
	if _, err := s.GetProvider(ctx, p.Area, p.UKPRN); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("GetProvider(absent) = %v, want ErrNotFound", err)
	}
	if err := s.UpdateProvider(ctx, p); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("UpdateProvider(absent) = %v, want ErrNotFound", err)
	}
	if err := s.CreateProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProvider(ctx, p); !errors.Is(err, catalog.ErrAlreadyExists) {
		t.Fatalf("CreateProvider twice = %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetProvider(ctx, p.Area, p.UKPRN)
	if err != nil || !equalProvider(got, p) {
		t.Fatalf("GetProvider = %+v, %v, want %+v", got, err, p)
	}
	p.Name, p.LoanFacility, p.Premises = "Renamed", false, []string{"LN2 1AA", "PE21 6AA"}
	if err := s.UpdateProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetProvider(ctx, p.Area, p.UKPRN); !equalProvider(got, p) {
		t.Errorf("after update GetProvider = %+v, want %+v", got, p)
	}
	if err := s.DeleteProvider(ctx, p.Area, p.UKPRN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProvider(ctx, p.Area, p.UKPRN); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("DeleteProvider twice = %v, want ErrNotFound", err)
	}
}

func equalProvider(a, b catalog.Provider) bool {
	return a.Area == b.Area && a.UKPRN == b.UKPRN && a.Name == b.Name && a.LoanFacility == b.LoanFacility &&
		slices.Equal(a.Premises, b.Premises) && a.Demo == b.Demo && a.CreateTime.Equal(b.CreateTime) &&
		a.UpdateTime.Equal(b.UpdateTime) && a.UpdatedBy == b.UpdatedBy
}

func equalCourse(a, b catalog.Course) bool {
	ta, tb := a.CreateTime, b.CreateTime
	ua, ub := a.UpdateTime, b.UpdateTime
	a.CreateTime, b.CreateTime, a.UpdateTime, b.UpdateTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b && ta.Equal(tb) && ua.Equal(ub)
}

// mustProvider creates a provider for the courses of a test.
func mustProvider(t *testing.T, s catalog.Store, area, ukprn string) {
	t.Helper()
	if err := s.CreateProvider(ctx, Provider(area, ukprn)); err != nil {
		t.Fatalf("CreateProvider(%s, %s) = %v", area, ukprn, err)
	}
}

func testCourseCRUD(t *testing.T, s catalog.Store) {
	c := Course("E37000060", "care-evening", "10000001")
	mustProvider(t, s, c.Area, c.ProviderUKPRN)
	if _, err := s.GetCourse(ctx, c.Area, c.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("GetCourse(absent) = %v, want ErrNotFound", err)
	}
	if err := s.CreateCourse(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCourse(ctx, c); !errors.Is(err, catalog.ErrAlreadyExists) {
		t.Fatalf("CreateCourse twice = %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetCourse(ctx, c.Area, c.ID)
	if err != nil || !equalCourse(got, c) {
		t.Fatalf("GetCourse = %+v, %v, want %+v", got, err, c)
	}
	flex := c
	flex.FlexibleStart, flex.StartDate, flex.Delivery, flex.VenuePostcode, flex.Attendance = true, civil.Date{}, catalog.DeliveryOnline, "", catalog.AttendanceUnset
	if err := s.PutCourses(ctx, []catalog.Course{flex}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCourse(ctx, c.Area, c.ID); !equalCourse(got, flex) {
		t.Errorf("after PutCourses GetCourse = %+v, want %+v", got, flex)
	}
	if err := s.DeleteCourse(ctx, c.Area, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCourse(ctx, c.Area, c.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("DeleteCourse twice = %v, want ErrNotFound", err)
	}
}

func testListPaging(t *testing.T, s catalog.Store) {
	var want []string
	for i := range 25 {
		mustProvider(t, s, "E37000060", fmt.Sprintf("1%07d", i))
	}
	for i := range 25 {
		id := fmt.Sprintf("c%03d", i)
		want = append(want, id)
		if err := s.CreateCourse(ctx, Course("E37000060", id, "10000001")); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 7, 25, 100} {
		var got []string
		after := ""
		for {
			page, err := s.ListCourses(ctx, "E37000060", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.ID)
			}
			if len(page) < limit {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListCourses in pages of %d = %v, want %v", limit, got, want)
		}
		ps, err := s.ListProviders(ctx, "E37000060", "", limit)
		if err != nil || len(ps) != min(limit, 25) {
			t.Errorf("ListProviders(limit %d) = %d providers, %v", limit, len(ps), err)
		}
	}
	ps, _ := s.ListProviders(ctx, "E37000060", "10000020", 100)
	if len(ps) != 4 || ps[0].UKPRN != "10000021" {
		t.Errorf("ListProviders after 10000020 = %d starting %v, want 4 starting 10000021", len(ps), ps)
	}
}

func testProviderCourses(t *testing.T, s catalog.Store) {
	p := Provider("E37000060", "10000001")
	if err := s.CreateProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	mustProvider(t, s, p.Area, "10000002")
	a, b := Course("E37000060", "a", p.UKPRN), Course("E37000060", "b", p.UKPRN)
	if err := s.PutCourses(ctx, []catalog.Course{a, b}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.ProviderCourses(ctx, p.Area, p.UKPRN); !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("ProviderCourses = %v, want [a b]", ids)
	}
	if err := s.DeleteProvider(ctx, p.Area, p.UKPRN); !errors.Is(err, catalog.ErrProviderHasCourses) {
		t.Errorf("DeleteProvider with courses = %v, want ErrProviderHasCourses", err)
	}
	b.ProviderUKPRN = "10000002"
	if err := s.PutCourses(ctx, []catalog.Course{b}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.ProviderCourses(ctx, p.Area, p.UKPRN); !slices.Equal(ids, []string{"a"}) {
		t.Errorf("ProviderCourses after moving b = %v, want [a]", ids)
	}
	if err := s.DeleteCourse(ctx, a.Area, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProvider(ctx, p.Area, p.UKPRN); err != nil {
		t.Errorf("DeleteProvider without courses = %v", err)
	}
}

func testPutCoursesUpserts(t *testing.T, s catalog.Store) {
	mustProvider(t, s, "E37000062", "10000001")
	var batch []catalog.Course
	for i := range 300 {
		batch = append(batch, Course("E37000062", fmt.Sprintf("c%d", i), "10000001"))
	}
	if err := s.PutCourses(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCourses(ctx, batch); err != nil {
		t.Fatalf("PutCourses again = %v, want nil (upsert)", err)
	}
	all, _ := s.ListCourses(ctx, "E37000062", "", 0)
	if len(all) != 300 {
		t.Errorf("ListCourses = %d, want 300", len(all))
	}
}

func testScanAndEmpty(t *testing.T, s catalog.Store) {
	if empty, err := s.Empty(ctx); !empty || err != nil {
		t.Fatalf("Empty() on a new store = %v, %v", empty, err)
	}
	mustProvider(t, s, "E37000062", "10000001")
	if empty, _ := s.Empty(ctx); empty {
		t.Error("Empty() with a provider = true")
	}
	mustProvider(t, s, "E37000060", "10000001")
	if err := s.CreateCourse(ctx, Course("E37000062", "x", "10000001")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCourse(ctx, Course("E37000060", "y", "10000001")); err != nil {
		t.Fatal(err)
	}
	if empty, _ := s.Empty(ctx); empty {
		t.Error("Empty() with courses = true")
	}
	var n int
	if err := s.ScanCourses(ctx, func(catalog.Course) error { n++; return nil }); err != nil || n != 2 {
		t.Errorf("ScanCourses saw %d, %v, want 2", n, err)
	}
	stop := errors.New("stop")
	if err := s.ScanCourses(ctx, func(catalog.Course) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("ScanCourses with a failing fn = %v, want its error", err)
	}
}

func testAreasAreSeparate(t *testing.T, s catalog.Store) {
	for _, area := range []string{"E37000060", "E37000062", "E37000006"} {
		mustProvider(t, s, area, "10000001")
		if err := s.CreateCourse(ctx, Course(area, "same-id", "10000001")); err != nil {
			t.Fatal(err)
		}
	}
	cs, _ := s.ListCourses(ctx, "E37000060", "", 0)
	if len(cs) != 1 || cs[0].Area != "E37000060" {
		t.Errorf("ListCourses(E37000060) = %v, want one course of that area", cs)
	}
	if err := s.DeleteCourse(ctx, "E37000062", "same-id"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCourse(ctx, "E37000060", "same-id"); err != nil {
		t.Errorf("deleting in one area removed another's: %v", err)
	}
}

func testCourseNeedsProvider(t *testing.T, s catalog.Store) {
	mustProvider(t, s, "E37000060", "10000001")
	// The same UKPRN in another area is another provider.
	mustProvider(t, s, "E37000062", "10000002")
	tests := []struct {
		name  string
		write func() error
	}{
		{"CreateCourse", func() error { return s.CreateCourse(ctx, Course("E37000060", "orphan", "10000002")) }},
		{"PutCourses", func() error {
			return s.PutCourses(ctx, []catalog.Course{
				Course("E37000060", "fine", "10000001"),
				Course("E37000060", "orphan", "10000002"),
			})
		}},
		{"PutCourses moving a course", func() error {
			if err := s.PutCourses(ctx, []catalog.Course{Course("E37000060", "moved", "10000001")}); err != nil {
				t.Fatal(err)
			}
			return s.PutCourses(ctx, []catalog.Course{Course("E37000060", "moved", "10000002")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); !errors.Is(err, catalog.ErrNoProvider) {
				t.Errorf("writing a course whose provider is absent = %v, want ErrNoProvider", err)
			}
		})
	}
	for _, id := range []string{"orphan", "fine"} {
		if _, err := s.GetCourse(ctx, "E37000060", id); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("GetCourse(%s) after refused writes = %v, want ErrNotFound (all or none)", id, err)
		}
	}
	if got, err := s.GetCourse(ctx, "E37000060", "moved"); err != nil || got.ProviderUKPRN != "10000001" {
		t.Errorf("GetCourse(moved) = %s, %v, want the course still with 10000001", got.ProviderUKPRN, err)
	}
	if err := s.DeleteProvider(ctx, "E37000060", "10000001"); !errors.Is(err, catalog.ErrProviderHasCourses) {
		t.Errorf("DeleteProvider with a course = %v, want ErrProviderHasCourses", err)
	}
}

func testPutCoursesRepeatedKey(t *testing.T, s catalog.Store) {
	mustProvider(t, s, "E37000060", "10000001")
	first, second := Course("E37000060", "twice", "10000001"), Course("E37000060", "twice", "10000001")
	second.Title = "Second title"
	if err := s.PutCourses(ctx, []catalog.Course{first, Course("E37000060", "other", "10000001"), second}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCourse(ctx, "E37000060", "twice"); err != nil || got.Title != second.Title {
		t.Errorf("GetCourse = %q, %v, want the later course %q", got.Title, err, second.Title)
	}
	if ids, _ := s.ProviderCourses(ctx, "E37000060", "10000001"); !slices.Equal(ids, []string{"other", "twice"}) {
		t.Errorf("ProviderCourses = %v, want [other twice]", ids)
	}
}

func testTimesToTheMicrosecond(t *testing.T, s catalog.Store) {
	at := time.Date(2026, 11, 23, 10, 11, 12, 123456000, time.UTC)
	p := Provider("E37000060", "10000001")
	p.CreateTime, p.UpdateTime = at, at.Add(time.Microsecond)
	if err := s.CreateProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	c := Course("E37000060", "precise", "10000001")
	c.CreateTime, c.UpdateTime = at, at.Add(999*time.Microsecond)
	if err := s.CreateCourse(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetProvider(ctx, p.Area, p.UKPRN); err != nil || !got.CreateTime.Equal(p.CreateTime) || !got.UpdateTime.Equal(p.UpdateTime) {
		t.Errorf("provider times = %v, %v (%v), want %v, %v", got.CreateTime, got.UpdateTime, err, p.CreateTime, p.UpdateTime)
	}
	if got, err := s.GetCourse(ctx, c.Area, c.ID); err != nil || !equalCourse(got, c) {
		t.Errorf("course times = %v, %v (%v), want %v, %v", got.CreateTime, got.UpdateTime, err, c.CreateTime, c.UpdateTime)
	}
}

// testChangeFeed checks the feed of a store that has one: every write appears, in order,
// with the record as it now stands, and a reader following it ends with the store's state.
func testChangeFeed(t *testing.T, s catalog.Store) {
	feed, ok := s.(catalog.ChangeFeed)
	if !ok {
		t.Skip("the store has no change feed: only one process writes it")
	}
	start, err := feed.LatestChange(ctx)
	if err != nil || start != 0 {
		t.Fatalf("LatestChange() on a new store = %d, %v, want 0", start, err)
	}
	if cs, err := feed.Changes(ctx, 0, 10); err != nil || len(cs) != 0 {
		t.Fatalf("Changes() on a new store = %v, %v, want none", cs, err)
	}
	mustProvider(t, s, "E37000060", "10000001")
	mustProvider(t, s, "E37000060", "10000002")
	var batch []catalog.Course
	for i := range 5 {
		batch = append(batch, Course("E37000060", fmt.Sprintf("b%d", i), "10000001"))
	}
	steps := []func() error{
		func() error { return s.CreateCourse(ctx, Course("E37000060", "kept", "10000001")) },
		func() error { return s.PutCourses(ctx, batch) },
		func() error { return s.CreateCourse(ctx, Course("E37000060", "gone", "10000001")) },
		func() error { return s.DeleteCourse(ctx, "E37000060", "gone") },
		func() error {
			p := Provider("E37000060", "10000001")
			p.Name = "Renamed"
			return s.UpdateProvider(ctx, p)
		},
		func() error { return s.DeleteProvider(ctx, "E37000060", "10000002") },
		func() error { return s.CreateCourse(ctx, Course("E37000060", "kept", "10000001")) }, // refused: no change
	}
	for i, step := range steps {
		if err := step(); err != nil && i != len(steps)-1 {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	latest, err := feed.LatestChange(ctx)
	if err != nil || latest <= start {
		t.Fatalf("LatestChange() after writes = %d, %v, want above %d", latest, err, start)
	}
	// Read the feed in small pages: positions grow, the last is LatestChange, and each
	// record appears at most once (its latest write).
	type key struct {
		kind      catalog.ChangeKind
		area, key string
	}
	state := map[key]any{}
	var prev int64
	for {
		page, err := feed.Changes(ctx, prev, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range page {
			if ch.Seq <= prev {
				t.Fatalf("change at %d follows %d", ch.Seq, prev)
			}
			prev = ch.Seq
			k := key{ch.Kind, ch.Area, ch.Key}
			switch {
			case ch.Kind == catalog.ChangeCourse && ch.Course != nil:
				state[k] = *ch.Course
			case ch.Kind == catalog.ChangeProvider && ch.Provider != nil:
				state[k] = *ch.Provider
			default:
				state[k] = nil
			}
		}
		if len(page) < 3 {
			break
		}
	}
	if prev != latest {
		t.Errorf("last change listed at %d, LatestChange %d", prev, latest)
	}
	want := map[key]any{
		{catalog.ChangeProvider, "E37000060", "10000001"}: "Renamed",
		{catalog.ChangeProvider, "E37000060", "10000002"}: nil,
		{catalog.ChangeCourse, "E37000060", "kept"}:       "kept",
		{catalog.ChangeCourse, "E37000060", "gone"}:       nil,
	}
	for _, c := range batch {
		want[key{catalog.ChangeCourse, c.Area, c.ID}] = c.ID
	}
	if len(state) != len(want) {
		t.Errorf("feed names %d records, want %d: %v", len(state), len(want), state)
	}
	for k, w := range want {
		got, ok := state[k]
		switch v := got.(type) {
		case catalog.Course:
			ok = ok && w == v.ID && equalCourse(v, Course(v.Area, v.ID, "10000001"))
		case catalog.Provider:
			ok = ok && w == v.Name
		case nil:
			ok = ok && w == nil
		}
		if !ok {
			t.Errorf("feed state of %v = %+v, want %v", k, got, w)
		}
	}
	if cs, err := feed.Changes(ctx, latest, 10); err != nil || len(cs) != 0 {
		t.Errorf("Changes(after the latest) = %v, %v, want none", cs, err)
	}
}

func testWriteCourses(t *testing.T, s catalog.Store) {
	const area = "E37000060"
	mustProvider(t, s, area, "10000001")
	if err := s.CreateCourse(ctx, Course(area, "taken", "10000001")); err != nil {
		t.Fatal(err)
	}
	create := func(id, ukprn string) catalog.CourseWrite {
		return catalog.CourseWrite{Kind: catalog.CourseCreate, Course: Course(area, id, ukprn)}
	}
	put := func(id, title string) catalog.CourseWrite {
		c := Course(area, id, "10000001")
		c.Title = title
		return catalog.CourseWrite{Kind: catalog.CoursePut, Course: c}
	}
	del := func(id string) catalog.CourseWrite {
		return catalog.CourseWrite{Kind: catalog.CourseDelete, Course: catalog.Course{Area: area, ID: id}}
	}
	// Refused batches write nothing and name the first write refused.
	refused := []struct {
		name  string
		ws    []catalog.CourseWrite
		index int
		want  error
	}{
		{"create of a taken key", []catalog.CourseWrite{create("new-1", "10000001"), create("taken", "10000001")}, 1, catalog.ErrAlreadyExists},
		{"create twice in the batch", []catalog.CourseWrite{create("new-1", "10000001"), create("new-1", "10000001")}, 1, catalog.ErrAlreadyExists},
		{"provider absent", []catalog.CourseWrite{put("new-1", "x"), create("new-2", "10000009")}, 1, catalog.ErrNoProvider},
		{"delete of an absent course", []catalog.CourseWrite{del("taken"), create("new-1", "10000001"), del("absent")}, 2, catalog.ErrNotFound},
		{"delete twice in the batch", []catalog.CourseWrite{del("taken"), del("taken")}, 1, catalog.ErrNotFound},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := s.WriteCourses(ctx, tt.ws)
			var we *catalog.WriteError
			if !errors.As(err, &we) || we.Index != tt.index || !errors.Is(err, tt.want) {
				t.Fatalf("WriteCourses = %v, want a WriteError at %d wrapping %v", err, tt.index, tt.want)
			}
			for _, id := range []string{"new-1", "new-2"} {
				if _, err := s.GetCourse(ctx, area, id); !errors.Is(err, catalog.ErrNotFound) {
					t.Errorf("GetCourse(%s) after a refused batch = %v, want ErrNotFound (all or none)", id, err)
				}
			}
			if _, err := s.GetCourse(ctx, area, "taken"); err != nil {
				t.Errorf("GetCourse(taken) after a refused batch = %v, want the course kept", err)
			}
		})
	}
	// An accepted batch applies its writes in order.
	ws := []catalog.CourseWrite{
		create("a", "10000001"), put("a", "Second title"), create("b", "10000001"), del("taken"),
		del("b"), create("b", "10000001"), put("c", "Put title"),
	}
	if err := s.WriteCourses(ctx, ws); err != nil {
		t.Fatalf("WriteCourses = %v", err)
	}
	if err := s.WriteCourses(ctx, nil); err != nil {
		t.Errorf("WriteCourses(nil) = %v", err)
	}
	want := map[string]string{"a": "Second title", "b": Course(area, "b", "").Title, "c": "Put title"}
	for id, title := range want {
		if got, err := s.GetCourse(ctx, area, id); err != nil || got.Title != title {
			t.Errorf("GetCourse(%s) = %q, %v, want %q", id, got.Title, err, title)
		}
	}
	if _, err := s.GetCourse(ctx, area, "taken"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("GetCourse(taken) after its delete = %v, want ErrNotFound", err)
	}
	if ids, _ := s.ProviderCourses(ctx, area, "10000001"); !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Errorf("ProviderCourses = %v, want [a b c]", ids)
	}
	if f, ok := s.(catalog.ChangeFeed); ok {
		changes, err := f.Changes(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ch := range changes {
			seen[ch.Key] = true
		}
		for _, id := range []string{"a", "b", "c", "taken"} {
			if !seen[id] {
				t.Errorf("the change feed has no change of %s after WriteCourses", id)
			}
		}
	}
}
