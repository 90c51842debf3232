package rules

import (
	"errors"
	"strings"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// ErrInvalid is the sentinel every request validation error matches with
// errors.Is, so callers can map it to INVALID_ARGUMENT without knowing the
// error's type.
var ErrInvalid = errors.New("invalid eligibility request")

// Field names in a FieldViolation: the protobuf field names of the request.
const (
	// FieldDateOfBirth is the learner's date of birth.
	FieldDateOfBirth = "date_of_birth"
	// FieldHighestQualification is the learner's highest qualification.
	FieldHighestQualification = "highest_qualification"
	// FieldAnnualSalaryPence is the learner's gross annual salary in pence.
	FieldAnnualSalaryPence = "annual_salary_pence"
	// FieldAsOf is the day of the check.
	FieldAsOf = "as_of"
)

// earliestAsOfYear is the first year in which a check may be made; earlier
// dates are certainly mistakes.
const earliestAsOfYear = 1900

// RawRequest is an eligibility request as it arrives over the API, before
// validation: dates as text, the qualification as the protobuf enum number.
type RawRequest struct {
	// DateOfBirth is "YYYY-MM-DD", or empty when not given.
	DateOfBirth string
	// Qualification is the RqfLevel enum number; 0 means not given.
	Qualification int32
	// SalaryPence is the gross annual salary in pence, or nil when not given.
	SalaryPence *int64
	// AsOf is the day of the check as "YYYY-MM-DD", or empty for today.
	AsOf string
}

// FieldViolation is one problem with one field of a request, the shape of a
// google.rpc.BadRequest.FieldViolation.
type FieldViolation struct {
	// Field is the protobuf field name, one of the Field constants.
	Field string
	// Description says what is wrong, for the caller. It never repeats the
	// value, which may be personal data.
	Description string
}

// ValidationError reports every problem with a request at once, so a client
// can fix them all in one go. It matches ErrInvalid.
type ValidationError struct {
	// Violations are the problems, in the order of the request's fields.
	Violations []FieldViolation
}

// Error lists the fields and what is wrong with them, without their values.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteByte(' ')
		b.WriteString(v.Description)
	}
	return b.String()
}

// Is reports whether target is ErrInvalid, so errors.Is(err, ErrInvalid)
// holds for every ValidationError.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid
}

// ParseRequest validates a raw request and turns it into an Input, with no
// areas (the caller resolves the postcode). today is the current civil date in
// Europe/London, used when raw.AsOf is empty. Every problem is reported, each
// as a FieldViolation of the returned *ValidationError, which matches
// ErrInvalid:
//   - date_of_birth that is not a real YYYY-MM-DD date, or is after as_of;
//   - highest_qualification that is not 0 (not given) or an RqfLevel;
//   - annual_salary_pence that is negative;
//   - as_of that is not a real YYYY-MM-DD date or is before 1900-01-01.
func ParseRequest(raw RawRequest, today civil.Date) (Input, error) {
	var violations []FieldViolation
	in := Input{AsOf: today}

	// as_of is read first because date_of_birth is checked against it, but
	// reported last, in the order of the request's fields.
	var asOfViolation string
	if raw.AsOf != "" {
		d, err := civil.Parse(raw.AsOf)
		switch {
		case err != nil:
			asOfViolation = err.Error()
		case d.Year < earliestAsOfYear:
			asOfViolation = "must be on or after 1900-01-01"
		default:
			in.AsOf = d
		}
	}

	if raw.DateOfBirth != "" {
		d, err := civil.Parse(raw.DateOfBirth)
		switch {
		case err != nil:
			violations = append(violations, FieldViolation{FieldDateOfBirth, err.Error()})
		case asOfViolation == "" && d.After(in.AsOf):
			violations = append(violations, FieldViolation{FieldDateOfBirth, "must not be after the date of the check (as_of, or today when as_of is not given)"})
		default:
			in.DateOfBirth = &d
		}
	}

	if q := Level(raw.Qualification); q != LevelUnspecified {
		if q.Valid() {
			in.Qualification = q
		} else {
			violations = append(violations, FieldViolation{FieldHighestQualification, "must be one of the RQF levels, RQF_LEVEL_NONE to RQF_LEVEL_8, or unspecified"})
		}
	}

	if raw.SalaryPence != nil {
		if *raw.SalaryPence < 0 {
			violations = append(violations, FieldViolation{FieldAnnualSalaryPence, "must not be negative"})
		} else {
			salary := *raw.SalaryPence
			in.SalaryPence = &salary
		}
	}

	if asOfViolation != "" {
		violations = append(violations, FieldViolation{FieldAsOf, asOfViolation})
	}
	if len(violations) > 0 {
		return Input{}, &ValidationError{Violations: violations}
	}
	return in, nil
}
