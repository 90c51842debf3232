package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"go.uber.org/zap"
)

// Field names of violations that are not fields of rules.RawRequest.
const (
	fieldPostcode  = "postcode"
	fieldJourneyID = "journey_id"
)

// Places resolves a postcode to its areas; *postcode.Directory implements it.
type Places interface {
	Lookup(pc postcode.Postcode) (postcode.Place, bool)
}

// Options are what a Service is built from.
type Options struct {
	// Store holds everything durable.
	Store Store
	// Keyring seals the personal inputs of assessments.
	Keyring *Keyring
	// Places resolves postcodes.
	Places Places
	// NextSteps is the next-steps data.
	NextSteps NextSteps
	// Configured is the ruleset given by configuration (built-in or file) and its source.
	Configured rules.Ruleset
	// ConfiguredSource is SourceBuiltin or SourceFile.
	ConfiguredSource string
	// Now is the clock.
	Now func() time.Time
	// Location is Europe/London, in which "today" is read.
	Location *time.Location
	// Retention is how long assessments are kept; 0 keeps them for ever.
	Retention time.Duration
	// SweepInterval is how often the retention sweep runs (when Retention > 0).
	SweepInterval time.Duration
	// Sink receives conversions; nil disables the outbox and journey ids are ignored.
	Sink ConversionSink
	// Relay tunes the outbox relay; zero values take defaults.
	Relay RelayOptions
	// RulesetRefresh, when positive, is how often the service reads rulesets published
	// by other processes sharing the store, so that they take effect here within that
	// time. Zero suits a store no other process writes: this process's own publications
	// are always read back at once.
	RulesetRefresh time.Duration
	// Log is the service's logger.
	Log *zap.Logger
}

// Service is the eligibility application: every use case the API exposes.
type Service struct {
	store     Store
	keys      *Keyring
	places    Places
	steps     NextSteps
	now       func() time.Time
	loc       *time.Location
	retention time.Duration
	interval  time.Duration
	sink      ConversionSink
	relayOpts RelayOptions
	refresh   time.Duration
	log       *zap.Logger
	rulesets  registry

	// publishMu serialises publications and registry refreshes, so the registry follows
	// the store's order.
	publishMu sync.Mutex
	// wake nudges the relay when a conversion is appended.
	wake chan struct{}

	stop    context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// New builds the service: it loads the stored rulesets and stores the configured one if it
// is new. It returns ErrRulesetConflict when the configured version is stored with other
// content.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil || o.Keyring == nil || o.Places == nil || o.Now == nil || o.Location == nil || o.Log == nil {
		return nil, errors.New("domain: Store, Keyring, Places, Now, Location and Log are required")
	}
	if o.Retention < 0 {
		return nil, errors.New("domain: retention must not be negative")
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Hour
	}
	if o.RulesetRefresh < 0 {
		return nil, errors.New("domain: ruleset refresh must not be negative")
	}
	clock := o.Now
	s := &Service{
		store: o.Store, keys: o.Keyring, places: o.Places, steps: o.NextSteps,
		// Times are kept to the microsecond, the precision of PostgreSQL's timestamps, so
		// a time a write returns is the time every store reads back.
		now: func() time.Time { return clock().Truncate(time.Microsecond) },
		loc: o.Location, retention: o.Retention, interval: o.SweepInterval,
		sink: o.Sink, relayOpts: o.Relay.withDefaults(), refresh: o.RulesetRefresh, log: o.Log,
		wake: make(chan struct{}, 1),
	}
	if err := s.loadRulesets(ctx, o.Configured, o.ConfiguredSource); err != nil {
		return nil, err
	}
	return s, nil
}

// loadRulesets reads the stored versions and adds the configured one when it is not
// stored yet: from the beginning on an empty store, else from today. When another process
// sharing the store adds the same version first, its copy is checked like any stored one.
func (s *Service) loadRulesets(ctx context.Context, configured rules.Ruleset, source string) error {
	if err := configured.Validate(); err != nil {
		return fmt.Errorf("configured ruleset: %w", err)
	}
	if !ValidVersion(configured.Version) {
		return fmt.Errorf("configured ruleset: version %q must be lower-case letters, digits, '.' or '-'", configured.Version)
	}
	err := s.loadRulesetsOnce(ctx, configured, source)
	if errors.Is(err, ErrAlreadyExists) {
		// Lost the race to store it: read it back and compare.
		err = s.loadRulesetsOnce(ctx, configured, source)
	}
	return err
}

