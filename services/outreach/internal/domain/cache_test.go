package domain_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

// countingStore counts the campaign lookups that reach the store.
type countingStore struct {
	domain.Store
	gets, codes atomic.Int64
}

func (s *countingStore) GetCampaign(ctx context.Context, area, id string) (domain.Campaign, error) {
	s.gets.Add(1)
	return s.Store.GetCampaign(ctx, area, id)
}

func (s *countingStore) CampaignByCode(ctx context.Context, area, code string) (string, bool, error) {
	s.codes.Add(1)
	return s.Store.CampaignByCode(ctx, area, code)
}

// cacheFixture is a service over a bolt store holding campaign "radio" (code LEAF1),
// whose clock the test moves.
type cacheFixture struct {
	store *countingStore
	svc   *domain.Service
	now   time.Time
	last  []domain.Event
	n     int
}

func newCacheFixture(t *testing.T, ttl time.Duration) *cacheFixture {
	t.Helper()
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "outreach.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	if err := bolt.CreateCampaign(context.Background(), storetest.Campaign(area, "radio", "LEAF1")); err != nil {
		t.Fatal(err)
	}
	f := &cacheFixture{store: &countingStore{Store: bolt}, now: receive}
	f.svc = domain.NewService(domain.Options{
		Store: f.store, Sink: sinkFunc(func(evs []domain.Event) { f.last = evs }),
		Hasher: domain.NewJourneyHasher(make([]byte, 32)), Policy: policy(), Now: func() time.Time { return f.now },
		MaxBatch: 10, CodeCacheTTL: ttl,
	})
	return f
}

// record sends one touch with the code or campaign name and returns the campaign it
// was attributed to, or "invalid".
func (f *cacheFixture) record(t *testing.T, code, campaign string) string {
	t.Helper()
	f.n++
	raw := touch()
	raw.ID = "e" + string(rune('a'+f.n))
	raw.OccurTime = f.now.Add(-time.Minute)
	raw.Code, raw.CampaignName = code, campaign
	if campaign != "" {
		raw.Source = domain.SourceCampaignLink
	}
	res, err := f.svc.Record(context.Background(), area, []domain.RawEvent{raw, raw})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status == domain.StatusInvalid {
		return "invalid"
	}
	if res[0].Status != domain.StatusAccepted || len(f.last) != 1 {
		t.Fatalf("Record = %+v", res)
	}
	return f.last[0].Campaign
}

func TestCampaignCache(t *testing.T) {
	ctx := context.Background()
	radio := domain.CampaignName(area, "radio")
	t.Run("answers are read from the store once", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		for range 3 {
			if got := f.record(t, "LEAF1", ""); got != "radio" {
				t.Fatalf("code LEAF1 gave %q, want radio", got)
			}
			if got := f.record(t, "", radio); got != "radio" {
				t.Fatalf("campaign name gave %q, want radio", got)
			}
		}
		if g, c := f.store.gets.Load(), f.store.codes.Load(); g != 1 || c != 1 {
			t.Errorf("store read %d campaigns and %d codes, want 1 and 1", g, c)
		}
	})
	t.Run("a missing campaign or code is read again next batch", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		tv := domain.CampaignName(area, "tv")
		if got := f.record(t, "TV1", ""); got != "invalid" {
			t.Fatalf("unknown code gave %q, want invalid", got)
		}
		if got := f.record(t, "", tv); got != "invalid" {
			t.Fatalf("unknown campaign gave %q, want invalid", got)
		}
		// Another replica creates it, past this service.
		if err := f.store.Store.CreateCampaign(ctx, storetest.Campaign(area, "tv", "TV1")); err != nil {
			t.Fatal(err)
		}
		if got := f.record(t, "TV1", ""); got != "tv" {
			t.Errorf("code created elsewhere gave %q, want tv", got)
		}
		if got := f.record(t, "", tv); got != "tv" {
			t.Errorf("campaign created elsewhere gave %q, want tv", got)
		}
	})
	t.Run("an update through the service moves a code at once", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		if got := f.record(t, "LEAF1", ""); got != "radio" {
			t.Fatalf("code LEAF1 gave %q, want radio", got)
		}
		if _, err := f.svc.UpdateCampaign(ctx, domain.Campaign{Area: area, ID: "radio", Codes: []string{"LEAF2"}}, []string{"codes"}, ""); err != nil {
			t.Fatal(err)
		}
		if got := f.record(t, "LEAF1", ""); got != "invalid" {
			t.Errorf("code removed gave %q, want invalid", got)
		}
		if _, err := f.svc.CreateCampaign(ctx, storetest.Campaign(area, "tv", "LEAF1")); err != nil {
			t.Fatal(err)
		}
		if got := f.record(t, "LEAF1", ""); got != "tv" {
			t.Errorf("code given to tv gave %q, want tv", got)
		}
	})
	t.Run("with a ttl an update elsewhere is seen once it passes", func(t *testing.T) {
		f := newCacheFixture(t, time.Second)
		if got := f.record(t, "LEAF1", ""); got != "radio" {
			t.Fatalf("code LEAF1 gave %q, want radio", got)
		}
		moved := storetest.Campaign(area, "radio", "LEAF2")
		moved.Revision = 2
		if err := f.store.Store.UpdateCampaign(ctx, moved); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Store.CreateCampaign(ctx, storetest.Campaign(area, "tv", "LEAF1")); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(time.Second)
		if got := f.record(t, "LEAF1", ""); got != "tv" {
			t.Errorf("code moved elsewhere gave %q after the ttl, want tv", got)
		}
	})
}
