package attribution_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
)

// benchIndex generates n events: journeys of 1 to 9 events (5 on average) over 5 areas and
// 50 campaigns plus referrals and direct visits, spread over 120 days, about a third of
// the journeys converting at some stage.
func benchIndex(b *testing.B, n int) (*attribution.Index, []domain.Campaign) {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	areas := []string{"E37000022", "E37000016", "E37000032", "E37000062", "E37000060"}
	var cs []domain.Campaign
	for i := range 50 {
		cs = append(cs, domain.Campaign{
			Area: areas[i%5], ID: fmt.Sprintf("campaign-%02d", i), Channel: domain.Channel(1 + i%10),
			Messenger: domain.Messenger(1 + i%6), Start: civil.Date{Year: 2020, Month: 8, Day: 1}, CostPence: int64(100000 * (i + 1)),
		})
	}
	base := time.Date(2020, 8, 1, 0, 0, 0, 0, time.UTC)
	idx := attribution.NewIndex()
	events := make([]domain.Event, 0, n)
	total := 0
	for j := 0; total < n; j++ {
		var key domain.JourneyKey
		key[0], key[1], key[2] = byte(j), byte(j>>8), byte(j>>16)
		a := rng.IntN(5)
		t := base.Add(time.Duration(rng.IntN(110*24*60)) * time.Minute)
		for k := range min(1+rng.IntN(9), n-total) {
			total++
			e := domain.Event{ID: fmt.Sprintf("%08d-%d", j, k), Journey: key, Area: areas[a], Time: t}
			switch r := rng.IntN(10); {
			case r < 3 && k > 0:
				e.Kind, e.Stage = domain.KindConversion, domain.Stage(1+rng.IntN(5))
				if e.Stage == domain.StageEligibilityChecked {
					e.Outcome = domain.OutcomeEligible
				}
			case r < 4:
				e.Kind, e.Source = domain.KindTouch, domain.SourceDirect
			case r < 5:
				e.Kind, e.Source, e.Channel, e.Messenger = domain.KindTouch, domain.SourceUnionReferral, domain.ChannelUnionLearningRep, domain.MessengerTradeUnion
			default:
				c := cs[a+5*rng.IntN(10)]
				e.Kind, e.Source, e.Campaign = domain.KindTouch, domain.SourceCampaignLink, c.ID
			}
			events = append(events, e)
			t = t.Add(time.Duration(rng.IntN(5*24*60)) * time.Minute)
		}
		if len(events) >= 100_000 {
			idx.Add(events)
			events = events[:0]
		}
	}
	idx.Add(events)
	return idx, cs
}

// BenchmarkReport times a whole report (attribution, funnel and the messenger comparison
// at every stage) over 1,000,000 events for each model:
//
//	go test -run '^$' -bench Report -benchtime 5x ./services/outreach/internal/attribution/
func BenchmarkReport(b *testing.B) {
	idx, cs := benchIndex(b, 1_000_000)
	loc := london(b)
	for _, m := range []attribution.Model{attribution.FirstTouch, attribution.LastTouch, attribution.LastNonDirect, attribution.Linear,
		attribution.PositionBased, attribution.TimeDecay, attribution.Markov, attribution.Shapley} {
		for _, by := range []attribution.GroupBy{attribution.ByCampaign, attribution.ByChannel} {
			b.Run(fmt.Sprintf("%v/by=%s", m, map[attribution.GroupBy]string{attribution.ByCampaign: "campaign", attribution.ByChannel: "channel"}[by]), func(b *testing.B) {
				p := attribution.Params{
					Stage: domain.StageEnrolment, Model: m, GroupBy: by, Loc: loc,
					Start: civil.Date{Year: 2020, Month: 9, Day: 1}, End: civil.Date{Year: 2020, Month: 11, Day: 30},
					Lookback: 30 * 24 * time.Hour, HalfLife: 7 * 24 * time.Hour,
				}
				for b.Loop() {
					rep, err := idx.Report(p, cs)
					if err != nil {
						b.Fatal(err)
					}
					if rep.EventsScanned != 1_000_000 {
						b.Fatalf("scanned %d events", rep.EventsScanned)
					}
				}
			})
		}
	}
}

// BenchmarkFirstReport times what a restart costs before the first report: adding
// 1,000,000 events to an empty index and the first report, which sorts them:
//
//	go test -run '^$' -bench FirstReport -benchtime 3x ./services/outreach/internal/attribution/
func BenchmarkFirstReport(b *testing.B) {
	loc := london(b)
	p := attribution.Params{
		Stage: domain.StageEnrolment, Model: attribution.Linear, GroupBy: attribution.ByCampaign, Loc: loc,
		Start: civil.Date{Year: 2020, Month: 9, Day: 1}, End: civil.Date{Year: 2020, Month: 11, Day: 30},
		Lookback: 30 * 24 * time.Hour, HalfLife: 7 * 24 * time.Hour,
	}
	for b.Loop() {
		idx, cs := benchIndex(b, 1_000_000)
		if _, err := idx.Report(p, cs); err != nil {
			b.Fatal(err)
		}
	}
}
