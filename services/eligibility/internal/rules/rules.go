// Package rules decides whether a learner is eligible for Get Help to Retrain
// and explains why.
//
// It is the pure domain of the eligibility service: it imports no gRPC,
// protobuf, storage or logging code, never reads the clock and never
// mutates its arguments. The rule's numbers are not constants in code but
// dated data in a [Ruleset] (in the style of OpenFisca parameters): each value
// has a start date and a reference to where it comes from, and may be
// overridden per area. [Evaluate] applies a ruleset to an [Input] and returns
// a [Result] whose every criterion carries a stable reason code, a plain
// English message for the learner and a [Trace] of the parameter value it
// read.
//
// The rule, from the public service: a learner is eligible when they are
// aged 24 or over, their highest qualification is below degree level (RQF
// level 5 or below) and their gross annual salary is below £35,000. A ruleset
// may also list the areas in which the service is live.
//
// No message or error produced here contains a learner's date of birth,
// salary or postcode, so they are safe to log and to show.
package rules

import "strconv"

// Level is a learner's highest qualification on the Regulated Qualifications
// Framework (RQF). Its values match the protobuf enum RqfLevel
// (RQF_LEVEL_UNSPECIFIED = 0 ... RQF_LEVEL_8 = 10) so the API layer can convert
// with a plain cast. Levels are ordered: a greater Level is a higher
// qualification.
type Level int

// The RQF levels, lowest first.
const (
	// LevelUnspecified means the learner did not say; the qualification
	// criterion is then unknown.
	LevelUnspecified Level = iota
	// LevelNone means no qualifications.
	LevelNone
	// LevelEntry covers Entry levels 1 to 3.
	LevelEntry
	// Level1 is e.g. GCSE grades 3 to 1.
	Level1
	// Level2 is e.g. GCSE grades 9 to 4.
	Level2
	// Level3 is e.g. A level or T level.
	Level3
	// Level4 is e.g. HNC or CertHE.
	Level4
	// Level5 is e.g. HND, foundation degree or DipHE: the highest level below
	// degree level.
	Level5
	// Level6 is e.g. a bachelor's degree.
	Level6
	// Level7 is e.g. a master's degree.
	Level7
	// Level8 is a doctorate.
	Level8
)

// levelNames are the protobuf enum value names of the levels, indexed by Level.
var levelNames = [...]string{
	LevelUnspecified: "RQF_LEVEL_UNSPECIFIED",
	LevelNone:        "RQF_LEVEL_NONE",
	LevelEntry:       "RQF_LEVEL_ENTRY",
	Level1:           "RQF_LEVEL_1",
	Level2:           "RQF_LEVEL_2",
	Level3:           "RQF_LEVEL_3",
	Level4:           "RQF_LEVEL_4",
	Level5:           "RQF_LEVEL_5",
	Level6:           "RQF_LEVEL_6",
	Level7:           "RQF_LEVEL_7",
	Level8:           "RQF_LEVEL_8",
}

// levelPlain are the levels as a learner would read them, indexed by Level.
var levelPlain = [...]string{
	LevelUnspecified: "an unspecified level",
	LevelNone:        "no qualifications",
	LevelEntry:       "entry level",
	Level1:           "level 1",
	Level2:           "level 2",
	Level3:           "level 3",
	Level4:           "level 4",
	Level5:           "level 5",
	Level6:           "level 6",
	Level7:           "level 7",
	Level8:           "level 8",
}

// Valid reports whether l is one of the real levels, LevelNone to Level8.
// LevelUnspecified is not valid: it means the level was not given.
func (l Level) Valid() bool {
	return l >= LevelNone && l <= Level8
}

