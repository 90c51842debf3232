package grpcapi

import (
	"errors"
	"strings"
	"testing"
	"time"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"google.golang.org/protobuf/encoding/protojson"
)

// fuzzCampaigns knows one campaign, "radio", with the code RADIO1, in every area.
type fuzzCampaigns struct{}

func (fuzzCampaigns) CampaignExists(area, id string) (bool, error) { return id == "radio", nil }
func (fuzzCampaigns) CampaignByCode(area, code string) (string, bool, error) {
	return "radio", code == "RADIO1", nil
}

// FuzzEventBatch feeds arbitrary bytes through event batch decoding as the REST gateway
// does it (protojson into RecordEventsRequest) and then through the conversion and
// validation of every event: never a panic, and every event is either a valid event or
// refused with at least one field violation.
func FuzzEventBatch(f *testing.F) {
	f.Add([]byte(`{"parent":"areas/E37000022","events":[{"event_id":"e-1","journey_id":"j-1","occur_time":"2026-11-01T10:00:00Z","touch":{"source":"TOUCH_SOURCE_CAMPAIGN_LINK","campaign":"radio"}}]}`))
	f.Add([]byte(`{"parent":"areas/-","events":[{"event_id":"e-2","journey_id":"j-1","area":"E37000022","occur_time":"2026-11-01T11:00:00Z","conversion":{"stage":"CONVERSION_STAGE_ELIGIBILITY_CHECKED","eligibility_outcome":"ELIGIBILITY_OUTCOME_ELIGIBLE"}}]}`))
	f.Add([]byte(`{"events":[{"event_id":"","occur_time":"9999-12-31T23:59:59Z"}]}`))
	f.Add([]byte(`{"events":[{"event_id":"` + strings.Repeat("x", 300) + `","conversion":{"stage":"CONVERSION_STAGE_WITHDRAWAL"}}]}`))
	f.Add([]byte(`not json`))
	hasher := domain.NewJourneyHasher([]byte(strings.Repeat("k", domain.MinSecretLen)))
	policy := domain.TimePolicy{MaxFuture: 5 * time.Minute, LateHorizon: 400 * 24 * time.Hour}
	receive := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var req outreachv1.RecordEventsRequest
		if err := protojson.Unmarshal(data, &req); err != nil {
			return // the gateway answers 400 with the decoding error
		}
		area := strings.TrimPrefix(req.GetParent(), "areas/")
		if area == "-" {
			area = ""
		}
		for _, e := range req.GetEvents() {
			raw := eventFromProto(e)
			ev, err := domain.NormaliseEvent(raw, area, receive, policy, hasher, fuzzCampaigns{})
			if err != nil {
				var ve *domain.ValidationError
				if !errors.As(err, &ve) || len(ve.Violations) == 0 {
					t.Fatalf("event %q refused without a field violation: %v", e.GetEventId(), err)
				}
				continue
			}
			if ev.ID == "" {
				t.Fatalf("accepted event without an id: %+v", ev)
			}
		}
	})
}
