// Package civil provides calendar dates with no time of day and no time zone,
// as the service uses them for dates of birth, dates of a check and the start
// dates of rule parameters.
//
// A Date is a day on the proleptic Gregorian calendar. The service reads
// "today" in Europe/London (see [London] and [Of]); once a Date exists it is
// the same everywhere, and arithmetic on it never meets a daylight-saving
// transition.
//
// Parse errors never repeat the input, because the input is often personal
// data such as a date of birth. They read as a predicate so a caller can put a
// field name in front of them: "date_of_birth " + err.Error() gives
// "date_of_birth must be a date in the form YYYY-MM-DD".
package civil

import (
	"errors"
	"strconv"
	"time"
)

// Errors returned by [Parse] and [Date.UnmarshalText]. Their text never
// contains the input that was rejected.
var (
	// ErrFormat means the text is not exactly YYYY-MM-DD with ASCII digits.
	ErrFormat = errors.New("must be a date in the form YYYY-MM-DD")
	// ErrYearRange means the year is 0000; years run from 0001 to 9999.
	ErrYearRange = errors.New("must have a year from 0001 to 9999")
	// ErrNotReal means the text has the right form but names no day on the
	// calendar, such as 2023-02-29, 2024-13-01 or 2024-04-31.
	ErrNotReal = errors.New("is not a real calendar date")
)

// londonZone is the IANA name of the time zone the service's civil dates are in.
const londonZone = "Europe/London"

// Date is a calendar date: a year, a month and a day of the month, with no time
// of day and no location. The zero Date is "no date" (see [Date.IsZero]); it is
// not a real calendar date.
//
// Dates are comparable with == when both are valid. In JSON and other text
// encodings a Date is the string "YYYY-MM-DD".
type Date struct {
	// Year is the year, 1 to 9999 for a valid Date.
	Year int
	// Month is the month of the year, January to December.
	Month time.Month
	// Day is the day of the month, starting at 1.
	Day int
}

// Parse reads a date in the strict form YYYY-MM-DD: exactly four, two and two
// ASCII digits separated by hyphens, with a year from 0001 to 9999, naming a
// real day. It returns [ErrFormat], [ErrYearRange] or [ErrNotReal] otherwise;
// none of them repeats the input.
func Parse(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, ErrFormat
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, ErrFormat
	}
	if year == 0 {
		return Date{}, ErrYearRange
	}
	d := Date{Year: year, Month: time.Month(month), Day: day}
	if !d.IsValid() {
		return Date{}, ErrNotReal
	}
	return d, nil
}

// digits converts a short run of ASCII digits to a number; ok is false if any
// byte is not a digit. It exists because strconv.Atoi accepts signs.
func digits(s string) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// IsLeapYear reports whether year has a 29 February on the Gregorian calendar.
func IsLeapYear(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

// DaysIn returns the number of days in month of year, or 0 if month is not
// January to December. It is for checking and building dates.
func DaysIn(year int, month time.Month) int {
	switch month {
	case time.January, time.March, time.May, time.July, time.August, time.October, time.December:
		return 31
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if IsLeapYear(year) {
			return 29
		}
		return 28
	}
	return 0
}

// IsValid reports whether d names a real day with a year from 1 to 9999, the
// dates [Parse] accepts. The zero Date is not valid.
func (d Date) IsValid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Day >= 1 && d.Day <= DaysIn(d.Year, d.Month)
}

// IsZero reports whether d is the zero Date, which stands for "no date".
func (d Date) IsZero() bool {
	return d == Date{}
}

// String returns d as "YYYY-MM-DD". A Date outside years 0000 to 9999, which
// only arithmetic can make, is written with as many year digits as it needs.
func (d Date) String() string {
	var buf [16]byte
	return string(d.appendTo(buf[:0]))
}