func (s *Service) loadRulesetsOnce(ctx context.Context, configured rules.Ruleset, source string) error {
	all, err := s.store.Rulesets(ctx, 0)
	if err != nil {
		return fmt.Errorf("load rulesets: %w", err)
	}
	for _, rec := range all {
		if rec.Ruleset.Version == configured.Version {
			if !sameRules(rec.Ruleset, configured) {
				return fmt.Errorf("configured ruleset %s: %w", configured.Version, ErrRulesetConflict)
			}
			s.rulesets.set(all)
			return nil
		}
	}
	now := s.now()
	rec := RulesetRecord{Ruleset: configured, PublishedAt: now.UTC(), PublishedBy: "config", Source: source}
	if len(all) > 0 {
		rec.EffectiveFrom = civil.Of(now, s.loc)
	}
	rec.Ruleset.PublishedAt = rec.PublishedAt
	audit := AuditRecord{Time: now.UTC(), Actor: "config", Action: ActionRulesetPublished, Detail: configured.Version}
	if err := s.store.CreateRuleset(ctx, rec, audit); err != nil {
		return fmt.Errorf("store configured ruleset: %w", err)
	}
	s.rulesets.set(all)
	// Read back, with any version another process stored meanwhile, in the store's order.
	if err := s.refreshLocked(ctx); err != nil {
		return fmt.Errorf("load rulesets: %w", err)
	}
	from := "the beginning"
	if !rec.EffectiveFrom.IsZero() {
		from = rec.EffectiveFrom.String()
	}
	s.log.Info("ruleset stored", zap.String("ruleset_version", configured.Version), zap.String("source", source), zap.String("effective_from", from))
	return nil
}

// Start runs the background work: the retention sweep (when a retention is set) and the
// outbox relay (when a sink is set). Close stops it.
func (s *Service) Start() {
	if s.started {
		return
	}
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	if s.retention > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sweepLoop(ctx)
		}()
	}
	if s.sink != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.relay(ctx)
		}()
	}
	if s.refresh > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.refreshLoop(ctx)
		}()
	}
}

// refreshRulesets reads the versions published since the registry was last extended,
// by this process or another sharing the store.
func (s *Service) refreshRulesets(ctx context.Context) error {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	return s.refreshLocked(ctx)
}

// refreshLocked is refreshRulesets with publishMu held.
func (s *Service) refreshLocked(ctx context.Context) error {
	recs, err := s.store.Rulesets(ctx, s.rulesets.count())
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	s.rulesets.extend(recs)
	for _, rec := range recs {
		s.log.Info("ruleset loaded", zap.String("ruleset_version", rec.Ruleset.Version), zap.String("source", rec.Source))
	}
	return nil
}

// refreshLoop keeps the registry in step with publications by other processes. It logs
// when the store becomes unreadable and when it recovers, not every failed attempt.
func (s *Service) refreshLoop(ctx context.Context) {
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.refreshRulesets(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			s.log.Warn("reading rulesets published by other replicas failed; retrying", zap.Error(err))
		case err == nil && failing:
			failing = false
			s.log.Info("reading rulesets published by other replicas recovered")
		}
	}
}

// Close stops the background work and waits for it. It does not close the store.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

// today is the current date in Europe/London.
func (s *Service) today() civil.Date { return civil.Of(s.now(), s.loc) }

// CheckRequest is one eligibility check as it arrives.
type CheckRequest struct {
	// Raw holds the answers.
	Raw rules.RawRequest
	// Postcode is the learner's postcode, or empty.
	Postcode string
	// JourneyID, when set and the outbox is enabled, makes the check append a conversion.
	JourneyID string
}

// CheckResult is the answer of a check, with what the person can do next.
type CheckResult struct {
	// Result is the rules' answer.
	Result rules.Result
	// Areas are the ONS codes the postcode resolved to.
	Areas []string
	// NextSteps for the outcome and area.
	NextSteps []NextStep
}

// parsedCheck is a validated check.
type parsedCheck struct {
	in       rules.Input
	postcode string // normalised, or empty
}

