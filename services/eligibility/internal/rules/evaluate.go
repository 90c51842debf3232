package rules

import (
	"strconv"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// maxCriteria is the most criteria a Result can have.
const maxCriteria = 4

// criteriaOrder is the fixed order of the criteria in a Result.
var criteriaOrder = [maxCriteria]Criterion{CriterionAge, CriterionQualification, CriterionSalary, CriterionArea}

// Input is what is known about a learner for one check. A nil pointer, a
// LevelUnspecified qualification or no areas mean "not given" and make the
// criterion unknown. [ParseRequest] builds an Input from an API request and
// rejects values Evaluate could not use; Evaluate itself treats an invalid
// date of birth, an invalid level or a negative salary as not given.
type Input struct {
	// DateOfBirth is the learner's date of birth.
	DateOfBirth *civil.Date
	// Qualification is the learner's highest qualification.
	Qualification Level
	// SalaryPence is the learner's gross annual salary in pence.
	SalaryPence *int64
	// Areas are the ONS area codes the learner's postcode resolves to, most
	// specific or most important first: the first with an override in force
	// sets each parameter. Nil or empty means the area is not known.
	Areas []string
	// AsOf is the day of the check, a civil date in Europe/London. It picks
	// the parameter values in force and is the day on which age is measured.
	AsOf civil.Date
}

// Trace records the parameter value a criterion was decided with, so every
// answer can be traced to its source.
type Trace struct {
	// Parameter is the parameter's name: ParamAgeFloor, ParamQualificationCeiling,
	// ParamSalaryThresholdPence or ParamLiveAreas.
	Parameter string
	// Value is the value read (see ParameterValue.Value). It is 0 for
	// ParamLiveAreas.
	Value int64
	// EffectiveFrom is the start date of the value read, or the day from
	// which a live area is live. It is zero when no area is live.
	EffectiveFrom civil.Date
	// Area is the code of the area whose override or live-area entry was
	// read; empty for a national value.
	Area string
	// Reference is where the value comes from.
	Reference string
}

// CriterionResult is the answer for one criterion, with its explanation.
type CriterionResult struct {
	// Criterion is the condition checked.
	Criterion Criterion
	// Status is whether it holds.
	Status Status
	// Reason is a stable code for why, one of the Reason constants.
	Reason string
	// Message explains the status in plain English for the learner. It may
	// quote the rule's limits but never the learner's own details.
	Message string
	// Trace is the parameter value used, or nil when no value was in force.
	Trace *Trace
}

// Result is the answer of a check and its explanation.
type Result struct {
	// Outcome is NotEligible if any criterion is not met, else Undetermined
	// if any is unknown, else Eligible.
	Outcome Outcome
	// RulesetVersion is the Version of the ruleset applied.
	RulesetVersion string
	// AsOf is the day of the check.
	AsOf civil.Date
	// Criteria are the answers for age, qualification and salary, then area
	// when the ruleset lists live areas, always in that order.
	Criteria []CriterionResult
	// EligibleFrom is set when age is the only criterion not met (the others
	// met or unknown): it is the day the learner reaches the age floor,
	// assuming the rules in force on AsOf still apply then.
	EligibleFrom *civil.Date
	// SalaryOverByPence is how far the salary is at or above the threshold,
	// salary minus threshold, when the salary criterion is not met; 0
	// otherwise. So 0 with a salary criterion not met means "exactly at the
	// threshold", which is not below it.
	SalaryOverByPence int64
	// WouldChange lists in plain English what would change the outcome: when
	// not eligible, every condition not met (all are needed); when
	// undetermined, the information still missing; nothing when eligible.
	WouldChange []string
}

// store holds everything a Result points into, so that one allocation
// serves them all.
type store struct {
	criteria     [maxCriteria]CriterionResult
	traces       [maxCriteria]Trace
	changes      [maxCriteria]string
	eligibleFrom civil.Date
}

// span is where one message lies in the text of an evaluation.
type span struct{ start, end int }

// Evaluate applies the ruleset rs to the learner in and explains the answer.
// It is pure and deterministic: it does not read the clock, log or change its
// arguments.
//
// For each parameter it uses the override of the first of in.Areas that has
// one in force on in.AsOf, else the national value. A criterion whose
// parameter has no value in force on in.AsOf is unknown with reason
// ReasonParameterNotInForce, whether or not its input was given.
func Evaluate(rs Ruleset, in Input) Result {
	st := new(store)
	// All messages are written into one buffer and turned into one string,
	// which the messages then share: one allocation instead of one each.
	var stack [1024]byte
	text := stack[:0]
	var msgSpans, changeSpans [maxCriteria]span

	n := 3
	if len(rs.LiveAreas) > 0 {
		n = 4
	}
	notMet, unknown := 0, 0
	for i, c := range criteriaOrder[:n] {
		tr := &st.traces[i]
		start := len(text)
		var cr CriterionResult
		switch c {
		case CriterionAge:
			cr, text = evalAge(&rs, &in, tr, text)
		case CriterionQualification:
			cr, text = evalQualification(&rs, &in, tr, text)
		case CriterionSalary:
			cr, text = evalSalary(&rs, &in, tr, text)
		case CriterionArea:
			cr, text = evalArea(&rs, &in, tr, text)
		}
		cr.Criterion = c
		msgSpans[i] = span{start, len(text)}
		st.criteria[i] = cr
		switch cr.Status {
		case StatusNotMet:
			notMet++
		case StatusUnknown:
			unknown++
		}
	}

	res := Result{RulesetVersion: rs.Version, AsOf: in.AsOf, Criteria: st.criteria[:n:n]}
	switch {
	case notMet > 0:
		res.Outcome = OutcomeNotEligible
	case unknown > 0:
		res.Outcome = OutcomeUndetermined
	default:
		res.Outcome = OutcomeEligible
	}

	if age := &st.criteria[0]; age.Status == StatusNotMet && notMet == 1 {
		st.eligibleFrom = in.DateOfBirth.AddYears(int(age.Trace.Value))
		res.EligibleFrom = &st.eligibleFrom
	}
	if salary := &st.criteria[2]; salary.Status == StatusNotMet {
		res.SalaryOverByPence = *in.SalaryPence - salary.Trace.Value
	}

	changes := 0
	if res.Outcome != OutcomeEligible {
		for i := range res.Criteria {
			start := len(text)
			text = appendWouldChange(text, &res.Criteria[i], res.Outcome)
			if len(text) > start {
				changeSpans[changes] = span{start, len(text)}
				changes++
			}
		}
	}

	s := string(text)
	for i := range res.Criteria {
		res.Criteria[i].Message = s[msgSpans[i].start:msgSpans[i].end]
	}
	if changes > 0 {
		for i, sp := range changeSpans[:changes] {
			st.changes[i] = s[sp.start:sp.end]
		}
		res.WouldChange = st.changes[:changes:changes]
	}
	return res
}

// resolve finds the value of a parameter in force on in.AsOf: the override of
// the first of in.Areas that has one in force, else national. pick selects
// the parameter from an area's overrides. It fills tr and reports whether a
// value is in force.
func resolve(rs *Ruleset, in *Input, name string, national *Parameter, pick func(*Overrides) *Parameter, tr *Trace) bool {
	if len(rs.AreaOverrides) > 0 {
		for _, area := range in.Areas {
			o, ok := rs.AreaOverrides[area]
			if !ok {
				continue
			}
			p := pick(&o)
			if p == nil {
				continue
			}
			if v, ok := p.At(in.AsOf); ok {
				*tr = Trace{Parameter: name, Value: v.Value, EffectiveFrom: v.Start, Area: area, Reference: v.Reference}
				return true
			}
		}
	}
	v, ok := national.At(in.AsOf)
	if !ok {
		return false
	}
	*tr = Trace{Parameter: name, Value: v.Value, EffectiveFrom: v.Start, Reference: v.Reference}
	return true
}

// The pick functions for resolve.
func pickAgeFloor(o *Overrides) *Parameter             { return o.AgeFloor }
func pickQualificationCeiling(o *Overrides) *Parameter { return o.QualificationCeiling }
func pickSalaryThreshold(o *Overrides) *Parameter      { return o.SalaryThresholdPence }

// evalAge decides the age criterion and appends its message to text.
func evalAge(rs *Ruleset, in *Input, tr *Trace, text []byte) (CriterionResult, []byte) {
	if !resolve(rs, in, ParamAgeFloor, &rs.AgeFloor, pickAgeFloor, tr) {
		return notInForce(), append(text, "We cannot check your age: no age limit is in force on the date of the check."...)
	}
	cr := CriterionResult{Trace: tr}
	switch {
	case in.DateOfBirth == nil || !in.DateOfBirth.IsValid():
		cr.Status, cr.Reason = StatusUnknown, ReasonDateOfBirthNotGiven
		text = append(text, "We need your date of birth to check that you are "...)
		text = strconv.AppendInt(text, tr.Value, 10)
		text = append(text, " or over."...)
	case !in.DateOfBirth.AddYears(int(tr.Value)).After(in.AsOf):
		cr.Status, cr.Reason = StatusMet, ReasonAgeAtOrAboveFloor
		text = append(text, "You are "...)
		text = strconv.AppendInt(text, tr.Value, 10)
		text = append(text, " or over."...)
	default:
		cr.Status, cr.Reason = StatusNotMet, ReasonAgeBelowFloor
		text = append(text, "You are under "...)
		text = strconv.AppendInt(text, tr.Value, 10)
		text = append(text, "; you must be "...)
		text = strconv.AppendInt(text, tr.Value, 10)
		text = append(text, " or over."...)
	}
	return cr, text
}

// evalQualification decides the qualification criterion and appends its
// message to text.
func evalQualification(rs *Ruleset, in *Input, tr *Trace, text []byte) (CriterionResult, []byte) {
	if !resolve(rs, in, ParamQualificationCeiling, &rs.QualificationCeiling, pickQualificationCeiling, tr) {
		return notInForce(), append(text, "We cannot check your qualifications: no qualification limit is in force on the date of the check."...)
	}
	ceiling := Level(tr.Value)
	cr := CriterionResult{Trace: tr}
	switch {
	case !in.Qualification.Valid():
		cr.Status, cr.Reason = StatusUnknown, ReasonQualificationNotGiven
		if ceiling == Level5 {
			text = append(text, "We need your highest qualification to check that it is below degree level."...)
		} else {
			text = append(text, "We need your highest qualification to check that it is within the limit: "...)
			text = appendQualificationLimit(text, ceiling)
			text = append(text, '.')
		}
	case in.Qualification <= ceiling:
		cr.Status, cr.Reason = StatusMet, ReasonQualificationBelowDegree
		if ceiling == Level5 {
			text = append(text, "Your highest qualification is below degree level."...)
		} else {
			text = append(text, "Your highest qualification is within the limit: "...)
			text = appendQualificationLimit(text, ceiling)
			text = append(text, '.')
		}
	default:
		cr.Status, cr.Reason = StatusNotMet, ReasonQualificationDegreeOrAbove
		if ceiling == Level5 {
			text = append(text, "You have a qualification at degree level or above; it must be below degree level (level 5 or below)."...)
		} else {
			text = append(text, "Your highest qualification is above the limit: "...)
			text = appendQualificationLimit(text, ceiling)
			text = append(text, '.')
		}
	}
	return cr, text
}

// appendQualificationLimit appends the highest qualification allowed, in
// words, such as "level 4 or below".
func appendQualificationLimit(text []byte, ceiling Level) []byte {
	if ceiling == LevelNone {
		return append(text, "no qualifications"...)
	}
	text = append(text, ceiling.plain()...)
	return append(text, " or below"...)
}

// evalSalary decides the salary criterion and appends its message to text.
func evalSalary(rs *Ruleset, in *Input, tr *Trace, text []byte) (CriterionResult, []byte) {
	if !resolve(rs, in, ParamSalaryThresholdPence, &rs.SalaryThresholdPence, pickSalaryThreshold, tr) {
		return notInForce(), append(text, "We cannot check your salary: no salary limit is in force on the date of the check."...)
	}
	cr := CriterionResult{Trace: tr}
	switch {
	case in.SalaryPence == nil || *in.SalaryPence < 0:
		cr.Status, cr.Reason = StatusUnknown, ReasonSalaryNotGiven
		text = append(text, "We need your gross annual salary to check that it is below "...)
		text = appendPence(text, tr.Value)
		text = append(text, " a year."...)
	case *in.SalaryPence < tr.Value:
		cr.Status, cr.Reason = StatusMet, ReasonSalaryBelowThreshold
		text = append(text, "Your salary is below "...)
		text = appendPence(text, tr.Value)
		text = append(text, " a year."...)
	default:
		cr.Status, cr.Reason = StatusNotMet, ReasonSalaryAtOrAboveThreshold
		text = append(text, "Your salary is "...)
		text = appendPence(text, tr.Value)
		text = append(text, " a year or more; the limit is below "...)
		text = appendPence(text, tr.Value)
		text = append(text, '.')
	}
	return cr, text
}

// evalArea decides the area criterion and appends its message to text.
func evalArea(rs *Ruleset, in *Input, tr *Trace, text []byte) (CriterionResult, []byte) {
	*tr = Trace{Parameter: ParamLiveAreas}
	cr := CriterionResult{Trace: tr}
	if len(in.Areas) == 0 {
		cr.Status, cr.Reason = StatusUnknown, ReasonAreaNotResolved
		return cr, append(text, "We need your postcode to check that the service is open where you live."...)
	}
	for _, area := range in.Areas {
		for _, la := range rs.LiveAreas {
			if la.Code == area && la.liveOn(in.AsOf) {
				tr.EffectiveFrom, tr.Area, tr.Reference = la.From, la.Code, la.Reference
				cr.Status, cr.Reason = StatusMet, ReasonAreaLive
				return cr, append(text, "The service is open where you live."...)
			}
		}
	}
	cr.Status, cr.Reason = StatusNotMet, ReasonAreaNotLive
	return cr, append(text, "The service is not open where you live on the date of the check."...)
}

// notInForce is the result for a criterion whose parameter has no value in
// force.
func notInForce() CriterionResult {
	return CriterionResult{Status: StatusUnknown, Reason: ReasonParameterNotInForce}
}

// appendWouldChange appends what would change the outcome about one
// criterion, or nothing: for a not-eligible outcome the condition a criterion
// not met needs, for an undetermined one the information an unknown criterion
// lacks.
func appendWouldChange(text []byte, cr *CriterionResult, outcome Outcome) []byte {
	if outcome == OutcomeNotEligible && cr.Status == StatusNotMet {
		switch cr.Criterion {
		case CriterionAge:
			text = append(text, "being "...)
			text = strconv.AppendInt(text, cr.Trace.Value, 10)
			return append(text, " or over"...)
		case CriterionQualification:
			switch ceiling := Level(cr.Trace.Value); ceiling {
			case Level5:
				return append(text, "a highest qualification below degree level"...)
			case LevelNone:
				return append(text, "having no qualifications"...)
			default:
				text = append(text, "a highest qualification at "...)
				return appendQualificationLimit(text, ceiling)
			}
		case CriterionSalary:
			text = append(text, "a gross annual salary below "...)
			return appendPence(text, cr.Trace.Value)
		case CriterionArea:
			return append(text, "living in an area where the service is open"...)
		}
	}
	if outcome == OutcomeUndetermined && cr.Status == StatusUnknown {
		switch cr.Reason {
		case ReasonDateOfBirthNotGiven:
			return append(text, "giving your date of birth"...)
		case ReasonQualificationNotGiven:
			return append(text, "giving your highest qualification"...)
		case ReasonSalaryNotGiven:
			return append(text, "giving your gross annual salary"...)
		case ReasonAreaNotResolved:
			return append(text, "giving a postcode we can match to an area"...)
		}
		// ReasonParameterNotInForce: nothing the learner can do changes it.
	}
	return text
}
