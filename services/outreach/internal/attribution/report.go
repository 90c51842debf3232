package attribution

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
)

// GroupBy is what credit is summed by. The numbers are those of the API enum.
type GroupBy int32

// Groupings.
const (
	GroupByUnspecified GroupBy = iota
	ByCampaign
	ByChannel
	ByMessenger
	ByArea
	groupByEnd
)

// Valid reports whether g is a real grouping.
func (g GroupBy) Valid() bool { return g > GroupByUnspecified && g < groupByEnd }

// GroupKind tells what a group is.
type GroupKind uint8

// Group kinds, in the order rows with equal credit are listed.
const (
	// GroupCampaign is one campaign (Area, Campaign).
	GroupCampaign GroupKind = iota + 1
	// GroupUncampaigned is touches without a campaign, by Channel and Messenger.
	GroupUncampaigned
	// GroupChannel is one channel.
	GroupChannel
	// GroupMessenger is one messenger.
	GroupMessenger
	// GroupArea is one area.
	GroupArea
	// GroupDirect is direct visits.
	GroupDirect
	// GroupNone holds conversions with no touch in the lookback window.
	GroupNone
)

// Group is what a row of a report sums.
type Group struct {
	Kind      GroupKind
	Area      string
	Campaign  string
	Channel   domain.Channel
	Messenger domain.Messenger
}

func compareGroups(a, b Group) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Area, b.Area), cmp.Compare(a.Campaign, b.Campaign),
		cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Messenger, b.Messenger))
}

// Params are what a report is computed over.
type Params struct {
	Stage   domain.Stage
	Model   Model
	GroupBy GroupBy
	// Start and End are the first and last days of conversions counted, in Loc.
	Start, End civil.Date
	Loc        *time.Location
	// Lookback is how long before a conversion touches count.
	Lookback time.Duration
	// HalfLife is the time-decay half-life.
	HalfLife time.Duration
	// Area restricts conversions (and the touches of non-converting journeys, and the
	// campaigns costed) to one area; "" is every area.
	Area string
	// Outcome, when set, counts only eligibility checks with that outcome.
	Outcome domain.Outcome
}

// Rate is a proportion with its 95% Wilson score interval.
type Rate struct {
	Numerator, Denominator int64
	Value, Lower, Upper    float64
}

// wilsonZ is the 97.5th percentile of the standard normal distribution.
const wilsonZ = 1.959963984540054

// Wilson returns k/n with its 95% Wilson score interval (Wilson 1927), which behaves at
// small counts and at 0 and 1, unlike the normal approximation.
func Wilson(k, n int64) Rate {
	r := Rate{Numerator: k, Denominator: n}
	if n <= 0 {
		return r
	}
	p, nf, z2 := float64(k)/float64(n), float64(n), wilsonZ*wilsonZ
	denom := 1 + z2/nf
	centre := (p + z2/(2*nf)) / denom
	half := wilsonZ * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	r.Value, r.Lower, r.Upper = p, math.Max(0, centre-half), math.Min(1, centre+half)
	// At 0 and 1 the bound is exactly the value; rounding must not move it past.
	if k == 0 {
		r.Lower = 0
	}
	if k == n {
		r.Upper = 1
	}
	return r
}

// FunnelStage is one stage of the funnel.
type FunnelStage struct {
	Stage       domain.Stage
	Conversions int64
	// Rate: of the journeys at the previous stage, those that reached this one.
	Rate                   Rate
	CostPence              int64
	CostPerConversionPence int64
}

// Row is the credit of one group.
type Row struct {
	Group                  Group
	Credit                 float64
	CostPence              int64
	CostPerConversionPence int64
	// Rate: of the journeys the group touched in the range, those converting after it.
	Rate Rate
}

// StageCredit is one stage of a messenger's comparison.
type StageCredit struct {
	Stage                  domain.Stage
	Credit                 float64
	CostPerConversionPence int64
	Rate                   Rate
}

// MessengerRow compares one messenger across the funnel.
type MessengerRow struct {
	Messenger domain.Messenger
	Reached   int64
	CostPence int64
	Stages    []StageCredit
}

// Report is a funnel and an attribution.
type Report struct {
	Params        Params
	Conversions   int64
	Funnel        []FunnelStage
	Rows          []Row
	Messengers    []MessengerRow
	EventsScanned int64
}

// window is a report's time bounds in unix milliseconds.
type window struct {
	from, to, lookback int64
	halfLife           float64
	area               int // interned area, -1 for all, -2 for an area with no events
	outcome            uint8
}

