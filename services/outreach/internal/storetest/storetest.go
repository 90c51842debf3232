// Package storetest is the contract every domain.Store must meet: the bbolt store runs
// it now, and a PostgreSQL store will run it too.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
)

// Run runs the contract against stores made by newStore, a fresh empty store per call.
func Run(t *testing.T, newStore func(t *testing.T) domain.Store) {
	t.Run("campaigns", func(t *testing.T) { testCampaigns(t, newStore(t)) })
	t.Run("campaign codes", func(t *testing.T) { testCodes(t, newStore(t)) })
	t.Run("list pages", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("events dedup", func(t *testing.T) { testEvents(t, newStore(t)) })
	t.Run("concurrent events", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("round trip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
}

// Campaign returns a valid campaign for tests.
func Campaign(area, id string, codes ...string) domain.Campaign {
	now := time.Date(2020, 9, 1, 10, 0, 0, 0, time.UTC)
	return domain.Campaign{
		Area: area, ID: id, DisplayName: "Campaign " + id, Channel: domain.ChannelRadio, Messenger: domain.MessengerLocalAuthority,
		Start: civil.Date{Year: 2020, Month: 9, Day: 1}, CostPence: 100000, Codes: codes,
		CreateTime: now, UpdateTime: now, Revision: 1, Creator: "tester", LastModifier: "tester",
	}
}

func testCampaigns(t *testing.T, s domain.Store) {
	ctx := context.Background()
	c := Campaign("E37000022", "radio-autumn", "LEAF1")
	c.End = civil.Date{Year: 2020, Month: 12, Day: 31}
	c.TargetAudience = "adults in work"
	if err := s.CreateCampaign(ctx, c); err != nil {
		t.Fatalf("CreateCampaign = %v", err)
	}
	if err := s.CreateCampaign(ctx, c); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateCampaign(same id) = %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetCampaign(ctx, c.Area, c.ID)
	if err != nil {
		t.Fatalf("GetCampaign = %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(c) {
		t.Errorf("GetCampaign = %+v, want %+v", got, c)
	}
	if _, err := s.GetCampaign(ctx, "E37000016", c.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetCampaign(other area) = %v, want ErrNotFound", err)
	}
	next := got
	next.Revision = 2
	next.CostPence = 5
	if err := s.UpdateCampaign(ctx, next); err != nil {
		t.Fatalf("UpdateCampaign = %v", err)
	}
	if err := s.UpdateCampaign(ctx, next); !errors.Is(err, domain.ErrEtagMismatch) {
		t.Errorf("UpdateCampaign(stale revision) = %v, want ErrEtagMismatch", err)
	}
	missing := Campaign("E37000022", "nope")
	missing.Revision = 2
	if err := s.UpdateCampaign(ctx, missing); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("UpdateCampaign(missing) = %v, want ErrNotFound", err)
	}
	got, _ = s.GetCampaign(ctx, c.Area, c.ID)
	if got.CostPence != 5 || got.Revision != 2 {
		t.Errorf("after update: cost %d revision %d, want 5 and 2", got.CostPence, got.Revision)
	}
}

func testCodes(t *testing.T, s domain.Store) {
	ctx := context.Background()
	a := Campaign("E37000022", "a", "leaf-a")
	a.UTMCampaign = "utm_a"
	if err := s.CreateCampaign(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCampaign(ctx, Campaign("E37000022", "b", "Leaf-A")); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateCampaign(code taken in area) = %v, want ErrAlreadyExists", err)
	}
	if err := s.CreateCampaign(ctx, Campaign("E37000016", "b", "LEAF-A")); err != nil {
		t.Errorf("CreateCampaign(same code, other area) = %v, want nil", err)
	}
	for _, tt := range []struct {
		area, code, want string
	}{
		{"E37000022", "LEAF-A", "a"},
		{"E37000022", "UTM_A", "a"},
		{"E37000016", "LEAF-A", "b"},
		{"E37000022", "LEAF-B", ""},
	} {
		id, ok, err := s.CampaignByCode(ctx, tt.area, tt.code)
		if err != nil || id != tt.want || ok != (tt.want != "") {
			t.Errorf("CampaignByCode(%s, %s) = %q, %v, %v, want %q", tt.area, tt.code, id, ok, err, tt.want)
		}
	}
	// Moving a code: the old one is released, the new one taken.
	a.Codes = []string{"leaf-c"}
	a.Revision = 2
	if err := s.UpdateCampaign(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.CampaignByCode(ctx, "E37000022", "LEAF-A"); ok {
		t.Error("old code still resolves after update")
	}
	if id, _, _ := s.CampaignByCode(ctx, "E37000022", "LEAF-C"); id != "a" {
		t.Errorf("new code resolves to %q, want a", id)
	}
	c := Campaign("E37000022", "c", "leaf-d")
	if err := s.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Codes = []string{"LEAF-C"}
	c.Revision = 2
	if err := s.UpdateCampaign(ctx, c); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("UpdateCampaign(code of another) = %v, want ErrAlreadyExists", err)
	}
	if id, _, _ := s.CampaignByCode(ctx, "E37000022", "LEAF-D"); id != "c" {
		t.Errorf("failed update changed the codes: LEAF-D resolves to %q, want c", id)
	}
}

func testList(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var want []string
	for _, area := range []string{"E37000016", "E37000022"} {
		for i := range 5 {
			c := Campaign(area, fmt.Sprintf("c%d", i))
			if err := s.CreateCampaign(ctx, c); err != nil {
				t.Fatal(err)
			}
			want = append(want, c.Name())
		}
	}
	sort.Strings(want)
	for _, tt := range []struct {
		area string
		want []string
	}{{"", want}, {"E37000022", want[5:]}, {"E37000016", want[:5]}} {
		var got []string
		var after domain.ListCursor
		for range 10 {
			page, err := s.ListCampaigns(ctx, tt.area, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				got = append(got, c.Name())
			}
			if len(page) < 3 {
				break
			}
			last := page[len(page)-1]
			after = domain.ListCursor{Area: last.Area, ID: last.ID}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ListCampaigns(%q) pages = %v, want %v", tt.area, got, tt.want)
		}
	}
}

// Event returns a valid event for tests.
func Event(id string, journey byte, t time.Time) domain.Event {
	e := domain.Event{
		ID: id, Area: "E37000022", Time: t.UTC(), ReceiveTime: t.Add(time.Second).UTC(), Kind: domain.KindTouch,
		Source: domain.SourceCampaignLink, Campaign: "radio",
	}
	e.Journey[0] = journey
	e.Fingerprint[0] = journey
	copy(e.Fingerprint[1:], id)
	return e
}

func testEvents(t *testing.T, s domain.Store) {
	ctx := context.Background()
	t0 := time.Date(2020, 9, 1, 10, 0, 0, 0, time.UTC)
	a := Event("a", 1, t0)
	conv := domain.Event{ID: "b", Area: "E37000016", Time: t0, ReceiveTime: t0, Kind: domain.KindConversion, Stage: domain.StageWithdrawal, Reason: 3}
	conv.Journey[5] = 9
	conv.Fingerprint[3] = 7
	changed := a
	changed.Fingerprint[15] ^= 1
	got, err := s.PutEvents(ctx, []domain.Event{a, conv, a})
	want := []domain.PutOutcome{domain.PutStored, domain.PutStored, domain.PutDuplicate}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("PutEvents(a, b, a) = %v, %v, want %v", got, err, want)
	}
	got, err = s.PutEvents(ctx, []domain.Event{changed, a})
	want = []domain.PutOutcome{domain.PutConflict, domain.PutDuplicate}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("PutEvents(changed a, a) = %v, %v, want %v", got, err, want)
	}
	seen := map[string]domain.Event{}
	if err := s.ScanEvents(ctx, func(e domain.Event) error { seen[e.ID] = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("ScanEvents saw %d events, want 2", len(seen))
	}
	for _, e := range []domain.Event{a, conv} {
		if fmt.Sprint(seen[e.ID]) != fmt.Sprint(e) {
			t.Errorf("ScanEvents: %+v, want %+v", seen[e.ID], e)
		}
	}
}

func testConcurrent(t *testing.T, s domain.Store) {
	ctx := context.Background()
	t0 := time.Date(2020, 9, 1, 10, 0, 0, 0, time.UTC)
	const writers, per = 8, 50
	var wg sync.WaitGroup
	stored := make([]int, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every writer sends the same ids: each must be stored exactly once overall.
			batch := make([]domain.Event, per)
			for i := range batch {
				batch[i] = Event(fmt.Sprintf("e%03d", i), byte(i), t0)
			}
			out, err := s.PutEvents(ctx, batch)
			if err != nil {
				t.Error(err)
				return
			}
			for _, o := range out {
				if o == domain.PutStored {
					stored[w]++
				} else if o != domain.PutDuplicate {
					t.Errorf("outcome %v, want stored or duplicate", o)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range stored {
		total += n
	}
	if total != per {
		t.Errorf("events stored across concurrent writers = %d, want %d", total, per)
	}
}

// testRoundTrip: values come back exactly as stored, at the precision the domain keeps
// (domain.StoredTime), with optional fields absent, identifiers ordered as bytes, and a
// batch repeating an id with different content.
func testRoundTrip(t *testing.T, s domain.Store) {
	ctx := context.Background()
	at := domain.StoredTime(time.Date(2021, 3, 28, 1, 30, 15, 123456789, time.UTC))
	c := Campaign("E37000022", "open-ended")
	c.CreateTime, c.UpdateTime = at, at.Add(time.Microsecond)
	c.MessageVariant = "Variant \u00e9 \"quoted\""
	if err := s.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCampaign(ctx, c.Area, c.ID)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
		t.Errorf("GetCampaign = %+v, %v, want %+v", got, err, c)
	}
	// Byte order, whatever a database's collation would say: '-' (0x2d) sorts before
	// digits and letters.
	for _, id := range []string{"a1", "a-2", "ab", "a-1"} {
		if err := s.CreateCampaign(ctx, Campaign("E37000016", id)); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListCampaigns(ctx, "E37000016", domain.ListCursor{}, 10)
	var ids []string
	for _, c := range page {
		ids = append(ids, c.ID)
	}
	if want := []string{"a-1", "a-2", "a1", "ab"}; err != nil || fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("ListCampaigns ids = %v, %v, want %v", ids, err, want)
	}

	e := Event("precise", 3, at)
	e.ReceiveTime = at.Add(time.Millisecond + time.Microsecond)
	e.Kind, e.Source, e.Campaign, e.Channel, e.Messenger = domain.KindTouch, domain.SourceUnionReferral, "", domain.ChannelUnionLearningRep, domain.MessengerTradeUnion
	other := e
	other.Fingerprint[15] ^= 0xff
	again := Event("again", 4, at)
	got2, err := s.PutEvents(ctx, []domain.Event{e, other, again, e, again})
	want := []domain.PutOutcome{domain.PutStored, domain.PutConflict, domain.PutStored, domain.PutDuplicate, domain.PutDuplicate}
	if err != nil || fmt.Sprint(got2) != fmt.Sprint(want) {
		t.Fatalf("PutEvents(e, changed e, f, e, f) = %v, %v, want %v", got2, err, want)
	}
	seen := map[string]domain.Event{}
	if err := s.ScanEvents(ctx, func(e domain.Event) error { seen[e.ID] = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || fmt.Sprint(seen[e.ID]) != fmt.Sprint(e) {
		t.Errorf("ScanEvents = %+v, want %+v and one other", seen, e)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.ScanEvents(ctx, func(domain.Event) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ScanEvents with fn failing = %v after %d calls, want fn's error after 1", err, calls)
	}
}
