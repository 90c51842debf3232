package domain_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

const area = "E37000022"

var receive = time.Date(2020, 9, 20, 12, 0, 0, 0, time.UTC)

func policy() domain.TimePolicy {
	return domain.TimePolicy{MaxFuture: 5 * time.Minute, LateHorizon: 400 * 24 * time.Hour}
}

// fakeCampaigns knows campaign "radio" with code LEAF1.
type fakeCampaigns struct{}

func (fakeCampaigns) CampaignExists(a, id string) (bool, error) {
	return a == area && id == "radio", nil
}
func (fakeCampaigns) CampaignByCode(a, code string) (string, bool, error) {
	if a == area && code == "LEAF1" {
		return "radio", true, nil
	}
	return "", false, nil
}

func touch() domain.RawEvent {
	return domain.RawEvent{ID: "e1", JourneyID: "j1", Area: area, OccurTime: receive.Add(-time.Hour), Kind: domain.KindTouch,
		Source: domain.SourceCodeEntered, Code: "leaf1"}
}

func TestNormaliseEvent(t *testing.T) {
	hasher := domain.NewJourneyHasher([]byte("0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name     string
		edit     func(*domain.RawEvent)
		parent   string
		wantTime time.Time
		fields   []string
	}{
		{name: "code resolves to its campaign", edit: func(*domain.RawEvent) {}, wantTime: receive.Add(-time.Hour)},
		{name: "area from the parent", edit: func(r *domain.RawEvent) { r.Area = "" }, parent: area, wantTime: receive.Add(-time.Hour)},
		{name: "device clock two hours fast is corrected", edit: func(r *domain.RawEvent) {
			// The device says it happened at 13:00 and sent at 13:30; received at 12:00.
			r.OccurTime, r.SendTime = receive.Add(time.Hour), receive.Add(90*time.Minute)
		}, wantTime: receive.Add(-30 * time.Minute)},
		{name: "device clock a day slow is corrected", edit: func(r *domain.RawEvent) {
			r.OccurTime, r.SendTime = receive.Add(-25*time.Hour), receive.Add(-24*time.Hour)
		}, wantTime: receive.Add(-time.Hour)},
		{name: "completion months late is accepted", edit: func(r *domain.RawEvent) {
			*r = domain.RawEvent{ID: "c1", JourneyID: "j1", Area: area, OccurTime: receive.AddDate(0, -9, 0), Kind: domain.KindConversion, Stage: domain.StageCompletion}
		}, wantTime: receive.AddDate(0, -9, 0)},
		{name: "too far in the future", edit: func(r *domain.RawEvent) { r.OccurTime = receive.Add(10 * time.Minute) }, fields: []string{"occur_time"}},
		{name: "within the future tolerance", edit: func(r *domain.RawEvent) { r.OccurTime = receive.Add(4 * time.Minute) }, wantTime: receive.Add(4 * time.Minute)},
		{name: "older than the horizon", edit: func(r *domain.RawEvent) { r.OccurTime = receive.AddDate(-2, 0, 0) }, fields: []string{"occur_time"}},
		{name: "sent before it happened", edit: func(r *domain.RawEvent) { r.SendTime = r.OccurTime.Add(-time.Hour) }, fields: []string{"send_time"}},
		{name: "missing everything", edit: func(r *domain.RawEvent) { *r = domain.RawEvent{} },
			fields: []string{"area", "detail", "event_id", "journey_id", "occur_time"}},
		{name: "area other than the parent's", edit: func(r *domain.RawEvent) { r.Area = "E37000016" }, parent: area, fields: []string{"area"}},
		{name: "unknown code", edit: func(r *domain.RawEvent) { r.Code = "NOPE" }, fields: []string{"touch.code"}},
		{name: "campaign of another area", edit: func(r *domain.RawEvent) { r.Code, r.CampaignName = "", "areas/E37000016/campaigns/radio" }, fields: []string{"touch.campaign"}},
		{name: "campaign by name", edit: func(r *domain.RawEvent) { r.Code, r.CampaignName = "", "areas/E37000022/campaigns/radio" }, wantTime: receive.Add(-time.Hour)},
		{name: "direct visit with a code", edit: func(r *domain.RawEvent) { r.Source = domain.SourceDirect }, fields: []string{"touch.source"}},
		{name: "bad event id", edit: func(r *domain.RawEvent) { r.ID = "has space" }, fields: []string{"event_id"}},
		{name: "eligibility check without outcome", edit: func(r *domain.RawEvent) {
			*r = domain.RawEvent{ID: "c1", JourneyID: "j1", Area: area, OccurTime: receive, Kind: domain.KindConversion, Stage: domain.StageEligibilityChecked}
		}, fields: []string{"conversion.eligibility_outcome"}},
		{name: "reason on an enrolment", edit: func(r *domain.RawEvent) {
			*r = domain.RawEvent{ID: "c1", JourneyID: "j1", Area: area, OccurTime: receive, Kind: domain.KindConversion, Stage: domain.StageEnrolment, Reason: 1}
		}, fields: []string{"conversion.withdrawal_reason"}},
		{name: "decoding found a bad timestamp", edit: func(r *domain.RawEvent) {
			r.SendTime = time.Time{}
			r.Violations = []domain.Violation{{Field: "send_time", Description: "must be a valid timestamp"}}
		}, fields: []string{"send_time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := touch()
			tt.edit(&raw)
			ev, err := domain.NormaliseEvent(raw, tt.parent, receive, policy(), hasher, fakeCampaigns{})
			if tt.fields != nil {
				var ve *domain.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("NormaliseEvent = %v, want violations of %v", err, tt.fields)
				}
				var got []string
				for _, v := range ve.Violations {
					got = append(got, v.Field)
				}
				slices.Sort(got)
				if !slices.Equal(got, tt.fields) {
					t.Errorf("violations = %v, want %v", got, tt.fields)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormaliseEvent = %v", err)
			}
			if !ev.Time.Equal(tt.wantTime) {
				t.Errorf("time = %v, want %v", ev.Time, tt.wantTime)
			}
			if ev.Journey != hasher.Key(raw.JourneyID) || ev.Journey == (domain.JourneyKey{}) {
				t.Errorf("journey key %x is not the keyed hash", ev.Journey)
			}
			if raw.Kind == domain.KindTouch && ev.Campaign != "radio" {
				t.Errorf("campaign = %q, want radio", ev.Campaign)
			}
		})
	}
}

func TestJourneyHashIsKeyed(t *testing.T) {
	a := domain.NewJourneyHasher([]byte("0123456789abcdef0123456789abcdef"))
	b := domain.NewJourneyHasher([]byte("fedcba9876543210fedcba9876543210"))
	if a.Key("j1") == b.Key("j1") {
		t.Error("two secrets give the same key")
	}
	if a.Key("j1") != a.Key("j1") || a.Key("j1") == a.Key("j2") {
		t.Error("a secret must give one key per journey id")
	}
}

type sinkFunc func([]domain.Event)

func (f sinkFunc) Add(evs []domain.Event) { f(evs) }

func newService(t *testing.T, sink domain.Sink) *domain.Service {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "outreach.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateCampaign(context.Background(), storetest.Campaign(area, "radio", "LEAF1")); err != nil {
		t.Fatal(err)
	}
	return domain.NewService(domain.Options{
		Store: store, Sink: sink, Hasher: domain.NewJourneyHasher([]byte("0123456789abcdef0123456789abcdef")),
		Policy: policy(), Now: func() time.Time { return receive }, MaxBatch: 10,
	})
}