// String returns the protobuf enum name of l, such as "RQF_LEVEL_5", or
// "Level(42)" for a value outside the enum.
func (l Level) String() string {
	if l >= LevelUnspecified && l <= Level8 {
		return levelNames[l]
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// plain returns l in words for messages, such as "level 5".
func (l Level) plain() string {
	if l >= LevelUnspecified && l <= Level8 {
		return levelPlain[l]
	}
	return l.String()
}

// ParseLevel returns the Level named by its protobuf enum name, such as
// "RQF_LEVEL_5", and whether there is one. It is for configuration and test
// data written by people.
func ParseLevel(name string) (Level, bool) {
	for l, n := range levelNames {
		if n == name {
			return Level(l), true
		}
	}
	return LevelUnspecified, false
}

// Criterion names one of the conditions a learner must meet. The values
// match the protobuf enum Criterion.
type Criterion int

// The criteria, in the order a [Result] lists them.
const (
	// CriterionUnspecified is the zero value and never appears in a Result.
	CriterionUnspecified Criterion = iota
	// CriterionAge is being at least the age floor (24) on the date of the check.
	CriterionAge
	// CriterionQualification is having a highest qualification at or below
	// the qualification ceiling (RQF level 5, below degree level).
	CriterionQualification
	// CriterionSalary is earning a gross annual salary below the threshold.
	CriterionSalary
	// CriterionArea is living in an area where the service is live; it is
	// checked only when the ruleset lists live areas.
	CriterionArea
)

// String returns the name of c, such as "AGE".
func (c Criterion) String() string {
	switch c {
	case CriterionUnspecified:
		return "UNSPECIFIED"
	case CriterionAge:
		return "AGE"
	case CriterionQualification:
		return "QUALIFICATION"
	case CriterionSalary:
		return "SALARY"
	case CriterionArea:
		return "AREA"
	}
	return "Criterion(" + strconv.Itoa(int(c)) + ")"
}

// Status says whether one criterion holds. The values match the protobuf
// enum CriterionStatus.
type Status int

// The statuses of a criterion.
const (
	// StatusUnspecified is the zero value and never appears in a Result.
	StatusUnspecified Status = iota
	// StatusMet means the criterion holds.
	StatusMet
	// StatusNotMet means the criterion does not hold.
	StatusNotMet
	// StatusUnknown means the criterion cannot be decided, because an input
	// was not given or the ruleset has no value in force.
	StatusUnknown
)

// String returns the name of s, such as "MET".
func (s Status) String() string {
	switch s {
	case StatusUnspecified:
		return "UNSPECIFIED"
	case StatusMet:
		return "MET"
	case StatusNotMet:
		return "NOT_MET"
	case StatusUnknown:
		return "UNKNOWN"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Outcome is the overall answer of a check. The values match the protobuf
// enum Outcome.
type Outcome int

// The outcomes of a check.
const (
	// OutcomeUnspecified is the zero value and never returned by Evaluate.
	OutcomeUnspecified Outcome = iota
	// OutcomeEligible means every criterion is met.
	OutcomeEligible
	// OutcomeNotEligible means at least one criterion is not met.
	OutcomeNotEligible
	// OutcomeUndetermined means no criterion is not met but at least one is
	// unknown: more information would decide it.
	OutcomeUndetermined
)

// String returns the name of o, such as "ELIGIBLE".
func (o Outcome) String() string {
	switch o {
	case OutcomeUnspecified:
		return "UNSPECIFIED"
	case OutcomeEligible:
		return "ELIGIBLE"
	case OutcomeNotEligible:
		return "NOT_ELIGIBLE"
	case OutcomeUndetermined:
		return "UNDETERMINED"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Reason codes explain a criterion's status. They are stable API: clients and
// analytics may switch on them, so never change one's spelling.
const (
	// ReasonAgeAtOrAboveFloor: the learner has reached the age floor.
	ReasonAgeAtOrAboveFloor = "AGE_AT_OR_ABOVE_FLOOR"
	// ReasonAgeBelowFloor: the learner has not yet reached the age floor.
	ReasonAgeBelowFloor = "AGE_BELOW_FLOOR"
	// ReasonDateOfBirthNotGiven: no date of birth, so age is unknown.
	ReasonDateOfBirthNotGiven = "DATE_OF_BIRTH_NOT_GIVEN"
	// ReasonQualificationBelowDegree: the highest qualification is at or below the ceiling.
	ReasonQualificationBelowDegree = "QUALIFICATION_BELOW_DEGREE"
	// ReasonQualificationDegreeOrAbove: the highest qualification is above the ceiling.
	ReasonQualificationDegreeOrAbove = "QUALIFICATION_DEGREE_OR_ABOVE"
	// ReasonQualificationNotGiven: no (valid) qualification level was given.
	ReasonQualificationNotGiven = "QUALIFICATION_NOT_GIVEN"
	// ReasonSalaryBelowThreshold: the salary is strictly below the threshold.
	ReasonSalaryBelowThreshold = "SALARY_BELOW_THRESHOLD"
	// ReasonSalaryAtOrAboveThreshold: the salary is the threshold or more.
	ReasonSalaryAtOrAboveThreshold = "SALARY_AT_OR_ABOVE_THRESHOLD"
	// ReasonSalaryNotGiven: no (valid) salary was given.
	ReasonSalaryNotGiven = "SALARY_NOT_GIVEN"
	// ReasonAreaLive: one of the learner's areas is live on the date of the check.
	ReasonAreaLive = "AREA_LIVE"
	// ReasonAreaNotLive: none of the learner's areas is live on the date of the check.
	ReasonAreaNotLive = "AREA_NOT_LIVE"
	// ReasonAreaNotResolved: the learner's area is not known.
	ReasonAreaNotResolved = "AREA_NOT_RESOLVED"
	// ReasonParameterNotInForce: the ruleset has no value for the criterion's
	// parameter on the date of the check.
	ReasonParameterNotInForce = "PARAMETER_NOT_IN_FORCE"
)

// Parameter names, as they appear in a [Trace] and as JSON keys in a ruleset.
const (
	// ParamAgeFloor is the minimum age in whole years.
	ParamAgeFloor = "age_floor"
	// ParamQualificationCeiling is the highest Level allowed.
	ParamQualificationCeiling = "qualification_ceiling"
	// ParamSalaryThresholdPence is the gross annual salary, in pence, that a
	// learner must earn less than.
	ParamSalaryThresholdPence = "salary_threshold_pence"
	// ParamLiveAreas is the list of areas where the service is live.
	ParamLiveAreas = "live_areas"
)
