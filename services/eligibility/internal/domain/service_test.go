package domain_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"go.uber.org/zap"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one service over one store file; restart reopens both on the same file.
type env struct {
	t     testing.TB
	sync  bool // fsync on every commit, as in production
	path  string
	clock *clock
	keys  []domain.Key
	opts  func(*domain.Options)
	store *boltstore.Store
	svc   *domain.Service
}

var adviser = domain.Caller{Actor: "adviser-7", RPC: "/retrain.eligibility.v1.EligibilityService/Test"}

func newEnv(t testing.TB, opts func(*domain.Options)) *env {
	return newEnvSync(t, opts, false)
}

func newEnvSync(t testing.TB, opts func(*domain.Options), sync bool) *env {
	t.Helper()
	e := &env{
		t: t, sync: sync, path: filepath.Join(t.TempDir(), "eligibility.db"),
		clock: &clock{t: time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)},
		keys:  []domain.Key{domain.NewKey("k1")},
		opts:  opts,
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	if err := e.tryStart(nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) tryStart(configured *rules.Ruleset) error {
	e.t.Helper()
	var err error
	so := boltstore.Options{NoSync: true, MaxBatchDelay: time.Millisecond}
	if e.sync {
		so = boltstore.Options{} // production settings
	}
	e.store, err = boltstore.Open(e.path, so)
	if err != nil {
		return err
	}
	kr, err := domain.NewKeyring(e.keys)
	if err != nil {
		e.t.Fatal(err)
	}
	places, err := postcode.Builtin()
	if err != nil {
		e.t.Fatal(err)
	}
	steps, err := domain.BuiltinNextSteps()
	if err != nil {
		e.t.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		e.t.Fatal(err)
	}
	if configured != nil {
		rs = *configured
	}
	london, err := civil.London()
	if err != nil {
		e.t.Fatal(err)
	}
	o := domain.Options{
		Store: e.store, Keyring: kr, Places: places, NextSteps: steps,
		Configured: rs, ConfiguredSource: domain.SourceBuiltin,
		Now: e.clock.Now, Location: london, Log: zap.NewNop(),
	}
	if e.opts != nil {
		e.opts(&o)
	}
	e.svc, err = domain.New(context.Background(), o)
	if err != nil {
		_ = e.store.Close()
		e.store = nil
		return err
	}
	e.svc.Start()
	return nil
}

func (e *env) stop() {
	if e.svc != nil {
		e.svc.Close()
		e.svc = nil
	}
	if e.store != nil {
		_ = e.store.Close()
		e.store = nil
	}
}

func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

func salary(p int64) *int64 { return &p }

func raw(dob string, q rules.Level, pence *int64, asOf string) rules.RawRequest {
	return rules.RawRequest{DateOfBirth: dob, Qualification: int32(q), SalaryPence: pence, AsOf: asOf}
}

func TestRulesetInForce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	check := func(asOf string) rules.Result {
		t.Helper()
		r, err := e.svc.Check(ctx, domain.CheckRequest{Raw: raw("1980-01-01", rules.Level3, salary(3600000), asOf)})
		if err != nil {
			t.Fatalf("Check(as_of %s): %v", asOf, err)
		}
		return r.Result
	}
	raised, _ := rules.Builtin()
	raised.Version = "gb-2024-06-raise"
	raised.SalaryThresholdPence.Values = append(raised.SalaryThresholdPence.Values, rules.ParameterValue{Start: civil.Date{Year: 2024, Month: 7, Day: 1}, Value: 4000000, Reference: "test: raised"})
	if _, err := e.svc.PublishRuleset(ctx, adviser, raised, civil.Date{}); err != nil {
		t.Fatalf("PublishRuleset effective today: %v", err)
	}
	later := raised
	later.Version = "gb-2025"
	later.AgeFloor.Values = append(slices.Clone(later.AgeFloor.Values), rules.ParameterValue{Start: civil.Date{Year: 2025, Month: 1, Day: 1}, Value: 50, Reference: "test: raised age"})
	if _, err := e.svc.PublishRuleset(ctx, adviser, later, civil.Date{Year: 2025, Month: 1, Day: 1}); err != nil {
		t.Fatalf("PublishRuleset effective 2025-01-01: %v", err)
	}

	tests := []struct {
		asOf        string
		wantVersion string
		wantOutcome rules.Outcome
	}{
		{"2020-09-01", "gb-2020-07-01", rules.OutcomeNotEligible},
		{"2024-05-31", "gb-2020-07-01", rules.OutcomeNotEligible}, // the day before publication: unchanged
		{"2024-06-01", "gb-2024-06-raise", rules.OutcomeNotEligible},
		{"2024-07-01", "gb-2024-06-raise", rules.OutcomeEligible}, // the new value's own start date
		{"2024-12-31", "gb-2024-06-raise", rules.OutcomeEligible},
		{"2025-01-01", "gb-2025", rules.OutcomeNotEligible}, // age floor 50
	}
	for _, tt := range tests {
		t.Run(tt.asOf, func(t *testing.T) {
			r := check(tt.asOf)
			if r.RulesetVersion != tt.wantVersion || r.Outcome != tt.wantOutcome {
				t.Errorf("Check(as_of %s) = %s %v, want %s %v", tt.asOf, r.RulesetVersion, r.Outcome, tt.wantVersion, tt.wantOutcome)
			}
		})
	}

	t.Run("publishing errors", func(t *testing.T) {
		past := raised
		past.Version = "retro"
		_, err := e.svc.PublishRuleset(ctx, adviser, past, civil.Date{Year: 2024, Month: 5, Day: 31})
		if !errors.Is(err, rules.ErrInvalid) || !strings.Contains(err.Error(), "effective_from") {
			t.Errorf("PublishRuleset effective yesterday = %v, want an effective_from violation", err)
		}
		if _, err := e.svc.PublishRuleset(ctx, adviser, raised, civil.Date{}); !errors.Is(err, domain.ErrAlreadyExists) {
			t.Errorf("PublishRuleset of an existing version = %v, want ErrAlreadyExists", err)
		}
		bad := raised
		bad.Version = "Bad Version"
		bad.AgeFloor = rules.Parameter{}
		_, err = e.svc.PublishRuleset(ctx, adviser, bad, civil.Date{})
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || len(ve.Violations) != 2 {
			t.Errorf("PublishRuleset(bad version, no age floor) = %v, want 2 violations", err)
		}
	})

	t.Run("list pages", func(t *testing.T) {
		var versions []string
		token := ""
		for range 5 {
			page, next, err := e.svc.ListRulesets(2, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				versions = append(versions, r.Ruleset.Version)
			}
			if token = next; token == "" {
				break
			}
		}
		if want := []string{"gb-2020-07-01", "gb-2024-06-raise", "gb-2025"}; !slices.Equal(versions, want) {
			t.Errorf("listed %v, want %v", versions, want)
		}
		if _, _, err := e.svc.ListRulesets(2, "garbage"); !errors.Is(err, rules.ErrInvalid) {
			t.Errorf("ListRulesets(bad token) = %v, want invalid", err)
		}
		rec, err := e.svc.GetRuleset("rulesets/gb-2025")
		if err != nil || rec.EffectiveFrom != (civil.Date{Year: 2025, Month: 1, Day: 1}) || rec.PublishedBy != adviser.Actor || len(rec.Ruleset.AgeFloor.Values) != 2 {
			t.Errorf("GetRuleset(gb-2025) = %+v, %v", rec, err)
		}
		if _, err := e.svc.GetRuleset("rulesets/nope"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("GetRuleset(nope) = %v, want ErrNotFound", err)
		}
	})

	t.Run("after restart", func(t *testing.T) {
		e.restart()
		for _, tt := range tests {
			if r := check(tt.asOf); r.RulesetVersion != tt.wantVersion {
				t.Errorf("after restart Check(as_of %s) used %s, want %s", tt.asOf, r.RulesetVersion, tt.wantVersion)
			}
		}
	})

	t.Run("configured ruleset changed under the same version", func(t *testing.T) {
		e.stop()
		changed, _ := rules.Builtin()
		changed.SalaryThresholdPence.Values[0].Value = 1
		if err := e.tryStart(&changed); !errors.Is(err, domain.ErrRulesetConflict) {
			t.Errorf("start with changed built-in rules = %v, want ErrRulesetConflict", err)
		}
		e.stop()
		file := changed
		file.Version = "from-file"
		if err := e.tryStart(&file); err != nil {
			t.Fatal(err)
		}
		rec, err := e.svc.GetRuleset("rulesets/from-file")
		if err != nil || rec.EffectiveFrom != (civil.Date{Year: 2024, Month: 6, Day: 1}) {
			t.Errorf("a new configured version on a used store = %+v, %v; want effective from today", rec, err)
		}
		if r := check("2020-09-01"); r.RulesetVersion != "gb-2020-07-01" {
			t.Errorf("a new configured version changed the past: %s", r.RulesetVersion)
		}
	})
}

