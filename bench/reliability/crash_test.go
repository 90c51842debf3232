package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	xproc "github.com/nrs-pilots/retrain/bench/internal/proc"
)

// The crash test writes in one pilot area, with a provider of its own so that it does not
// depend on the demo catalogue.
const (
	crashArea     = "E37000022" // Liverpool City Region
	crashParent   = "areas/" + crashArea
	crashProvider = "10099917" // not a demo UKPRN
	// crashAimPrefix starts the learning aim reference of every course the test creates:
	// the aim identifies a course write, and with the provider, venue, start and study
	// mode it derives the course's id, so a resent create is ALREADY_EXISTS.
	crashAimPrefix = "CR"
	// assessmentsPerLearner is how many assessments share a learner reference.
	assessmentsPerLearner = 50
	// rpcTimeout bounds every call: generous, for a loaded 2-core machine.
	rpcTimeout = 2 * time.Minute
)

// crashPostcodes are postcodes of the area the builtin directory knows.
var crashPostcodes = []string{"L1 8JQ", "L3 5TF", "CH41 5AL", "WA10 1PP", "PR8 1DB", "WA7 5QA"}

// TestCrash kills the all-in-one binary with SIGKILL at random moments while concurrent
// clients write assessments, outreach events and courses, restarts it on the same data
// directory, and checks that every store opens again, that every acknowledged write is
// there as it was acknowledged, and that nothing is stored twice or in part. A write whose
// call failed or never returned may or may not be stored. The short form kills 20 times,
// the soak form (RETRAIN_SOAK=1) 200 times; RETRAIN_CRASH_SEED=n replays a run's kill
// timing and each writer's choices.
func TestCrash(t *testing.T) {
	kills, maxUp := 20, 2500*time.Millisecond
	if soak() {
		kills = 200
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RETRAIN_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RETRAIN_CRASH_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d (RETRAIN_CRASH_SEED=%d replays the kill timing and the writers' choices)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	began := time.Now()
	c := newCrashTest(t, t.TempDir(), seed)
	for cycle := 1; cycle <= kills; cycle++ {
		if cycle > 1 && rng.IntN(4) == 0 {
			// Now and then also a kill while the stores open and the indexes load.
			c.killDuringStart(time.Duration(rng.Int64N(int64(150 * time.Millisecond))))
		}
		up := c.up(cycle)
		if cycle == 1 {
			c.setUp(up)
		} else {
			c.checkRestart(up, cycle)
		}
		// From just after the start (writers barely going) to a few seconds in.
		c.runUntilKilled(up, cycle, time.Duration(rng.Int64N(int64(maxUp))))
		if t.Failed() {
			c.report(cycle, time.Since(began), -1)
			t.Fatalf("stopping after kill %d of %d", cycle, kills)
		}
	}
	up := c.up(kills + 1)
	c.checkRestart(up, kills+1)
	verifying := time.Now()
	c.verifyAll(up)
	up.close()
	up.p.stop(t)
	c.report(kills, time.Since(began), time.Since(verifying))
}

// crashTest is the state of one run: what was written and what became of it.
type crashTest struct {
	t       *testing.T
	dataDir string
	seed    uint64
	tokens  map[string]string // role -> bearer token

	seq       atomic.Int64 // makes every assessment and journey unique
	courseSeq atomic.Int64 // makes every course unique

	mu sync.Mutex
	// assessments by their (unique) salary; learners in first-use order.
	assessments map[int64]*assessmentWrite
	learners    []string
	learnerSeen map[string]bool
	// events by id, and their ids in the order they were made.
	events     map[string]*eventWrite
	eventOrder []string
	ackedIDs   []string // events acknowledged at least once, for resends
	// courses by learning aim reference, in the order first sent.
	courses     map[string]*courseWrite
	courseOrder []string
	// Writes sent without an answer, per worker, resent by the worker after the restart.
	pendingEvents  map[int][]string
	pendingCourses map[int]string
	// Acknowledged in the current cycle: checked first thing after the restart.
	recentAssessments []int64
	recentCourses     []string

	// Baselines read before the first write (demo data, seeded by the binary).
	baseEvents, baseCourses int64

	// listed holds each learner's assessments during the final verification.
	listed map[string][]*eligibilityv1.Assessment

	// Figures. During the run: failed calls by code, acknowledged writes, events resent
	// after an unanswered batch that were already stored, acknowledged events resent.
	rpcErrors                                               map[codes.Code]int
	assessmentsAcked, eventsAcked, coursesAcked, batches    int
	eventsStoredUnanswered, coursesStoredUnanswered         int
	eventResendsAcked                                       int
	assessmentsUnanswered, assessmentsUnansweredStored      int
	eventsUnansweredAtEnd, coursesUnansweredAtEnd           int
	eventsUnansweredAtEndStored, coursesUnansweredEndStored int
	startKills                                              int
	// Losses, duplicates and writes stored in part, by kind: must stay empty.
	lost, doubled, partial map[string]int
	// verifying is set during the final verification, whose answers are not counted as
	// the run's acknowledgements.
	verifying bool
}

type assessmentWrite struct {
	learner string
	sent    *eligibilityv1.Assessment
	acked   *eligibilityv1.Assessment // the answer; nil while unacknowledged
}

type eventWrite struct {
	ev         *outreachv1.Event
	acked      bool // some answer said ACCEPTED or DUPLICATE
	accepted   int  // ACCEPTED answers: more than one means an acknowledged event was lost
	conversion bool
}

type courseWrite struct {
	sent *coursesv1.Course
	// acked is the answer to the create; nil while unacknowledged or when a resend found
	// it stored (existed).
	acked   *coursesv1.Course
	existed bool // a resend was ALREADY_EXISTS: a killed attempt stored it
}

func newCrashTest(t *testing.T, dataDir string, seed uint64) *crashTest {
	return &crashTest{
		t: t, dataDir: dataDir, seed: seed, tokens: map[string]string{},
		assessments: map[int64]*assessmentWrite{}, learnerSeen: map[string]bool{},
		events: map[string]*eventWrite{}, courses: map[string]*courseWrite{},
		pendingEvents: map[int][]string{}, pendingCourses: map[int]string{},
		rpcErrors: map[codes.Code]int{}, lost: map[string]int{}, doubled: map[string]int{}, partial: map[string]int{},
	}
}

// running is one life of the process and a connection to it.
type running struct {
	p           *proc
	conn        *grpc.ClientConn
	eligibility eligibilityv1.EligibilityServiceClient
	outreach    outreachv1.OutreachServiceClient
	courses     coursesv1.CoursesServiceClient
	tokens      map[string]string
}

// up starts the binary on the data directory: a store that will not open fails the test
// here, with the process's log.
func (c *crashTest) up(life int) *running {
	c.t.Helper()
	p := start(c.t, c.dataDir)
	if len(c.tokens) == 0 {
		ttl := "6h"
		c.tokens["adviser"] = token(c.t, c.dataDir, "--role", "adviser", "--ttl", ttl)
		c.tokens["admin"] = token(c.t, c.dataDir, "--role", "admin", "--ttl", ttl)
		c.tokens["frontend"] = token(c.t, c.dataDir, "--role", "frontend", "--ttl", ttl)
		c.tokens["lep"] = token(c.t, c.dataDir, "--role", "lep", "--area", crashArea, "--ttl", ttl)
		c.tokens["evaluator"] = token(c.t, c.dataDir, "--role", "evaluator", "--ttl", ttl)
	}
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		c.t.Fatalf("life %d: dial: %v", life, err)
	}
	return &running{
		p: p, conn: conn, tokens: c.tokens,
		eligibility: eligibilityv1.NewEligibilityServiceClient(conn),
		outreach:    outreachv1.NewOutreachServiceClient(conn),
		courses:     coursesv1.NewCoursesServiceClient(conn),
	}
}

func (r *running) close() { _ = r.conn.Close() }

// as is the call option that authenticates a call with role's token.
func (r *running) as(role string) grpc.CallOption {
	return grpc.PerRPCCredentials(bearer(r.tokens[role]))
}

// setUp creates the test's provider and reads the baselines, before anything is killed.
func (c *crashTest) setUp(r *running) {
	t := c.t
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	_, err := r.courses.CreateProvider(ctx, &coursesv1.CreateProviderRequest{
		Parent: crashParent, ProviderId: crashProvider,
		Provider: &coursesv1.Provider{DisplayName: "Crash Test College", LoanFacility: true, PremisesPostcodes: []string{"L1 8JQ", "L3 5TF"}},
	}, r.as("lep"))
	if err != nil {
		t.Fatalf("create provider: %v", err)
	}
	c.baseEvents, _ = c.eventCounts(r)
	c.baseCourses = int64(len(c.listCourses(r)))
	t.Logf("baseline: %d events, %d courses in %s", c.baseEvents, c.baseCourses, crashArea)
}

// killDuringStart starts the binary on the data directory and kills it after d, listening
// or not yet. It must not have exited by itself.
func (c *crashTest) killDuringStart(d time.Duration) {
	cmd := exec.Command(binary, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", c.dataDir, "--log-format", "json", "--rate-limits", testRates)
	var stderr xproc.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		c.t.Fatalf("retrain exited by itself %v after its start: %v\n%s", d, err, stderr.String())
	}
	c.startKills++
}

// runUntilKilled runs the writers and kills the process after upFor.
func (c *crashTest) runUntilKilled(r *running, cycle int, upFor time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var killed atomic.Bool
	var wg sync.WaitGroup
	worker := func(id int, fn func(context.Context, *running, *rand.Rand, int, *atomic.Bool)) {
		rng := rand.New(rand.NewPCG(c.seed, uint64(cycle)<<8|uint64(id)))
		wg.Go(func() { fn(ctx, r, rng, id, &killed) })
	}
	for id := range 3 {
		worker(id, c.writeAssessments)
	}
	for id := range 3 {
		worker(10+id, c.writeEvents)
	}
	for id := range 2 {
		worker(20+id, c.writeCourses)
	}
	time.Sleep(upFor)
	killed.Store(true)
	r.p.kill()
	cancel()
	wg.Wait()
	r.close()
}

// failed records a write's call that returned an error. After the kill any error is
// expected (the write's fate is unknown); before it, none is.
func (c *crashTest) failed(kind string, err error, killed *atomic.Bool) {
	if !killed.Load() {
		c.t.Errorf("%s failed while the server was up: %v", kind, err)
	}
	c.mu.Lock()
	c.rpcErrors[status.Code(err)]++
	c.mu.Unlock()
}

// pause is a random think time of up to max between a writer's calls, so that the
// writers leave the shared cores to the server and a run's volume stays bounded (the
// soak form's ledger lives in this process's memory).
func pause(ctx context.Context, rng *rand.Rand, max time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(rng.Int64N(int64(max)))):
	}
}

