package courses

import (
	"context"
	"flag"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/platform/postcode"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// replica starts a service on storeURL behind a gRPC server on 127.0.0.1 and returns a
// client of it; everything stops when the test ends.
func replica(t *testing.T, cfg Config, storeURL string, dir *postcode.Directory) coursesv1.CoursesServiceClient {
	t.Helper()
	svc, err := New(cfg, Deps{Log: zap.NewNop(), DataDir: t.TempDir(), StoreURL: storeURL, Postcodes: dir, Now: time.Now})
	if err != nil {
		t.Error(err)
		return nil
	}
	srv := grpc.NewServer()
	svc.Register(srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return coursesv1.NewCoursesServiceClient(conn)
}

// waitFor calls cond until it returns "" (met), failing the test with its last answer if
// that takes longer than limit: a bound on eventual consistency, far above the poll
// interval, not a performance assertion.
func waitFor(t *testing.T, limit time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testConfig(t *testing.T) Config {
	t.Helper()
	var cfg Config
	fs := newFlagSet()
	cfg.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReplicasShareOneState runs two replicas on one database, started together on an
// empty one (both seed the demo catalogue): a course created through one is found by a
// search through the other within the poll interval, and the same course sent to both is
// stored once.
func TestReplicasShareOneState(t *testing.T) {
	url := pgtest.URL(t)
	dir, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t) // demo data on, polls every 500ms
	var clients [2]coursesv1.CoursesServiceClient
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i] = replica(t, cfg, url, dir) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	a, b := clients[0], clients[1]
	ctx := t.Context()

	// The demo catalogue, seeded by both at once (one may return while the other is still
	// writing it), is there once, and both find all of it within a poll.
	stored, err := a.ListCourses(ctx, &coursesv1.ListCoursesRequest{Parent: "areas/E37000060", PageSize: 1000})
	if err != nil || len(stored.GetCourses()) == 0 {
		t.Fatalf("demo courses of E37000060 = %d, %v", len(stored.GetCourses()), err)
	}
	var want []string
	for _, c := range stored.GetCourses() {
		want = append(want, c.GetName())
	}
	slices.Sort(want)
	for i, c := range clients {
		waitFor(t, 10*time.Second, func() string {
			res, err := c.SearchCourses(ctx, &coursesv1.SearchCoursesRequest{Postcode: "LN2 1AB", PageSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.GetResults() {
				got = append(got, r.GetCourse().GetName())
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				return fmt.Sprintf("replica %d finds %d demo courses near Lincoln, want the %d stored", i, len(got), len(want))
			}
			return ""
		})
	}

	if _, err := a.CreateProvider(ctx, &coursesv1.CreateProviderRequest{Parent: "areas/E37000060", ProviderId: "19999999",
		Provider: &coursesv1.Provider{DisplayName: "Replica College", LoanFacility: true, PremisesPostcodes: []string{"LN1 3BL"}}}); err != nil {
		t.Fatal(err)
	}
	course := &coursesv1.Course{
		LearningAimReference: "60318011", Title: "Level 3 Diploma in Zymurgy", Description: "Brewing science.",
		Level: "3", SectorSubjectArea: "1.3", AwardingBody: "NCFE", ProviderUkprn: "19999999", VenuePostcode: "LN1 3BL",
		DeliveryMode: coursesv1.DeliveryMode_DELIVERY_MODE_CLASSROOM, StudyMode: coursesv1.StudyMode_STUDY_MODE_PART_TIME,
		AttendancePattern: coursesv1.AttendancePattern_ATTENDANCE_PATTERN_EVENING, DurationValue: 30,
		DurationUnit: coursesv1.DurationUnit_DURATION_UNIT_WEEKS, StartDate: "2027-01-11", FullCostPence: 245000, DiscountPercent: 75,
	}
	search := &coursesv1.SearchCoursesRequest{Postcode: "LN2 1AB", Keyword: "zymurgy"}
	if res, err := b.SearchCourses(ctx, search); err != nil || res.GetTotalSize() != 0 {
		t.Fatalf("search before the create = %d, %v, want 0", res.GetTotalSize(), err)
	}
	created, err := a.CreateCourse(ctx, &coursesv1.CreateCourseRequest{Parent: "areas/E37000060", Course: course})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Reads go to the store: at once.
	if got, err := b.GetCourse(ctx, &coursesv1.GetCourseRequest{Name: created.GetCourse().GetName()}); err != nil || got.GetCourse().GetTitle() != course.Title {
		t.Errorf("GetCourse through b = %v, %v", got.GetCourse().GetTitle(), err)
	}
	// Searches go to b's index: within a poll.
	waitFor(t, 10*time.Second, func() string {
		res, err := b.SearchCourses(ctx, search)
		if err != nil {
			t.Fatal(err)
		}
		if res.GetTotalSize() != 1 {
			return fmt.Sprintf("b finds %d courses for zymurgy, want the one created through a", res.GetTotalSize())
		}
		if got := res.GetResults()[0].GetCourse(); got.GetName() != created.GetCourse().GetName() || got.GetProviderName() != "Replica College" {
			t.Errorf("b found %s of %q, want %s of Replica College", got.GetName(), got.GetProviderName(), created.GetCourse().GetName())
		}
		return ""
	})
	t.Logf("a course created through a was found by a search through b after %v (poll interval %v)", time.Since(start).Round(time.Millisecond), cfg.StorePollInterval)

	// The same course without an id (so derived from its own key) sent to both at once:
	// one creates it, the other is told it exists.
	course.StartDate = "2027-02-08"
	codesSeen := make([]codes.Code, 2)
	wg = sync.WaitGroup{}
	for i, c := range clients {
		wg.Go(func() {
			_, err := c.CreateCourse(ctx, &coursesv1.CreateCourseRequest{Parent: "areas/E37000060", Course: course})
			codesSeen[i] = status.Code(err)
		})
	}
	wg.Wait()
	if !(codesSeen[0] == codes.OK && codesSeen[1] == codes.AlreadyExists || codesSeen[0] == codes.AlreadyExists && codesSeen[1] == codes.OK) {
		t.Errorf("the same course created through both = %v, want one OK and one AlreadyExists", codesSeen)
	}
}

func TestStoreURLValidation(t *testing.T) {
	dir, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		url  string
	}{
		{"another database", "mysql://svc:s3cret@db:3306/retrain"},
		{"a file", "/var/lib/retrain/courses.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(testConfig(t), Deps{Log: zap.NewNop(), DataDir: t.TempDir(), StoreURL: tt.url, Postcodes: dir, Now: time.Now})
			if err == nil {
				t.Fatal("New accepted the store URL")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
	if err := Migrate(t.Context(), "mysql://svc:s3cret@db/retrain"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Migrate(mysql URL) = %v, want an error without the password", err)
	}
}

func TestMigrate(t *testing.T) {
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range 2 {
		if err := Migrate(ctx, url); err != nil {
			t.Fatalf("Migrate (run %d) = %v", i+1, err)
		}
	}
}

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }
