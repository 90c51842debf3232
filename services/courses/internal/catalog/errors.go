package catalog

import (
	"errors"
	"strings"
)

// Errors of the catalog. They are wrapped with %w and mapped to gRPC codes once, in grpcapi.
var (
	// ErrNotFound: the area, provider or course does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a provider or course with that name exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrProviderHasCourses: a provider cannot be deleted while it has courses.
	ErrProviderHasCourses = errors.New("provider has courses")
	// ErrNoProvider: a Store refused a course whose provider does not exist in its area
	// (deleted by another writer after the Catalog checked it).
	ErrNoProvider = errors.New("the course's provider does not exist in its area")
	// ErrProviderBreaksCourses: a provider change would break the pilot rules of its courses.
	ErrProviderBreaksCourses = errors.New("the change would break the pilot rules of the provider's courses")
	// ErrUnknownPostcode: a well-formed postcode that the postcode directory does not know.
	ErrUnknownPostcode = errors.New("postcode not found in the postcode directory")
	// ErrTooLarge: an import has more rows or bytes than the service accepts.
	ErrTooLarge = errors.New("import too large")
)

// Rule names a pilot rule; violations of a pilot rule carry it so that reports can count
// them (for example the part-time courses the 12-month limit refuses).
type Rule string

// The pilot rules. Shape and format violations carry no Rule.
const (
	RuleLevel            Rule = "MIN_LEVEL"
	RuleProviderKnown    Rule = "PROVIDER_IN_AREA"
	RuleLoanFacility     Rule = "LOAN_FACILITY"
	RulePremisesInArea   Rule = "PREMISES_IN_AREA"
	RuleDuration         Rule = "MAX_DURATION"
	RulePartTimeDuration Rule = "MAX_PART_TIME_DURATION"
	RuleDiscountOffered  Rule = "DISCOUNT_OFFERED"
	RuleApprovedAim      Rule = "APPROVED_QUALIFICATION"
)

// Violation is one thing wrong with an input: the field (the API's field name, which is
// also the CSV column) and a description that never repeats the value.
type Violation struct {
	Field       string
	Description string
	// Rule is set when a pilot rule is broken.
	Rule Rule
}

// ValidationError is an input refused for one or more violations.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid input:")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" " + v.Field + " " + v.Description)
	}
	return b.String()
}

// invalid returns a *ValidationError for vs, or nil when vs is empty.
func invalid(vs []Violation) error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}

// violations is a helper for collecting Violations.
type violations []Violation

func (vs *violations) add(field, desc string) {
	*vs = append(*vs, Violation{Field: field, Description: desc})
}

func (vs *violations) rule(r Rule, field, desc string) {
	*vs = append(*vs, Violation{Field: field, Description: desc, Rule: r})
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
