package attribution_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
)

const area = "E37000022"

// modelCase is one hand-computed example of testdata/models.json.
type modelCase struct {
	Name         string                        `json:"name"`
	Comment      string                        `json:"comment"`
	LookbackDays int                           `json:"lookback_days"`
	Range        []string                      `json:"range"`
	Journeys     map[string][]caseEvent        `json:"journeys"`
	Want         map[string]map[string]float64 `json:"want"`
}

// caseEvent is a touch of a campaign (or "direct") or, with conversion, an enrolment.
type caseEvent struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Touch      string    `json:"touch"`
	Conversion bool      `json:"conversion"`
}

func models() map[string]attribution.Model {
	return map[string]attribution.Model{
		"first_touch": attribution.FirstTouch, "last_touch": attribution.LastTouch, "last_non_direct": attribution.LastNonDirect,
		"linear": attribution.Linear, "position_based": attribution.PositionBased, "time_decay": attribution.TimeDecay,
		"markov": attribution.Markov, "shapley": attribution.Shapley,
	}
}

func journeyKey(name string) domain.JourneyKey {
	var k domain.JourneyKey
	copy(k[:], name)
	return k
}

func (ce caseEvent) event(journey string) domain.Event {
	e := domain.Event{ID: ce.ID, Journey: journeyKey(journey), Area: area, Time: ce.At, ReceiveTime: ce.At}
	switch {
	case ce.Conversion:
		e.Kind, e.Stage = domain.KindConversion, domain.StageEnrolment
	case ce.Touch == "direct":
		e.Kind, e.Source = domain.KindTouch, domain.SourceDirect
	default:
		e.Kind, e.Source, e.Campaign = domain.KindTouch, domain.SourceCampaignLink, ce.Touch
	}
	return e
}

func london(t testing.TB) *time.Location {
	t.Helper()
	loc, err := civil.London()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// groupName names a row as the cases do: the campaign id, "direct" or "none".
func groupName(g attribution.Group) string {
	switch g.Kind {
	case attribution.GroupCampaign:
		return g.Campaign
	case attribution.GroupDirect:
		return "direct"
	case attribution.GroupNone:
		return "none"
	}
	return "?"
}

func TestModelsAgainstHandComputedCases(t *testing.T) {
	data, err := os.ReadFile("testdata/models.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []modelCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	loc := london(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			idx := attribution.NewIndex()
			var events []domain.Event
			campaigns := map[string]bool{}
			for j, evs := range tc.Journeys {
				for _, ce := range evs {
					events = append(events, ce.event(j))
					if ce.Touch != "" && ce.Touch != "direct" {
						campaigns[ce.Touch] = true
					}
				}
			}
			// Order of arrival must not matter.
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(events), func(i, k int) { events[i], events[k] = events[k], events[i] })
			idx.Add(events[:len(events)/2])
			idx.Add(events[len(events)/2:])
			var cs []domain.Campaign
			for id := range campaigns {
				cs = append(cs, domain.Campaign{Area: area, ID: id, Channel: domain.ChannelRadio, Messenger: domain.MessengerLocalAuthority, Start: civil.Date{Year: 2020, Month: 1, Day: 1}})
			}
			p := attribution.Params{
				Stage: domain.StageEnrolment, GroupBy: attribution.ByCampaign, Loc: loc,
				Start: civil.Date{Year: 2020, Month: 9, Day: 1}, End: civil.Date{Year: 2020, Month: 9, Day: 30},
				Lookback: 30 * 24 * time.Hour, HalfLife: 7 * 24 * time.Hour,
			}
			if tc.LookbackDays > 0 {
				p.Lookback = time.Duration(tc.LookbackDays) * 24 * time.Hour
			}
			if len(tc.Range) == 2 {
				p.Start, _ = civil.Parse(tc.Range[0])
				p.End, _ = civil.Parse(tc.Range[1])
			}
			if len(tc.Want) == 0 {
				t.Fatal("case checks no model")
			}
			for name, want := range tc.Want {
				m, ok := models()[name]
				if !ok {
					t.Fatalf("unknown model %q", name)
				}
				p.Model = m
				rep, err := idx.Report(p, cs)
				if err != nil {
					t.Fatalf("%s: Report() error %v", name, err)
				}
				got := map[string]float64{}
				for _, r := range rep.Rows {
					if r.Credit > 1e-9 {
						got[groupName(r.Group)] = r.Credit
					}
				}
				var wantTotal float64
				for _, v := range want {
					wantTotal += v
				}
				if float64(rep.Conversions) != math.Round(wantTotal) {
					t.Errorf("%s: conversions = %d, want %v", name, rep.Conversions, wantTotal)
				}
				for k, v := range want {
					if math.Abs(got[k]-v) > 1e-6 {
						t.Errorf("%s: credit[%s] = %.6f, want %.6f (all %v)", name, k, got[k], v, got)
					}
				}
				for k := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("%s: credit[%s] = %.6f, want none (all %v)", name, k, got[k], got)
					}
				}
			}
		})
	}
}

