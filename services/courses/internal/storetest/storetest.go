// Package storetest is the contract every catalog.Store must meet: Run it from the tests of
// each implementation (boltstore now, pgstore later).
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

func testCourseCRUD(t *testing.T, s catalog.Store) {
	c := Course("E37000060", "care-evening", "10000001")
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
		id := fmt.Sprintf("c%03d", i)
		want = append(want, id)
		if err := s.CreateCourse(ctx, Course("E37000060", id, "10000001")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateProvider(ctx, Provider("E37000060", fmt.Sprintf("1%07d", i))); err != nil {
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
		if err := s.CreateCourse(ctx, Course(area, "same-id", "10000001")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateProvider(ctx, Provider(area, "10000001")); err != nil {
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
