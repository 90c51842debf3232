package catalog_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
)

// benchDistricts reads the built-in district table for venues spread like real ones:
// area code -> districts.
func benchDistricts(b *testing.B) map[string][]string {
	b.Helper()
	fh, err := os.Open("../../../../platform/postcode/districts.csv")
	if err != nil {
		b.Skipf("district table not found: %v", err)
	}
	defer fh.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ",")
		if len(parts) != 5 || strings.HasPrefix(parts[0], "#") {
			continue
		}
		for _, a := range strings.Fields(parts[4]) {
			out[a] = append(out[a], parts[0])
		}
	}
	return out
}

var (
	benchQuals    = []string{"Diploma", "Certificate", "Extended Certificate", "Award", "Higher National Certificate"}
	benchSubjects = []string{"Accounting", "Adult Care", "Engineering Maintenance", "Electrical Installation", "Cyber Security", "Software Development", "Digital Marketing", "Management and Leadership", "Hospitality Supervision", "Supporting Teaching and Learning", "Occupational Health and Safety", "Agriculture", "Logistics Operations", "Plumbing and Heating", "Counselling", "CNC Machining", "Construction Site Supervision", "Business Administration", "Data Analysis", "Early Years Education"}
	benchWords    = strings.Fields("skills practical workplace learners employers industry assessment portfolio theory safety customers teams planning systems quality equipment maintenance records software design analysis budget people support care community digital online project management leadership communication standards regulations technology processes evening weekend release modules units progression apprenticeship career")
)

// BenchmarkSearch measures typical learner searches (postcode + 20 miles + keyword + level)
// over 100,000 courses across the six areas, and the heap the index holds. Run with
//
//	go test -run '^$' -bench BenchmarkSearch -benchtime 20000x ./services/courses/internal/catalog/
//
// p50-ns and p99-ns are per-search latencies; index-MiB is the heap held by the catalog
// and its index after a GC.
func BenchmarkSearch(b *testing.B) {
	const total = 100_000
	districts := benchDistricts(b)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f := newFixture(b)
	rng := rand.New(rand.NewPCG(1, 2))
	areas := f.cat.Areas()
	start := time.Now()
	for ai, a := range areas {
		ds := districts[a.Code]
		if len(ds) == 0 {
			b.Fatalf("no districts for %s", a.Code)
		}
		aims := a.Rules.ApprovedAims
		if len(aims) == 0 {
			aims = []string{"60318011", "60323452", "60399999"}
		}
		var provs []string
		for p := range 40 {
			id := fmt.Sprintf("1%03d%04d", ai, p)
			provs = append(provs, id)
			f.provider(b, a.Code, id, true, ds[p%len(ds)]+" 1AA")
		}
		rows := make([]catalog.ImportRow, 0, total/len(areas))
		for i := range total / len(areas) {
			subj := benchSubjects[rng.IntN(len(benchSubjects))]
			lvl := catalog.Level(int(catalog.Level3) + rng.IntN(3))
			var desc []string
			for range 12 + rng.IntN(20) {
				desc = append(desc, benchWords[rng.IntN(len(benchWords))])
			}
			c := catalog.Course{
				Area: a.Code, ID: fmt.Sprintf("c%06d", i), LearningAim: aims[rng.IntN(len(aims))],
				Title:       fmt.Sprintf("Level %s %s in %s", lvl, benchQuals[rng.IntN(len(benchQuals))], subj),
				Description: strings.Join(desc, " ") + " " + strings.ToLower(subj),
				Level:       lvl, Sector: fmt.Sprintf("%d.%d", 1+rng.IntN(15), 1+rng.IntN(4)), AwardingBody: "Pearson",
				ProviderUKPRN: provs[rng.IntN(len(provs))],
				VenuePostcode: ds[rng.IntN(len(ds))] + " 2AB",
				Delivery:      catalog.DeliveryMode(1 + rng.IntN(4)), Study: catalog.StudyMode(1 + rng.IntN(3)),
				Attendance:    catalog.AttendancePattern(1 + rng.IntN(4)),
				DurationValue: int32(4 + rng.IntN(40)), DurationUnit: catalog.DurationWeeks,
				StartDate:     civil.Date{Year: 2027, Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)},
				FullCostPence: int64(20000 + rng.IntN(400000)), Modular: rng.IntN(2) == 0,
				DiscountPercent: a.Discounts[rng.IntN(len(a.Discounts))],
			}
			if c.Delivery == catalog.DeliveryOnline {
				c.VenuePostcode, c.Attendance = "", catalog.AttendanceUnset
			}
			rows = append(rows, catalog.ImportRow{Row: i + 2, Course: c})
		}
		res, err := f.cat.Import(context.Background(), "bench", a.Code, rows, false)
		if err != nil || res.Invalid > 0 {
			b.Fatalf("import %s: %d invalid, %v (%+v)", a.Code, res.Invalid, err, res.Rows[0])
		}
	}
	loadTime := time.Since(start)
	if err := f.cat.Reindex(context.Background()); err != nil {
		b.Fatal(err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	indexMiB := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)

	learners := []string{"LN2 1AB", "EX2 4AA", "ST3 1AA", "LS6 1AA", "B5 4AA", "L8 1AA", "DN32 7AA", "PL3 4AA", "WF2 9AA", "CV3 1AA"}
	keywords := []string{"accounting", "care", "engin", "cyber security", "manag", "plumbing", "data", "digital marketing"}
	type search struct {
		name string
		req  func(i int) catalog.SearchRequest
	}
	for _, s := range []search{
		{"postcode+20mi+keyword+level", func(i int) catalog.SearchRequest {
			return catalog.SearchRequest{Postcode: learners[i%len(learners)], DistanceMiles: 20, Keyword: keywords[i%len(keywords)], Levels: []string{"3"}}
		}},
		{"postcode+20mi+level", func(i int) catalog.SearchRequest {
			return catalog.SearchRequest{Postcode: learners[i%len(learners)], DistanceMiles: 20, Levels: []string{"3"}}
		}},
		{"postcode+keyword+cost-order", func(i int) catalog.SearchRequest {
			return catalog.SearchRequest{Postcode: learners[i%len(learners)], Keyword: keywords[i%len(keywords)], Order: catalog.OrderLearnerCost}
		}},
		{"postcode-only", func(i int) catalog.SearchRequest {
			return catalog.SearchRequest{Postcode: learners[i%len(learners)]}
		}},
	} {
		b.Run(s.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var found int
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				res, err := f.cat.Search(context.Background(), s.req(i))
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				found += res.Total
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(found)/float64(len(lat)), "matches/op")
			b.ReportMetric(indexMiB, "index-MiB")
			b.ReportMetric(loadTime.Seconds(), "load-s")
		})
	}
}
