package catalog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// searchFixture is a small Lincolnshire catalogue with known venues, modes, costs and dates.
func searchFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	f.provider(t, leeds, ukprn, true, "LS1 4DT")
	mk := func(id, title, desc string, lvl catalog.Level, sector, venue string, d catalog.DeliveryMode, s catalog.StudyMode, a catalog.AttendancePattern, cost int64, disc int32, start string, modular bool) catalog.ImportRow {
		c := course(id)
		c.Title, c.Description, c.Level, c.Sector, c.VenuePostcode = title, desc, lvl, sector, venue
		c.Delivery, c.Study, c.Attendance, c.FullCostPence, c.DiscountPercent, c.Modular = d, s, a, cost, disc, modular
		if start == "" {
			c.FlexibleStart, c.StartDate = true, civil.Date{}
		} else {
			c.StartDate, _ = civil.Parse(start)
		}
		if d == catalog.DeliveryOnline {
			c.VenuePostcode, c.Attendance = "", catalog.AttendanceUnset
		}
		return catalog.ImportRow{Course: c}
	}
	rows := []catalog.ImportRow{
		// id, title, description, level, sector, venue, delivery, study, attendance, cost, discount, start, modular
		mk("care-lincoln", "Level 3 Diploma in Adult Care", "Safeguarding and medication.", catalog.Level3, "1.3", "LN1 3BL", catalog.DeliveryClassroom, catalog.StudyPartTime, catalog.AttendanceEvening, 200000, 75, "2027-01-11", true),
		mk("care-boston", "Level 3 Diploma in Adult Care", "Senior carer skills.", catalog.Level3, "1.3", "PE21 6JF", catalog.DeliveryClassroom, catalog.StudyPartTime, catalog.AttendanceDaytime, 200000, 25, "2027-02-01", false),
		mk("accounts-lincoln", "AAT Level 3 Diploma in Accounting", "Bookkeeping and final accounts for care homes too.", catalog.Level3, "15.1", "LN6 7TS", catalog.DeliveryBlended, catalog.StudyPartTime, catalog.AttendanceEvening, 180000, 75, "2027-03-01", true),
		mk("accounts-online", "AAT Level 4 Diploma in Professional Accounting", "Online study.", catalog.Level4, "15.1", "", catalog.DeliveryOnline, catalog.StudyFlexible, catalog.AttendanceUnset, 240000, 100, "", true),
		mk("cnc-grantham", "Level 3 Certificate in CNC Machining", "Lathes and mills.", catalog.Level3, "4.2", "NG31 9AP", catalog.DeliveryWorkBased, catalog.StudyPartTime, catalog.AttendanceDayBlockRelease, 260000, 100, "2027-01-18", true),
		mk("mgmt-grimsby", "Level 5 Diploma in Management and Leadership", "Leading teams.", catalog.Level5, "15.3", "DN31 1QH", catalog.DeliveryClassroom, catalog.StudyPartTime, catalog.AttendanceWeekend, 385000, 25, "2027-09-06", true),
		mk("safety-lincoln", "Level 3 Certificate in Occupational Health and Safety", "Risk and hazards.", catalog.Level3, "1.4", "LN1 3BL", catalog.DeliveryClassroom, catalog.StudyFullTime, catalog.AttendanceDaytime, 89500, 75, "2027-01-11", false),
	}
	res, err := f.cat.Import(context.Background(), "test", lincs, rows, false)
	if err != nil || res.Invalid > 0 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	leedsCourse := course("care-leeds")
	leedsCourse.Area, leedsCourse.VenuePostcode, leedsCourse.LearningAim = leeds, "LS1 4DT", "60318011"
	if _, err := f.cat.CreateCourse(context.Background(), "test", leedsCourse); err != nil {
		t.Fatal(err)
	}
	return f
}

func ids(res catalog.SearchResult) []string {
	var out []string
	for _, r := range res.Results {
		out = append(out, r.Course.ID)
	}
	return out
}

func sorted(xs []string) []string {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs
}

