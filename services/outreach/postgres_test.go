package outreach

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/pgtest"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testSecret = "test-journey-secret-0123456789abcdef"

// replica starts a service on the shared database at url, with a data directory of its
// own, closed when the test ends.
func replica(t *testing.T, url string, args ...string) *Service {
	t.Helper()
	cfg := defaultConfig(t, append([]string{"-outreach-journey-secret", testSecret}, args...)...)
	svc, err := New(context.Background(), cfg, Deps{Log: zap.NewNop(), DataDir: t.TempDir(), Now: time.Now, StoreURL: url})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return svc
}

func touch(id, journey string, at time.Time) *outreachv1.Event {
	return &outreachv1.Event{EventId: id, JourneyId: journey, OccurTime: timestamppb.New(at),
		Detail: &outreachv1.Event_Touch{Touch: &outreachv1.Touch{Source: outreachv1.TouchSource_TOUCH_SOURCE_DIRECT}}}
}

func enrolment(id, journey string, at time.Time) *outreachv1.Event {
	return &outreachv1.Event{EventId: id, JourneyId: journey, OccurTime: timestamppb.New(at),
		Detail: &outreachv1.Event_Conversion{Conversion: &outreachv1.Conversion{Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT}}}
}

func record(t *testing.T, svc *Service, events ...*outreachv1.Event) *outreachv1.RecordEventsResponse {
	t.Helper()
	resp, err := svc.api.RecordEvents(context.Background(), &outreachv1.RecordEventsRequest{Parent: "areas/E37000022", Events: events})
	if err != nil {
		t.Fatalf("RecordEvents = %v", err)
	}
	return resp
}

// enrolments returns the enrolments of the last five days in svc's last-touch report.
func enrolments(t *testing.T, svc *Service) int64 {
	t.Helper()
	now := time.Now()
	rep, err := svc.api.RunAttributionReport(context.Background(), &outreachv1.RunAttributionReportRequest{Parent: "areas/-", Parameters: &outreachv1.ReportParameters{
		Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, Model: outreachv1.AttributionModel_ATTRIBUTION_MODEL_LAST_TOUCH,
		StartDate: now.AddDate(0, 0, -5).Format(time.DateOnly), EndDate: now.Format(time.DateOnly),
	}})
	if err != nil {
		t.Fatalf("RunAttributionReport = %v", err)
	}
	for _, row := range rep.GetReport().GetRows() {
		if row.GetKey() != "direct" {
			t.Errorf("report row %q: every conversion here follows a direct touch", row.GetKey())
		}
	}
	return rep.GetReport().GetConversions()
}

// TestReplicasShareOnePostgres: two instances of the service on one database serve one
// state. A campaign created through one is found through the other; a journey whose
// touch went to one replica and conversion to the other joins up (same secret); a
// duplicate event sent to both at once is accepted once and counted once in both
// reports; each replica's index follows the other's writes without a report asking.
func TestReplicasShareOnePostgres(t *testing.T) {
	url := pgtest.URL(t)
	a, b := replica(t, url), replica(t, url)
	ctx := context.Background()
	now := time.Now()

	created, err := a.api.CreateCampaign(ctx, &outreachv1.CreateCampaignRequest{Parent: "areas/E37000022", CampaignId: "radio", Campaign: &outreachv1.Campaign{
		DisplayName: "Radio", Channel: outreachv1.Channel_CHANNEL_RADIO, Messenger: outreachv1.Messenger_MESSENGER_LOCAL_AUTHORITY,
		StartDate: "2020-09-01", Codes: []string{"LEAF1"},
	}})
	if err != nil {
		t.Fatalf("CreateCampaign through a = %v", err)
	}
	got, err := b.api.GetCampaign(ctx, &outreachv1.GetCampaignRequest{Name: created.GetCampaign().GetName()})
	if err != nil || !proto.Equal(got.GetCampaign(), created.GetCampaign()) {
		t.Errorf("GetCampaign through b = %v, %v, want what a created: %v", got, err, created.GetCampaign())
	}

	record(t, a, touch("t1", "journey-1", now.Add(-48*time.Hour)))
	record(t, b, enrolment("c1", "journey-1", now.Add(-24*time.Hour)))
	if n := enrolments(t, a); n != 1 {
		t.Errorf("a's report: %d enrolments, want 1 (touch through a, conversion through b)", n)
	}

	record(t, b, touch("t2", "journey-2", now.Add(-30*time.Hour)))
	var (
		wg        sync.WaitGroup
		responses [2]*outreachv1.RecordEventsResponse
	)
	for i, svc := range []*Service{a, b} {
		wg.Go(func() { responses[i] = record(t, svc, enrolment("c2", "journey-2", now.Add(-20*time.Hour))) })
	}
	wg.Wait()
	accepted := responses[0].GetAcceptedCount() + responses[1].GetAcceptedCount()
	duplicates := responses[0].GetDuplicateCount() + responses[1].GetDuplicateCount()
	if accepted != 1 || duplicates != 1 {
		t.Errorf("one event sent to both replicas at once: %d accepted and %d duplicates, want 1 and 1", accepted, duplicates)
	}
	for name, svc := range map[string]*Service{"a": a, "b": b} {
		if n := enrolments(t, svc); n != 2 {
			t.Errorf("%s's report: %d enrolments, want 2", name, n)
		}
	}

	// Without reports: the other replica's index follows within a few polls.
	record(t, b, touch("t3", "journey-3", now.Add(-time.Hour)))
	const want = 5 // t1 c1 t2 c2 t3, each once
	deadline := time.Now().Add(10 * time.Second)
	for a.index.Len() < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := a.index.Len(); n != want {
		t.Errorf("a's index holds %d events after b recorded its last, want %d", n, want)
	}
	if n := b.index.Len(); n > want {
		t.Errorf("b's index holds %d events, want at most %d: an event was added twice", n, want)
	}
}

func TestPostgresNeedsOneSecret(t *testing.T) {
	url := pgtest.URL(t)
	replica(t, url)
	for _, tt := range []struct {
		name, secret, wantErr string
	}{
		{"another secret", strings.Repeat("x", 40), "differs"},
		{"no secret", "", "required with a PostgreSQL store"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig(t)
			cfg.JourneySecret = tt.secret
			svc, err := New(context.Background(), cfg, Deps{Log: zap.NewNop(), DataDir: t.TempDir(), Now: time.Now, StoreURL: url})
			if err == nil {
				svc.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() = %v, want an error containing %q", err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error echoes the secret: %v", err)
			}
		})
	}
}

func TestStoreURLScheme(t *testing.T) {
	for _, url := range []string{"mysql://u:hunter2@db/retrain", "bolt:/data"} {
		_, err := New(context.Background(), defaultConfig(t, "-outreach-journey-secret", testSecret),
			Deps{Log: zap.NewNop(), DataDir: t.TempDir(), Now: time.Now, StoreURL: url})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(StoreURL %s) = %v, want an error not echoing the URL", url, err)
		}
		if err := Migrate(context.Background(), url); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Migrate(%s) = %v, want an error not echoing the URL", url, err)
		}
	}
}