func TestRecord(t *testing.T) {
	var sunk []string
	svc := newService(t, sinkFunc(func(evs []domain.Event) {
		for _, e := range evs {
			sunk = append(sunk, e.ID)
		}
	}))
	ctx := context.Background()
	changed := touch()
	changed.Code = "" // same id, no campaign: different content
	bad := touch()
	bad.ID = ""
	resend := touch()
	resend.SendTime = receive // a resend carries a new send time: still the same event
	tests := []struct {
		name  string
		batch []domain.RawEvent
		want  []domain.EventStatus
		sunk  []string
	}{
		{"first", []domain.RawEvent{touch(), bad}, []domain.EventStatus{domain.StatusAccepted, domain.StatusInvalid}, []string{"e1"}},
		{"again", []domain.RawEvent{touch()}, []domain.EventStatus{domain.StatusDuplicate}, []string{"e1"}},
		{"resent with a send time", []domain.RawEvent{resend}, []domain.EventStatus{domain.StatusDuplicate}, []string{"e1"}},
		{"changed", []domain.RawEvent{changed}, []domain.EventStatus{domain.StatusConflict}, []string{"e1"}},
		{"twice in one batch", func() []domain.RawEvent {
			a := touch()
			a.ID = "e2"
			return []domain.RawEvent{a, a}
		}(), []domain.EventStatus{domain.StatusAccepted, domain.StatusDuplicate}, []string{"e1", "e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := svc.Record(ctx, "", tt.batch)
			if err != nil {
				t.Fatal(err)
			}
			var got []domain.EventStatus
			for _, r := range res {
				got = append(got, r.Status)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Record statuses = %v, want %v", got, tt.want)
			}
			if !slices.Equal(sunk, tt.sunk) {
				t.Errorf("events passed to the index = %v, want %v (each once)", sunk, tt.sunk)
			}
		})
	}
	for _, n := range []int{0, 11} {
		_, err := svc.Record(ctx, "", make([]domain.RawEvent, n))
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Violations[0].Field != "events" {
			t.Errorf("Record(%d events) = %v, want a violation of events", n, err)
		}
	}
}