// writeAssessments records assessments until the process dies. CreateAssessment is not
// idempotent (every call is a new assessment), so an unanswered one is not resent: it
// may be stored once, or not at all.
func (c *crashTest) writeAssessments(ctx context.Context, r *running, rng *rand.Rand, _ int, killed *atomic.Bool) {
	for ctx.Err() == nil {
		n := c.seq.Add(1)
		salary := 1_000_000 + n // unique: identifies the write
		learner := fmt.Sprintf("crash-l%d", n/assessmentsPerLearner)
		dob := time.Date(1950+rng.IntN(50), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		asOf := time.Date(2025, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		sent := &eligibilityv1.Assessment{
			DateOfBirth:          dob.Format(time.DateOnly),
			HighestQualification: eligibilityv1.RqfLevel(1 + rng.IntN(10)),
			AnnualSalaryPence:    &salary,
			Postcode:             crashPostcodes[rng.IntN(len(crashPostcodes))],
			AsOf:                 asOf.Format(time.DateOnly),
		}
		w := &assessmentWrite{learner: learner, sent: sent}
		c.mu.Lock()
		c.assessments[salary] = w
		if !c.learnerSeen[learner] {
			c.learnerSeen[learner] = true
			c.learners = append(c.learners, learner)
		}
		c.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		resp, err := r.eligibility.CreateAssessment(cctx, &eligibilityv1.CreateAssessmentRequest{Parent: "learners/" + learner, Assessment: sent}, r.as("adviser"))
		cancel()
		if err != nil {
			c.failed("CreateAssessment", err, killed)
			return
		}
		got := resp.GetAssessment()
		if !strings.HasPrefix(got.GetName(), "learners/"+learner+"/assessments/") || !sameAnswers(got, sent) {
			c.t.Errorf("CreateAssessment answered %v for %v", got, sent)
		}
		c.mu.Lock()
		w.acked = got
		c.assessmentsAcked++
		c.recentAssessments = append(c.recentAssessments, salary)
		c.mu.Unlock()
		pause(ctx, rng, 20*time.Millisecond)
	}
}

// sameAnswers reports whether a stored assessment holds the answers sent.
func sameAnswers(got, sent *eligibilityv1.Assessment) bool {
	return got.GetDateOfBirth() == sent.GetDateOfBirth() &&
		got.GetHighestQualification() == sent.GetHighestQualification() &&
		got.GetAnnualSalaryPence() == sent.GetAnnualSalaryPence() &&
		got.GetPostcode() == sent.GetPostcode() &&
		got.GetAsOf() == sent.GetAsOf()
}

// sameAssessment reports whether a listed assessment is the one acknowledged.
func sameAssessment(got, acked *eligibilityv1.Assessment) bool {
	return sameAnswers(got, acked) && got.GetName() == acked.GetName() &&
		got.GetRulesetVersion() == acked.GetRulesetVersion() &&
		got.GetRecordedBy() == acked.GetRecordedBy() &&
		got.GetResult().GetOutcome() == acked.GetResult().GetOutcome() &&
		got.GetCreateTime().AsTime().Equal(acked.GetCreateTime().AsTime())
}

// writeEvents sends batches of events until the process dies, as a front end with an
// outbox does: a batch that got no answer is sent again (with new events) after the
// restart, and now and then a batch also carries events already acknowledged. Every
// event must be ACCEPTED at most once: an acknowledged event that comes back ACCEPTED was
// lost.
func (c *crashTest) writeEvents(ctx context.Context, r *running, rng *rand.Rand, id int, killed *atomic.Bool) {
	role := "frontend"
	if id%3 == 2 {
		role = "lep"
	}
	for ctx.Err() == nil {
		c.mu.Lock()
		// The unanswered batch again, or new events: a batch stays under 25 events.
		ids := slices.Clone(c.pendingEvents[id])
		want := 1 + rng.IntN(20)
		for len(ids) < want {
			ids = append(ids, c.newJourney(rng)...)
		}
		c.pendingEvents[id] = slices.Clone(ids)
		var resent []string
		if rng.IntN(10) == 0 && len(c.ackedIDs) > 0 {
			for range 1 + rng.IntN(3) {
				e := c.ackedIDs[rng.IntN(len(c.ackedIDs))]
				if !slices.Contains(ids, e) && !slices.Contains(resent, e) {
					resent = append(resent, e)
				}
			}
		}
		all := append(slices.Clone(ids), resent...)
		req := &outreachv1.RecordEventsRequest{Parent: crashParent}
		for _, e := range all {
			req.Events = append(req.Events, c.events[e].ev)
		}
		c.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		resp, err := r.outreach.RecordEvents(cctx, req, r.as(role))
		cancel()
		if err != nil {
			c.failed("RecordEvents", err, killed)
			return
		}
		c.mu.Lock()
		c.batches++
		c.recordEventResults(req, resp, len(ids), "RecordEvents")
		delete(c.pendingEvents, id)
		c.mu.Unlock()
		pause(ctx, rng, 50*time.Millisecond)
	}
}

// newJourney adds a journey of two events, a touch and then a conversion, to the ledger
// and returns their ids. Callers hold c.mu.
func (c *crashTest) newJourney(rng *rand.Rand) []string {
	n := c.seq.Add(1)
	journey := fmt.Sprintf("crash-j%d", n)
	touchAt := time.Now().Add(-time.Duration(10+rng.IntN(3600)) * time.Second).Truncate(time.Millisecond)
	convAt := touchAt.Add(time.Duration(1+rng.IntN(9)) * time.Second)
	touch := &outreachv1.Event{
		EventId: journey + "-t", JourneyId: journey, OccurTime: timestamppb.New(touchAt),
		Detail: &outreachv1.Event_Touch{Touch: &outreachv1.Touch{Source: outreachv1.TouchSource_TOUCH_SOURCE_DIRECT}},
	}
	if rng.IntN(2) == 0 {
		touch.Detail = &outreachv1.Event_Touch{Touch: &outreachv1.Touch{
			Source: outreachv1.TouchSource_TOUCH_SOURCE_ADVISER_REFERRAL, Channel: outreachv1.Channel_CHANNEL_CAREERS_ADVISER,
			Messenger: outreachv1.Messenger_MESSENGER_NATIONAL_CAREERS_SERVICE,
		}}
	}
	conv := &outreachv1.Event{
		EventId: journey + "-c", JourneyId: journey, OccurTime: timestamppb.New(convAt),
		Detail: &outreachv1.Event_Conversion{Conversion: &outreachv1.Conversion{
			Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED, EligibilityOutcome: outreachv1.EligibilityOutcome(1 + rng.IntN(3)),
		}},
	}
	for _, e := range []*outreachv1.Event{touch, conv} {
		c.events[e.EventId] = &eventWrite{ev: e, conversion: e.GetConversion() != nil}
		c.eventOrder = append(c.eventOrder, e.EventId)
	}
	return []string{touch.EventId, conv.EventId}
}

// recordEventResults checks an answer to a batch and records what became of each event.
// The first fresh events of the batch are new or unanswered ones; the rest are resends of
// acknowledged ones, which must be DUPLICATE. An acknowledged event that comes back
// ACCEPTED was lost. It returns how many events came back DUPLICATE. Callers hold c.mu.
func (c *crashTest) recordEventResults(req *outreachv1.RecordEventsRequest, resp *outreachv1.RecordEventsResponse, fresh int, rpc string) (duplicates int) {
	res := resp.GetResults()
	if len(res) != len(req.Events) {
		c.t.Errorf("%s: %d results for %d events", rpc, len(res), len(req.Events))
		return 0
	}
	for i, r := range res {
		id := req.Events[i].EventId
		w := c.events[id]
		if r.GetIndex() != int32(i) || r.GetEventId() != id {
			c.t.Errorf("%s: result %d is for event %d %q, want %q", rpc, i, r.GetIndex(), r.GetEventId(), id)
			continue
		}
		switch r.GetStatus() {
		case outreachv1.EventStatus_EVENT_STATUS_ACCEPTED:
			if w.accepted++; w.acked {
				c.lost["event"]++
				c.t.Errorf("%s: event %s was acknowledged before and is now ACCEPTED again: it had been lost", rpc, id)
			}
		case outreachv1.EventStatus_EVENT_STATUS_DUPLICATE:
			duplicates++
			switch {
			case c.verifying:
			case i >= fresh:
				c.eventResendsAcked++
			case !w.acked:
				c.eventsStoredUnanswered++ // stored by an attempt that got no answer
			}
		default:
			c.t.Errorf("%s: event %s is %v (%s)", rpc, id, r.GetStatus(), r.GetMessage())
			continue
		}
		if !w.acked {
			w.acked = true
			c.ackedIDs = append(c.ackedIDs, id)
			if !c.verifying {
				c.eventsAcked++
			}
		}
	}
	return duplicates
}

// writeCourses creates courses until the process dies. Course ids are derived from the
// content, so a create that got no answer is sent again after the restart: ALREADY_EXISTS
// then says the killed attempt stored it.
func (c *crashTest) writeCourses(ctx context.Context, r *running, rng *rand.Rand, id int, killed *atomic.Bool) {
	for ctx.Err() == nil {
		c.mu.Lock()
		aim, retry := c.pendingCourses[id]
		if !retry {
			aim = fmt.Sprintf("%s%06d", crashAimPrefix, c.courseSeq.Add(1))
			c.courses[aim] = &courseWrite{sent: newCourse(aim, rng)}
			c.courseOrder = append(c.courseOrder, aim)
			c.pendingCourses[id] = aim
		}
		w := c.courses[aim]
		c.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		resp, err := r.courses.CreateCourse(cctx, &coursesv1.CreateCourseRequest{Parent: crashParent, Course: w.sent}, r.as("lep"))
		cancel()
		switch {
		case err == nil:
			got := resp.GetCourse()
			if !sameCourse(got, w.sent) {
				c.t.Errorf("CreateCourse answered %v for %v", got, w.sent)
			}
			c.mu.Lock()
			w.acked = got
			c.coursesAcked++
			c.recentCourses = append(c.recentCourses, aim)
		case retry && status.Code(err) == codes.AlreadyExists:
			c.mu.Lock()
			w.existed = true
			c.coursesStoredUnanswered++
		default:
			c.failed("CreateCourse", err, killed)
			return
		}
		delete(c.pendingCourses, id)
		c.mu.Unlock()
		pause(ctx, rng, 30*time.Millisecond)
	}
}

// newCourse is a course of the test's provider that the area's rules publish.
func newCourse(aim string, rng *rand.Rand) *coursesv1.Course {
	return &coursesv1.Course{
		LearningAimReference: aim,
		Title:                "Crash Test Diploma in Resilience " + aim,
		Description:          "Written by the crash test.",
		Level:                strconv.Itoa(3 + rng.IntN(3)),
		SectorSubjectArea:    "6.2",
		AwardingBody:         "NCFE",
		ProviderUkprn:        crashProvider,
		VenuePostcode:        "L1 8JQ",
		DeliveryMode:         coursesv1.DeliveryMode_DELIVERY_MODE_CLASSROOM,
		StudyMode:            coursesv1.StudyMode_STUDY_MODE_PART_TIME,
		AttendancePattern:    coursesv1.AttendancePattern_ATTENDANCE_PATTERN_EVENING,
		DurationValue:        int32(1 + rng.IntN(12)),
		DurationUnit:         coursesv1.DurationUnit_DURATION_UNIT_MONTHS,
		FlexibleStart:        true,
		FullCostPence:        int64(10_000 + rng.IntN(500_000)),
		DiscountPercent:      []int32{25, 75, 100}[rng.IntN(3)],
	}
}

// sameCourse reports whether a stored course holds what was sent.
func sameCourse(got, sent *coursesv1.Course) bool {
	g := proto.Clone(got).(*coursesv1.Course)
	g.Name, g.ProviderName, g.LearnerCostPence, g.Demo, g.CreateTime, g.UpdateTime = "", "", nil, false, nil, nil
	return proto.Equal(g, sent) && got.LearnerCostPence != nil
}

// eventCounts returns how many events the outreach service holds (the attribution
// report reads every stored event) and how many journeys converted at
// ELIGIBILITY_CHECKED in the last days.
func (c *crashTest) eventCounts(r *running) (events, converted int64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		c.t.Fatal(err)
	}
	now := time.Now().In(london)
	resp, err := r.outreach.RunAttributionReport(ctx, &outreachv1.RunAttributionReportRequest{
		Parent: "areas/-",
		Parameters: &outreachv1.ReportParameters{
			Stage:     outreachv1.ConversionStage_CONVERSION_STAGE_ELIGIBILITY_CHECKED,
			Model:     outreachv1.AttributionModel_ATTRIBUTION_MODEL_LAST_TOUCH,
			StartDate: now.AddDate(0, 0, -3).Format(time.DateOnly),
			EndDate:   now.AddDate(0, 0, 1).Format(time.DateOnly),
		},
	}, r.as("evaluator"))
	if err != nil {
		c.t.Fatalf("RunAttributionReport: %v", err)
	}
	return resp.GetReport().GetEventsScanned(), resp.GetReport().GetConversions()
}

// listCourses returns every course of the area.
func (c *crashTest) listCourses(r *running) []*coursesv1.Course {
	c.t.Helper()
	var out []*coursesv1.Course
	tok := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		resp, err := r.courses.ListCourses(ctx, &coursesv1.ListCoursesRequest{Parent: crashParent, PageSize: 1000, PageToken: tok}, r.as("lep"))
		cancel()
		if err != nil {
			c.t.Fatalf("ListCourses: %v", err)
		}
		out = append(out, resp.GetCourses()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			return out
		}
	}
}