func TestSearchFilters(t *testing.T) {
	f := searchFixture(t)
	cost := int64(60000)
	tests := []struct {
		name string
		req  catalog.SearchRequest
		want []string // any order
	}{
		{"whole area", catalog.SearchRequest{}, []string{"accounts-lincoln", "accounts-online", "care-boston", "care-lincoln", "cnc-grantham", "mgmt-grimsby", "safety-lincoln"}},
		{"within 10 miles keeps online", catalog.SearchRequest{DistanceMiles: 10}, []string{"accounts-lincoln", "accounts-online", "care-lincoln", "safety-lincoln"}},
		{"within 25 miles", catalog.SearchRequest{DistanceMiles: 25}, []string{"accounts-lincoln", "accounts-online", "care-lincoln", "cnc-grantham", "safety-lincoln"}},
		{"keyword in title", catalog.SearchRequest{Keyword: "care"}, []string{"accounts-lincoln", "care-boston", "care-lincoln"}},
		{"keyword prefix, any case", catalog.SearchRequest{Keyword: "ACCOUNT"}, []string{"accounts-lincoln", "accounts-online"}},
		{"all words required", catalog.SearchRequest{Keyword: "adult care diploma"}, []string{"care-boston", "care-lincoln"}},
		{"stop words ignored", catalog.SearchRequest{Keyword: "health and safety"}, []string{"safety-lincoln"}},
		{"no match", catalog.SearchRequest{Keyword: "plumbing"}, nil},
		{"levels", catalog.SearchRequest{Levels: []string{"4", "5"}}, []string{"accounts-online", "mgmt-grimsby"}},
		{"sector tier 1", catalog.SearchRequest{Sector: "15"}, []string{"accounts-lincoln", "accounts-online", "mgmt-grimsby"}},
		{"sector tier 2", catalog.SearchRequest{Sector: "1.3"}, []string{"care-boston", "care-lincoln"}},
		{"delivery modes", catalog.SearchRequest{Delivery: []catalog.DeliveryMode{catalog.DeliveryOnline, catalog.DeliveryWorkBased}}, []string{"accounts-online", "cnc-grantham"}},
		{"study mode", catalog.SearchRequest{Study: []catalog.StudyMode{catalog.StudyFullTime}}, []string{"safety-lincoln"}},
		{"attendance", catalog.SearchRequest{Attendance: []catalog.AttendancePattern{catalog.AttendanceEvening}}, []string{"accounts-lincoln", "care-lincoln"}},
		{"modular only", catalog.SearchRequest{ModularOnly: true, Levels: []string{"3"}}, []string{"accounts-lincoln", "care-lincoln", "cnc-grantham"}},
		{"max learner cost", catalog.SearchRequest{MaxLearnerCost: &cost}, []string{"accounts-lincoln", "accounts-online", "cnc-grantham", "care-lincoln", "safety-lincoln"}},
		{"start range keeps flexible", catalog.SearchRequest{StartFrom: "2027-02-01", StartTo: "2027-03-01"}, []string{"accounts-lincoln", "accounts-online", "care-boston"}},
		{"combined", catalog.SearchRequest{DistanceMiles: 20, Keyword: "dip", Levels: []string{"3"}}, []string{"accounts-lincoln", "care-lincoln"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Postcode = "ln2 1ab"
			tt.req.PageSize = 100
			res, err := f.cat.Search(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := sorted(ids(res)); !slices.Equal(got, sorted(tt.want)) {
				t.Errorf("Search(%+v) = %v, want %v", tt.req, got, sorted(tt.want))
			}
			if res.Total != len(tt.want) || res.Area != lincs {
				t.Errorf("Total, Area = %d, %s, want %d, %s", res.Total, res.Area, len(tt.want), lincs)
			}
		})
	}
}

func TestSearchDistancesAndArea(t *testing.T) {
	f := searchFixture(t)
	res, err := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", Order: catalog.OrderDistance, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	last := -1.0
	for i, r := range res.Results {
		online := r.Course.Delivery == catalog.DeliveryOnline
		if online == r.HasDistance {
			t.Errorf("result %s: HasDistance = %v for delivery %v", r.Course.ID, r.HasDistance, r.Course.Delivery)
		}
		if r.HasDistance && r.DistanceMiles < last {
			t.Errorf("result %d (%s) at %.1f miles after one at %.1f: not nearest first", i, r.Course.ID, r.DistanceMiles, last)
		}
		if online && i != len(res.Results)-1 {
			t.Errorf("online course at position %d of %d, want last", i, len(res.Results))
		}
		last = r.DistanceMiles
	}
	// A Leeds postcode sees the Leeds catalogue only, with Leeds discounts.
	res, err = f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LS6 1AA"})
	if err != nil || res.Area != leeds || !slices.Equal(ids(res), []string{"care-leeds"}) {
		t.Errorf("Search from Leeds = %v, %s, %v, want [care-leeds] in %s", ids(res), res.Area, err, leeds)
	}
	// Outside every pilot area: no area, no results, no error.
	res, err = f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "SW1A 1AA"})
	if err != nil || res.Area != "" || len(res.Results) != 0 {
		t.Errorf("Search from London = %v, %q, %v, want nothing and no area", ids(res), res.Area, err)
	}
}

