// Package storetest is the contract every domain.Store must meet, as one test suite:
// call Run from a store's tests with a function that opens an empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// NewStore opens an empty store that lives until the test ends.
type NewStore func(t *testing.T) domain.Store

// Run runs the contract suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		run  func(*testing.T, domain.Store)
	}{
		{"Rulesets", testRulesets},
		{"CreateAndGetAssessment", testCreateAndGet},
		{"ListAssessments", testListAssessments},
		{"ExportLearner", testExport},
		{"EraseLearner", testErase},
		{"DeleteAssessmentsBefore", testDeleteBefore},
		{"AuditPaging", testAuditPaging},
		{"Outbox", testOutbox},
		{"ConcurrentCreates", testConcurrentCreates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

var t0 = time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)

func ruleset(t *testing.T, version string) rules.Ruleset {
	t.Helper()
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rs.Version = version
	return rs
}

func audit(action, learner, id string) domain.AuditRecord {
	return domain.AuditRecord{Time: t0, Actor: "adviser-1", Action: action, Learner: learner, Assessment: id, RPC: "/test/" + action}
}

func assessment(learner string, n int, at time.Time) domain.StoredAssessment {
	return domain.StoredAssessment{
		Learner: learner, ID: fmt.Sprintf("%016x%016x", at.UnixMilli(), n), CreateTime: at, RecordedBy: "adviser-1",
		RulesetVersion: "gb-2020-07-01", Outcome: rules.OutcomeEligible, KeyID: "k1", Sealed: []byte{1, 2, 3, byte(n)},
	}
}

func allAudit(t *testing.T, s domain.Store) []domain.AuditRecord {
	t.Helper()
	recs, err := s.ListAudit(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return recs
}

func testRulesets(t *testing.T, s domain.Store) {
	ctx := context.Background()
	if got, err := s.Rulesets(ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("Rulesets() of an empty store = %v, %v, want none", got, err)
	}
	a := domain.RulesetRecord{Ruleset: ruleset(t, "v1"), PublishedAt: t0, PublishedBy: "config", Source: domain.SourceBuiltin}
	b := domain.RulesetRecord{Ruleset: ruleset(t, "v0-later"), EffectiveFrom: civil.Date{Year: 2025, Month: 1, Day: 1}, PublishedAt: t0.Add(time.Hour), PublishedBy: "admin", Source: domain.SourceAPI}
	b.Ruleset.SalaryThresholdPence.Values[0].Value = 4000000
	for _, r := range []domain.RulesetRecord{a, b} {
		if err := s.CreateRuleset(ctx, r, audit(domain.ActionRulesetPublished, "", "")); err != nil {
			t.Fatalf("CreateRuleset(%s): %v", r.Ruleset.Version, err)
		}
	}
	if err := s.CreateRuleset(ctx, a, audit(domain.ActionRulesetPublished, "", "")); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateRuleset(duplicate) = %v, want ErrAlreadyExists", err)
	}
	got, err := s.Rulesets(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Ruleset.Version != "v1" || got[1].Ruleset.Version != "v0-later" {
		t.Fatalf("Rulesets() = %v, want v1 then v0-later (publication order)", got)
	}
	for skip, want := range [][]string{{"v1", "v0-later"}, {"v0-later"}, nil, nil} {
		recs, err := s.Rulesets(ctx, skip)
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		for _, r := range recs {
			versions = append(versions, r.Ruleset.Version)
		}
		if !slices.Equal(versions, want) {
			t.Errorf("Rulesets(skip %d) = %v, want %v", skip, versions, want)
		}
	}
	if g := got[1]; g.EffectiveFrom != b.EffectiveFrom || !g.PublishedAt.Equal(b.PublishedAt) || g.PublishedBy != "admin" || g.Source != domain.SourceAPI ||
		g.Ruleset.SalaryThresholdPence.Values[0].Value != 4000000 {
		t.Errorf("Rulesets()[1] = %+v, want %+v", g, b)
	}
	if n := len(allAudit(t, s)); n != 2 {
		t.Errorf("audit records after two publications = %d, want 2", n)
	}
}

func testCreateAndGet(t *testing.T, s domain.Store) {
	ctx := context.Background()
	// Times are kept to the microsecond at least (the domain truncates to it).
	a := assessment("learner-1", 1, t0.Add(123456*time.Microsecond))
	if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
		t.Fatalf("CreateAssessment: %v", err)
	}
	if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("CreateAssessment(same id) = %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetAssessment(ctx, a.Learner, a.ID, audit(domain.ActionAssessmentRead, a.Learner, a.ID))
	if err != nil {
		t.Fatalf("GetAssessment: %v", err)
	}
	if !got.CreateTime.Equal(a.CreateTime) {
		t.Errorf("CreateTime = %v, want %v", got.CreateTime, a.CreateTime)
	}
	got.CreateTime = a.CreateTime
	if !equalAssessment(got, a) {
		t.Errorf("GetAssessment = %+v, want %+v", got, a)
	}
	for _, tc := range []struct{ learner, id string }{{"learner-1", "ffffffffffffffffffffffffffffffff"}, {"learner-2", a.ID}, {"learner", a.ID}} {
		if _, err := s.GetAssessment(ctx, tc.learner, tc.id, audit(domain.ActionAssessmentRead, tc.learner, tc.id)); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("GetAssessment(%s, %s) = %v, want ErrNotFound", tc.learner, tc.id, err)
		}
	}
	recs := allAudit(t, s)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
		if r.Learner != a.Learner || r.Assessment != a.ID || r.Actor != "adviser-1" || r.RPC == "" || r.Time.IsZero() {
			t.Errorf("audit record %+v does not say who, when, which learner and which RPC", r)
		}
	}
	if want := []string{domain.ActionAssessmentCreated, domain.ActionAssessmentRead}; !slices.Equal(actions, want) {
		t.Errorf("audit actions = %v, want %v (one per successful write and read)", actions, want)
	}
}

