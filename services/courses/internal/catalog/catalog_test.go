package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

const (
	lincs = "E37000060" // approved list, discounts 25/75/100
	leeds = "E37000062"
	lcr   = "E37000022" // no approved list
	ukprn = "10000001"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type fixture struct {
	cat   *catalog.Catalog
	store *boltstore.Store
	dir   *postcode.Directory
}

func newFixture(t testing.TB) *fixture {
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
	cat, err := catalog.New(context.Background(), store, dir, areas, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{cat: cat, store: store, dir: dir}
}

// provider creates a provider with premises at the given postcodes.
func (f *fixture) provider(t testing.TB, area, id string, loan bool, premises ...string) {
	t.Helper()
	if _, err := f.cat.CreateProvider(context.Background(), "test", catalog.Provider{Area: area, UKPRN: id, Name: "Provider " + id, LoanFacility: loan, Premises: premises}); err != nil {
		t.Fatal(err)
	}
}

// course returns a valid Lincolnshire course: level 3, part time 30 weeks, 75% off.
func course(id string) catalog.Course {
	return catalog.Course{
		Area: lincs, ID: id, LearningAim: "60318011", Title: "Level 3 Diploma in Adult Care",
		Description: "Person-centred care and safeguarding for senior carers.", Level: catalog.Level3,
		Sector: "1.3", AwardingBody: "NCFE CACHE", ProviderUKPRN: ukprn, VenuePostcode: "LN1 3BL",
		Delivery: catalog.DeliveryClassroom, Study: catalog.StudyPartTime, Attendance: catalog.AttendanceEvening,
		DurationValue: 30, DurationUnit: catalog.DurationWeeks, StartDate: civil.Date{Year: 2027, Month: 1, Day: 11},
		FullCostPence: 245000, Modular: true, DiscountPercent: 75,
	}
}

func fields(err error) []string {
	var ve *catalog.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, v := range ve.Violations {
		out = append(out, v.Field)
	}
	slices.Sort(out)
	return out
}

func rules(err error) []catalog.Rule {
	var ve *catalog.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []catalog.Rule
	for _, v := range ve.Violations {
		if v.Rule != "" {
			out = append(out, v.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func TestLearnerCost(t *testing.T) {
	tests := []struct {
		full int64
		pct  int32
		want int64
	}{
		{245000, 75, 61250},
		{245000, 25, 183750},
		{245000, 100, 0},
		{245000, 0, 245000},
		{12345, 75, 3086},  // 3086.25 rounds down
		{10, 25, 8},        // 7.5 rounds half up
		{2, 75, 1},         // 0.5 rounds half up
		{1, 75, 0},         // 0.25 rounds down
		{3, 50, 2},         // 1.5 rounds half up
		{99999, 25, 74999}, // 74999.25
		{catalog.MaxFullCostPence, 25, 75_000_000},
	}
	for _, tt := range tests {
		if got := catalog.LearnerCost(tt.full, tt.pct); got != tt.want {
			t.Errorf("LearnerCost(%d, %d) = %d, want %d", tt.full, tt.pct, got, tt.want)
		}
	}
}

func TestCreateCourseComputesLearnerCost(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	c := course("care")
	c.FullCostPence, c.LearnerCostPence = 12345, 1 // a client-sent cost is ignored
	got, err := f.cat.CreateCourse(context.Background(), "lep", c)
	if err != nil {
		t.Fatal(err)
	}
	if got.LearnerCostPence != 3086 {
		t.Errorf("LearnerCostPence = %d, want 3086 (12345 less 75%%, half up)", got.LearnerCostPence)
	}
	if got.UpdatedBy != "lep" || !got.CreateTime.Equal(now) {
		t.Errorf("UpdatedBy, CreateTime = %q, %v, want lep, %v", got.UpdatedBy, got.CreateTime, now)
	}
}

func TestPilotRules(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	f.provider(t, lincs, "10000002", false, "LN1 3BL") // no loan facility
	f.provider(t, lincs, "10000003", true, "LS1 4DT")  // premises only in Leeds
	f.provider(t, lcr, ukprn, true, "L1 8JQ")          // LCR keeps no approved list
	tests := []struct {
		name       string
		mutate     func(*catalog.Course)
		wantFields []string
		wantRules  []catalog.Rule
	}{
		{"valid", func(*catalog.Course) {}, nil, nil},
		{"level 2", func(c *catalog.Course) { c.Level = catalog.Level2 }, []string{"level"}, []catalog.Rule{catalog.RuleLevel}},
		{"entry level", func(c *catalog.Course) { c.Level = catalog.LevelEntry }, []string{"level"}, []catalog.Rule{catalog.RuleLevel}},
		{"level 8 is fine", func(c *catalog.Course) { c.Level = catalog.Level8 }, nil, nil},
		{"unknown provider", func(c *catalog.Course) { c.ProviderUKPRN = "10009999" }, []string{"provider_ukprn"}, []catalog.Rule{catalog.RuleProviderKnown}},
		{"no loan facility", func(c *catalog.Course) { c.ProviderUKPRN = "10000002" }, []string{"provider_ukprn"}, []catalog.Rule{catalog.RuleLoanFacility}},
		{"no premises in area", func(c *catalog.Course) { c.ProviderUKPRN = "10000003" }, []string{"provider_ukprn"}, []catalog.Rule{catalog.RulePremisesInArea}},
		{"full time 13 months", func(c *catalog.Course) {
			c.Study, c.DurationValue, c.DurationUnit = catalog.StudyFullTime, 13, catalog.DurationMonths
		}, []string{"duration_value"}, []catalog.Rule{catalog.RuleDuration}},
		{"full time 12 months", func(c *catalog.Course) {
			c.Study, c.DurationValue, c.DurationUnit = catalog.StudyFullTime, 12, catalog.DurationMonths
		}, nil, nil},
		{"full time 53 weeks", func(c *catalog.Course) {
			c.Study, c.DurationValue, c.DurationUnit = catalog.StudyFullTime, 53, catalog.DurationWeeks
		}, []string{"duration_value"}, []catalog.Rule{catalog.RuleDuration}},
		{"full time 52 weeks", func(c *catalog.Course) {
			c.Study, c.DurationValue, c.DurationUnit = catalog.StudyFullTime, 52, catalog.DurationWeeks
		}, nil, nil},
		{"full time 366 days", func(c *catalog.Course) {
			c.Study, c.DurationValue, c.DurationUnit = catalog.StudyFullTime, 366, catalog.DurationDays
		}, []string{"duration_value"}, []catalog.Rule{catalog.RuleDuration}},
		{"part time 2 years", func(c *catalog.Course) { c.DurationValue, c.DurationUnit = 2, catalog.DurationYears },
			[]string{"duration_value"}, []catalog.Rule{catalog.RulePartTimeDuration}},
		{"part time 1 year", func(c *catalog.Course) { c.DurationValue, c.DurationUnit = 1, catalog.DurationYears }, nil, nil},
		{"discount not offered", func(c *catalog.Course) { c.DiscountPercent = 50 }, []string{"discount_percent"}, []catalog.Rule{catalog.RuleDiscountOffered}},
		{"not on approved list", func(c *catalog.Course) { c.LearningAim = "60399999" }, []string{"learning_aim_reference"}, []catalog.Rule{catalog.RuleApprovedAim}},
		{"any aim where no list is kept", func(c *catalog.Course) { c.Area, c.LearningAim, c.VenuePostcode = lcr, "60399999", "L1 8JQ" }, nil, nil},
		{"every rule at once", func(c *catalog.Course) {
			c.Level, c.ProviderUKPRN, c.DurationValue, c.DurationUnit, c.DiscountPercent, c.LearningAim = catalog.Level1, "10000002", 3, catalog.DurationYears, 10, "60399999"
		}, []string{"discount_percent", "duration_value", "learning_aim_reference", "level", "provider_ukprn"},
			[]catalog.Rule{catalog.RuleApprovedAim, catalog.RuleDiscountOffered, catalog.RuleLoanFacility, catalog.RulePartTimeDuration, catalog.RuleLevel}},
		{"shape errors", func(c *catalog.Course) {
			c.Title, c.VenuePostcode, c.StartDate, c.LearningAim, c.Attendance = "", "NOT A POSTCODE", civil.Date{}, "short", catalog.AttendanceUnset
		}, []string{"attendance_pattern", "learning_aim_reference", "start_date", "title", "venue_postcode"}, nil},
		{"online needs no venue or attendance", func(c *catalog.Course) {
			c.Delivery, c.VenuePostcode, c.Attendance, c.FlexibleStart, c.StartDate = catalog.DeliveryOnline, "", catalog.AttendanceUnset, true, civil.Date{}
		}, nil, nil},
		{"online with a venue", func(c *catalog.Course) { c.Delivery = catalog.DeliveryOnline }, []string{"venue_postcode"}, nil},
		{"cost out of range", func(c *catalog.Course) { c.FullCostPence = -1 }, []string{"full_cost_pence"}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := course(fmt.Sprintf("c%d", i))
			tt.mutate(&c)
			_, err := f.cat.CreateCourse(context.Background(), "test", c)
			if got := fields(err); !slices.Equal(got, tt.wantFields) {
				t.Fatalf("CreateCourse() violations = %v (%v), want %v", got, err, tt.wantFields)
			}
			if got := rules(err); !slices.Equal(got, tt.wantRules) {
				t.Errorf("CreateCourse() rules = %v, want %v", got, tt.wantRules)
			}
			_, getErr := f.store.GetCourse(context.Background(), c.Area, c.ID)
			if stored := getErr == nil; stored != (err == nil) {
				t.Errorf("stored = %v after CreateCourse() = %v: a refused course must not be stored", stored, err)
			}
		})
	}
}

func TestPartTimeViolationSaysSo(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	c := course("long")
	c.DurationValue, c.DurationUnit = 18, catalog.DurationMonths
	_, err := f.cat.CreateCourse(context.Background(), "test", c)
	if err == nil || !strings.Contains(err.Error(), "part-time") || !strings.Contains(err.Error(), "12 months") {
		t.Errorf("CreateCourse(18 months part time) = %v, want a violation naming the part-time 12-month limit", err)
	}
}

func TestCourseLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	c, err := f.cat.CreateCourse(ctx, "test", course("care"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.CreateCourse(ctx, "test", course("care")); !errors.Is(err, catalog.ErrAlreadyExists) {
		t.Errorf("second CreateCourse = %v, want ErrAlreadyExists", err)
	}
	upd := catalog.Course{Area: lincs, ID: "care", DiscountPercent: 100, Title: "ignored: not in the mask"}
	got, err := f.cat.UpdateCourse(ctx, "test", upd, []string{"discount_percent"})
	if err != nil {
		t.Fatal(err)
	}
	if got.DiscountPercent != 100 || got.LearnerCostPence != 0 || got.Title != c.Title {
		t.Errorf("after update: discount %d, cost %d, title %q; want 100, 0, %q", got.DiscountPercent, got.LearnerCostPence, got.Title, c.Title)
	}
	if _, err := f.cat.UpdateCourse(ctx, "test", catalog.Course{Area: lincs, ID: "care", Level: catalog.Level2}, []string{"level"}); !slices.Equal(fields(err), []string{"level"}) {
		t.Errorf("update to level 2 = %v, want a level violation", err)
	}
	if _, err := f.cat.UpdateCourse(ctx, "test", upd, []string{"learner_cost_pence"}); !slices.Equal(fields(err), []string{"update_mask"}) {
		t.Errorf("update of an output-only field = %v, want an update_mask violation", err)
	}
	if err := f.cat.DeleteProvider(ctx, lincs, ukprn); !errors.Is(err, catalog.ErrProviderHasCourses) {
		t.Errorf("DeleteProvider with a course = %v, want ErrProviderHasCourses", err)
	}
	if _, err := f.cat.UpdateProvider(ctx, "test", catalog.Provider{Area: lincs, UKPRN: ukprn}, []string{"loan_facility"}); !errors.Is(err, catalog.ErrProviderBreaksCourses) {
		t.Errorf("removing the loan facility of a provider with courses = %v, want ErrProviderBreaksCourses", err)
	}
	if err := f.cat.DeleteCourse(ctx, lincs, "care"); err != nil {
		t.Fatal(err)
	}
	if err := f.cat.DeleteCourse(ctx, lincs, "care"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("second DeleteCourse = %v, want ErrNotFound", err)
	}
	if err := f.cat.DeleteProvider(ctx, lincs, ukprn); err != nil {
		t.Errorf("DeleteProvider without courses = %v", err)
	}
}

func TestDeriveCourseIDIsStable(t *testing.T) {
	a, b := course(""), course("")
	b.Title = "A different title"
	if catalog.DeriveCourseID(a) != catalog.DeriveCourseID(b) || !catalog.ValidCourseID(catalog.DeriveCourseID(a)) {
		t.Errorf("DeriveCourseID = %q, %q: want the same valid id for the same provider, aim, venue, start and mode", catalog.DeriveCourseID(a), catalog.DeriveCourseID(b))
	}
	b.StartDate = b.StartDate.AddDays(7)
	if catalog.DeriveCourseID(a) == catalog.DeriveCourseID(b) {
		t.Error("DeriveCourseID is the same for different start dates")
	}
}

func TestParseAreasRejectsBadFiles(t *testing.T) {
	tests := []string{
		`{}`,
		`{"areas":[{"code":"X1","name":"n","kind":"lep","discount_percents":[25],"rules":{"min_level":"3","max_duration_months":12,"max_part_time_duration_months":12}}]}`,
		`{"areas":[{"code":"E37000060","name":"n","kind":"lep","discount_percents":[125],"rules":{"min_level":"3","max_duration_months":12,"max_part_time_duration_months":12}}]}`,
		`{"areas":[{"code":"E37000060","name":"n","kind":"lep","discount_percents":[25],"rules":{"min_level":"9","max_duration_months":12,"max_part_time_duration_months":12}}]}`,
		`{"areas":[{"code":"E37000060","name":"n","kind":"lep","discount_percents":[25],"rules":{"min_level":"3","max_duration_months":0,"max_part_time_duration_months":12}}]}`,
		`{"areas":[{"code":"E37000060","name":"n","kind":"lep","discount_percents":[25],"rules":{"min_level":"3","max_duration_months":12,"max_part_time_duration_months":12,"approved_list_required":true}}]}`,
		`{"areas":[],"extra":1}`,
	}
	for _, in := range tests {
		if _, err := catalog.ParseAreas([]byte(in)); err == nil {
			t.Errorf("ParseAreas(%s) = nil error, want one", in)
		}
	}
	areas, err := catalog.BuiltinAreas()
	if err != nil || len(areas) != 6 {
		t.Fatalf("BuiltinAreas() = %d areas, %v, want 6", len(areas), err)
	}
}