func TestSearchOrders(t *testing.T) {
	f := searchFixture(t)
	tests := []struct {
		order catalog.Order
		want  []string
	}{
		// Ties (both free here) go nearest first, online last.
		{catalog.OrderLearnerCost, []string{"cnc-grantham", "accounts-online", "safety-lincoln", "accounts-lincoln", "care-lincoln", "care-boston", "mgmt-grimsby"}},
		{catalog.OrderStartDate, []string{"accounts-online", "care-lincoln", "safety-lincoln", "cnc-grantham", "care-boston", "accounts-lincoln", "mgmt-grimsby"}},
	}
	for _, tt := range tests {
		res, err := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", Order: tt.order, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(res); !slices.Equal(got, tt.want) {
			t.Errorf("Search(order %d) = %v, want %v", tt.order, got, tt.want)
		}
	}
	// Relevance: a title match outranks a description-only match.
	res, err := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: "care"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res); len(got) != 3 || got[2] != "accounts-lincoln" || got[0] != "care-lincoln" {
		t.Errorf("Search(care) by relevance = %v, want the nearer title match first and the description match last", got)
	}
}

func TestSearchFacetsLeaveOwnFilterOut(t *testing.T) {
	f := searchFixture(t)
	res, err := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", Levels: []string{"5"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Facets.Levels[catalog.Level3] != 5 || res.Facets.Levels[catalog.Level4] != 1 || res.Facets.Levels[catalog.Level5] != 1 {
		t.Errorf("level facets with level 5 chosen = %v (total %d), want 5 at level 3, 1 at 4, 1 at 5", res.Facets.Levels, res.Total)
	}
	if res.Facets.Delivery[catalog.DeliveryClassroom] != 1 || res.Facets.Sectors["15"] != 1 || len(res.Facets.Sectors) != 1 {
		t.Errorf("other facets with level 5 chosen = %v, %v, want only the level 5 course counted", res.Facets.Delivery, res.Facets.Sectors)
	}
}

