package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/load"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// writeArea is the area the course and event writes go to, as its LEP's system would.
const writeArea = "E37000022"

// benchCampaigns is how many campaigns of writeArea the generated touches name.
const benchCampaigns = 10

// writeSetup is what the durable write runs need from the running binary, found or
// created once per run.
type writeSetup struct {
	run       string // unique prefix of this run's ids, so every write is a real insert
	adviser   string // token of an adviser (assessments)
	lep       string // token of writeArea's LEP (courses, events, reports)
	provider  *coursesv1.Provider
	discount  int32
	campaigns []string // campaign names in writeArea
	events    atomic.Int64
}

func (h *harness) prepareWrites(ctx context.Context) (*writeSetup, error) {
	ws := &writeSetup{run: "b" + strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)}
	var err error
	if ws.adviser, err = h.mint("adviser", ""); err != nil {
		return nil, err
	}
	if ws.lep, err = h.mint("lep", writeArea); err != nil {
		return nil, err
	}
	conns, err := clientConns(h.grpc, ws.lep, 1)
	if err != nil {
		return nil, err
	}
	defer conns[0].Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	courses := coursesv1.NewCoursesServiceClient(conns[0])
	area, err := courses.GetArea(ctx, &coursesv1.GetAreaRequest{Name: "areas/" + writeArea})
	if err != nil {
		return nil, fmt.Errorf("get area %s: %w", writeArea, err)
	}
	if len(area.GetArea().GetDiscountPercents()) == 0 {
		return nil, fmt.Errorf("area %s offers no discount", writeArea)
	}
	ws.discount = area.GetArea().GetDiscountPercents()[0]
	provs, err := loanProviders(ctx, courses, writeArea)
	if err != nil {
		return nil, err
	}
	ws.provider = provs[0]

	outreach := outreachv1.NewOutreachServiceClient(conns[0])
	start := time.Now().AddDate(0, 0, -200).Format(time.DateOnly)
	for i := range benchCampaigns {
		resp, err := outreach.CreateCampaign(ctx, &outreachv1.CreateCampaignRequest{
			Parent: "areas/" + writeArea, CampaignId: fmt.Sprintf("%s-campaign-%d", ws.run, i),
			Campaign: &outreachv1.Campaign{
				DisplayName: fmt.Sprintf("Benchmark campaign %d", i),
				Channel:     outreachv1.Channel(1 + i%10), Messenger: outreachv1.Messenger(1 + i%6),
				StartDate: start, CostPence: int64(100000 * (i + 1)),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("create campaign: %w", err)
		}
		ws.campaigns = append(ws.campaigns, resp.GetCampaign().GetName())
	}
	return ws, nil
}

// loanProviders lists the providers of area with an Advanced Learner Loan facility and
// premises, the ones every pilot area's rules accept.
func loanProviders(ctx context.Context, c coursesv1.CoursesServiceClient, area string) ([]*coursesv1.Provider, error) {
	var out []*coursesv1.Provider
	for token := ""; ; {
		resp, err := c.ListProviders(ctx, &coursesv1.ListProvidersRequest{Parent: "areas/" + area, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list providers of %s: %w", area, err)
		}
		for _, p := range resp.GetProviders() {
			if p.GetLoanFacility() && len(p.GetPremisesPostcodes()) > 0 {
				out = append(out, p)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("area %s has no provider with a loan facility and premises (demo data off?)", area)
	}
	return out, nil
}

// closeAll closes the connections of a run.
func closeAll(conns []*grpc.ClientConn) {
	for _, c := range conns {
		c.Close()
	}
}

// assessmentLoad records a new assessment per call, each of a learner of its own.
func assessmentLoad(ctx context.Context, addr string, ws *writeSetup, o load.Options) (load.Result, error) {
	conns, err := clientConns(addr, ws.adviser, o.Concurrency)
	if err != nil {
		return load.Result{}, err
	}
	defer closeAll(conns)
	clients := make([]eligibilityv1.EligibilityServiceClient, len(conns))
	for i, c := range conns {
		clients[i] = eligibilityv1.NewEligibilityServiceClient(c)
	}
	salary := int64(2500000)
	return load.Run(ctx, o, func(ctx context.Context, w, seq int) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := clients[w%len(clients)].CreateAssessment(ctx, &eligibilityv1.CreateAssessmentRequest{
			Parent: fmt.Sprintf("learners/%s-%d-%d", ws.run, w, seq),
			Assessment: &eligibilityv1.Assessment{
				DateOfBirth: "1990-05-17", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_2,
				AnnualSalaryPence: &salary, Postcode: "L1 8JQ",
			},
		})
		return err
	}), nil
}

// eventLoad records batches of batch new events per call (journeys of writeArea).
func eventLoad(ctx context.Context, addr string, ws *writeSetup, batch int, o load.Options) (load.Result, error) {
	conns, err := clientConns(addr, ws.lep, o.Concurrency)
	if err != nil {
		return load.Result{}, err
	}
	defer closeAll(conns)
	clients := make([]outreachv1.OutreachServiceClient, len(conns))
	for i, c := range conns {
		clients[i] = outreachv1.NewOutreachServiceClient(c)
	}
	// Each worker sends the same journeys under new event and journey ids on every call:
	// generating fresh events per call would spend the CPU the server shares with the
	// load generator on the generator.
	now := time.Now()
	type template struct {
		events   []*outreachv1.Event
		journeys []string // per event, its journey's suffix
	}
	templates := make([]template, o.Concurrency)
	for w := range templates {
		events := eventBatch(rand.New(rand.NewPCG(uint64(w), uint64(o.Concurrency))), "t", ws.campaigns, now, batch)
		t := template{events: events, journeys: make([]string, len(events))}
		for i, e := range events {
			t.journeys[i] = strings.TrimPrefix(e.GetJourneyId(), "t")
		}
		templates[w] = t
	}
	return load.Run(ctx, o, func(ctx context.Context, w, seq int) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		prefix := ws.run + "-" + strconv.Itoa(o.Concurrency) + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(seq)
		t := templates[w]
		for i, e := range t.events {
			e.EventId = prefix + "-" + strconv.Itoa(i)
			e.JourneyId = prefix + t.journeys[i]
		}
		resp, err := clients[w%len(clients)].RecordEvents(ctx, &outreachv1.RecordEventsRequest{Parent: "areas/" + writeArea, Events: t.events})
		if err != nil {
			return err
		}
		ws.events.Add(int64(resp.GetAcceptedCount()))
		if int(resp.GetAcceptedCount()) != len(t.events) {
			for _, r := range resp.GetResults() {
				if r.GetStatus() != outreachv1.EventStatus_EVENT_STATUS_ACCEPTED {
					return fmt.Errorf("event %s not accepted: %v %s %v", r.GetEventId(), r.GetStatus(), r.GetMessage(), r.GetFieldViolations())
				}
			}
		}
		return nil
	}), nil
}

// eventBatch generates n events of journeys of 1 to 9 events (5 on average) over the last
// 100 days: campaign links (60%), union referrals, direct visits and, after a journey's
// first touch, conversions at every stage (30%).
func eventBatch(rng *rand.Rand, prefix string, campaigns []string, now time.Time, n int) []*outreachv1.Event {
	events := make([]*outreachv1.Event, 0, n)
	for j := 0; len(events) < n; j++ {
		journey := fmt.Sprintf("%s-j%d", prefix, j)
		t := now.Add(-time.Duration(1+rng.IntN(100*24*60)) * time.Minute)
		for k := range min(1+rng.IntN(9), n-len(events)) {
			e := &outreachv1.Event{EventId: fmt.Sprintf("%s-%d", prefix, len(events)), JourneyId: journey, OccurTime: timestamppb.New(t)}
			switch r := rng.IntN(10); {
			case r < 3 && k > 0:
				c := &outreachv1.Conversion{Stage: outreachv1.ConversionStage(1 + rng.IntN(5))}
				if c.Stage == outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED {
					c.EligibilityOutcome = outreachv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_ELIGIBLE
				}
				e.Detail = &outreachv1.Event_Conversion{Conversion: c}
			case r < 4:
				e.Detail = &outreachv1.Event_Touch{Touch: &outreachv1.Touch{Source: outreachv1.TouchSource_TOUCH_SOURCE_DIRECT}}
			case r < 5:
				e.Detail = &outreachv1.Event_Touch{Touch: &outreachv1.Touch{
					Source: outreachv1.TouchSource_TOUCH_SOURCE_UNION_REFERRAL, Channel: outreachv1.Channel_CHANNEL_UNION_LEARNING_REP,
					Messenger: outreachv1.Messenger_MESSENGER_TRADE_UNION,
				}}
			default:
				e.Detail = &outreachv1.Event_Touch{Touch: &outreachv1.Touch{
					Source: outreachv1.TouchSource_TOUCH_SOURCE_CAMPAIGN_LINK, Campaign: campaigns[rng.IntN(len(campaigns))],
				}}
			}
			events = append(events, e)
			t = t.Add(time.Duration(rng.IntN(3*24*60)) * time.Minute)
			if t.After(now) {
				t = now.Add(-time.Minute)
			}
		}
	}
	return events
}

// courseLoad publishes a new course per call (CreateCourse with a fresh course_id).
func courseLoad(ctx context.Context, addr string, ws *writeSetup, o load.Options) (load.Result, error) {
	conns, err := clientConns(addr, ws.lep, o.Concurrency)
	if err != nil {
		return load.Result{}, err
	}
	defer closeAll(conns)
	clients := make([]coursesv1.CoursesServiceClient, len(conns))
	for i, c := range conns {
		clients[i] = coursesv1.NewCoursesServiceClient(c)
	}
	start := time.Now().AddDate(0, 2, 0).Format(time.DateOnly)
	return load.Run(ctx, o, func(ctx context.Context, w, seq int) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := clients[w%len(clients)].CreateCourse(ctx, &coursesv1.CreateCourseRequest{
			Parent:   "areas/" + writeArea,
			CourseId: fmt.Sprintf("%s-%d-%d-%d", ws.run, o.Concurrency, w, seq),
			Course: &coursesv1.Course{
				LearningAimReference: "60318011", Title: "Level 3 Diploma in Accounting",
				Description: "Benchmark course: double entry, budgets, payroll and the practice of a finance team.",
				Level:       "3", SectorSubjectArea: "15.1", AwardingBody: "AAT",
				ProviderUkprn: ws.provider.GetUkprn(), VenuePostcode: ws.provider.GetPremisesPostcodes()[0],
				DeliveryMode: coursesv1.DeliveryMode_DELIVERY_MODE_CLASSROOM, StudyMode: coursesv1.StudyMode_STUDY_MODE_PART_TIME,
				AttendancePattern: coursesv1.AttendancePattern_ATTENDANCE_PATTERN_EVENING,
				DurationValue:     30, DurationUnit: coursesv1.DurationUnit_DURATION_UNIT_WEEKS, StartDate: start,
				FullCostPence: 250000, DiscountPercent: ws.discount,
			},
		})
		return err
	}), nil
}