func TestCheckValidationAndNextSteps(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	_, err := e.svc.Check(ctx, domain.CheckRequest{Raw: raw("1990-02-30", 0, salary(-1), ""), Postcode: "NOPE", JourneyID: "bad journey"})
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Check(bad) = %v, want a ValidationError", err)
	}
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field)
	}
	if want := []string{"date_of_birth", "annual_salary_pence", "postcode", "journey_id"}; !slices.Equal(fields, want) {
		t.Errorf("violations %v, want %v", fields, want)
	}
	if strings.Contains(err.Error(), "NOPE") || strings.Contains(err.Error(), "bad journey") {
		t.Errorf("error %q echoes input", err)
	}

	tests := []struct {
		name      string
		req       rules.RawRequest
		postcode  string
		wantKinds []string
	}{
		{"not eligible in Liverpool", raw("1980-01-01", rules.Level7, nil, "2024-01-01"), "L1 8JQ", []string{"ADVISER_LINE", "LOCAL_OFFER"}},
		{"eligible, no postcode", raw("1980-01-01", rules.Level2, salary(100), "2024-01-01"), "", []string{"FIND_COURSE", "ADVISER_LINE"}},
		{"undetermined", raw("", 0, nil, "2024-01-01"), "", []string{"ANSWER_MORE", "ADVISER_LINE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.svc.Check(ctx, domain.CheckRequest{Raw: tt.req, Postcode: tt.postcode})
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, s := range r.NextSteps {
				kinds = append(kinds, s.Kind)
				if s.Kind == "ADVISER_LINE" && s.Phone == "" {
					t.Errorf("adviser line without a phone number: %+v", s)
				}
				if s.Kind == "LOCAL_OFFER" && !slices.Contains(r.Areas, s.Area) {
					t.Errorf("local offer for %s, not one of the areas %v", s.Area, r.Areas)
				}
			}
			if !slices.Equal(kinds, tt.wantKinds) {
				t.Errorf("next steps %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

func TestAssessments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	const learner = "NCS-778899"
	var names []string
	for i, q := range []rules.Level{rules.Level3, rules.Level6, rules.Level2} {
		a, err := e.svc.CreateAssessment(ctx, adviser, "learners/"+learner, raw("1979-11-23", q, salary(3400000+int64(i)), "2024-05-01"), "l18jq")
		if err != nil {
			t.Fatalf("CreateAssessment: %v", err)
		}
		if a.Input.Postcode != "L1 8JQ" || len(a.Input.Areas) == 0 || a.RecordedBy != adviser.Actor || a.RulesetVersion != "gb-2020-07-01" {
			t.Errorf("assessment %+v: want the normalised postcode, areas, adviser and ruleset", a)
		}
		names = append(names, domain.AssessmentName(a.Learner, a.ID))
		e.clock.Add(time.Second)
	}

	t.Run("create errors", func(t *testing.T) {
		_, err := e.svc.CreateAssessment(ctx, adviser, "learners/has space", raw("2030-01-01", 0, nil, "2024-05-01"), "")
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || len(ve.Violations) != 2 || ve.Violations[0].Field != "parent" || ve.Violations[1].Field != "assessment.date_of_birth" {
			t.Errorf("CreateAssessment(bad parent, born after as_of) = %v, want parent and assessment.date_of_birth violations", err)
		}
	})

	t.Run("get", func(t *testing.T) {
		a, err := e.svc.GetAssessment(ctx, adviser, names[1])
		if err != nil {
			t.Fatal(err)
		}
		if a.Result.Outcome != rules.OutcomeNotEligible || a.Input.DateOfBirth.String() != "1979-11-23" || *a.Input.SalaryPence != 3400001 {
			t.Errorf("GetAssessment = %+v", a)
		}
		for _, name := range []string{"learners/" + learner + "/assessments/00000000000000000000000000000000", "learners/other/assessments/" + names[0][len(names[0])-32:]} {
			if _, err := e.svc.GetAssessment(ctx, adviser, name); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("GetAssessment(%s) = %v, want ErrNotFound", name, err)
			}
		}
		if _, err := e.svc.GetAssessment(ctx, adviser, "learners/x/assessments/short"); !errors.Is(err, rules.ErrInvalid) {
			t.Errorf("GetAssessment(malformed name) = %v, want invalid", err)
		}
	})

	t.Run("list pages", func(t *testing.T) {
		var got []string
		token := ""
		for range 5 {
			page, next, err := e.svc.ListAssessments(ctx, adviser, "learners/"+learner, 2, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				got = append(got, domain.AssessmentName(a.Learner, a.ID))
			}
			if token = next; token == "" {
				break
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("listed %v, want %v (oldest first)", got, names)
		}
		_, tok, _ := e.svc.ListAssessments(ctx, adviser, "learners/"+learner, 1, "")
		if _, _, err := e.svc.ListAssessments(ctx, adviser, "learners/someone-else", 1, tok); !errors.Is(err, rules.ErrInvalid) {
			t.Errorf("a page token used on another learner's list = %v, want invalid", err)
		}
	})

	t.Run("sealed at rest", func(t *testing.T) {
		st, err := e.store.GetAssessment(ctx, learner, names[0][len(names[0])-32:], domain.AuditRecord{Time: e.clock.Now(), Actor: "test", Action: domain.ActionAssessmentRead, Learner: learner, RPC: "/test/direct"})
		if err != nil {
			t.Fatal(err)
		}
		if st.KeyID != "k1" || bytes.Contains(st.Sealed, []byte("1979-11-23")) || bytes.Contains(st.Sealed, []byte("3400000")) || bytes.Contains(st.Sealed, []byte("L1 8JQ")) {
			t.Errorf("stored assessment is not sealed: key %q", st.KeyID)
		}
	})

	t.Run("replay", func(t *testing.T) {
		lower, _ := rules.Builtin()
		lower.Version = "lower-threshold"
		lower.SalaryThresholdPence.Values = append(lower.SalaryThresholdPence.Values, rules.ParameterValue{Start: civil.Date{Year: 2024, Month: 6, Day: 1}, Value: 3000000, Reference: "test: lowered"})
		if _, err := e.svc.PublishRuleset(ctx, adviser, lower, civil.Date{}); err != nil {
			t.Fatal(err)
		}
		for i, name := range names {
			r, err := e.svc.ReplayAssessment(ctx, adviser, name)
			if err != nil {
				t.Fatal(err)
			}
			if !r.RecordedMatches || r.Recorded.RulesetVersion != "gb-2020-07-01" || r.Recorded.Outcome != r.Assessment.Result.Outcome {
				t.Errorf("replay %d under its own ruleset = %v %s matches %v, want the recorded answer", i, r.Recorded.Outcome, r.Recorded.RulesetVersion, r.RecordedMatches)
			}
			if r.Current.RulesetVersion != "lower-threshold" || r.Current.Outcome != rules.OutcomeNotEligible {
				t.Errorf("replay %d under the current ruleset = %v %s, want NOT_ELIGIBLE under lower-threshold", i, r.Current.Outcome, r.Current.RulesetVersion)
			}
			if !slices.Contains(r.Changes, "salary_threshold_pence 3500000 is now 3000000") {
				t.Errorf("replay %d changes %v, want the threshold change", i, r.Changes)
			}
			if i == 0 && !slices.Contains(r.Changes, "outcome ELIGIBLE is now NOT_ELIGIBLE") {
				t.Errorf("replay 0 changes %v, want the outcome change", r.Changes)
			}
		}
	})

	t.Run("audit and export", func(t *testing.T) {
		x, err := e.svc.ExportLearner(ctx, adviser, "learners/"+learner)
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Assessments) != 3 || x.Assessments[0].Input.DateOfBirth.String() != "1979-11-23" {
			t.Errorf("export holds %d assessments", len(x.Assessments))
		}
		counts := map[string]int{}
		for _, r := range x.Audit {
			counts[r.Action]++
			if r.Actor == "" || r.RPC == "" || r.Learner != learner || r.Time.IsZero() {
				t.Errorf("audit record %+v lacks who, which RPC, which learner or when", r)
			}
		}
		// Reads: one GetAssessment and the direct store read of "sealed at rest".
		want := map[string]int{domain.ActionAssessmentCreated: 3, domain.ActionAssessmentRead: 2, domain.ActionAssessmentsListed: 3, domain.ActionAssessmentReplayed: 3, domain.ActionLearnerExported: 1}
		for action, n := range want {
			if counts[action] != n {
				t.Errorf("audit has %d %s, want %d (all: %v)", counts[action], action, n, counts)
			}
		}
	})
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	old, err := e.svc.CreateAssessment(ctx, adviser, "learners/rot", raw("1980-01-01", rules.Level1, salary(1), "2024-01-01"), "")
	if err != nil {
		t.Fatal(err)
	}
	oldName := domain.AssessmentName(old.Learner, old.ID)
	k1 := e.keys[0]
	e.keys = []domain.Key{domain.NewKey("k2"), k1}
	e.restart()
	if a, err := e.svc.GetAssessment(ctx, adviser, oldName); err != nil || a.Input.DateOfBirth.String() != "1980-01-01" {
		t.Fatalf("after rotation the old record reads %+v, %v", a, err)
	}
	fresh, err := e.svc.CreateAssessment(ctx, adviser, "learners/rot", raw("1981-01-01", rules.Level1, nil, "2024-01-01"), "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.store.GetAssessment(ctx, "rot", fresh.ID, domain.AuditRecord{Time: e.clock.Now(), Actor: "t", Action: domain.ActionAssessmentRead, Learner: "rot"})
	if err != nil || st.KeyID != "k2" {
		t.Errorf("new record sealed with %q, %v; want the active key k2", st.KeyID, err)
	}
	e.keys = e.keys[:1]
	e.restart()
	if _, err := e.svc.GetAssessment(ctx, adviser, oldName); !errors.Is(err, domain.ErrUndecryptable) {
		t.Errorf("reading a record whose key was dropped = %v, want ErrUndecryptable", err)
	}
}

func TestParseKeys(t *testing.T) {
	good := domain.FormatKey(domain.NewKey("a"))
	tests := []struct {
		spec    string
		wantIDs []string
	}{
		{good, []string{"a"}},
		{domain.FormatKey(domain.NewKey("new")) + ", " + good, []string{"new", "a"}},
		{"a=c2hvcnQ=", nil},
		{"bad id=" + strings.SplitN(good, "=", 2)[1], nil},
		{good + "," + good, nil},
		{"", nil},
	}
	for _, tt := range tests {
		keys, err := domain.ParseKeys(tt.spec)
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		if !slices.Equal(ids, tt.wantIDs) || (err != nil) != (tt.wantIDs == nil) {
			t.Errorf("ParseKeys(#%d) = %v, %v; want %v", len(tt.spec), ids, err, tt.wantIDs)
		}
		if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("ParseKeys error %q echoes key material", err)
		}
	}
}

func TestRetentionSweep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(o *domain.Options) {
		o.Retention = 30 * 24 * time.Hour
		o.SweepInterval = 5 * time.Millisecond
	})
	record := func() string {
		t.Helper()
		a, err := e.svc.CreateAssessment(ctx, adviser, "learners/ret", raw("1980-01-01", rules.Level1, nil, ""), "")
		if err != nil {
			t.Fatal(err)
		}
		return domain.AssessmentName(a.Learner, a.ID)
	}
	exists := func(name string) bool {
		_, err := e.svc.GetAssessment(ctx, adviser, name)
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	day := 24 * time.Hour
	first := record()
	e.clock.Add(20 * day)
	second := record()

	e.clock.Add(10*day - time.Second) // first is 30 days less a second old
	if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep a second before expiry = %d, %v, want 0", n, err)
	}
	e.clock.Add(2 * time.Second)
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep just after expiry = %d, %v, want 1", n, err)
	}
	if exists(first) || !exists(second) {
		t.Errorf("after the sweep first exists %v, second %v; want false, true", exists(first), exists(second))
	}

	// The background sweep picks up the next expiry by itself.
	e.clock.Add(21 * day)
	deadline := time.Now().Add(10 * time.Second)
	for exists(second) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if exists(second) {
		t.Error("the background sweep did not delete the expired assessment")
	}
	// Close stops the loop: a later expiry is left alone.
	e.svc.Close()
	third := record()
	e.clock.Add(31 * day)
	time.Sleep(30 * time.Millisecond)
	if !exists(third) {
		t.Error("an assessment was swept after Close")
	}
}

