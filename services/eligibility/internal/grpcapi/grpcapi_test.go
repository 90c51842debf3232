package grpcapi

import (
	"testing"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// The API converts domain enums to proto enums by number; these tests prove every value's
// name lines up, so a reordering on either side fails here rather than in production.
func TestEnumsLineUp(t *testing.T) {
	for o := rules.OutcomeUnspecified; o <= rules.OutcomeUndetermined; o++ {
		if got, want := eligibilityv1.EligibilityOutcome(o).String(), "ELIGIBILITY_OUTCOME_"+o.String(); got != want {
			t.Errorf("outcome %d: proto %s, want %s", o, got, want)
		}
	}
	for c := rules.CriterionUnspecified; c <= rules.CriterionArea; c++ {
		if got, want := eligibilityv1.Criterion(c).String(), "CRITERION_"+c.String(); got != want {
			t.Errorf("criterion %d: proto %s, want %s", c, got, want)
		}
	}
	for s := rules.StatusUnspecified; s <= rules.StatusUnknown; s++ {
		if got, want := eligibilityv1.CriterionStatus(s).String(), "CRITERION_STATUS_"+s.String(); got != want {
			t.Errorf("status %d: proto %s, want %s", s, got, want)
		}
	}
	for l := rules.LevelUnspecified; l <= rules.Level8; l++ {
		if got, want := eligibilityv1.RqfLevel(l).String(), l.String(); got != want {
			t.Errorf("level %d: proto %s, want %s", l, got, want)
		}
	}
	if n := len(eligibilityv1.RqfLevel_name); n != int(rules.Level8)+1 {
		t.Errorf("proto RqfLevel has %d values, domain %d", n, int(rules.Level8)+1)
	}
}
