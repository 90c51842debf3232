package rules_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

// dataCase is one case of testdata/cases.json: a ruleset, a learner and the
// answer expected. Inputs are strings as a client would send them.
type dataCase struct {
	Name string `json:"name"`
	// Ruleset is absent for the built-in ruleset, a string naming a file in
	// testdata/rulesets, or an inline ruleset object.
	Ruleset json.RawMessage `json:"ruleset"`
	Input   dataInput       `json:"input"`
	Want    struct {
		Outcome  string `json:"outcome"`
		Criteria []struct {
			Criterion string     `json:"criterion"`
			Status    string     `json:"status"`
			Reason    string     `json:"reason"`
			Message   *string    `json:"message"`
			Trace     *dataTrace `json:"trace"`
		} `json:"criteria"`
		EligibleFrom      string `json:"eligible_from"`
		SalaryOverByPence int64  `json:"salary_over_by_pence"`
		// WouldChange is checked only when present.
		WouldChange *[]string `json:"would_change"`
	} `json:"want"`
}

// dataInput is the learner of a case, as strings.
type dataInput struct {
	DateOfBirth          string   `json:"date_of_birth"`
	HighestQualification string   `json:"highest_qualification"`
	AnnualSalaryPence    *string  `json:"annual_salary_pence"`
	Areas                []string `json:"areas"`
	AsOf                 string   `json:"as_of"`
}

// String shows the input for failure messages.
func (in dataInput) String() string {
	salary := "<nil>"
	if in.AnnualSalaryPence != nil {
		salary = *in.AnnualSalaryPence
	}
	return fmt.Sprintf("dob=%s qual=%s salary=%s areas=%v as_of=%s",
		in.DateOfBirth, in.HighestQualification, salary, in.Areas, in.AsOf)
}

// dataTrace is the part of a Trace a case checks; the reference is not.
type dataTrace struct {
	Parameter     string     `json:"parameter"`
	Value         int64      `json:"value"`
	EffectiveFrom civil.Date `json:"effective_from"`
	Area          string     `json:"area"`
}

func loadCases(t *testing.T) []dataCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt expectation must not pass silently
	var cases []dataCase
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("decode testdata/cases.json: %v", err)
	}
	return cases
}

func loadRuleset(t *testing.T, raw json.RawMessage) rules.Ruleset {
	t.Helper()
	if len(raw) == 0 {
		rs, err := rules.Builtin()
		if err != nil {
			t.Fatalf("Builtin() = %v", err)
		}
		return rs
	}
	data := []byte(raw)
	var file string
	if err := json.Unmarshal(raw, &file); err == nil {
		if data, err = os.ReadFile(filepath.Join("testdata", "rulesets", file)); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := rules.ParseRuleset(data)
	if err != nil {
		t.Fatalf("ParseRuleset(%s) = %v", raw, err)
	}
	return rs
}

// TestCases runs the cases in testdata/cases.json: the rule's boundaries as
// data, in the style of OpenFisca's YAML tests.
func TestCases(t *testing.T) {
	cases := loadCases(t)
	if len(cases) == 0 {
		t.Fatal("testdata/cases.json has no cases")
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.Name] {
			t.Fatalf("duplicate case name %q", tc.Name)
		}
		seen[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			rs := loadRuleset(t, tc.Ruleset)
			in := caseInput(t, tc)

			got := rules.Evaluate(rs, in)

			if got.Outcome.String() != tc.Want.Outcome {
				t.Errorf("Evaluate(%v).Outcome = %v, want %v", tc.Input, got.Outcome, tc.Want.Outcome)
			}
			if got.RulesetVersion != rs.Version {
				t.Errorf("Evaluate(%v).RulesetVersion = %q, want %q", tc.Input, got.RulesetVersion, rs.Version)
			}
			if got.AsOf != in.AsOf {
				t.Errorf("Evaluate(%v).AsOf = %v, want %v", tc.Input, got.AsOf, in.AsOf)
			}
			if len(got.Criteria) != len(tc.Want.Criteria) {
				t.Fatalf("Evaluate(%v) has %d criteria, want %d: %+v", tc.Input, len(got.Criteria), len(tc.Want.Criteria), got.Criteria)
			}
			for i, want := range tc.Want.Criteria {
				c := got.Criteria[i]
				if c.Criterion.String() != want.Criterion || c.Status.String() != want.Status || c.Reason != want.Reason {
					t.Errorf("Evaluate(%v).Criteria[%d] = %v %v %v, want %v %v %v",
						tc.Input, i, c.Criterion, c.Status, c.Reason, want.Criterion, want.Status, want.Reason)
				}
				if want.Message != nil && c.Message != *want.Message {
					t.Errorf("Evaluate(%v).Criteria[%d].Message = %q, want %q", tc.Input, i, c.Message, *want.Message)
				}
				if want.Trace != nil {
					var gotTrace dataTrace
					if c.Trace != nil {
						gotTrace = dataTrace{c.Trace.Parameter, c.Trace.Value, c.Trace.EffectiveFrom, c.Trace.Area}
					}
					if gotTrace != *want.Trace {
						t.Errorf("Evaluate(%v).Criteria[%d].Trace = %+v, want %+v", tc.Input, i, gotTrace, *want.Trace)
					}
				}
			}
			var gotFrom string
			if got.EligibleFrom != nil {
				gotFrom = got.EligibleFrom.String()
			}
			if gotFrom != tc.Want.EligibleFrom {
				t.Errorf("Evaluate(%v).EligibleFrom = %q, want %q", tc.Input, gotFrom, tc.Want.EligibleFrom)
			}
			if got.SalaryOverByPence != tc.Want.SalaryOverByPence {
				t.Errorf("Evaluate(%v).SalaryOverByPence = %d, want %d", tc.Input, got.SalaryOverByPence, tc.Want.SalaryOverByPence)
			}
			if tc.Want.WouldChange != nil && !slices.Equal(got.WouldChange, *tc.Want.WouldChange) {
				t.Errorf("Evaluate(%v).WouldChange = %q, want %q", tc.Input, got.WouldChange, *tc.Want.WouldChange)
			}
			checkInvariants(t, got, tc.Input.DateOfBirth)
		})
	}
}

