package reliability

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// freePort returns a loopback port that was free a moment ago, so a restarted process can
// come back on the same address.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestOutboxSurvivesOutreachRestart runs eligibility and outreach as two processes. Checks
// carrying journey ids go on while outreach is killed (SIGKILL) and later restarted on the
// same data: every "eligibility checked" conversion must arrive, exactly once.
func TestOutboxSurvivesOutreachRestart(t *testing.T) {
	dataDir := t.TempDir() // shared: each process opens only its own service's file
	outreachAddr := freePort(t)
	outreach := start(t, dataDir, "--target", "outreach", "--grpc-addr", outreachAddr)
	elig := start(t, dataDir, "--target", "eligibility", "--outreach-addr", outreachAddr)

	frontend := token(t, dataDir, "--role", "frontend")
	econn, err := grpc.NewClient(elig.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(frontend)))
	if err != nil {
		t.Fatal(err)
	}
	defer econn.Close()
	checks := eligibilityv1.NewEligibilityServiceClient(econn)
	ctx := context.Background()

	const n = 60
	check := func(i int) {
		t.Helper()
		_, err := checks.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{
			HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_2,
			Postcode:             "L1 8JQ",
			JourneyId:            fmt.Sprintf("journey-%03d", i),
		})
		if err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	for i := 0; i < n/3; i++ {
		check(i)
	}
	outreach.kill() // mid-stream: some conversions may be in flight
	for i := n / 3; i < 2*n/3; i++ {
		check(i) // acknowledged while outreach is down: only the outbox holds them
	}
	outreach = start(t, dataDir, "--target", "outreach", "--grpc-addr", outreachAddr)
	for i := 2 * n / 3; i < n; i++ {
		check(i)
	}

	admin := token(t, dataDir, "--role", "admin")
	oconn, err := grpc.NewClient(outreach.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(admin)))
	if err != nil {
		t.Fatal(err)
	}
	defer oconn.Close()
	reports := outreachv1.NewOutreachServiceClient(oconn)
	report := func() (conversions, events int64) {
		t.Helper()
		r, err := reports.RunAttributionReport(ctx, &outreachv1.RunAttributionReportRequest{
			Parent: "areas/E37000022",
			Parameters: &outreachv1.ReportParameters{
				Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED,
				Model: outreachv1.AttributionModel_ATTRIBUTION_MODEL_LAST_TOUCH,
				// Today in UTC and London differ by at most a day: a window around now.
				StartDate: time.Now().AddDate(0, 0, -2).Format("2006-01-02"),
				EndDate:   time.Now().AddDate(0, 0, 2).Format("2006-01-02"),
			},
		})
		if err != nil {
			t.Fatalf("report: %v", err)
		}
		return r.GetReport().GetConversions(), r.GetReport().GetEventsScanned()
	}
	// The relay backs off while outreach is down (up to a minute between tries).
	deadline := time.Now().Add(90 * time.Second)
	var conv, events int64
	for time.Now().Before(deadline) {
		if conv, events = report(); conv >= n {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if conv != n {
		t.Fatalf("conversions recorded = %d, want %d (every check, once)\neligibility log:\n%s", conv, n, elig.Stderr.String())
	}
	// Nothing arrives twice, now or a little later (a redelivery after the restart would
	// be a duplicate the store must absorb).
	time.Sleep(time.Second)
	if conv, events = report(); conv != n || events != n {
		t.Errorf("after settling: %d conversions from %d stored events, want %d and %d", conv, events, n, n)
	}
	t.Logf("%d conversions delivered exactly once across an outreach kill and restart", conv)
	elig.stop(t)
	outreach.stop(t)
}