// listAssessments returns every assessment of a learner.
func (c *crashTest) listAssessments(r *running, learner string) []*eligibilityv1.Assessment {
	c.t.Helper()
	var out []*eligibilityv1.Assessment
	tok := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		resp, err := r.eligibility.ListAssessments(ctx, &eligibilityv1.ListAssessmentsRequest{Parent: "learners/" + learner, PageSize: 1000, PageToken: tok}, r.as("adviser"))
		cancel()
		if err != nil {
			c.t.Fatalf("ListAssessments: %v", err)
		}
		out = append(out, resp.GetAssessments()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			return out
		}
	}
}

// checkRestart runs right after a restart, before any writer: every service answers,
// what the last life acknowledged is there, and the event count is within what was
// acknowledged and what was sent.
func (c *crashTest) checkRestart(r *running, life int) {
	t := c.t
	c.mu.Lock()
	recentA, recentC := c.recentAssessments, c.recentCourses
	c.recentAssessments, c.recentCourses = nil, nil
	acked, sent := len(c.ackedIDs), len(c.events)
	c.mu.Unlock()

	learners := map[string][]int64{}
	for _, s := range recentA {
		w := c.assessments[s]
		learners[w.learner] = append(learners[w.learner], s)
	}
	for learner, salaries := range learners {
		got := c.listAssessments(r, learner)
		for _, s := range salaries {
			w := c.assessments[s]
			if !slices.ContainsFunc(got, func(a *eligibilityv1.Assessment) bool { return sameAssessment(a, w.acked) }) {
				c.lost["assessment"]++
				t.Errorf("life %d: acknowledged assessment %s is missing after the restart", life, w.acked.GetName())
			}
		}
	}
	for _, aim := range recentC {
		w := c.courses[aim]
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		resp, err := r.courses.GetCourse(ctx, &coursesv1.GetCourseRequest{Name: w.acked.GetName()}, r.as("lep"))
		cancel()
		switch {
		case status.Code(err) == codes.NotFound:
			c.lost["course"]++
			t.Errorf("life %d: acknowledged course %s is missing after the restart", life, w.acked.GetName())
		case err != nil:
			t.Fatalf("life %d: GetCourse: %v", life, err)
		case !sameCourse(resp.GetCourse(), w.sent):
			t.Errorf("life %d: course %s is %v after the restart, acknowledged as %v", life, w.acked.GetName(), resp.GetCourse(), w.acked)
		}
	}
	n, _ := c.eventCounts(r)
	if n < c.baseEvents+int64(acked) {
		c.lost["event"] += int(c.baseEvents + int64(acked) - n)
		t.Errorf("life %d: %d events stored, fewer than the %d acknowledged", life, n-c.baseEvents, acked)
	}
	if n > c.baseEvents+int64(sent) {
		c.doubled["event"] += int(n - c.baseEvents - int64(sent))
		t.Errorf("life %d: %d events stored, more than the %d distinct events sent", life, n-c.baseEvents, sent)
	}
}