// parse validates a check's answers and resolves the postcode. prefix is put before each
// violation's field name ("assessment." for an assessment).
func (s *Service) parse(raw rules.RawRequest, pcText, prefix string) (parsedCheck, []FieldViolation) {
	in, err := rules.ParseRequest(raw, s.today())
	var vs []FieldViolation
	if err != nil {
		var ve *rules.ValidationError
		if errors.As(err, &ve) {
			vs = append(vs, ve.Violations...)
		} else {
			vs = append(vs, FieldViolation{Field: "request", Description: "is not valid"})
		}
	}
	var p parsedCheck
	if pcText != "" {
		pc, perr := postcode.Parse(pcText)
		if perr != nil {
			vs = append(vs, FieldViolation{Field: fieldPostcode, Description: "must be a UK postcode, for example SW1A 1AA"})
		} else {
			p.postcode = string(pc)
			if place, ok := s.places.Lookup(pc); ok {
				in.Areas = place.Areas
			}
		}
	}
	for i := range vs {
		vs[i].Field = prefix + vs[i].Field
	}
	p.in = in
	return p, vs
}

// evaluate applies the ruleset in force on the input's date.
func (s *Service) evaluate(in rules.Input) (rules.Result, error) {
	rs, ok := s.rulesets.inForce(in.AsOf)
	if !ok {
		return rules.Result{}, errors.New("no ruleset stored")
	}
	return rules.Evaluate(*rs, in), nil
}

// Check answers one eligibility check. Nothing personal is stored. When the request has a
// journey id and the outbox is enabled, an "eligibility checked" conversion is durably in
// the outbox before Check returns.
func (s *Service) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	p, vs := s.parse(req.Raw, req.Postcode, "")
	if req.JourneyID != "" && !ValidRef(req.JourneyID) {
		vs = append(vs, FieldViolation{Field: fieldJourneyID, Description: "must be 1 to 64 letters, digits, '.', '_' or '-'"})
	}
	if len(vs) > 0 {
		return CheckResult{}, &ValidationError{Violations: vs}
	}
	res, err := s.evaluate(p.in)
	if err != nil {
		return CheckResult{}, err
	}
	out := CheckResult{Result: res, Areas: p.in.Areas, NextSteps: s.steps.For(res.Outcome, p.in.Areas)}
	if req.JourneyID != "" && s.sink != nil {
		c := Conversion{
			EventID: newEventID(), JourneyID: req.JourneyID, Outcome: res.Outcome,
			Areas: p.in.Areas, RulesetVersion: res.RulesetVersion, Time: s.now().UTC(),
		}
		if err := s.store.AppendConversion(ctx, c); err != nil {
			return CheckResult{}, fmt.Errorf("append conversion: %w", err)
		}
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return out, nil
}

// ScreenRow answers one row of a cohort screening: a check that is never stored and never
// appends a conversion. Violations name the row's fields.
func (s *Service) ScreenRow(req CheckRequest) (CheckResult, error) {
	p, vs := s.parse(req.Raw, req.Postcode, "")
	if len(vs) > 0 {
		return CheckResult{}, &ValidationError{Violations: vs}
	}
	res, err := s.evaluate(p.in)
	if err != nil {
		return CheckResult{}, err
	}
	return CheckResult{Result: res, Areas: p.in.Areas, NextSteps: s.steps.For(res.Outcome, p.in.Areas)}, nil
}

// Rulesets

// ListRulesets returns a page of the stored versions in publication order.
func (s *Service) ListRulesets(size int32, token string) ([]RulesetRecord, string, error) {
	n, err := pageSize(size)
	if err != nil {
		return nil, "", err
	}
	pos, err := decodeToken("rulesets", token)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if pos != "" {
		if start, err = strconv.Atoi(pos); err != nil || start < 0 {
			return nil, "", invalid("page_token", "is not a page token of this list")
		}
	}
	all := s.rulesets.list()
	if start > len(all) {
		start = len(all)
	}
	end := min(start+n, len(all))
	next := ""
	if end < len(all) {
		next = encodeToken("rulesets", strconv.Itoa(end))
	}
	return all[start:end:end], next, nil
}

// GetRuleset returns one stored version. ErrNotFound when there is none.
func (s *Service) GetRuleset(name string) (RulesetRecord, error) {
	v, err := ParseRulesetName("name", name)
	if err != nil {
		return RulesetRecord{}, err
	}
	rec, ok := s.rulesets.get(v)
	if !ok {
		return RulesetRecord{}, fmt.Errorf("ruleset %s: %w", v, ErrNotFound)
	}
	return rec, nil
}

