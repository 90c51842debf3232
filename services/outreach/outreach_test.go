package outreach

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func defaultConfig(t *testing.T, args ...string) Config {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var c Config
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, ""},
		{[]string{"-outreach-journey-secret", "short"}, "at least 32 bytes"},
		{[]string{"-outreach-late-horizon", "0s"}, "late-horizon"},
		{[]string{"-outreach-max-batch", "0"}, "max-batch"},
		{[]string{"-outreach-suppression-threshold", "0"}, "suppression"},
	}
	for _, tt := range tests {
		c := defaultConfig(t, tt.args...)
		err := c.Validate()
		if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Validate(%v) = %v, want error containing %q", tt.args, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("Validate echoes the secret: %v", err)
		}
	}
}

// TestRestartKeepsEventsAndSecret: events survive a restart, the generated journey
// secret is reused (so a journey's events still join up), and a resent event is still a
// duplicate.
func TestRestartKeepsEventsAndSecret(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Now()
	deps := Deps{Log: zap.NewNop(), DataDir: dir, Now: func() time.Time { return now }}
	event := func(id string, at time.Time, detail any) *outreachv1.Event {
		e := &outreachv1.Event{EventId: id, JourneyId: "journey-1", OccurTime: timestamppb.New(at)}
		switch d := detail.(type) {
		case *outreachv1.Event_Touch:
			e.Detail = d
		case *outreachv1.Event_Conversion:
			e.Detail = d
		}
		return e
	}
	direct := &outreachv1.Event_Touch{Touch: &outreachv1.Touch{Source: outreachv1.TouchSource_TOUCH_SOURCE_DIRECT}}
	enrol := &outreachv1.Event_Conversion{Conversion: &outreachv1.Conversion{Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT}}

	svc, err := New(ctx, defaultConfig(t), deps)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := svc.api.RecordEvents(ctx, &outreachv1.RecordEventsRequest{Parent: "areas/E37000022", Events: []*outreachv1.Event{event("t1", now.Add(-48*time.Hour), direct)}})
	if err != nil || resp.GetAcceptedCount() != 1 {
		t.Fatalf("RecordEvents = %v, %v", resp, err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, secretFile))
	if err != nil || len(strings.TrimSpace(string(key))) < 32 {
		t.Fatalf("journey secret file = %q, %v", key, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, secretFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("journey secret mode = %v, want 0600", fi.Mode().Perm())
	}

	svc, err = New(ctx, defaultConfig(t), deps)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	resp, err = svc.api.RecordEvents(ctx, &outreachv1.RecordEventsRequest{Parent: "areas/E37000022", Events: []*outreachv1.Event{
		event("t1", now.Add(-48*time.Hour), direct),
		event("c1", now.Add(-24*time.Hour), enrol),
	}})
	if err != nil || resp.GetDuplicateCount() != 1 || resp.GetAcceptedCount() != 1 {
		t.Fatalf("after restart: RecordEvents = %v, %v, want the touch a duplicate and the conversion accepted", resp, err)
	}
	day := now.Format(time.DateOnly)
	rep, err := svc.api.RunAttributionReport(ctx, &outreachv1.RunAttributionReportRequest{Parent: "areas/-", Parameters: &outreachv1.ReportParameters{
		Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, Model: outreachv1.AttributionModel_ATTRIBUTION_MODEL_LAST_TOUCH,
		StartDate: now.AddDate(0, 0, -5).Format(time.DateOnly), EndDate: day,
	}})
	if err != nil {
		t.Fatal(err)
	}
	rows := rep.GetReport().GetRows()
	if rep.GetReport().GetConversions() != 1 || len(rows) != 1 || rows[0].GetKey() != "direct" {
		t.Errorf("report after restart = %v, want the conversion credited to the direct touch recorded before the restart", rep.GetReport())
	}
}