// Report computes a report over the events in the index and the campaigns given (the
// campaigns of every area, or of p.Area; they supply channels, messengers and costs).
// It returns domain.ErrTooComplex when a Markov report would have too many groups.
func (x *Index) Report(p Params, campaigns []domain.Campaign) (Report, error) {
	if !p.Stage.Valid() || !p.Model.Valid() || !p.GroupBy.Valid() || p.Loc == nil || p.Lookback <= 0 || p.HalfLife <= 0 || p.End.Before(p.Start) {
		return Report{}, fmt.Errorf("attribution: invalid parameters %+v", p)
	}
	sn := x.snapshot()
	w := window{
		from:     p.Start.In(p.Loc).UnixMilli(),
		to:       p.End.AddDays(1).In(p.Loc).UnixMilli(),
		lookback: p.Lookback.Milliseconds(),
		halfLife: float64(p.HalfLife.Milliseconds()),
		area:     -1,
		outcome:  uint8(p.Outcome),
	}
	if p.Area != "" {
		w.area = -2
		for i, a := range sn.areas {
			if a == p.Area {
				w.area = i
			}
		}
	}
	var inScope []domain.Campaign
	for _, c := range campaigns {
		if p.Area == "" || c.Area == p.Area {
			inScope = append(inScope, c)
		}
	}
	rep := Report{Params: p, EventsScanned: int64(len(sn.rows))}

	// The main attribution.
	gs := newGrouping(p.GroupBy, sn.sources, campaigns)
	costs := gs.costs(inScope, p.Start, p.End)
	res, err := sn.pass(w, p.Stage, p.Model, gs)
	if err != nil {
		return Report{}, err
	}
	rep.Conversions = res.conversions
	for g, grp := range gs.groups {
		if res.credit[g] == 0 && costs[g] == 0 && res.reached[g] == 0 {
			continue
		}
		rep.Rows = append(rep.Rows, Row{
			Group: grp, Credit: res.credit[g], CostPence: costs[g],
			CostPerConversionPence: perConversion(costs[g], res.credit[g]),
			Rate:                   Wilson(res.converted[g], res.reached[g]),
		})
	}
	if none := res.credit[len(gs.groups)]; none > 0 {
		rep.Rows = append(rep.Rows, Row{Group: Group{Kind: GroupNone}, Credit: none})
	}
	slices.SortFunc(rep.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Credit, a.Credit), compareGroups(a.Group, b.Group))
	})

	// The funnel, and the messengers side by side at every stage.
	var total int64
	for _, c := range costs {
		total += c
	}
	rep.Funnel = sn.funnel(w, total)
	ms := newGrouping(ByMessenger, sn.sources, campaigns)
	mcosts := ms.costs(inScope, p.Start, p.End)
	rep.Messengers = make([]MessengerRow, domain.NumMessengers)
	for m := range rep.Messengers {
		rep.Messengers[m].Messenger = domain.Messenger(m)
	}
	for _, st := range domain.Stages() {
		mres, err := sn.pass(w, st, p.Model, ms)
		if err != nil {
			return Report{}, err
		}
		for g, grp := range ms.groups {
			mr := &rep.Messengers[grp.Messenger]
			mr.Reached, mr.CostPence = mres.reached[g], mcosts[g]
			mr.Stages = append(mr.Stages, StageCredit{
				Stage: st, Credit: mres.credit[g], CostPerConversionPence: perConversion(mcosts[g], mres.credit[g]),
				Rate: Wilson(mres.converted[g], mres.reached[g]),
			})
		}
	}
	for m := range rep.Messengers {
		if len(rep.Messengers[m].Stages) == 0 {
			for _, st := range domain.Stages() {
				rep.Messengers[m].Stages = append(rep.Messengers[m].Stages, StageCredit{Stage: st})
			}
		}
	}
	return rep, nil
}

func perConversion(cost int64, credit float64) int64 {
	if credit <= 0 {
		return 0
	}
	return int64(math.Round(float64(cost) / credit))
}

// grouping maps touch sources and campaigns to the groups of one report.
type grouping struct {
	by       GroupBy
	ids      map[Group]uint32
	groups   []Group
	ofSource []uint32
	info     map[[2]string]domain.Campaign
}

func newGrouping(by GroupBy, sources []Source, campaigns []domain.Campaign) *grouping {
	gs := &grouping{by: by, ids: map[Group]uint32{}, info: make(map[[2]string]domain.Campaign, len(campaigns))}
	for _, c := range campaigns {
		gs.info[[2]string{c.Area, c.ID}] = c
	}
	gs.ofSource = make([]uint32, len(sources))
	for i, s := range sources {
		gs.ofSource[i] = gs.intern(gs.groupOf(s))
	}
	return gs
}