// CurrentRuleset returns the version in force today.
func (s *Service) CurrentRuleset() (rules.Ruleset, bool) {
	rs, ok := s.rulesets.inForce(s.today())
	if !ok {
		return rules.Ruleset{}, false
	}
	return *rs, true
}

// PublishRuleset validates and stores a new version. effectiveFrom must not be before
// today (zero means today). ErrAlreadyExists when the version is stored.
func (s *Service) PublishRuleset(ctx context.Context, c Caller, rs rules.Ruleset, effectiveFrom civil.Date) (RulesetRecord, error) {
	var vs []FieldViolation
	if !ValidVersion(rs.Version) {
		vs = append(vs, FieldViolation{Field: "ruleset.version", Description: "must be 1 to 63 lower-case letters, digits, '.' or '-', starting with a letter or digit"})
	}
	if err := rs.Validate(); err != nil {
		vs = append(vs, FieldViolation{Field: "ruleset", Description: err.Error()})
	}
	now := s.now()
	today := civil.Of(now, s.loc)
	if effectiveFrom.IsZero() {
		effectiveFrom = today
	} else if effectiveFrom.Before(today) {
		vs = append(vs, FieldViolation{Field: "ruleset.effective_from", Description: "must not be before today: a published ruleset never changes the answer for a day already past"})
	}
	if len(vs) > 0 {
		return RulesetRecord{}, &ValidationError{Violations: vs}
	}
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	if _, ok := s.rulesets.get(rs.Version); ok {
		return RulesetRecord{}, fmt.Errorf("ruleset %s: %w", rs.Version, ErrAlreadyExists)
	}
	rs.PublishedAt = now.UTC()
	rec := RulesetRecord{Ruleset: rs, EffectiveFrom: effectiveFrom, PublishedAt: now.UTC(), PublishedBy: c.Actor, Source: SourceAPI}
	audit := AuditRecord{Time: now.UTC(), Actor: c.Actor, Action: ActionRulesetPublished, RPC: c.RPC, Detail: rs.Version}
	if err := s.store.CreateRuleset(ctx, rec, audit); err != nil {
		return RulesetRecord{}, fmt.Errorf("publish ruleset %s: %w", rs.Version, err)
	}
	// Read it back in the store's order (after any version another process published
	// first). Should that read fail, the version is stored all the same and the next
	// refresh loads it.
	if err := s.refreshLocked(ctx); err != nil {
		s.log.Warn("published ruleset not yet loaded; the next refresh loads it", zap.String("ruleset_version", rs.Version), zap.Error(err))
	}
	return rec, nil
}

// Assessments

// AssessmentInput is what an assessment was decided from: everything needed to replay it.
type AssessmentInput struct {
	// DateOfBirth, or nil when not given.
	DateOfBirth *civil.Date `json:"date_of_birth,omitempty"`
	// Qualification is the highest qualification.
	Qualification rules.Level `json:"qualification"`
	// SalaryPence, or nil when not given.
	SalaryPence *int64 `json:"salary_pence,omitempty"`
	// Postcode as normalised, or empty.
	Postcode string `json:"postcode,omitempty"`
	// Areas the postcode resolved to when the assessment was recorded. Replays use these,
	// not a fresh lookup, so a changed postcode directory cannot change an old answer.
	Areas []string `json:"areas,omitempty"`
	// AsOf is the day the rules were evaluated on.
	AsOf civil.Date `json:"as_of"`
}

func (in AssessmentInput) rulesInput(asOf civil.Date) rules.Input {
	return rules.Input{DateOfBirth: in.DateOfBirth, Qualification: in.Qualification, SalaryPence: in.SalaryPence, Areas: in.Areas, AsOf: asOf}
}

// Assessment is an adviser's recorded assessment of a learner, opened.
type Assessment struct {
	// Learner is the adviser's reference for the learner.
	Learner string
	// ID is the assessment id.
	ID string
	// CreateTime is when it was recorded.
	CreateTime time.Time
	// RecordedBy is who recorded it.
	RecordedBy string
	// RulesetVersion decided it.
	RulesetVersion string
	// Input is what it was decided from.
	Input AssessmentInput
	// Result is the answer as recorded.
	Result rules.Result
	// NextSteps for the outcome and area, from the current next-steps data.
	NextSteps []NextStep
}