func TestCampaignLifecycle(t *testing.T) {
	svc := newService(t, nil)
	ctx := context.Background()
	c := storetest.Campaign(area, "")
	c.DisplayName = "Employers"
	created, err := svc.CreateCampaign(ctx, c)
	if err != nil || !domain.ValidCampaignID(created.ID) || created.Revision != 1 {
		t.Fatalf("CreateCampaign with no id = %+v, %v, want a generated id", created, err)
	}
	upd := created
	upd.CostPence, upd.DisplayName = 42, "changed"
	got, err := svc.UpdateCampaign(ctx, upd, []string{"cost_pence"}, "r1")
	if err != nil || got.CostPence != 42 || got.DisplayName != "Employers" || got.Revision != 2 {
		t.Errorf("UpdateCampaign(cost_pence) = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		paths []string
		etag  string
		want  error
	}{
		{[]string{"cost_pence"}, "r1", domain.ErrEtagMismatch},
		{[]string{"name"}, "", &domain.ValidationError{}},
	} {
		_, err := svc.UpdateCampaign(ctx, upd, tt.paths, tt.etag)
		var ve *domain.ValidationError
		if _, isVE := tt.want.(*domain.ValidationError); isVE && !errors.As(err, &ve) || !isVE && !errors.Is(err, tt.want) {
			t.Errorf("UpdateCampaign(%v, %q) = %v, want %v", tt.paths, tt.etag, err, tt.want)
		}
	}
	bad := upd
	bad.End = bad.Start.AddDays(-1)
	if _, err := svc.UpdateCampaign(ctx, bad, []string{"end_date"}, ""); err == nil {
		t.Error("UpdateCampaign(end before start) = nil, want a violation")
	}
	if _, err := svc.GetCampaign(ctx, area, "missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetCampaign(missing) = %v, want ErrNotFound", err)
	}
}

// TestRecordAcknowledgesNothingWhenTheStoreFails: a batch whose write fails is an
// error as a whole, with no result that a client could take as an acknowledgement.
func TestRecordAcknowledgesNothingWhenTheStoreFails(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "outreach.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sunk := 0
	svc := domain.NewService(domain.Options{
		Store: store, Sink: sinkFunc(func(evs []domain.Event) { sunk += len(evs) }), Hasher: domain.NewJourneyHasher(make([]byte, 32)),
		Policy: policy(), Now: func() time.Time { return receive }, MaxBatch: 10,
	})
	store.Close()
	raw := touch()
	raw.Code = ""
	raw.Source = domain.SourceDirect
	res, err := svc.Record(context.Background(), "", []domain.RawEvent{raw})
	if err == nil || res != nil || sunk != 0 {
		t.Errorf("Record on a closed store = %v, %v (indexed %d), want an error and no results", res, err, sunk)
	}
}