func equalAssessment(a, b domain.StoredAssessment) bool {
	return a.Learner == b.Learner && a.ID == b.ID && a.CreateTime.Equal(b.CreateTime) && a.RecordedBy == b.RecordedBy &&
		a.RulesetVersion == b.RulesetVersion && a.Outcome == b.Outcome && a.KeyID == b.KeyID && slices.Equal(a.Sealed, b.Sealed)
}

func testListAssessments(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var want []string
	for i := range 5 {
		a := assessment("l1", i, t0.Add(time.Duration(i)*time.Minute))
		want = append(want, a.ID)
		if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	// Learners whose references share a prefix must not leak into each other's lists.
	for _, other := range []string{"l", "l10", "l1.x"} {
		a := assessment(other, 9, t0)
		if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 10, want},
		{"", 2, want[:2]},
		{want[1], 2, want[2:4]},
		{want[4], 2, nil},
	}
	for _, tt := range tests {
		got, err := s.ListAssessments(ctx, "l1", tt.after, tt.limit, audit(domain.ActionAssessmentsListed, "l1", ""))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("ListAssessments(l1, after %q, %d) = %v, want %v", tt.after, tt.limit, ids, tt.want)
		}
	}
	listed := 0
	for _, r := range allAudit(t, s) {
		if r.Action == domain.ActionAssessmentsListed {
			listed++
		}
	}
	if listed != len(tests) {
		t.Errorf("list audit records = %d, want %d", listed, len(tests))
	}
}

