package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// NewSharedStores opens two stores on one empty backing database, as two replicas of the
// service would, both living until the test ends. A store must allow a second Close.
type NewSharedStores func(t *testing.T) (a, b domain.Store)

// RunShared runs the contract of a store that several processes share: whatever they
// race on, the store decides once.
func RunShared(t *testing.T, newStores NewSharedStores) {
	tests := []struct {
		name string
		run  func(*testing.T, domain.Store, domain.Store)
	}{
		{"SameAssessmentID", testSharedAssessmentID},
		{"SameRulesetVersion", testSharedRulesetVersion},
		{"SameEventID", testSharedEventID},
		{"AuditFollowerMissesNothing", testSharedAuditFollower},
		{"RelayLease", testSharedRelayLease},
		{"ConcurrentSweeps", testSharedSweeps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newStores(t)
			tt.run(t, a, b)
		})
	}
}

// race runs fa and fb at the same moment and returns their errors.
func race(fa, fb func() error) (errA, errB error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = fa() }()
	go func() { defer wg.Done(); <-start; errB = fb() }()
	close(start)
	wg.Wait()
	return errA, errB
}

// oneWins fails unless exactly one of two racing writes succeeded and the other was
// refused with want.
func oneWins(t *testing.T, what string, errA, errB, want error) {
	t.Helper()
	switch {
	case errA == nil && errors.Is(errB, want), errB == nil && errors.Is(errA, want):
	default:
		t.Errorf("%s through both stores at once = %v and %v, want one success and one %v", what, errA, errB, want)
	}
}

func testSharedAssessmentID(t *testing.T, a, b domain.Store) {
	ctx := context.Background()
	const n = 20
	for i := range n {
		x := assessment("race", i, t0.Add(time.Duration(i)*time.Second))
		y := x
		y.RecordedBy, y.Sealed = "adviser-2", []byte("other")
		errA, errB := race(
			func() error {
				return a.CreateAssessment(ctx, x, audit(domain.ActionAssessmentCreated, x.Learner, x.ID))
			},
			func() error {
				return b.CreateAssessment(ctx, y, audit(domain.ActionAssessmentCreated, y.Learner, y.ID))
			})
		oneWins(t, "CreateAssessment of one id", errA, errB, domain.ErrAlreadyExists)
	}
	for _, s := range []domain.Store{a, b} {
		got, err := s.ListAssessments(ctx, "race", "", 0, audit(domain.ActionAssessmentsListed, "race", ""))
		if err != nil || len(got) != n {
			t.Fatalf("ListAssessments = %d assessments, %v; want %d", len(got), err, n)
		}
	}
	created := 0
	for _, r := range allAudit(t, a) {
		if r.Action == domain.ActionAssessmentCreated {
			created++
		}
	}
	if created != n {
		t.Errorf("creation audit records = %d, want %d (one per stored assessment, none for a refused one)", created, n)
	}
}

func testSharedRulesetVersion(t *testing.T, a, b domain.Store) {
	ctx := context.Background()
	var want []string
	for i := range 5 {
		v := fmt.Sprintf("v%d", i)
		want = append(want, v)
		rec := domain.RulesetRecord{Ruleset: ruleset(t, v), PublishedAt: t0, PublishedBy: "admin", Source: domain.SourceAPI}
		errA, errB := race(
			func() error { return a.CreateRuleset(ctx, rec, audit(domain.ActionRulesetPublished, "", "")) },
			func() error { return b.CreateRuleset(ctx, rec, audit(domain.ActionRulesetPublished, "", "")) })
		oneWins(t, "CreateRuleset of one version", errA, errB, domain.ErrAlreadyExists)
	}
	for name, s := range map[string]domain.Store{"a": a, "b": b} {
		recs, err := s.Rulesets(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.Ruleset.Version)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Rulesets through %s = %v, want %v", name, got, want)
		}
	}
	if n := len(allAudit(t, b)); n != len(want) {
		t.Errorf("publication audit records = %d, want %d", n, len(want))
	}
}

func testSharedEventID(t *testing.T, a, b domain.Store) {
	ctx := context.Background()
	const n = 20
	for i := range n {
		c := domain.Conversion{EventID: fmt.Sprintf("event-%02d", i), JourneyID: "j", Outcome: rules.OutcomeEligible, Areas: []string{"E37000022"}, RulesetVersion: "v1", Time: t0}
		errA, errB := race(
			func() error { return a.AppendConversion(ctx, c) },
			func() error { return b.AppendConversion(ctx, c) })
		if errA != nil || errB != nil {
			t.Fatalf("AppendConversion of one event through both stores = %v, %v; want nil, nil", errA, errB)
		}
	}
	es, err := a.PendingConversions(ctx, 10*n)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.Conversion.EventID] {
			t.Errorf("event %s pending twice", e.Conversion.EventID)
		}
		seen[e.Conversion.EventID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct events pending, want %d", len(seen), n)
	}
}