func TestSearchValidation(t *testing.T) {
	f := searchFixture(t)
	neg := int64(-1)
	tests := []struct {
		name string
		req  catalog.SearchRequest
		want []string
	}{
		{"no postcode", catalog.SearchRequest{}, []string{"postcode"}},
		{"malformed postcode", catalog.SearchRequest{Postcode: "ABC"}, []string{"postcode"}},
		{"bad everything", catalog.SearchRequest{Postcode: "LN2 1AB", DistanceMiles: -1, Levels: []string{"9"}, Sector: "x", Delivery: []catalog.DeliveryMode{9},
			MaxLearnerCost: &neg, StartFrom: "2027-13-01", PageSize: -1, Order: 9},
			[]string{"delivery_modes[0]", "distance_miles", "levels[0]", "max_learner_cost_pence", "order_by", "page_size", "sector_subject_area", "start_date_from"}},
		{"dates the wrong way round", catalog.SearchRequest{Postcode: "LN2 1AB", StartFrom: "2027-02-01", StartTo: "2027-01-01"}, []string{"start_date_to"}},
		{"foreign page token", catalog.SearchRequest{Postcode: "LN2 1AB", PageToken: "bm9wZQ"}, []string{"page_token"}},
		{"too many words", catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: strings.Repeat("word", 1) + " b c d e f g h i j k l"}, []string{"keyword"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.cat.Search(context.Background(), tt.req)
			if got := fields(err); !slices.Equal(got, tt.want) {
				t.Errorf("Search() violations = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
	if _, err := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "ZZ99 9ZZ"}); err != catalog.ErrUnknownPostcode {
		t.Errorf("Search(unknown postcode) = %v, want ErrUnknownPostcode", err)
	}
}

// TestSearchPaging walks every order in pages of several sizes and checks the pages join
// up to exactly the one-page answer: no duplicates, no gaps.
func TestSearchPaging(t *testing.T) {
	f := newFixture(t)
	f.provider(t, lincs, ukprn, true, "LN1 3BL")
	venues := []string{"LN1 3BL", "LN6 7TS", "PE21 6JF", "NG31 9AP", "DN31 1QH", ""}
	var rows []catalog.ImportRow
	for i := range 137 {
		c := course(fmt.Sprintf("c%03d", i))
		c.VenuePostcode = venues[i%len(venues)]
		if c.VenuePostcode == "" {
			c.Delivery, c.Attendance = catalog.DeliveryOnline, catalog.AttendanceUnset
		}
		c.FullCostPence = int64(100000 + (i%7)*1000) // many ties
		c.StartDate = civil.Date{Year: 2027, Month: 1, Day: 1 + i%5}
		if i%3 == 0 {
			c.Title = "Adult care with medication"
		}
		rows = append(rows, catalog.ImportRow{Course: c})
	}
	if res, err := f.cat.Import(context.Background(), "test", lincs, rows, false); err != nil || res.Created != 137 {
		t.Fatalf("Import = %+v, %v", res.Created, err)
	}
	for _, order := range []catalog.Order{catalog.OrderRelevance, catalog.OrderDistance, catalog.OrderLearnerCost, catalog.OrderStartDate} {
		for _, size := range []int32{1, 10, 36, 100} {
			t.Run(fmt.Sprintf("order %d size %d", order, size), func(t *testing.T) {
				req := catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: "care", Order: order, PageSize: 100}
				all, err := f.cat.Search(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				for all.NextPageToken != "" {
					req.PageToken = all.NextPageToken
					more, err := f.cat.Search(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					all.Results, all.NextPageToken = append(all.Results, more.Results...), more.NextPageToken
				}
				want := ids(all)
				if len(want) != 137 {
					t.Fatalf("one pass found %d, want 137", len(want))
				}
				req = catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: "care", Order: order, PageSize: size}
				var got []string
				for page := 0; ; page++ {
					res, err := f.cat.Search(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Results) > int(size) || res.Total != 137 {
						t.Fatalf("page %d: %d results, total %d", page, len(res.Results), res.Total)
					}
					got = append(got, ids(res)...)
					if res.NextPageToken == "" {
						break
					}
					req.PageToken = res.NextPageToken
				}
				if !slices.Equal(got, want) {
					t.Errorf("pages of %d joined = %d results, want the %d of one pass in the same order", size, len(got), len(want))
				}
				if len(slices.Compact(sorted(got))) != len(got) {
					t.Error("duplicates across pages")
				}
			})
		}
	}
	// A token only works with the search that made it.
	res, _ := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", PageSize: 5})
	_, err := f.cat.Search(context.Background(), catalog.SearchRequest{Postcode: "LN2 1AB", PageSize: 5, Keyword: "care", PageToken: res.NextPageToken})
	if got := fields(err); !slices.Equal(got, []string{"page_token"}) {
		t.Errorf("token used with another search = %v, want a page_token violation", err)
	}
}

func TestIndexFollowsWrites(t *testing.T) {
	f := searchFixture(t)
	ctx := context.Background()
	search := func(kw string) []string {
		res, err := f.cat.Search(ctx, catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: kw, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		return sorted(ids(res))
	}
	if _, err := f.cat.UpdateCourse(ctx, "t", catalog.Course{Area: lincs, ID: "cnc-grantham", Title: "Level 3 Certificate in Welding"}, []string{"title"}); err != nil {
		t.Fatal(err)
	}
	if got := search("cnc"); len(got) != 0 {
		t.Errorf("after retitling, cnc finds %v", got)
	}
	if got := search("weld"); !slices.Equal(got, []string{"cnc-grantham"}) {
		t.Errorf("after retitling, weld finds %v", got)
	}
	if err := f.cat.DeleteCourse(ctx, lincs, "safety-lincoln"); err != nil {
		t.Fatal(err)
	}
	if got := search("safety"); len(got) != 0 {
		t.Errorf("after delete, safety finds %v", got)
	}
	// Many updates compact the index; answers stay the same.
	for i := range 300 {
		if _, err := f.cat.UpdateCourse(ctx, "t", catalog.Course{Area: lincs, ID: "care-boston", FullCostPence: int64(200000 + i)}, []string{"full_cost_pence"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := search("care"); !slices.Equal(got, []string{"accounts-lincoln", "care-boston", "care-lincoln"}) {
		t.Errorf("after 300 updates, care finds %v", got)
	}
	before := search("")
	if err := f.cat.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if after := search(""); !slices.Equal(before, after) {
		t.Errorf("Reindex changed the answer: %v, want %v", after, before)
	}
}

// TestSearchWhileWriting runs searches against concurrent writes; with -race it checks
// the index's locking, and every search must see a consistent catalogue.
func TestSearchWhileWriting(t *testing.T) {
	f := searchFixture(t)
	ctx := context.Background()
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				res, err := f.cat.Search(ctx, catalog.SearchRequest{Postcode: "LN2 1AB", Keyword: "care", DistanceMiles: 40})
				if err != nil {
					errs <- err
					return
				}
				if res.Total < 2 || len(res.Results) != res.Total {
					errs <- fmt.Errorf("search saw %d of total %d", len(res.Results), res.Total)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if _, err := f.cat.UpdateCourse(ctx, "t", catalog.Course{Area: lincs, ID: "care-lincoln", FullCostPence: int64(100000 + i)}, []string{"full_cost_pence"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.cat.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
