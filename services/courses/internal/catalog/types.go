// Package catalog is the domain of the courses service: pilot areas and their rules,
// providers, courses with their discounts, bulk import and export, and the in-memory search
// index over the store. It imports no gRPC, storage or generated code; the Store it needs is
// declared here and implemented by boltstore and pgstore.
package catalog

import (
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// Level is an RQF notional level: Entry, then 1 to 8. The zero Level is "not given".
type Level uint8

// The levels, in order.
const (
	LevelUnset Level = iota
	LevelEntry
	Level1
	Level2
	Level3
	Level4
	Level5
	Level6
	Level7
	Level8
	numLevels
)

var levelNames = [numLevels]string{"", "E", "1", "2", "3", "4", "5", "6", "7", "8"}

// String returns "E" or "1" to "8", and "" for LevelUnset: the LARS notional level.
func (l Level) String() string {
	if l >= numLevels {
		return ""
	}
	return levelNames[l]
}

// ParseLevel reads "E" (or "entry") or "1" to "8"; ok is false otherwise.
func ParseLevel(s string) (Level, bool) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "entry") || strings.EqualFold(s, "e") {
		return LevelEntry, true
	}
	for l := Level1; l < numLevels; l++ {
		if s == levelNames[l] {
			return l, true
		}
	}
	return LevelUnset, false
}

// DeliveryMode is how a course is delivered. The numbers match the API's enum.
type DeliveryMode uint8

// The delivery modes.
const (
	DeliveryUnset DeliveryMode = iota
	DeliveryClassroom
	DeliveryOnline
	DeliveryWorkBased
	DeliveryBlended
	numDelivery
)

// StudyMode is the intensity of study. The numbers match the API's enum.
type StudyMode uint8

// The study modes.
const (
	StudyUnset StudyMode = iota
	StudyFullTime
	StudyPartTime
	StudyFlexible
	numStudy
)

// AttendancePattern is when a learner attends. The numbers match the API's enum.
type AttendancePattern uint8

// The attendance patterns.
const (
	AttendanceUnset AttendancePattern = iota
	AttendanceDaytime
	AttendanceEvening
	AttendanceWeekend
	AttendanceDayBlockRelease
	numAttendance
)

// DurationUnit is the unit of a course's duration. The numbers match the API's enum.
type DurationUnit uint8

// The duration units.
const (
	DurationUnset DurationUnit = iota
	DurationHours
	DurationDays
	DurationWeeks
	DurationMonths
	DurationYears
	numDurationUnits
)

// Words used in CSV files for each enum value, first the canonical one. Reading ignores
// case and treats "-", "_" and " " alike.
var (
	deliveryWords   = [numDelivery][]string{nil, {"classroom"}, {"online"}, {"work-based", "workbased", "work"}, {"blended"}}
	studyWords      = [numStudy][]string{nil, {"full-time", "fulltime"}, {"part-time", "parttime"}, {"flexible"}}
	attendanceWords = [numAttendance][]string{nil, {"daytime", "day"}, {"evening"}, {"weekend"}, {"day-block-release", "day-or-block-release", "block-release", "day-release"}}
	durationWords   = [numDurationUnits][]string{nil, {"hours", "hour"}, {"days", "day"}, {"weeks", "week"}, {"months", "month"}, {"years", "year"}}
)

// String returns the CSV word for m.
func (m DeliveryMode) String() string { return word(deliveryWords[:], int(m)) }

// String returns the CSV word for m.
func (m StudyMode) String() string { return word(studyWords[:], int(m)) }

// String returns the CSV word for a.
func (a AttendancePattern) String() string { return word(attendanceWords[:], int(a)) }

// String returns the CSV word for u.
func (u DurationUnit) String() string { return word(durationWords[:], int(u)) }

func word(words [][]string, i int) string {
	if i <= 0 || i >= len(words) {
		return ""
	}
	return words[i][0]
}

// lookupWord returns the index of s among words (0 when not found).
func lookupWord(words [][]string, s string) int {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("_", "-", " ", "-").Replace(s)
	for i, ws := range words {
		for _, w := range ws {
			if s == w {
				return i
			}
		}
	}
	return 0
}

// Valid reports whether m is one of the delivery modes.
func (m DeliveryMode) Valid() bool { return m > DeliveryUnset && m < numDelivery }

// Valid reports whether m is one of the study modes.
func (m StudyMode) Valid() bool { return m > StudyUnset && m < numStudy }

// Valid reports whether a is one of the attendance patterns.
func (a AttendancePattern) Valid() bool { return a > AttendanceUnset && a < numAttendance }

// Valid reports whether u is one of the duration units.
func (u DurationUnit) Valid() bool { return u > DurationUnset && u < numDurationUnits }