// testSharedAuditFollower follows the trail page by page while both stores write, as an
// export to a security log would: it must see every record once, in sequence, with no
// gaps, although the writes commit in any order.
func testSharedAuditFollower(t *testing.T, a, b domain.Store) {
	ctx := context.Background()
	const writers, each = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*each)
	for w := range 2 * writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				x := assessment(fmt.Sprintf("f%d", w), i, t0.Add(time.Duration(i)*time.Millisecond))
				errs <- s.CreateAssessment(ctx, x, audit(domain.ActionAssessmentCreated, x.Learner, x.ID))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seqs []uint64
	var after uint64
	follow := func() {
		t.Helper()
		page, err := b.ListAudit(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			seqs = append(seqs, r.Sequence)
			after = r.Sequence
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			follow()
		}
	}
	for n := -1; n != len(seqs); {
		n = len(seqs)
		follow()
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("CreateAssessment: %v", err)
		}
	}
	total := 2 * writers * each
	if len(seqs) != total {
		t.Errorf("the follower saw %d records, want %d", len(seqs), total)
	}
	for i, seq := range seqs {
		if seq != uint64(i+1) {
			t.Fatalf("the follower's record %d has sequence %d, want %d: a record committed behind the follower (sequences %v...)", i, seq, i+1, seqs[max(0, i-3):min(len(seqs), i+3)])
		}
	}
}

// testSharedRelayLease: one store at a time is given the outbox, and another takes over
// when it closes.
func testSharedRelayLease(t *testing.T, a, b domain.Store) {
	ctx := context.Background()
	for i := range 3 {
		c := domain.Conversion{EventID: fmt.Sprintf("e%d", i), JourneyID: "j", Outcome: rules.OutcomeEligible, Areas: []string{"E37000022"}, RulesetVersion: "v1", Time: t0}
		if err := b.AppendConversion(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	pending := func(s domain.Store) int {
		t.Helper()
		es, err := s.PendingConversions(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if n := pending(a); n != 3 {
		t.Fatalf("the first store to ask got %d entries, want 3", n)
	}
	for range 3 {
		if n := pending(b); n != 0 {
			t.Fatalf("while the first store holds the relay lease the second got %d entries, want none", n)
		}
		if n := pending(a); n != 3 {
			t.Fatalf("the holder got %d entries on renewal, want 3", n)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := pending(b); n != 3 {
		t.Errorf("after the holder closed, the second store got %d entries, want 3", n)
	}
}

// testSharedSweeps: two replicas sweeping at once delete each expired assessment once.
func testSharedSweeps(t *testing.T, a, b domain.Store) {
	ctx := context.Background()
	const expired, kept = 60, 5
	for i := range expired + kept {
		at := t0.Add(-time.Duration(i+1) * time.Minute)
		if i >= expired {
			at = t0.Add(time.Duration(i) * time.Minute)
		}
		x := assessment(fmt.Sprintf("s%d", i%7), i, at)
		if err := a.CreateAssessment(ctx, x, audit(domain.ActionAssessmentCreated, x.Learner, x.ID)); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func(s domain.Store) (int, error) {
		total := 0
		for {
			n, err := s.DeleteAssessmentsBefore(ctx, t0, 4, domain.AuditRecord{Time: t0, Actor: "retention-sweep", Action: domain.ActionRetentionSweep})
			total += n
			if err != nil || n == 0 {
				return total, err
			}
		}
	}
	var na, nb int
	errA, errB := race(func() (err error) { na, err = sweep(a); return err }, func() (err error) { nb, err = sweep(b); return err })
	if errA != nil || errB != nil {
		t.Fatalf("sweeps = %v, %v", errA, errB)
	}
	if na+nb != expired {
		t.Errorf("the two sweeps deleted %d + %d, want %d in all", na, nb, expired)
	}
	left := 0
	for l := range 7 {
		got, err := b.ListAssessments(ctx, fmt.Sprintf("s%d", l), "", 0, audit(domain.ActionAssessmentsListed, "s", ""))
		if err != nil {
			t.Fatal(err)
		}
		left += len(got)
	}
	if left != kept {
		t.Errorf("%d assessments left, want %d", left, kept)
	}
}