// TestCreditConservation: over random journeys, every model's credit adds up to the
// conversions of the report, no credit is negative, and each group's rate is a proportion.
func TestCreditConservation(t *testing.T) {
	loc := london(t)
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		idx, cs := randomIndex(rng, 200+rng.IntN(300), 1+rng.IntN(8))
		for name, m := range models() {
			for _, by := range []attribution.GroupBy{attribution.ByCampaign, attribution.ByChannel, attribution.ByMessenger, attribution.ByArea} {
				p := attribution.Params{
					Stage: domain.Stage(1 + rng.IntN(5)), Model: m, GroupBy: by, Loc: loc,
					Start: civil.Date{Year: 2020, Month: 9, Day: 1}, End: civil.Date{Year: 2020, Month: 10, Day: 31},
					Lookback: time.Duration(1+rng.IntN(90)) * 24 * time.Hour, HalfLife: time.Duration(1+rng.IntN(300)) * time.Hour,
				}
				rep, err := idx.Report(p, cs)
				if err != nil {
					t.Fatalf("seed %d %s: %v", seed, name, err)
				}
				var sum float64
				for _, r := range rep.Rows {
					if r.Credit < -1e-12 {
						t.Errorf("seed %d %s by %d: negative credit %v for %+v", seed, name, by, r.Credit, r.Group)
					}
					if r.Rate.Numerator > r.Rate.Denominator || r.Rate.Lower > r.Rate.Value || r.Rate.Value > r.Rate.Upper {
						t.Errorf("seed %d %s: rate %+v is not a proportion inside its interval", seed, name, r.Rate)
					}
					sum += r.Credit
				}
				if math.Abs(sum-float64(rep.Conversions)) > 1e-6*math.Max(1, sum) {
					t.Errorf("seed %d %s by %d: credit sums to %v, want %d conversions", seed, name, by, sum, rep.Conversions)
				}
				for _, mr := range rep.Messengers {
					if len(mr.Stages) != 5 {
						t.Errorf("messenger %d has %d stages, want 5", mr.Messenger, len(mr.Stages))
					}
				}
				if fs := rep.Funnel; len(fs) != 5 || fs[p.Stage-1].Conversions != rep.Conversions {
					t.Errorf("seed %d: funnel %+v does not count the %d conversions of stage %d", seed, fs, rep.Conversions, p.Stage)
				}
			}
		}
	}
}

