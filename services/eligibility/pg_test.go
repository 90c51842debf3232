package eligibility_test

import (
	"context"
	"flag"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/platform/postcode"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testKeys = "k1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// replica starts one instance of the service on storeURL behind an in-memory gRPC
// server, stopped when the test ends.
func replica(t *testing.T, storeURL string, snk eligibility.ConversionSink) eligibilityv1.EligibilityServiceClient {
	t.Helper()
	c, err := startReplica(t, storeURL, snk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startReplica is replica for any goroutine: it reports failure instead of failing.
func startReplica(t *testing.T, storeURL string, snk eligibility.ConversionSink) (eligibilityv1.EligibilityServiceClient, error) {
	places, err := postcode.Builtin()
	if err != nil {
		return nil, err
	}
	var cfg eligibility.Config
	fs := flag.NewFlagSet("replica", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"-eligibility-data-keys", testKeys}); err != nil {
		return nil, err
	}
	svc, err := eligibility.New(cfg, eligibility.Deps{Log: zap.NewNop(), DataDir: t.TempDir(), StoreURL: storeURL, Postcodes: places, Now: time.Now, Sink: snk})
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer()
	svc.Register(srv)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///replica",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		_ = svc.Close()
		return nil, err
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		if err := svc.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return eligibilityv1.NewEligibilityServiceClient(conn), nil
}

// eventually polls cond every 10ms until it holds, failing after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// TestReplicasShareOneState runs two instances of the service on one PostgreSQL database
// and shows they serve one state: a ruleset published through one is in force through
// the other within the refresh interval, an assessment recorded through one is read
// through the other, both write one audit trail, and the conversions of checks made
// through both are delivered once each.
func TestReplicasShareOneState(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	sinkA, sinkB := &sink{}, &sink{}
	a := replica(t, url, sinkA)
	b := replica(t, url, sinkB)

	// Both replicas stored or found the configured ruleset: exactly one version.
	list, err := b.ListRulesets(ctx, &eligibilityv1.ListRulesetsRequest{})
	if err != nil || len(list.GetRulesets()) != 1 {
		t.Fatalf("ListRulesets = %d rulesets, %v; want the configured one once", len(list.GetRulesets()), err)
	}

	// A ruleset published through a is in force through b within about a second.
	current := list.GetRulesets()[0]
	next := &eligibilityv1.Ruleset{
		Version: "replicated-1", Description: "published through replica a",
		AgeFloor: current.GetAgeFloor(), QualificationCeiling: current.GetQualificationCeiling(),
		SalaryThresholdPence: current.GetSalaryThresholdPence(), AreaOverrides: current.GetAreaOverrides(), LiveAreas: current.GetLiveAreas(),
	}
	if _, err := a.CreateRuleset(ctx, &eligibilityv1.CreateRulesetRequest{Ruleset: next}); err != nil {
		t.Fatalf("CreateRuleset through a: %v", err)
	}
	took := eventually(t, 10*time.Second, "ruleset published through a visible through b", func() bool {
		_, err := b.GetRuleset(ctx, &eligibilityv1.GetRulesetRequest{Name: "rulesets/replicated-1"})
		return err == nil
	})
	if limit := 3 * eligibility.RulesetRefresh; took > limit {
		t.Errorf("b saw the ruleset after %v, want within about %v", took, eligibility.RulesetRefresh)
	}
	check, err := b.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{Postcode: "B1 1AA"})
	if err != nil || check.GetRulesetVersion() != "replicated-1" {
		t.Errorf("a check through b was decided by %q (%v), want the version published through a", check.GetRulesetVersion(), err)
	}
	// The same version published through b is refused: the database decides once.
	if _, err := b.CreateRuleset(ctx, &eligibilityv1.CreateRulesetRequest{Ruleset: next}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("CreateRuleset of the same version through b = %v, want AlreadyExists", err)
	}

	// An assessment recorded through a is read through b.
	created, err := a.CreateAssessment(ctx, &eligibilityv1.CreateAssessmentRequest{Parent: "learners/shared-1", Assessment: &eligibilityv1.Assessment{
		DateOfBirth: "1985-04-12", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_3, Postcode: "B1 1AA",
	}})
	if err != nil {
		t.Fatalf("CreateAssessment through a: %v", err)
	}
	got, err := b.GetAssessment(ctx, &eligibilityv1.GetAssessmentRequest{Name: created.GetAssessment().GetName()})
	if err != nil {
		t.Fatalf("GetAssessment through b: %v", err)
	}
	if got.GetAssessment().GetDateOfBirth() != "1985-04-12" || !got.GetAssessment().GetCreateTime().AsTime().Equal(created.GetAssessment().GetCreateTime().AsTime()) {
		t.Errorf("b read %v, want what a recorded %v", got.GetAssessment(), created.GetAssessment())
	}

	// Checks with journey ids through both: each conversion delivered once, by one relay.
	var want []string
	for i, c := range []eligibilityv1.EligibilityServiceClient{a, b, a, b, b, a} {
		j := "journey-" + string(rune('a'+i))
		want = append(want, j)
		if _, err := c.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{JourneyId: j, Postcode: "B1 1AA"}); err != nil {
			t.Fatal(err)
		}
	}
	delivered := func() []string { return append(sinkA.journeys(), sinkB.journeys()...) }
	eventually(t, 20*time.Second, "every conversion delivered", func() bool { return len(delivered()) >= len(want) })
	time.Sleep(50 * time.Millisecond) // a duplicate delivery, were there one, would land now
	counts := map[string]int{}
	for _, j := range delivered() {
		counts[j]++
	}
	for _, j := range want {
		if counts[j] != 1 {
			t.Errorf("journey %s delivered %d times, want once (deliveries %v)", j, counts[j], delivered())
		}
	}
	if len(sinkA.journeys()) > 0 && len(sinkB.journeys()) > 0 {
		t.Logf("both relays delivered (the lease moved between replicas): a %v, b %v", sinkA.journeys(), sinkB.journeys())
	}

	// One audit trail: b lists a's writes, with sequences 1, 2, 3... in order.
	audit, err := b.ListAuditRecords(ctx, &eligibilityv1.ListAuditRecordsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i, r := range audit.GetAuditRecords() {
		if want := "auditRecords/" + strconv.Itoa(i+1); r.GetName() != want {
			t.Errorf("audit record %d is %s, want %s", i, r.GetName(), want)
		}
		actions = append(actions, r.GetAction())
	}
	if got := strings.Join(actions, ","); !strings.Contains(got, "RULESET_PUBLISHED") || !strings.Contains(got, "ASSESSMENT_CREATED") || !strings.Contains(got, "ASSESSMENT_READ") {
		t.Errorf("audit trail through b = %s, want the publication, creation and read made through both", got)
	}
}

func TestStoreURLValidation(t *testing.T) {
	places, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, keys, wantErr string
	}{
		{"not postgres", "mysql://user:secret@db/x", testKeys, "postgres:// or postgresql://"},
		{"postgres without keys", "postgres://user:secret@127.0.0.1:1/x", "", "eligibility-data-keys is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.keys != "" {
				args = []string{"-eligibility-data-keys", tt.keys}
			}
			_, err := eligibility.New(config(t, args...), eligibility.Deps{Log: zap.NewNop(), DataDir: t.TempDir(), StoreURL: tt.url, Postcodes: places, Now: time.Now})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(store %s) = %v, want an error saying %q", tt.name, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the URL's password", err)
			}
		})
	}
}

// TestReplicasStartTogether: replicas starting at once on an empty database both store
// or find the configured ruleset; it is stored once and both serve it.
func TestReplicasStartTogether(t *testing.T) {
	url := pgtest.URL(t)
	clients := make([]eligibilityv1.EligibilityServiceClient, 3)
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients[i], errs[i] = startReplica(t, url, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	for i, c := range clients {
		list, err := c.ListRulesets(context.Background(), &eligibilityv1.ListRulesetsRequest{})
		if err != nil || len(list.GetRulesets()) != 1 || list.GetRulesets()[0].GetEffectiveFrom() != "" {
			t.Errorf("replica %d lists %v (%v), want the configured ruleset once, in force from the beginning", i, list.GetRulesets(), err)
		}
	}
}