func (gs *grouping) intern(g Group) uint32 {
	id, ok := gs.ids[g]
	if !ok {
		id = uint32(len(gs.groups))
		gs.ids[g] = id
		gs.groups = append(gs.groups, g)
	}
	return id
}

func (gs *grouping) groupOf(s Source) Group {
	ch, ms := s.Channel, s.Messenger
	if s.Campaign != "" {
		c := gs.info[[2]string{s.Area, s.Campaign}]
		ch, ms = c.Channel, c.Messenger
	}
	switch gs.by {
	case ByArea:
		return Group{Kind: GroupArea, Area: s.Area}
	case ByMessenger:
		return Group{Kind: GroupMessenger, Messenger: ms}
	}
	if s.Direct {
		return Group{Kind: GroupDirect}
	}
	if gs.by == ByChannel {
		return Group{Kind: GroupChannel, Channel: ch}
	}
	if s.Campaign != "" {
		return Group{Kind: GroupCampaign, Area: s.Area, Campaign: s.Campaign}
	}
	return Group{Kind: GroupUncampaigned, Channel: ch, Messenger: ms}
}

// costs returns the cost of each group (indexed like groups), interning the groups of
// campaigns that no touch reached. A campaign's cost is pro-rated by the days of the
// report range it ran on; an open-ended campaign is taken to run until the range ends.
func (gs *grouping) costs(campaigns []domain.Campaign, start, end civil.Date) []int64 {
	perGroup := map[uint32]int64{}
	for _, c := range campaigns {
		cost := prorate(c, start, end)
		g := gs.intern(gs.groupOf(Source{Area: c.Area, Campaign: c.ID}))
		perGroup[g] += cost
	}
	out := make([]int64, len(gs.groups))
	for g, c := range perGroup {
		out[g] = c
	}
	return out
}

func prorate(c domain.Campaign, start, end civil.Date) int64 {
	cEnd := c.End
	if cEnd.IsZero() {
		cEnd = end
		if cEnd.Before(c.Start) {
			return 0
		}
	}
	lo, hi := c.Start, cEnd
	if lo.Before(start) {
		lo = start
	}
	if hi.After(end) {
		hi = end
	}
	if hi.Before(lo) {
		return 0
	}
	overlap := civil.DaysBetween(lo, hi) + 1
	days := civil.DaysBetween(c.Start, cEnd) + 1
	return int64(math.Round(float64(c.CostPence) * float64(overlap) / float64(days)))
}

// passResult is what one pass over the journeys found, per group; credit has one more
// entry, for conversions with no touch.
type passResult struct {
	conversions int64
	credit      []float64
	reached     []int64
	converted   []int64
}

// firstConversion returns the index in rs of the journey's first conversion of stage
// (with the outcome, when one is asked for eligibility checks), or -1.
func firstConversion(rs []row, stage domain.Stage, outcome uint8) int {
	for k := range rs {
		if rs[k].kind == uint8(stage) && (outcome == 0 || stage != domain.StageEligibilityChecked || rs[k].outcome == outcome) {
			return k
		}
	}
	return -1
}