// sealedPayload is the plaintext of StoredAssessment.Sealed.
type sealedPayload struct {
	Input  AssessmentInput `json:"input"`
	Result rules.Result    `json:"result"`
}

// CreateAssessment evaluates the learner's answers under the ruleset in force on as_of and
// records the assessment with an audit record, durably, before returning.
func (s *Service) CreateAssessment(ctx context.Context, c Caller, parent string, raw rules.RawRequest, pcText string) (Assessment, error) {
	learner, err := ParseLearnerName("parent", parent)
	var vs []FieldViolation
	if ve := (*ValidationError)(nil); errors.As(err, &ve) {
		vs = append(vs, ve.Violations...)
	}
	p, pvs := s.parse(raw, pcText, "assessment.")
	vs = append(vs, pvs...)
	if len(vs) > 0 {
		return Assessment{}, &ValidationError{Violations: vs}
	}
	res, err := s.evaluate(p.in)
	if err != nil {
		return Assessment{}, err
	}
	now := s.now().UTC()
	a := Assessment{
		Learner: learner, ID: newAssessmentID(now), CreateTime: now, RecordedBy: c.Actor,
		RulesetVersion: res.RulesetVersion,
		Input: AssessmentInput{
			DateOfBirth: p.in.DateOfBirth, Qualification: p.in.Qualification, SalaryPence: p.in.SalaryPence,
			Postcode: p.postcode, Areas: p.in.Areas, AsOf: p.in.AsOf,
		},
		Result: res,
	}
	stored, err := s.seal(a)
	if err != nil {
		return Assessment{}, err
	}
	audit := AuditRecord{Time: now, Actor: c.Actor, Action: ActionAssessmentCreated, Learner: learner, Assessment: a.ID, RPC: c.RPC}
	if err := s.store.CreateAssessment(ctx, stored, audit); err != nil {
		return Assessment{}, fmt.Errorf("record assessment: %w", err)
	}
	a.NextSteps = s.steps.For(res.Outcome, a.Input.Areas)
	return a, nil
}

func (s *Service) seal(a Assessment) (StoredAssessment, error) {
	plain, err := json.Marshal(sealedPayload{Input: a.Input, Result: a.Result})
	if err != nil {
		return StoredAssessment{}, fmt.Errorf("encode assessment: %w", err)
	}
	keyID, sealed := s.keys.Seal(plain, []byte(AssessmentName(a.Learner, a.ID)))
	clear(plain)
	return StoredAssessment{
		Learner: a.Learner, ID: a.ID, CreateTime: a.CreateTime, RecordedBy: a.RecordedBy,
		RulesetVersion: a.RulesetVersion, Outcome: a.Result.Outcome, KeyID: keyID, Sealed: sealed,
	}, nil
}

func (s *Service) open(st StoredAssessment) (Assessment, error) {
	plain, err := s.keys.Open(st.KeyID, st.Sealed, []byte(AssessmentName(st.Learner, st.ID)))
	if err != nil {
		return Assessment{}, fmt.Errorf("assessment %s: %w", st.ID, err)
	}
	var p sealedPayload
	err = json.Unmarshal(plain, &p)
	clear(plain)
	if err != nil {
		return Assessment{}, fmt.Errorf("assessment %s: decode: %w", st.ID, err)
	}
	return Assessment{
		Learner: st.Learner, ID: st.ID, CreateTime: st.CreateTime, RecordedBy: st.RecordedBy,
		RulesetVersion: st.RulesetVersion, Input: p.Input, Result: p.Result,
		NextSteps: s.steps.For(p.Result.Outcome, p.Input.Areas),
	}, nil
}

// GetAssessment returns one assessment and audits the read. ErrNotFound when absent.
func (s *Service) GetAssessment(ctx context.Context, c Caller, name string) (Assessment, error) {
	learner, id, err := ParseAssessmentName("name", name)
	if err != nil {
		return Assessment{}, err
	}
	return s.getAssessment(ctx, c, learner, id, ActionAssessmentRead)
}

func (s *Service) getAssessment(ctx context.Context, c Caller, learner, id, action string) (Assessment, error) {
	audit := AuditRecord{Time: s.now().UTC(), Actor: c.Actor, Action: action, Learner: learner, Assessment: id, RPC: c.RPC}
	st, err := s.store.GetAssessment(ctx, learner, id, audit)
	if err != nil {
		return Assessment{}, fmt.Errorf("get assessment: %w", err)
	}
	return s.open(st)
}