// randomIndex builds an index of n random journeys over k campaigns in two areas.
func randomIndex(rng *rand.Rand, journeys, k int) (*attribution.Index, []domain.Campaign) {
	areas := []string{"E37000022", "E37000016"}
	var cs []domain.Campaign
	for i := range k {
		cs = append(cs, domain.Campaign{
			Area: areas[i%2], ID: string(rune('a' + i)), Channel: domain.Channel(1 + rng.IntN(10)),
			Messenger: domain.Messenger(1 + rng.IntN(6)), Start: civil.Date{Year: 2020, Month: 8, Day: 1 + rng.IntN(28)},
			CostPence: int64(rng.IntN(1_000_000)),
		})
	}
	idx := attribution.NewIndex()
	base := time.Date(2020, 8, 1, 0, 0, 0, 0, time.UTC)
	id := 0
	var events []domain.Event
	for j := range journeys {
		var key domain.JourneyKey
		key[0], key[1] = byte(j), byte(j>>8)
		for range 1 + rng.IntN(8) {
			id++
			e := domain.Event{
				ID: string(rune('A'+rng.IntN(3))) + string(rune('0'+id%10)) + string(rune(id)), Journey: key,
				Area: areas[rng.IntN(2)], Time: base.Add(time.Duration(rng.IntN(120*24)) * time.Hour),
			}
			if rng.IntN(3) == 0 {
				e.Kind, e.Stage = domain.KindConversion, domain.Stage(1+rng.IntN(5))
				if e.Stage == domain.StageEligibilityChecked {
					e.Outcome = domain.OutcomeEligible
				}
			} else {
				e.Kind = domain.KindTouch
				switch rng.IntN(4) {
				case 0:
					e.Source = domain.SourceDirect
				case 1:
					e.Source, e.Channel, e.Messenger = domain.SourceAdviserReferral, domain.ChannelCareersAdviser, domain.MessengerNationalCareersService
				default:
					c := cs[rng.IntN(len(cs))]
					e.Source, e.Area, e.Campaign = domain.SourceCampaignLink, c.Area, c.ID
				}
			}
			events = append(events, e)
		}
	}
	slices.Reverse(events)
	idx.Add(events)
	return idx, cs
}

func TestWilson(t *testing.T) {
	tests := []struct {
		k, n         int64
		lower, upper float64
	}{
		// Reference values from R: binom::binom.wilson / prop.test(correct = FALSE).
		{0, 10, 0, 0.2775328},
		{10, 10, 0.7224672, 1},
		{5, 10, 0.2365931, 0.7634069},
		{1, 100, 0.0017674, 0.0544862},
	}
	for _, tt := range tests {
		r := attribution.Wilson(tt.k, tt.n)
		if math.Abs(r.Lower-tt.lower) > 1e-6 || math.Abs(r.Upper-tt.upper) > 1e-6 {
			t.Errorf("Wilson(%d, %d) = [%.7f, %.7f], want [%.7f, %.7f]", tt.k, tt.n, r.Lower, r.Upper, tt.lower, tt.upper)
		}
	}
	if r := attribution.Wilson(0, 0); r != (attribution.Rate{}) {
		t.Errorf("Wilson(0, 0) = %+v, want zero", r)
	}
}

func TestMarkovRefusesTooManyGroups(t *testing.T) {
	idx := attribution.NewIndex()
	at := time.Date(2020, 9, 10, 10, 0, 0, 0, time.UTC)
	var events []domain.Event
	for i := range attribution.MaxMarkovStates + 1 {
		var j domain.JourneyKey
		j[0], j[1] = byte(i), byte(i>>8)
		events = append(events, domain.Event{ID: fmt.Sprint(i), Journey: j, Area: area, Time: at, Kind: domain.KindTouch,
			Source: domain.SourceCampaignLink, Campaign: fmt.Sprintf("c%d", i)})
	}
	idx.Add(events)
	p := attribution.Params{Stage: domain.StageEnrolment, Model: attribution.Markov, GroupBy: attribution.ByCampaign, Loc: london(t),
		Start: civil.Date{Year: 2020, Month: 9, Day: 1}, End: civil.Date{Year: 2020, Month: 9, Day: 30}, Lookback: time.Hour, HalfLife: time.Hour}
	if _, err := idx.Report(p, nil); !errors.Is(err, domain.ErrTooComplex) {
		t.Errorf("Markov over %d campaigns = %v, want ErrTooComplex", attribution.MaxMarkovStates+1, err)
	}
	p.GroupBy = attribution.ByChannel
	if _, err := idx.Report(p, nil); err != nil {
		t.Errorf("Markov by channel = %v, want nil", err)
	}
}