// Provider is a learning provider in one area. The same organisation in two areas is two
// Providers, because premises and approval are per area.
type Provider struct {
	// Area is the ONS code of the area.
	Area string
	// UKPRN is the UK Provider Reference Number: 8 digits starting with 1.
	UKPRN string
	// Name is the display name.
	Name string
	// LoanFacility says the provider holds an Advanced Learner Loan facility.
	LoanFacility bool
	// Premises are the canonical postcodes of its premises.
	Premises []string
	// Demo marks the demonstration data seeded on first start.
	Demo bool
	// CreateTime and UpdateTime are set by the Catalog.
	CreateTime, UpdateTime time.Time
	// UpdatedBy is the subject of the caller that last wrote it, or "unauthenticated".
	UpdatedBy string
}

// Course is a course run in one area's catalogue.
type Course struct {
	// Area is the ONS code of the area.
	Area string
	// ID is the course's id in the area (lower-case letters, digits and hyphens).
	ID string
	// LearningAim is the LARS learning aim reference (8 characters, upper case).
	LearningAim string
	// Title and Description are shown to learners and searched by keyword.
	Title, Description string
	// Level is the RQF notional level.
	Level Level
	// Sector is the LARS sector subject area, tier 2 ("5.2") or tier 1 ("5").
	Sector string
	// AwardingBody awards the qualification.
	AwardingBody string
	// ProviderUKPRN names a Provider of the same area.
	ProviderUKPRN string
	// VenuePostcode is the canonical postcode of the venue; empty for online courses.
	VenuePostcode string
	// Delivery, Study and Attendance are the modes of the course.
	Delivery   DeliveryMode
	Study      StudyMode
	Attendance AttendancePattern
	// DurationValue and DurationUnit give how long the course takes.
	DurationValue int32
	DurationUnit  DurationUnit
	// StartDate is the first day; zero when FlexibleStart.
	StartDate     civil.Date
	FlexibleStart bool
	// FullCostPence is the cost before the discount.
	FullCostPence int64
	// Modular courses are taken in bite-size units, one at a time.
	Modular bool
	// DiscountPercent is the discount that applies in the area.
	DiscountPercent int32
	// LearnerCostPence is computed by the Catalog from FullCostPence and DiscountPercent.
	LearnerCostPence int64
	// Demo marks the demonstration data seeded on first start.
	Demo bool
	// CreateTime and UpdateTime are set by the Catalog.
	CreateTime, UpdateTime time.Time
	// UpdatedBy is the subject of the caller that last wrote it, or "unauthenticated".
	UpdatedBy string
}

// sameContent reports whether a and b describe the same course, ignoring when and by whom
// they were written: an import of an unchanged row must change nothing.
func (c Course) sameContent(o Course) bool {
	c.CreateTime, c.UpdateTime, c.UpdatedBy = time.Time{}, time.Time{}, ""
	o.CreateTime, o.UpdateTime, o.UpdatedBy = time.Time{}, time.Time{}, ""
	return c == o
}

// Name returns the resource name of c.
func (c Course) Name() string { return CourseName(c.Area, c.ID) }

// CourseName returns areas/{area}/courses/{id}.
func CourseName(area, id string) string { return "areas/" + area + "/courses/" + id }

// ProviderName returns areas/{area}/providers/{ukprn}.
func ProviderName(area, ukprn string) string { return "areas/" + area + "/providers/" + ukprn }

// AreaName returns areas/{area}.
func AreaName(area string) string { return "areas/" + area }

// errUnknownWord is returned by the Parse functions of the enums.
type errUnknownWord struct{ what string }

func (e errUnknownWord) Error() string { return "is not a known " + e.what }

// ParseDeliveryMode reads a CSV word such as "classroom" or "work-based".
func ParseDeliveryMode(s string) (DeliveryMode, error) {
	if i := lookupWord(deliveryWords[:], s); i > 0 {
		return DeliveryMode(i), nil
	}
	return DeliveryUnset, errUnknownWord{"delivery mode (classroom, online, work-based, blended)"}
}

// ParseStudyMode reads a CSV word such as "full-time".
func ParseStudyMode(s string) (StudyMode, error) {
	if i := lookupWord(studyWords[:], s); i > 0 {
		return StudyMode(i), nil
	}
	return StudyUnset, errUnknownWord{"study mode (full-time, part-time, flexible)"}
}

// ParseAttendancePattern reads a CSV word such as "evening".
func ParseAttendancePattern(s string) (AttendancePattern, error) {
	if i := lookupWord(attendanceWords[:], s); i > 0 {
		return AttendancePattern(i), nil
	}
	return AttendanceUnset, errUnknownWord{"attendance pattern (daytime, evening, weekend, day-block-release)"}
}

// ParseDurationUnit reads a CSV word such as "weeks".
func ParseDurationUnit(s string) (DurationUnit, error) {
	if i := lookupWord(durationWords[:], s); i > 0 {
		return DurationUnit(i), nil
	}
	return DurationUnset, errUnknownWord{"duration unit (hours, days, weeks, months, years)"}
}