// appendTo appends d in the form YYYY-MM-DD to b without allocating for the
// usual case.
func (d Date) appendTo(b []byte) []byte {
	if d.Year >= 0 && d.Year <= 9999 {
		y := d.Year
		b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	} else {
		b = strconv.AppendInt(b, int64(d.Year), 10)
	}
	b = append(b, '-')
	b = appendTwo(b, int(d.Month))
	b = append(b, '-')
	return appendTwo(b, d.Day)
}

// appendTwo appends n as at least two digits.
func appendTwo(b []byte, n int) []byte {
	if n >= 0 && n < 100 {
		return append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// Compare returns -1 if d is before other, 0 if they are the same day and +1
// if d is after other, for sorting and searching.
func (d Date) Compare(other Date) int {
	switch {
	case d.Year != other.Year:
		return cmpInt(d.Year, other.Year)
	case d.Month != other.Month:
		return cmpInt(int(d.Month), int(other.Month))
	default:
		return cmpInt(d.Day, other.Day)
	}
}

// cmpInt is cmp.Compare for ints, spelled out to keep Compare inlinable.
func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is an earlier day than other.
func (d Date) Before(other Date) bool { return d.Compare(other) < 0 }

// After reports whether d is a later day than other.
func (d Date) After(other Date) bool { return d.Compare(other) > 0 }

// AddDays returns the date n days after d (before it when n is negative).
// d should be valid; an invalid d is first normalised, so 2023-02-29 plus one
// day is 2023-03-02, as time.Date would have it.
func (d Date) AddDays(n int) Date {
	return fromDays(d.days() + int64(n))
}

// AddYears returns the same day of the year n years after d (before it when n
// is negative). A 29 February moved to a common year becomes 1 March: in UK
// law someone born on 29 February becomes a year older on 1 March in a common
// year, and age checks rely on that reading.
func (d Date) AddYears(n int) Date {
	r := Date{Year: d.Year + n, Month: d.Month, Day: d.Day}
	if r.Month == time.February && r.Day == 29 && !IsLeapYear(r.Year) {
		r.Month, r.Day = time.March, 1
	}
	return r
}

// DaysBetween returns the number of days from a to b: positive when b is after
// a, negative when b is before a and 0 on the same day.
func DaysBetween(a, b Date) int {
	return int(b.days() - a.days())
}

// days returns the number of days from 1970-01-01 to d, normalising an
// out-of-range month or day the way time.Date does.
func (d Date) days() int64 {
	y, m := int64(d.Year), int64(d.Month)
	// Bring the month into 1..12, carrying into the year.
	m--
	y += floorDiv(m, 12)
	m = m - floorDiv(m, 12)*12 + 1
	// Howard Hinnant's days_from_civil: count years from 1 March so that the
	// leap day is the last day of the counting year.
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(d.Day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// fromDays is the inverse of days: the date z days after 1970-01-01.
func fromDays(z int64) Date {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{Year: int(y), Month: time.Month(m), Day: int(day)}
}

// floorDiv divides rounding towards negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Of returns the calendar date of the instant t as seen in loc, for example
// the date in Europe/London of a request received at t. loc must not be nil.
func Of(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

// In returns the instant at which day d starts (midnight) in loc, for
// comparing a date with instants. loc must not be nil.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// London loads the Europe/London time zone, in which the service's civil
// dates are read. It needs the IANA time zone database: programs that may run
// on minimal images should import time/tzdata in main.
func London() (*time.Location, error) {
	return time.LoadLocation(londonZone)
}

// MarshalText encodes d as "YYYY-MM-DD" so that Dates are strings in JSON. The
// zero Date encodes as the empty string, and any other invalid Date is an
// error, so what is written can always be read back.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.IsValid() {
		return nil, ErrNotReal
	}
	return d.appendTo(make([]byte, 0, 10)), nil
}

// UnmarshalText decodes "YYYY-MM-DD" as [Parse] does. The empty string
// decodes as the zero Date, the inverse of [Date.MarshalText].
func (d *Date) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*d = Date{}
		return nil
	}
	parsed, err := Parse(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}
