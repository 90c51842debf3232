package domain

import (
	"bytes"
	_ "embed" // for next_steps.json
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// builtinNextSteps is what to tell a person after a check, per outcome and per area.
//
//go:embed next_steps.json
var builtinNextSteps []byte

// NextStep is something a person can do after a check: call the adviser line, look for
// a course, take up their area's local offer.
type NextStep struct {
	// Kind is a stable code, such as ADVISER_LINE, FIND_COURSE or LOCAL_OFFER.
	Kind string `json:"kind"`
	// Title is a short heading.
	Title string `json:"title"`
	// Description says what the step is, in plain English.
	Description string `json:"description"`
	// URL is where to go, if anywhere.
	URL string `json:"url,omitempty"`
	// Phone is a number to call, if any.
	Phone string `json:"phone,omitempty"`
	// Area is the ONS code of the area whose offer this is, for local offers.
	Area string `json:"area,omitempty"`
}

// NextSteps is the next-steps data: steps per outcome name (ELIGIBLE, NOT_ELIGIBLE,
// UNDETERMINED) and a local offer per ONS area code.
type NextSteps struct {
	// Outcomes maps an outcome name to its steps, in the order to show them.
	Outcomes map[string][]NextStep `json:"outcomes"`
	// Areas maps an ONS area code to the local offer there.
	Areas map[string]NextStep `json:"areas"`
}

// BuiltinNextSteps returns the embedded next-steps data.
func BuiltinNextSteps() (NextSteps, error) { return ParseNextSteps(builtinNextSteps) }

// ParseNextSteps reads and checks next-steps data: every step has a kind and a title, and
// every outcome has at least one step.
func ParseNextSteps(data []byte) (NextSteps, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ns NextSteps
	if err := dec.Decode(&ns); err != nil {
		return NextSteps{}, fmt.Errorf("decode next steps: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return NextSteps{}, errors.New("decode next steps: unexpected data after the object")
	}
	var errs []error
	for _, o := range []rules.Outcome{rules.OutcomeEligible, rules.OutcomeNotEligible, rules.OutcomeUndetermined} {
		if len(ns.Outcomes[o.String()]) == 0 {
			errs = append(errs, fmt.Errorf("outcomes: no steps for %s", o))
		}
	}
	for name, steps := range ns.Outcomes {
		for i, s := range steps {
			if s.Kind == "" || s.Title == "" {
				errs = append(errs, fmt.Errorf("outcomes[%s][%d]: kind and title are required", name, i))
			}
		}
	}
	for code, s := range ns.Areas {
		if s.Kind == "" || s.Title == "" {
			errs = append(errs, fmt.Errorf("areas[%s]: kind and title are required", code))
		}
	}
	return ns, errors.Join(errs...)
}

// For returns the steps for an outcome, then the local offer of each of the areas that
// has one.
func (ns NextSteps) For(outcome rules.Outcome, areas []string) []NextStep {
	base := ns.Outcomes[outcome.String()]
	out := make([]NextStep, 0, len(base)+len(areas))
	out = append(out, base...)
	for _, a := range areas {
		if s, ok := ns.Areas[a]; ok && !slices.ContainsFunc(out, func(x NextStep) bool { return x.Area == a }) {
			s.Area = a
			out = append(out, s)
		}
	}
	return out
}
