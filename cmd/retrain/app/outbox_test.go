package app

import (
	"context"
	"testing"
	"time"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
)

// TestOutboxInProcess: in the all-in-one binary a check carrying a journey id becomes an
// "eligibility checked" conversion in outreach (through the in-memory connection, as the
// service role), and a check without one does not.
func TestOutboxInProcess(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	checks := eligibilityv1.NewEligibilityServiceClient(authedClient(t, s.grpcAddr, s.token(t, "frontend", "")))
	for _, journey := range []string{"journey-a", "journey-b", ""} {
		if _, err := checks.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{Postcode: "L1 8JQ", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_3, JourneyId: journey}); err != nil {
			t.Fatal(err)
		}
	}
	reports := outreachv1.NewOutreachServiceClient(s.conn)
	var got int64
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r, err := reports.RunAttributionReport(ctx, &outreachv1.RunAttributionReportRequest{
			Parent: "areas/E37000022",
			Parameters: &outreachv1.ReportParameters{
				Stage:     outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED,
				Model:     outreachv1.AttributionModel_ATTRIBUTION_MODEL_FIRST_TOUCH,
				StartDate: time.Now().AddDate(0, 0, -2).Format("2006-01-02"),
				EndDate:   time.Now().AddDate(0, 0, 2).Format("2006-01-02"),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got = r.GetReport().GetConversions(); got >= 2 {
			break
		}
	}
	if got != 2 {
		t.Errorf("conversions in outreach = %d, want 2 (the two checks with a journey id)", got)
	}
}
