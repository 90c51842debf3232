package rules

import (
	"bytes"
	_ "embed" // for builtin.json
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// builtinJSON is the ruleset the service uses when it is given no other: the
// rule of the public Get Help to Retrain service.
//
//go:embed builtin.json
var builtinJSON []byte

// Limits on parameter values that [Ruleset.Validate] enforces.
const (
	maxAgeFloor = 120
)

// Parameter is one number of the rule as dated data: the values it has had
// and will have, each from its start date. It is how the rule changes over
// time without a code change.
type Parameter struct {
	// Values in order of Start, each Start unique. The value in force on a
	// date is the one with the latest Start on or before it.
	Values []ParameterValue `json:"values"`
}

// ParameterValue is the value of a Parameter from a start date until the next
// value's start date.
type ParameterValue struct {
	// Start is the first day on which Value is in force.
	Start civil.Date `json:"start"`
	// Value is the number: whole years for an age, a Level number for a
	// qualification ceiling (7 is RQF level 5), pence for money.
	Value int64 `json:"value"`
	// Reference says where the value comes from, such as a URL or the title
	// of a document, so every answer can be traced to its source.
	Reference string `json:"reference"`
}

// At returns the value in force on d: the one with the latest Start on or
// before d. ok is false when no value is in force yet.
func (p Parameter) At(d civil.Date) (v ParameterValue, ok bool) {
	for _, pv := range p.Values {
		if !pv.Start.After(d) && (!ok || pv.Start.After(v.Start)) {
			v, ok = pv, true
		}
	}
	return v, ok
}

// Overrides are the parameter values that apply in one area instead of the
// national ones, for pilots that differ by area. A nil field means the area
// uses the national parameter.
type Overrides struct {
	// AgeFloor overrides Ruleset.AgeFloor in the area.
	AgeFloor *Parameter `json:"age_floor,omitempty"`
	// QualificationCeiling overrides Ruleset.QualificationCeiling in the area.
	QualificationCeiling *Parameter `json:"qualification_ceiling,omitempty"`
	// SalaryThresholdPence overrides Ruleset.SalaryThresholdPence in the area.
	SalaryThresholdPence *Parameter `json:"salary_threshold_pence,omitempty"`
}

// LiveArea is an area in which the service is open, from one day and
// optionally until another, for a service that is rolled out area by area.
type LiveArea struct {
	// Code is the ONS code of the area, such as E37000022 for the Liverpool
	// City Region LEP.
	Code string `json:"code"`
	// From is the first day on which the service is live in the area.
	From civil.Date `json:"from"`
	// Until, when set, is the last day on which the service is live in the
	// area (inclusive). Nil means it stays live.
	Until *civil.Date `json:"until,omitempty"`
	// Reference optionally says where the roll-out date comes from.
	Reference string `json:"reference,omitempty"`
}

// liveOn reports whether the area is live on d.
func (a LiveArea) liveOn(d civil.Date) bool {
	return !a.From.After(d) && (a.Until == nil || !d.After(*a.Until))
}

// Ruleset is one published version of the eligibility rule: its parameters
// as dated data, per-area overrides and, optionally, the areas where the
// service is live. It is loaded from JSON (see [ParseRuleset]) so rules can
// change without a release; [Builtin] is the default.
type Ruleset struct {
	// Version identifies the ruleset in every Result, such as "gb-2020-07-01".
	Version string `json:"version"`
	// Description says what the ruleset is for, for people.
	Description string `json:"description,omitempty"`
	// PublishedAt is when the ruleset was published; zero for the built-in one.
	PublishedAt time.Time `json:"published_at,omitzero"`
	// AgeFloor is the minimum age in whole years.
	AgeFloor Parameter `json:"age_floor"`
	// QualificationCeiling is the highest qualification allowed, as a Level
	// number: 7 (Level5) means below degree level.
	QualificationCeiling Parameter `json:"qualification_ceiling"`
	// SalaryThresholdPence is the gross annual salary in pence that a learner
	// must earn strictly less than.
	SalaryThresholdPence Parameter `json:"salary_threshold_pence"`
	// AreaOverrides are per-area parameter values keyed by ONS area code. A
	// learner's areas are tried in the order given in the Input.
	AreaOverrides map[string]Overrides `json:"area_overrides,omitempty"`
	// LiveAreas, when not empty, limits the service to learners in these
	// areas and adds the area criterion.
	LiveAreas []LiveArea `json:"live_areas,omitempty"`
}

// Builtin returns the built-in ruleset: the rule of the public Get Help to
// Retrain service from July 2020 (age 24 or over, qualifications below degree
// level, earning below £35,000 a year) with no area overrides and no live-area
// list. Each call returns a fresh copy that the caller may change.
func Builtin() (Ruleset, error) {
	rs, err := ParseRuleset(builtinJSON)
	if err != nil {
		return Ruleset{}, fmt.Errorf("built-in ruleset: %w", err)
	}
	return rs, nil
}

// ParseRuleset reads a ruleset from JSON and validates it. Unknown fields are
// an error, so a misspelt key in a rules file is caught rather than ignored.
func ParseRuleset(data []byte) (Ruleset, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rs Ruleset
	if err := dec.Decode(&rs); err != nil {
		return Ruleset{}, fmt.Errorf("decode ruleset: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Ruleset{}, errors.New("decode ruleset: unexpected data after the ruleset")
	}
	if err := rs.Validate(); err != nil {
		return Ruleset{}, err
	}
	return rs, nil
}

// Validate reports every problem with rs, joined into one error, or nil. A
// valid ruleset has a version; a national value for each parameter; values
// with real, strictly increasing start dates and a reference; ages from 0 to
// 120, real levels and salaries of zero or more; and area codes that look like
// ONS codes (a capital letter and eight digits).
func (rs Ruleset) Validate() error {
	var errs []error
	if rs.Version == "" {
		errs = append(errs, errors.New("version is empty"))
	}
	errs = validateParameter(errs, ParamAgeFloor, "", rs.AgeFloor, checkAge)
	errs = validateParameter(errs, ParamQualificationCeiling, "", rs.QualificationCeiling, checkLevel)
	errs = validateParameter(errs, ParamSalaryThresholdPence, "", rs.SalaryThresholdPence, checkPence)

	codes := make([]string, 0, len(rs.AreaOverrides))
	for code := range rs.AreaOverrides {
		codes = append(codes, code)
	}
	slices.Sort(codes) // so the errors come in the same order every time
	for _, code := range codes {
		o := rs.AreaOverrides[code]
		if !isAreaCode(code) {
			errs = append(errs, fmt.Errorf("area_overrides: %q is not an ONS area code (a capital letter and eight digits)", code))
		}
		if o.AgeFloor == nil && o.QualificationCeiling == nil && o.SalaryThresholdPence == nil {
			errs = append(errs, fmt.Errorf("area_overrides[%s]: overrides nothing", code))
		}
		if o.AgeFloor != nil {
			errs = validateParameter(errs, ParamAgeFloor, code, *o.AgeFloor, checkAge)
		}
		if o.QualificationCeiling != nil {
			errs = validateParameter(errs, ParamQualificationCeiling, code, *o.QualificationCeiling, checkLevel)
		}
		if o.SalaryThresholdPence != nil {
			errs = validateParameter(errs, ParamSalaryThresholdPence, code, *o.SalaryThresholdPence, checkPence)
		}
	}

	for i, a := range rs.LiveAreas {
		where := fmt.Sprintf("live_areas[%d]", i)
		if !isAreaCode(a.Code) {
			errs = append(errs, fmt.Errorf("%s: %q is not an ONS area code (a capital letter and eight digits)", where, a.Code))
		}
		if !a.From.IsValid() {
			errs = append(errs, fmt.Errorf("%s: from is not a real date", where))
		}
		if a.Until != nil && (!a.Until.IsValid() || a.Until.Before(a.From)) {
			errs = append(errs, fmt.Errorf("%s: until must be a real date on or after from", where))
		}
	}
	return errors.Join(errs...)
}

// validateParameter appends to errs the problems with parameter p named name,
// national when area is empty, whose values check approves.
func validateParameter(errs []error, name, area string, p Parameter, check func(int64) error) []error {
	where := name
	if area != "" {
		where = "area_overrides[" + area + "]." + name
	}
	if len(p.Values) == 0 {
		return append(errs, fmt.Errorf("%s: has no values", where))
	}
	for i, v := range p.Values {
		if !v.Start.IsValid() {
			errs = append(errs, fmt.Errorf("%s.values[%d]: start is not a real date", where, i))
		} else if i > 0 && !v.Start.After(p.Values[i-1].Start) {
			errs = append(errs, fmt.Errorf("%s.values[%d]: start %v is not after the previous start %v", where, i, v.Start, p.Values[i-1].Start))
		}
		if v.Reference == "" {
			errs = append(errs, fmt.Errorf("%s.values[%d]: reference is empty", where, i))
		}
		if err := check(v.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s.values[%d]: %w", where, i, err))
		}
	}
	return errs
}

// checkAge accepts an age floor in whole years.
func checkAge(v int64) error {
	if v < 0 || v > maxAgeFloor {
		return fmt.Errorf("age %d is not from 0 to %d", v, maxAgeFloor)
	}
	return nil
}

// checkLevel accepts a Level number of a real level.
func checkLevel(v int64) error {
	if v < int64(LevelNone) || v > int64(Level8) {
		return fmt.Errorf("%d is not a level from %d (%v) to %d (%v)", v, LevelNone, LevelNone, Level8, Level8)
	}
	return nil
}

// checkPence accepts an amount of money that is not negative.
func checkPence(v int64) error {
	if v < 0 {
		return fmt.Errorf("amount %d pence is negative", v)
	}
	return nil
}

// isAreaCode reports whether s looks like an ONS GSS code: a capital letter
// (E for England, W, S, N, ...) and eight digits, such as E37000022.
func isAreaCode(s string) bool {
	if len(s) != 9 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