func testExport(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i, l := range []string{"x", "y", "x"} {
		a := assessment(l, i, t0.Add(time.Duration(i)*time.Second))
		if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := s.ExportLearner(ctx, "x", audit(domain.ActionLearnerExported, "x", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(data.Assessments) != 2 {
		t.Errorf("exported %d assessments, want 2", len(data.Assessments))
	}
	var actions []string
	for _, r := range data.Audit {
		if r.Learner != "x" {
			t.Errorf("export of x holds audit record of %q", r.Learner)
		}
		actions = append(actions, r.Action)
	}
	if want := []string{domain.ActionAssessmentCreated, domain.ActionAssessmentCreated, domain.ActionLearnerExported}; !slices.Equal(actions, want) {
		t.Errorf("exported audit = %v, want %v", actions, want)
	}
}

func testErase(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i, l := range []string{"gone", "kept", "gone", "gone"} {
		a := assessment(l, i, t0.Add(time.Duration(i)*time.Second))
		if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ListAssessments(ctx, "gone", "", 0, audit(domain.ActionAssessmentsListed, "gone", "")); err != nil {
		t.Fatal(err)
	}
	erasure := domain.AuditRecord{Time: t0, Actor: "admin", Action: domain.ActionLearnerErased, RPC: "/test/erase"}
	n, err := s.EraseLearner(ctx, "gone", erasure)
	if err != nil || n != 3 {
		t.Fatalf("EraseLearner = %d, %v, want 3", n, err)
	}
	if got, _ := s.ListAssessments(ctx, "gone", "", 0, audit(domain.ActionAssessmentsListed, "other", "")); len(got) != 0 {
		t.Errorf("after erasure %d assessments remain", len(got))
	}
	if got, _ := s.ListAssessments(ctx, "kept", "", 0, audit(domain.ActionAssessmentsListed, "kept", "")); len(got) != 1 {
		t.Errorf("erasure of another learner left %d of kept's 1 assessment", len(got))
	}
	data, err := s.ExportLearner(ctx, "gone", audit(domain.ActionLearnerExported, "probe", ""))
	if err != nil || len(data.Assessments) != 0 || len(data.Audit) != 0 {
		t.Errorf("export after erasure = %d assessments, %d audit records, %v; want nothing", len(data.Assessments), len(data.Audit), err)
	}
	redacted, erased := 0, 0
	for _, r := range allAudit(t, s) {
		if r.Learner == "gone" {
			t.Errorf("audit record %+v still names the erased learner", r)
		}
		if r.Redacted {
			redacted++
			if r.Assessment != "" || r.Actor == "" || r.Action == "" {
				t.Errorf("redacted record %+v: want no assessment, but who and what kept", r)
			}
		}
		if r.Action == domain.ActionLearnerErased {
			erased++
			if r.Learner != "" || r.Detail == "" {
				t.Errorf("erasure record %+v: want no learner and a count", r)
			}
		}
	}
	if redacted != 4 || erased != 1 {
		t.Errorf("redacted %d records and wrote %d erasure records, want 4 and 1", redacted, erased)
	}
	if n, err := s.EraseLearner(ctx, "gone", erasure); err != nil || n != 0 {
		t.Errorf("second EraseLearner = %d, %v, want 0, nil", n, err)
	}
}

func testDeleteBefore(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		a := assessment(fmt.Sprintf("l%d", i%2), i, t0.Add(time.Duration(i)*time.Hour))
		ids = append(ids, a.ID)
		if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	sweep := domain.AuditRecord{Time: t0, Actor: "retention-sweep", Action: domain.ActionRetentionSweep}
	cutoff := t0.Add(3 * time.Hour) // deletes 0, 1, 2; keeps 3 (exactly at the cutoff), 4, 5
	n, err := s.DeleteAssessmentsBefore(ctx, cutoff, 2, sweep)
	if err != nil || n != 2 {
		t.Fatalf("DeleteAssessmentsBefore(limit 2) = %d, %v, want 2", n, err)
	}
	if n, err = s.DeleteAssessmentsBefore(ctx, cutoff, 2, sweep); err != nil || n != 1 {
		t.Fatalf("second DeleteAssessmentsBefore = %d, %v, want 1", n, err)
	}
	if n, err = s.DeleteAssessmentsBefore(ctx, cutoff, 2, sweep); err != nil || n != 0 {
		t.Fatalf("third DeleteAssessmentsBefore = %d, %v, want 0", n, err)
	}
	for i, id := range ids {
		_, err := s.GetAssessment(ctx, fmt.Sprintf("l%d", i%2), id, audit(domain.ActionAssessmentRead, "l", id))
		if gone := errors.Is(err, domain.ErrNotFound); gone != (i < 3) {
			t.Errorf("assessment %d recorded %dh after t0: gone %v, want %v (err %v)", i, i, gone, i < 3, err)
		}
	}
	sweeps := 0
	for _, r := range allAudit(t, s) {
		if r.Action == domain.ActionRetentionSweep {
			sweeps++
		}
	}
	if sweeps != 2 {
		t.Errorf("sweep audit records = %d, want 2 (none for a sweep that deleted nothing)", sweeps)
	}
}

func testAuditPaging(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i := range 7 {
		a := assessment("p", i, t0)
		if err := s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []uint64
	var after uint64
	for {
		page, err := s.ListAudit(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			seqs = append(seqs, r.Sequence)
		}
		after = page[len(page)-1].Sequence
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(seqs, want) {
		t.Errorf("audit sequences by pages of 3 = %v, want %v", seqs, want)
	}
}

func testOutbox(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var want []string
	for i := range 5 {
		c := domain.Conversion{EventID: fmt.Sprintf("e%d", i), JourneyID: "j", Outcome: rules.OutcomeEligible, Areas: []string{"E37000022"}, RulesetVersion: "v1", Time: t0}
		want = append(want, c.EventID)
		if err := s.AppendConversion(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() ([]domain.OutboxEntry, []string) {
		t.Helper()
		es, err := s.PendingConversions(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range es {
			ids = append(ids, e.Conversion.EventID)
		}
		return es, ids
	}
	es, ids := pending()
	if !slices.Equal(ids, want) {
		t.Fatalf("pending = %v, want %v in order", ids, want)
	}
	if c := es[0].Conversion; c.JourneyID != "j" || c.Outcome != rules.OutcomeEligible || !slices.Equal(c.Areas, []string{"E37000022"}) || c.RulesetVersion != "v1" || !c.Time.Equal(t0) {
		t.Errorf("pending[0] = %+v, want the appended conversion", c)
	}
	// An event id already pending is not appended again.
	dup := es[3].Conversion
	dup.JourneyID = "j-again"
	if err := s.AppendConversion(ctx, dup); err != nil {
		t.Fatalf("AppendConversion(pending event id) = %v, want nil", err)
	}
	if _, ids := pending(); !slices.Equal(ids, want) {
		t.Errorf("pending after appending a pending event id again = %v, want %v", ids, want)
	}
	if got, _ := s.PendingConversions(ctx, 2); len(got) != 2 {
		t.Errorf("PendingConversions(2) returned %d", len(got))
	}
	if err := s.RemoveConversions(ctx, []uint64{es[0].Sequence, es[2].Sequence}, []uint64{es[1].Sequence}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveConversions(ctx, []uint64{es[0].Sequence}, []uint64{es[1].Sequence}); err != nil {
		t.Errorf("repeated RemoveConversions = %v, want nil", err)
	}
	if _, ids := pending(); !slices.Equal(ids, []string{"e3", "e4"}) {
		t.Errorf("pending after removal = %v, want [e3 e4]", ids)
	}
}

func testConcurrentCreates(t *testing.T, s domain.Store) {
	ctx := context.Background()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a := assessment(fmt.Sprintf("c%d", w), i, t0.Add(time.Duration(i)*time.Millisecond))
				errs <- s.CreateAssessment(ctx, a, audit(domain.ActionAssessmentCreated, a.Learner, a.ID))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent CreateAssessment: %v", err)
		}
	}
	for w := range writers {
		got, err := s.ListAssessments(ctx, fmt.Sprintf("c%d", w), "", 0, audit(domain.ActionAssessmentsListed, "c", ""))
		if err != nil || len(got) != each {
			t.Errorf("learner c%d has %d assessments, %v; want %d", w, len(got), err, each)
		}
	}
	seen := map[uint64]bool{}
	for _, r := range allAudit(t, s) {
		if seen[r.Sequence] {
			t.Errorf("audit sequence %d repeated", r.Sequence)
		}
		seen[r.Sequence] = true
	}
	if len(seen) != writers*each+writers {
		t.Errorf("audit records = %d, want %d", len(seen), writers*each+writers)
	}
}
