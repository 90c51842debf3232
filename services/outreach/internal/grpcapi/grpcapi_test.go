package grpcapi

import (
	"context"
	"encoding/csv"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/platform/civil"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestAuthorize(t *testing.T) {
	lep := authn.Principal{Subject: "lcr", Role: authn.RoleLEP, Area: "E37000022"}
	tests := []struct {
		name    string
		who     *authn.Principal
		area    string
		access  access
		allowed bool
	}{
		{"unauthenticated until the interceptor lands", nil, "", writeCampaigns, true},
		{"LEP reads its area", &lep, "E37000022", readArea, true},
		{"LEP writes its campaigns", &lep, "E37000022", writeCampaigns, true},
		{"LEP reads another area", &lep, "E37000016", readArea, false},
		{"LEP reads every area", &lep, "", readArea, false},
		{"evaluator reads every area", &authn.Principal{Role: authn.RoleEvaluator}, "", readArea, true},
		{"evaluator writes", &authn.Principal{Role: authn.RoleEvaluator}, "E37000022", writeCampaigns, false},
		{"front end records events", &authn.Principal{Role: authn.RoleFrontend}, "E37000022", writeEvents, true},
		{"front end reads reports", &authn.Principal{Role: authn.RoleFrontend}, "E37000022", readArea, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.who != nil {
				ctx = authn.NewContext(ctx, *tt.who)
			}
			err := authorize(ctx, tt.area, tt.access)
			if tt.allowed != (err == nil) || err != nil && !errors.Is(err, domain.ErrPermissionDenied) {
				t.Errorf("authorize = %v, want allowed %v", err, tt.allowed)
			}
		})
	}
}

func newServer(t *testing.T) *Server {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "outreach.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	loc, _ := civil.London()
	idx := attribution.NewIndex()
	svc := domain.NewService(domain.Options{Store: store, Sink: idx, Hasher: domain.NewJourneyHasher(make([]byte, 32)),
		Policy: domain.TimePolicy{MaxFuture: time.Minute, LateHorizon: 1000 * time.Hour}, Now: time.Now, MaxBatch: 100})
	return New(Deps{Log: zap.NewNop(), Service: svc, Index: idx, Now: time.Now, Location: loc, SuppressionThreshold: 10})
}

func TestLEPCannotReadAnotherAreasReport(t *testing.T) {
	s := newServer(t)
	ctx := authn.NewContext(context.Background(), authn.Principal{Role: authn.RoleLEP, Area: "E37000022"})
	params := &outreachv1.ReportParameters{Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, StartDate: "2020-09-01", EndDate: "2020-09-30"}
	for parent, want := range map[string]codes.Code{"areas/E37000022": codes.OK, "areas/E37000016": codes.PermissionDenied, "areas/-": codes.PermissionDenied} {
		_, err := s.RunAttributionReport(ctx, &outreachv1.RunAttributionReportRequest{Parent: parent, Parameters: params})
		if status.Code(err) != want {
			t.Errorf("report of %s by the LEP of E37000022 = %v, want %v", parent, err, want)
		}
	}
}

func TestExportSuppressesSmallCountsAndFormulas(t *testing.T) {
	rep := &outreachv1.AttributionReport{
		Parent:      "areas/E37000022",
		Parameters:  &outreachv1.ReportParameters{Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, Model: outreachv1.AttributionModel_ATTRIBUTION_MODEL_LINEAR, StartDate: "2020-09-01", EndDate: "2020-09-30"},
		Conversions: 25,
		Funnel: []*outreachv1.FunnelStage{
			{Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, Conversions: 25, CostPerConversionPence: 400, Rate: &outreachv1.Rate{Numerator: 25, Denominator: 100, Value: 0.25}},
			{Stage: outreachv1.ConversionStage_CONVERSION_STAGE_COMPLETION, Conversions: 3, CostPerConversionPence: 3333, Rate: &outreachv1.Rate{Numerator: 3, Denominator: 25, Value: 0.12}},
		},
		Rows: []*outreachv1.AttributionRow{
			{Key: "areas/E37000022/campaigns/a", DisplayName: "=HYPERLINK(\"x\")", CreditedConversions: 20, CostPerConversionPence: 50, ConversionRate: &outreachv1.Rate{Numerator: 20, Denominator: 40}},
			{Key: "areas/E37000022/campaigns/b", DisplayName: "B", CreditedConversions: 4.5, CostPerConversionPence: 222, ConversionRate: &outreachv1.Rate{Numerator: 5, Denominator: 40}},
			{Key: "direct", DisplayName: "direct visits", CreditedConversions: 0.5, ConversionRate: &outreachv1.Rate{}},
		},
	}
	doc, err := exportCSV(rep, 10)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(doc)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]string{}
	for _, r := range records {
		if len(r) != len(csvHeader()) {
			t.Fatalf("record %v has %d fields, want %d", r, len(r), len(csvHeader()))
		}
		byKey[r[0]+" "+r[1]] = r
	}
	tests := []struct {
		key   string
		col   int
		want  string
		about string
	}{
		{"total conversions", 4, "25", "a count at or above the threshold is shown"},
		{"funnel CONVERSION_STAGE_COMPLETION", 4, "suppressed", "3 completions"},
		{"funnel CONVERSION_STAGE_COMPLETION", 7, "suppressed", "the cost per completion would reveal the count"},
		{"funnel CONVERSION_STAGE_COMPLETION", 8, "suppressed", "a rate over a small count"},
		{"funnel CONVERSION_STAGE_ENROLMENT", 10, "0.250000", "a rate over large counts"},
		{"attribution areas/E37000022/campaigns/a", 2, "'=HYPERLINK(\"x\")", "a label that a spreadsheet would run"},
		{"attribution areas/E37000022/campaigns/a", 5, "20.0000", "credit at or above the threshold"},
		{"attribution areas/E37000022/campaigns/b", 5, "suppressed", "credit of 4.5"},
		{"attribution areas/E37000022/campaigns/b", 8, "suppressed", "a rate of 5 of 40"},
		{"attribution direct", 5, "suppressed", "credit of 0.5"},
	}
	for _, tt := range tests {
		r, ok := byKey[tt.key]
		if !ok {
			t.Errorf("no row %q in\n%s", tt.key, doc)
			continue
		}
		if r[tt.col] != tt.want {
			t.Errorf("%s: %s[%s] = %q, want %q", tt.about, tt.key, csvHeader()[tt.col], r[tt.col], tt.want)
		}
	}
	if got := exportFilename(rep); got != "attribution-E37000022-enrolment-linear-2020-09-01-2020-09-30.csv" {
		t.Errorf("filename = %q", got)
	}
}