// ListAssessments returns a page of a learner's assessments, oldest first, and audits the
// read.
func (s *Service) ListAssessments(ctx context.Context, c Caller, parent string, size int32, token string) ([]Assessment, string, error) {
	learner, err := ParseLearnerName("parent", parent)
	if err != nil {
		return nil, "", err
	}
	n, err := pageSize(size)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeToken(parent, token)
	if err != nil {
		return nil, "", err
	}
	audit := AuditRecord{Time: s.now().UTC(), Actor: c.Actor, Action: ActionAssessmentsListed, Learner: learner, RPC: c.RPC}
	// One more than asked tells whether there is a next page.
	stored, err := s.store.ListAssessments(ctx, learner, after, n+1, audit)
	if err != nil {
		return nil, "", fmt.Errorf("list assessments: %w", err)
	}
	next := ""
	if len(stored) > n {
		stored = stored[:n]
		next = encodeToken(parent, stored[n-1].ID)
	}
	out := make([]Assessment, 0, len(stored))
	for _, st := range stored {
		a, err := s.open(st)
		if err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	return out, next, nil
}

// Replay is an assessment evaluated again.
type Replay struct {
	// Assessment as recorded.
	Assessment Assessment
	// Recorded is the answer under the assessment's own ruleset on its own date: always the
	// recorded answer, which RecordedMatches confirms.
	Recorded rules.Result
	// RecordedMatches is true when Recorded equals the recorded answer.
	RecordedMatches bool
	// Current is the answer to the same inputs under the ruleset in force today, on today:
	// what the learner would be told now.
	Current rules.Result
	// CurrentNextSteps are the next steps of the current answer.
	CurrentNextSteps []NextStep
	// Changes lists, in plain English, how Current differs from the recorded answer.
	Changes []string
}

// ReplayAssessment re-evaluates an assessment under its own ruleset and under the current
// one, and audits the read. ErrNotFound when absent.
func (s *Service) ReplayAssessment(ctx context.Context, c Caller, name string) (Replay, error) {
	learner, id, err := ParseAssessmentName("name", name)
	if err != nil {
		return Replay{}, err
	}
	a, err := s.getAssessment(ctx, c, learner, id, ActionAssessmentReplayed)
	if err != nil {
		return Replay{}, err
	}
	own, ok := s.rulesets.get(a.RulesetVersion)
	if !ok {
		return Replay{}, fmt.Errorf("ruleset %s of assessment %s: %w", a.RulesetVersion, a.ID, ErrNotFound)
	}
	r := Replay{Assessment: a}
	r.Recorded = rules.Evaluate(own.Ruleset, a.Input.rulesInput(a.Input.AsOf))
	r.RecordedMatches = reflect.DeepEqual(normalise(r.Recorded), normalise(a.Result))
	today := s.today()
	r.Current, err = s.evaluate(a.Input.rulesInput(today))
	if err != nil {
		return Replay{}, err
	}
	r.CurrentNextSteps = s.steps.For(r.Current.Outcome, a.Input.Areas)
	r.Changes = changes(a.Result, r.Current)
	return r, nil
}

// normalise round-trips a result through JSON, the form it is stored in, so a fresh
// evaluation and a decoded one compare equal when they say the same thing.
func normalise(r rules.Result) rules.Result {
	b, err := json.Marshal(r)
	if err != nil {
		return r
	}
	var out rules.Result
	if json.Unmarshal(b, &out) != nil {
		return r
	}
	return out
}

// changes describes how b differs from a, criterion by criterion.
func changes(a, b rules.Result) []string {
	var out []string
	if a.RulesetVersion != b.RulesetVersion {
		out = append(out, "ruleset "+a.RulesetVersion+" is now "+b.RulesetVersion)
	}
	if a.Outcome != b.Outcome {
		out = append(out, "outcome "+a.Outcome.String()+" is now "+b.Outcome.String())
	}
	find := func(r rules.Result, c rules.Criterion) *rules.CriterionResult {
		for i := range r.Criteria {
			if r.Criteria[i].Criterion == c {
				return &r.Criteria[i]
			}
		}
		return nil
	}
	for _, c := range []rules.Criterion{rules.CriterionAge, rules.CriterionQualification, rules.CriterionSalary, rules.CriterionArea} {
		x, y := find(a, c), find(b, c)
		switch {
		case x == nil && y == nil:
		case x == nil:
			out = append(out, c.String()+" is now checked: "+y.Status.String())
		case y == nil:
			out = append(out, c.String()+" is no longer checked")
		default:
			if x.Status != y.Status {
				out = append(out, c.String()+" "+x.Status.String()+" is now "+y.Status.String())
			}
			if x.Trace != nil && y.Trace != nil && x.Trace.Parameter == y.Trace.Parameter && x.Trace.Parameter != rules.ParamLiveAreas && x.Trace.Value != y.Trace.Value {
				out = append(out, x.Trace.Parameter+" "+strconv.FormatInt(x.Trace.Value, 10)+" is now "+strconv.FormatInt(y.Trace.Value, 10))
			}
		}
	}
	return out
}

// Data protection

// LearnerExport is everything held on a learner (subject access).
type LearnerExport struct {
	// Learner is the reference.
	Learner string
	// Assessments, oldest first, opened.
	Assessments []Assessment
	// Audit records about the learner, including the one for this export.
	Audit []AuditRecord
}

// ExportLearner returns everything held on a learner and audits the read.
func (s *Service) ExportLearner(ctx context.Context, c Caller, name string) (LearnerExport, error) {
	learner, err := ParseLearnerName("name", name)
	if err != nil {
		return LearnerExport{}, err
	}
	audit := AuditRecord{Time: s.now().UTC(), Actor: c.Actor, Action: ActionLearnerExported, Learner: learner, RPC: c.RPC}
	data, err := s.store.ExportLearner(ctx, learner, audit)
	if err != nil {
		return LearnerExport{}, fmt.Errorf("export learner: %w", err)
	}
	out := LearnerExport{Learner: learner, Audit: data.Audit}
	for _, st := range data.Assessments {
		a, err := s.open(st)
		if err != nil {
			return LearnerExport{}, err
		}
		out.Assessments = append(out.Assessments, a)
	}
	return out, nil
}

// EraseLearner deletes every assessment of a learner and removes the learner from the
// audit trail, leaving an audit record that an erasure happened (naming no learner). It
// returns how many assessments were erased; erasing an unknown learner erases nothing and
// is not an error, so a retried erasure succeeds.
func (s *Service) EraseLearner(ctx context.Context, c Caller, name string) (int, error) {
	learner, err := ParseLearnerName("name", name)
	if err != nil {
		return 0, err
	}
	audit := AuditRecord{Time: s.now().UTC(), Actor: c.Actor, Action: ActionLearnerErased, RPC: c.RPC}
	n, err := s.store.EraseLearner(ctx, learner, audit)
	if err != nil {
		return 0, fmt.Errorf("erase learner: %w", err)
	}
	return n, nil
}

// sweepBatch bounds one transaction of the retention sweep.
const sweepBatch = 500

// Sweep deletes the assessments recorded longer ago than the retention period and returns
// how many. It does nothing when no retention is set.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if s.retention <= 0 {
		return 0, nil
	}
	now := s.now().UTC()
	cutoff := now.Add(-s.retention)
	total := 0
	for {
		audit := AuditRecord{Time: now, Actor: "retention-sweep", Action: ActionRetentionSweep}
		n, err := s.store.DeleteAssessmentsBefore(ctx, cutoff, sweepBatch, audit)
		total += n
		if err != nil {
			return total, fmt.Errorf("retention sweep: %w", err)
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}

func (s *Service) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("retention sweep failed", zap.Error(err), zap.Int("deleted", n))
		case n > 0:
			s.log.Info("retention sweep", zap.Int("deleted", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ListAudit returns a page of the audit trail, oldest first.
func (s *Service) ListAudit(ctx context.Context, size int32, token string) ([]AuditRecord, string, error) {
	n, err := pageSize(size)
	if err != nil {
		return nil, "", err
	}
	pos, err := decodeToken("auditRecords", token)
	if err != nil {
		return nil, "", err
	}
	var after uint64
	if pos != "" {
		if after, err = strconv.ParseUint(pos, 10, 64); err != nil {
			return nil, "", invalid("page_token", "is not a page token of this list")
		}
	}
	recs, err := s.store.ListAudit(ctx, after, n+1)
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	next := ""
	if len(recs) > n {
		recs = recs[:n]
		next = encodeToken("auditRecords", strconv.FormatUint(recs[n-1].Sequence, 10))
	}
	return recs, next, nil
}