// TestEraseLeavesNoPersonalData erases a learner and scans the bbolt file's raw bytes
// for their reference, date of birth and postcode.
func TestEraseLeavesNoPersonalData(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	const learner = "Learner-Erase-42"
	for i := range 20 {
		if _, err := e.svc.CreateAssessment(ctx, adviser, "learners/"+learner, raw("1979-11-23", rules.Level3, salary(2222222), "2024-05-01"), "B1 1AA"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateAssessment(ctx, adviser, "learners/keep-"+string(rune('a'+i)), raw("1988-08-08", rules.Level3, nil, "2024-05-01"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.ExportLearner(ctx, adviser, "learners/"+learner); err != nil {
		t.Fatal(err)
	}
	secrets := []string{learner, "1979-11-23", "2222222", "B1 1AA"}
	scan := func() []string {
		t.Helper()
		raw, err := os.ReadFile(e.path)
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				found = append(found, s)
			}
		}
		return found
	}
	if found := scan(); !slices.Equal(found, []string{learner}) {
		t.Fatalf("before erasure the file holds %v in clear, want only the learner reference (the rest sealed)", found)
	}
	n, err := e.svc.EraseLearner(ctx, domain.Caller{Actor: "dpo", RPC: "/x/DeleteLearner"}, "learners/"+learner)
	if err != nil || n != 20 {
		t.Fatalf("EraseLearner = %d, %v, want 20", n, err)
	}
	if found := scan(); len(found) > 0 {
		t.Errorf("after erasure the file holds %v", found)
	}
	x, err := e.svc.ExportLearner(ctx, adviser, "learners/"+learner)
	if err != nil || len(x.Assessments) != 0 || len(x.Audit) != 1 {
		t.Errorf("export after erasure = %d assessments, %d audit records, %v; want only the new export's record", len(x.Assessments), len(x.Audit), err)
	}
	recs, _, err := e.svc.ListAudit(ctx, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	erasures := 0
	for _, r := range recs {
		if r.Action == domain.ActionLearnerErased {
			erasures++
			if r.Learner != "" || r.Actor != "dpo" {
				t.Errorf("erasure record %+v, want the actor and no learner", r)
			}
		}
	}
	if erasures != 1 {
		t.Errorf("%d erasure records, want 1", erasures)
	}
}

func TestAuditPaging(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for range 5 {
		if _, err := e.svc.CreateAssessment(ctx, adviser, "learners/p", raw("", 0, nil, ""), ""); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []uint64
	token := ""
	for range 10 {
		page, next, err := e.svc.ListAudit(ctx, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			seqs = append(seqs, r.Sequence)
		}
		if token = next; token == "" {
			break
		}
	}
	// 1 is the configured ruleset's publication.
	if want := []uint64{1, 2, 3, 4, 5, 6}; !slices.Equal(seqs, want) {
		t.Errorf("audit sequences %v, want %v", seqs, want)
	}
	if _, _, err := e.svc.ListAudit(ctx, -1, ""); !errors.Is(err, rules.ErrInvalid) {
		t.Errorf("ListAudit(page_size -1) = %v, want invalid", err)
	}
}

// TestRulesetRefresh: two services over one store stand for two replicas. A version
// published through one is in force through the other once it refreshes, and only then;
// a version published through both is stored once, and both list the same order.
func TestRulesetRefresh(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		refresh time.Duration
	}{{"refreshing", 5 * time.Millisecond}, {"not refreshing", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			kr, err := domain.NewKeyring(e.keys)
			if err != nil {
				t.Fatal(err)
			}
			places, _ := postcode.Builtin()
			steps, _ := domain.BuiltinNextSteps()
			builtin, _ := rules.Builtin()
			london, _ := civil.London()
			other, err := domain.New(ctx, domain.Options{
				Store: e.store, Keyring: kr, Places: places, NextSteps: steps,
				Configured: builtin, ConfiguredSource: domain.SourceBuiltin,
				Now: e.clock.Now, Location: london, Log: zap.NewNop(), RulesetRefresh: tt.refresh,
			})
			if err != nil {
				t.Fatal(err)
			}
			other.Start()
			defer other.Close()

			raised := builtin
			raised.Version = "gb-refresh"
			if _, err := e.svc.PublishRuleset(ctx, adviser, raised, civil.Date{}); err != nil {
				t.Fatal(err)
			}
			if tt.refresh == 0 {
				time.Sleep(20 * time.Millisecond)
				if _, err := other.GetRuleset("rulesets/gb-refresh"); !errors.Is(err, domain.ErrNotFound) {
					t.Fatalf("without refresh the other service found the version (%v); the refresh proves nothing", err)
				}
				// Its own publication reads the store and catches up, in the store's order.
				raised.Version = "gb-refresh-2"
				if _, err := other.PublishRuleset(ctx, adviser, raised, civil.Date{}); err != nil {
					t.Fatal(err)
				}
			} else {
				waitFor(t, "the other service to load the version", func() bool {
					cur, ok := other.CurrentRuleset()
					return ok && cur.Version == "gb-refresh"
				})
			}
			if _, err := other.PublishRuleset(ctx, adviser, builtin, civil.Date{}); !errors.Is(err, domain.ErrAlreadyExists) {
				t.Errorf("publishing a stored version through the other service = %v, want ErrAlreadyExists", err)
			}
			stored, err := e.store.Rulesets(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			list, _, err := other.ListRulesets(100, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(stored) {
				t.Fatalf("the other service lists %d versions, the store holds %d", len(list), len(stored))
			}
			for i := range list {
				if list[i].Ruleset.Version != stored[i].Ruleset.Version {
					t.Errorf("version %d: the other service lists %s, the store %s", i, list[i].Ruleset.Version, stored[i].Ruleset.Version)
				}
			}
		})
	}
}