// pass attributes the conversions of one stage. A journey converts when its first
// conversion of the stage falls in the range (and area); its path is its touches in the
// lookback window before the conversion, in (time, event id) order, a touch at the same
// instant as the conversion counting when its event id sorts first.
func (sn *snapshot) pass(w window, stage domain.Stage, model Model, gs *grouping) (passResult, error) {
	ng := len(gs.groups)
	res := passResult{credit: make([]float64, ng+1), reached: make([]int64, ng), converted: make([]int64, ng)}
	var chain *markovChain
	var game *shapleyGame
	switch model {
	case Markov:
		if ng > MaxMarkovStates {
			return passResult{}, fmt.Errorf("%d groups, at most %d for the Markov model: %w", ng, MaxMarkovStates, domain.ErrTooComplex)
		}
		chain = newMarkovChain(ng)
	case Shapley:
		game = newShapleyGame()
	}
	reachStamp := make([]uint32, ng)
	convStamp := make([]uint32, ng)
	var path []touch
	var groups, set []uint32
	var weights []float64
	var keyBuf []byte
	var touched int64
	for j := 0; j+1 < len(sn.starts); j++ {
		rs := sn.rows[sn.starts[j]:sn.starts[j+1]]
		stamp := uint32(j + 1)
		p := firstConversion(rs, stage, w.outcome)
		converting := p >= 0 && rs[p].t >= w.from && rs[p].t < w.to && (w.area < 0 || int(rs[p].area) == w.area)
		groups = groups[:0]
		for _, r := range rs {
			if r.kind != 0 || r.t < w.from || r.t >= w.to || (w.area >= 0 && int(r.area) != w.area) || w.area == -2 {
				continue
			}
			g := gs.ofSource[r.src]
			groups = append(groups, g)
			if reachStamp[g] != stamp {
				reachStamp[g] = stamp
				res.reached[g]++
			}
		}
		if !converting {
			if p >= 0 && rs[p].t < w.from {
				continue // converted before the range: neither a conversion nor a null path
			}
			if chain != nil {
				chain.add(groups, false)
			}
			if game != nil {
				game.add(sortedDistinct(groups), false, keyBuf)
			}
			continue
		}
		res.conversions++
		conv := rs[p].t
		path = path[:0]
		for _, r := range rs[:p] {
			if r.kind == 0 && r.t >= conv-w.lookback {
				path = append(path, touch{t: r.t, group: gs.ofSource[r.src], direct: sn.sources[r.src].Direct})
			}
		}
		if len(path) == 0 {
			res.credit[ng]++
			continue
		}
		touched++
		for _, t := range path {
			if reachStamp[t.group] == stamp && convStamp[t.group] != stamp {
				convStamp[t.group] = stamp
				res.converted[t.group]++
			}
		}
		switch {
		case chain != nil:
			groups = groups[:0]
			for _, t := range path {
				groups = append(groups, t.group)
			}
			chain.add(groups, true)
		case game != nil:
			set = set[:0]
			for _, t := range path {
				set = append(set, t.group)
			}
			game.add(sortedDistinct(set), true, keyBuf)
		default:
			weights = slices.Grow(weights[:0], len(path))[:len(path)]
			ruleWeights(model, path, w.halfLife, weights)
			for i, t := range path {
				res.credit[t.group] += weights[i]
			}
		}
	}
	switch {
	case chain != nil && touched > 0:
		re, ok := chain.removalEffects()
		var sum float64
		for _, v := range re {
			sum += v
		}
		if !ok || sum <= 0 {
			return passResult{}, fmt.Errorf("markov chain has no conversion path despite %d touched conversions", touched)
		}
		for g, v := range re {
			res.credit[g] += float64(touched) * v / sum
		}
	case game != nil:
		game.credit(res.credit)
	}
	return res, nil
}

// funnel counts the journeys converting at each stage in the range, the rate from the
// previous stage, and the cost per conversion of the campaigns in scope.
func (sn *snapshot) funnel(w window, cost int64) []FunnelStage {
	stages := domain.Stages()
	var counts [domain.NumStages]int64
	var joint [domain.NumStages]int64 // journeys at the stage and at its previous one
	var reached, reachedChecked int64
	for j := 0; j+1 < len(sn.starts); j++ {
		rs := sn.rows[sn.starts[j]:sn.starts[j+1]]
		var at [domain.NumStages]bool
		for _, st := range stages {
			p := firstConversion(rs, st, w.outcome)
			at[st] = p >= 0 && rs[p].t >= w.from && rs[p].t < w.to && (w.area < 0 || int(rs[p].area) == w.area)
			if at[st] {
				counts[st]++
			}
		}
		touchedInRange := false
		for _, r := range rs {
			if r.kind == 0 && r.t >= w.from && r.t < w.to && (w.area < 0 || int(r.area) == w.area) && w.area != -2 {
				touchedInRange = true
				break
			}
		}
		if touchedInRange {
			reached++
			if at[domain.StageEligibilityChecked] {
				reachedChecked++
			}
		}
		if at[domain.StageEligibilityChecked] && at[domain.StageCourseEnquiry] {
			joint[domain.StageCourseEnquiry]++
		}
		if at[domain.StageCourseEnquiry] && at[domain.StageEnrolment] {
			joint[domain.StageEnrolment]++
		}
		if at[domain.StageEnrolment] && at[domain.StageCompletion] {
			joint[domain.StageCompletion]++
		}
		if at[domain.StageEnrolment] && at[domain.StageWithdrawal] {
			joint[domain.StageWithdrawal]++
		}
	}
	prev := map[domain.Stage]domain.Stage{
		domain.StageCourseEnquiry: domain.StageEligibilityChecked,
		domain.StageEnrolment:     domain.StageCourseEnquiry,
		domain.StageCompletion:    domain.StageEnrolment,
		domain.StageWithdrawal:    domain.StageEnrolment,
	}
	out := make([]FunnelStage, 0, len(stages))
	for _, st := range stages {
		fs := FunnelStage{Stage: st, Conversions: counts[st], CostPence: cost, CostPerConversionPence: perConversion(cost, float64(counts[st]))}
		if st == domain.StageEligibilityChecked {
			fs.Rate = Wilson(reachedChecked, reached)
		} else {
			fs.Rate = Wilson(joint[st], counts[prev[st]])
		}
		out = append(out, fs)
	}
	return out
}