// verifyAll checks everything ever written, after the last restart: the fate of every
// unanswered write is settled, every acknowledged one is there as acknowledged, and
// nothing is there twice.
func (c *crashTest) verifyAll(r *running) {
	c.verifying = true
	c.verifyAssessments(r)
	c.verifyCourses(r)
	c.verifyEvents(r)
}

// verifyAssessments lists every learner's assessments: each acknowledged one is there
// once, as acknowledged; each unanswered one at most once; nothing else; and each has
// exactly one ASSESSMENT_CREATED audit record (the assessment and its audit record are
// written together, or not at all).
func (c *crashTest) verifyAssessments(r *running) {
	t := c.t
	c.listed = map[string][]*eligibilityv1.Assessment{}
	for _, learner := range c.learners {
		got := c.listAssessments(r, learner)
		c.listed[learner] = got
		seen := map[int64]int{}
		for _, a := range got {
			s := a.GetAnnualSalaryPence()
			w, ok := c.assessments[s]
			if !ok || w.learner != learner || !sameAnswers(a, w.sent) {
				t.Errorf("assessment %s (%v) was never written", a.GetName(), a)
				continue
			}
			if seen[s]++; seen[s] == 2 {
				c.doubled["assessment"]++
				t.Errorf("assessment write %d of learner %s is stored twice", s, learner)
			}
			if w.acked != nil && !sameAssessment(a, w.acked) {
				t.Errorf("assessment %v differs from the one acknowledged, %v", a, w.acked)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		exp, err := r.eligibility.ExportLearner(ctx, &eligibilityv1.ExportLearnerRequest{Name: "learners/" + learner}, r.as("admin"))
		cancel()
		if err != nil {
			t.Fatalf("ExportLearner: %v", err)
		}
		created := map[string]int{}
		for _, rec := range exp.GetAuditRecords() {
			if rec.GetAction() == "ASSESSMENT_CREATED" {
				created[lastSegment(rec.GetAssessment())]++
			}
		}
		for _, a := range got {
			id := lastSegment(a.GetName())
			if created[id] != 1 {
				c.partial["assessment"]++
				t.Errorf("assessment %s has %d ASSESSMENT_CREATED audit records, want 1", a.GetName(), created[id])
			}
			delete(created, id)
		}
		for id := range created {
			c.partial["assessment"]++
			t.Errorf("learner %s: an ASSESSMENT_CREATED audit record names assessment %s, which is not stored", learner, id)
		}
	}
	for s, w := range c.assessments {
		stored := slices.ContainsFunc(c.listed[w.learner], func(a *eligibilityv1.Assessment) bool { return a.GetAnnualSalaryPence() == s })
		switch {
		case w.acked == nil:
			c.assessmentsUnanswered++
			if stored {
				c.assessmentsUnansweredStored++
			}
		case !stored:
			c.lost["assessment"]++
			t.Errorf("acknowledged assessment %s is missing", w.acked.GetName())
		}
	}
}

// lastSegment is what follows the last '/' of a resource name (all of it when none).
func lastSegment(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// verifyCourses lists the area's courses: each course write is there at most once, each
// acknowledged one as acknowledged; an unanswered create sent again is ALREADY_EXISTS
// exactly when it is listed; then every create sent again is ALREADY_EXISTS, and the
// area holds the baseline plus one course per write.
func (c *crashTest) verifyCourses(r *running) {
	t := c.t
	byAim := map[string][]*coursesv1.Course{}
	for _, got := range c.listCourses(r) {
		if got.GetProviderUkprn() == crashProvider {
			byAim[got.GetLearningAimReference()] = append(byAim[got.GetLearningAimReference()], got)
		}
	}
	for aim, got := range byAim {
		w, ok := c.courses[aim]
		switch {
		case !ok:
			t.Errorf("course %s was never written", got[0].GetName())
		case len(got) > 1:
			c.doubled["course"] += len(got) - 1
			t.Errorf("course write %s is stored %d times", aim, len(got))
		case !sameCourse(got[0], w.sent):
			t.Errorf("course %v differs from the one sent, %v", got[0], w.sent)
		case w.acked != nil && got[0].GetName() != w.acked.GetName():
			t.Errorf("course %s is stored as %s", w.acked.GetName(), got[0].GetName())
		}
	}
	resend := func(aim string) error {
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		defer cancel()
		_, err := r.courses.CreateCourse(ctx, &coursesv1.CreateCourseRequest{Parent: crashParent, Course: c.courses[aim].sent}, r.as("lep"))
		return err
	}
	for _, aim := range c.courseOrder {
		w := c.courses[aim]
		if w.acked != nil || w.existed {
			if len(byAim[aim]) == 0 {
				c.lost["course"]++
				t.Errorf("course write %s (acknowledged as %q) is missing", aim, w.acked.GetName())
			}
			continue
		}
		c.coursesUnansweredAtEnd++
		err := resend(aim)
		switch {
		case err == nil && len(byAim[aim]) == 0:
		case status.Code(err) == codes.AlreadyExists && len(byAim[aim]) == 1:
			c.coursesUnansweredEndStored++
		default:
			t.Errorf("unanswered course write %s, listed %d times, sent again: %v", aim, len(byAim[aim]), err)
		}
	}
	for _, aim := range c.courseOrder {
		if err := resend(aim); status.Code(err) != codes.AlreadyExists {
			t.Errorf("course write %s sent again after it was settled: %v, want ALREADY_EXISTS", aim, err)
		}
	}
	if n, want := int64(len(c.listCourses(r))), c.baseCourses+int64(len(c.courses)); n != want {
		if n > want {
			c.doubled["course"] += int(n - want)
		}
		t.Errorf("the area holds %d courses, want %d (baseline %d + %d written)", n, want, c.baseCourses, len(c.courses))
	}
}

// verifyEvents counts the stored events, settles every unanswered event by sending it
// again (ACCEPTED: it was not stored; DUPLICATE: it was), checks the count was exactly the
// acknowledged events plus the unanswered ones that were stored, sends every event once
// more (each must be DUPLICATE), and checks that the count and the funnel equal the
// events and journeys written.
func (c *crashTest) verifyEvents(r *running) {
	t := c.t
	before, _ := c.eventCounts(r)
	var unanswered []string
	for _, id := range c.eventOrder {
		if !c.events[id].acked {
			unanswered = append(unanswered, id)
		}
	}
	acked := int64(len(c.ackedIDs))
	stored := c.sendAll(r, unanswered)
	c.eventsUnansweredAtEnd, c.eventsUnansweredAtEndStored = len(unanswered), stored
	if got, want := before-c.baseEvents, acked+int64(stored); got != want {
		if got > want {
			c.doubled["event"] += int(got - want)
		} else {
			c.lost["event"] += int(want - got)
		}
		t.Errorf("%d events were stored, want %d: %d acknowledged and %d unanswered that turned out stored", got, want, acked, stored)
	}
	if dup := c.sendAll(r, c.eventOrder); dup != len(c.eventOrder) {
		t.Errorf("%d of %d settled events came back DUPLICATE when sent again, want all", dup, len(c.eventOrder))
	}
	conversions := int64(0)
	for _, id := range c.eventOrder {
		if w := c.events[id]; w.conversion {
			conversions++
		}
		if w := c.events[id]; w.accepted > 1 {
			t.Errorf("event %s was ACCEPTED %d times", id, w.accepted)
		}
	}
	after, converted := c.eventCounts(r)
	if after-c.baseEvents != int64(len(c.eventOrder)) {
		if after-c.baseEvents > int64(len(c.eventOrder)) {
			c.doubled["event"] += int(after - c.baseEvents - int64(len(c.eventOrder)))
		}
		t.Errorf("%d events stored after every event was settled, want %d", after-c.baseEvents, len(c.eventOrder))
	}
	if converted != conversions {
		t.Errorf("the funnel counts %d journeys that checked eligibility, want %d", converted, conversions)
	}
}

// sendAll sends events in batches of 500 and returns how many came back DUPLICATE.
func (c *crashTest) sendAll(r *running, ids []string) (duplicates int) {
	for chunk := range slices.Chunk(ids, 500) {
		req := &outreachv1.RecordEventsRequest{Parent: crashParent}
		for _, id := range chunk {
			req.Events = append(req.Events, c.events[id].ev)
		}
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		resp, err := r.outreach.RecordEvents(ctx, req, r.as("frontend"))
		cancel()
		if err != nil {
			c.t.Fatalf("RecordEvents: %v", err)
		}
		duplicates += c.recordEventResults(req, resp, len(chunk), "RecordEvents (verification)")
	}
	return duplicates
}

// report logs the run's figures; verifying is how long the final verification took, or
// negative when the run stopped before it.
func (c *crashTest) report(kills int, took, verifying time.Duration) {
	var codesSeen []string
	for code, n := range c.rpcErrors {
		codesSeen = append(codesSeen, fmt.Sprintf("%v %d", code, n))
	}
	slices.Sort(codesSeen)
	c.t.Logf("%d kills during writes and %d during a start, in %v; seed %d; calls cut by the kills: %s",
		kills, c.startKills, took.Round(time.Millisecond), c.seed, strings.Join(codesSeen, ", "))
	c.t.Logf("acknowledged: %d of %d assessments, %d of %d events (in %d answered batches), %d of %d courses",
		c.assessmentsAcked, len(c.assessments), c.eventsAcked, len(c.events), c.batches, c.coursesAcked, len(c.courses))
	c.t.Logf("resent during the run: %d events of unanswered batches that were already stored (DUPLICATE), %d acknowledged events (all must be DUPLICATE), %d unanswered course creates that were already stored (ALREADY_EXISTS)",
		c.eventsStoredUnanswered, c.eventResendsAcked, c.coursesStoredUnanswered)
	if verifying >= 0 {
		c.t.Logf("final verification (%v): unanswered writes stored: %d of %d assessments, %d of %d events, %d of %d courses",
			verifying.Round(time.Millisecond), c.assessmentsUnansweredStored, c.assessmentsUnanswered,
			c.eventsUnansweredAtEndStored, c.eventsUnansweredAtEnd, c.coursesUnansweredEndStored, c.coursesUnansweredAtEnd)
	}
	c.t.Logf("losses: %d assessments, %d events, %d courses; duplicates: %d assessments, %d events, %d courses; stored in part: %d assessments (all must be 0)",
		c.lost["assessment"], c.lost["event"], c.lost["course"], c.doubled["assessment"], c.doubled["event"], c.doubled["course"], c.partial["assessment"])
}