// caseInput builds the Input of a case the way the API does, through
// ParseRequest.
func caseInput(t *testing.T, tc dataCase) rules.Input {
	t.Helper()
	raw := rules.RawRequest{DateOfBirth: tc.Input.DateOfBirth, AsOf: tc.Input.AsOf}
	if tc.Input.HighestQualification != "" {
		l, ok := rules.ParseLevel(tc.Input.HighestQualification)
		if !ok {
			t.Fatalf("ParseLevel(%q) = _, false", tc.Input.HighestQualification)
		}
		raw.Qualification = int32(l)
	}
	if s := tc.Input.AnnualSalaryPence; s != nil {
		p, err := strconv.ParseInt(*s, 10, 64)
		if err != nil {
			t.Fatalf("annual_salary_pence %q: %v", *s, err)
		}
		raw.SalaryPence = &p
	}
	today := civil.Date{Year: 2024, Month: 6, Day: 15}
	in, err := rules.ParseRequest(raw, today)
	if err != nil {
		t.Fatalf("ParseRequest(%+v) = %v", raw, err)
	}
	in.Areas = tc.Input.Areas
	return in
}

// checkInvariants checks what must hold of every Result: the outcome rule,
// the order of the criteria, the explanations, and that no message repeats
// the learner's date of birth.
func checkInvariants(t *testing.T, got rules.Result, dob string) {
	t.Helper()
	notMet, unknown := 0, 0
	for i, c := range got.Criteria {
		if want := rules.Criterion(i + 1); c.Criterion != want {
			t.Errorf("Criteria[%d].Criterion = %v, want %v", i, c.Criterion, want)
		}
		switch c.Status {
		case rules.StatusNotMet:
			notMet++
		case rules.StatusUnknown:
			unknown++
		case rules.StatusMet:
		default:
			t.Errorf("Criteria[%d].Status = %v, want MET, NOT_MET or UNKNOWN", i, c.Status)
		}
		if c.Reason == "" || c.Message == "" {
			t.Errorf("Criteria[%d] = %+v, want a reason and a message", i, c)
		}
		if c.Trace == nil && c.Reason != rules.ReasonParameterNotInForce {
			t.Errorf("Criteria[%d].Trace = nil with reason %v, want a trace", i, c.Reason)
		}
		if dob != "" && strings.Contains(c.Message, dob) {
			t.Errorf("Criteria[%d].Message = %q repeats the date of birth", i, c.Message)
		}
	}
	if n := len(got.Criteria); n != 3 && n != 4 {
		t.Errorf("len(Criteria) = %d, want 3 or 4", n)
	}
	want := rules.OutcomeEligible
	switch {
	case notMet > 0:
		want = rules.OutcomeNotEligible
	case unknown > 0:
		want = rules.OutcomeUndetermined
	}
	if got.Outcome != want {
		t.Errorf("Outcome = %v with %d not met and %d unknown, want %v", got.Outcome, notMet, unknown, want)
	}
	// Undetermined only because no rule is in force leaves nothing to change.
	if (got.Outcome == rules.OutcomeEligible && len(got.WouldChange) != 0) ||
		(got.Outcome == rules.OutcomeNotEligible && len(got.WouldChange) == 0) {
		t.Errorf("Outcome %v with WouldChange %q: want none when eligible and some when not", got.Outcome, got.WouldChange)
	}
	for _, s := range got.WouldChange {
		if dob != "" && strings.Contains(s, dob) {
			t.Errorf("WouldChange %q repeats the date of birth", s)
		}
	}
	ageOnly := len(got.Criteria) > 0 && got.Criteria[0].Status == rules.StatusNotMet && notMet == 1
	if (got.EligibleFrom != nil) != ageOnly {
		t.Errorf("EligibleFrom = %v, want it set exactly when age is the only criterion not met", got.EligibleFrom)
	}
	if got.EligibleFrom != nil && !got.EligibleFrom.After(got.AsOf) {
		t.Errorf("EligibleFrom = %v, want a day after AsOf %v", got.EligibleFrom, got.AsOf)
	}
	if got.SalaryOverByPence < 0 {
		t.Errorf("SalaryOverByPence = %d, want >= 0", got.SalaryOverByPence)
	}
}
