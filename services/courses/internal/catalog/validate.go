package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

// Limits on text fields, in characters.
const (
	maxTitle       = 255
	maxDescription = 4000
	maxShortText   = 200
	maxPremises    = 100
	maxDuration    = 1000
)

var (
	courseIDRE = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	ukprnRE    = regexp.MustCompile(`^1[0-9]{7}$`)
)

// ValidCourseID reports whether id is a valid course id: 1 to 63 lower-case letters, digits
// and hyphens, starting with a letter and not ending with a hyphen.
func ValidCourseID(id string) bool { return courseIDRE.MatchString(id) }

// ValidUKPRN reports whether s is a UKPRN: 8 digits starting with 1.
func ValidUKPRN(s string) bool { return ukprnRE.MatchString(s) }

func checkText(vs *violations, field, s string, required bool, max int) {
	switch {
	case s == "" && required:
		vs.add(field, "is required")
	case !utf8.ValidString(s):
		vs.add(field, "must be UTF-8 text")
	case utf8.RuneCountInString(s) > max:
		vs.add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}

// normaliseCourse trims text and puts codes and postcodes in canonical form, so that
// equal courses compare equal.
func normaliseCourse(c *Course) {
	c.ID = strings.TrimSpace(c.ID)
	c.LearningAim = strings.ToUpper(strings.TrimSpace(c.LearningAim))
	c.Title = strings.TrimSpace(c.Title)
	c.Description = strings.TrimSpace(c.Description)
	c.Sector = strings.TrimSpace(c.Sector)
	c.AwardingBody = strings.TrimSpace(c.AwardingBody)
	c.ProviderUKPRN = strings.TrimSpace(c.ProviderUKPRN)
	if pc, err := postcode.Parse(c.VenuePostcode); err == nil {
		c.VenuePostcode = string(pc)
	} else {
		c.VenuePostcode = strings.TrimSpace(c.VenuePostcode)
	}
}

// checkCourseShape validates the fields of c on their own (not the pilot rules), after
// normaliseCourse. It needs dir to check that the venue can be located.
func checkCourseShape(c *Course, dir *postcode.Directory) violations {
	var vs violations
	if !ValidCourseID(c.ID) {
		vs.add("course_id", "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter")
	}
	if !aimRE.MatchString(c.LearningAim) {
		vs.add("learning_aim_reference", "must be a LARS learning aim reference: 8 letters or digits")
	}
	checkText(&vs, "title", c.Title, true, maxTitle)
	checkText(&vs, "description", c.Description, false, maxDescription)
	if c.Level == LevelUnset || c.Level >= numLevels {
		vs.add("level", "must be E or 1 to 8")
	}
	if c.Sector != "" && !sectorRE.MatchString(c.Sector) {
		vs.add("sector_subject_area", "must be a LARS sector subject area code such as 5 or 5.2")
	}
	checkText(&vs, "awarding_body", c.AwardingBody, false, maxShortText)
	if !ValidUKPRN(c.ProviderUKPRN) {
		vs.add("provider_ukprn", "must be a UKPRN: 8 digits starting with 1")
	}
	if !c.Delivery.Valid() {
		vs.add("delivery_mode", "must be classroom, online, work-based or blended")
	}
	switch {
	case c.Delivery == DeliveryOnline && c.VenuePostcode != "":
		vs.add("venue_postcode", "must be empty for an online course")
	case c.Delivery != DeliveryOnline && c.VenuePostcode == "":
		vs.add("venue_postcode", "is required unless the course is online")
	case c.VenuePostcode != "":
		if pc, err := postcode.Parse(c.VenuePostcode); err != nil {
			vs.add("venue_postcode", err.Error())
		} else if _, ok := dir.Lookup(pc); !ok {
			vs.add("venue_postcode", "is not in the postcode directory")
		}
	}
	if !c.Study.Valid() {
		vs.add("study_mode", "must be full-time, part-time or flexible")
	}
	switch {
	case c.Attendance != AttendanceUnset && !c.Attendance.Valid():
		vs.add("attendance_pattern", "must be daytime, evening, weekend or day-block-release")
	case c.Attendance == AttendanceUnset && c.Delivery != DeliveryOnline:
		vs.add("attendance_pattern", "is required unless the course is online")
	}
	if c.DurationValue <= 0 || c.DurationValue > maxDuration {
		vs.add("duration_value", fmt.Sprintf("must be 1 to %d", maxDuration))
	}
	if !c.DurationUnit.Valid() {
		vs.add("duration_unit", "must be hours, days, weeks, months or years")
	}
	switch {
	case c.FlexibleStart && !c.StartDate.IsZero():
		vs.add("start_date", "must be empty when the start is flexible")
	case !c.FlexibleStart && c.StartDate.IsZero():
		vs.add("start_date", "is required unless the start is flexible")
	case !c.StartDate.IsZero() && !c.StartDate.IsValid():
		vs.add("start_date", "is not a real calendar date")
	}
	if c.FullCostPence < 0 || c.FullCostPence > MaxFullCostPence {
		vs.add("full_cost_pence", fmt.Sprintf("must be 0 to %d pence", MaxFullCostPence))
	}
	if c.DiscountPercent < 0 || c.DiscountPercent > 100 {
		vs.add("discount_percent", "must be 0 to 100")
	}
	return vs
}

// exceedsMonths reports whether a course of value units takes longer than months months.
// Days and weeks are compared on the mean Gregorian month (365.25/12 days); hours are taken
// as contact hours, 24 to the day at most, so they never make a course longer than a month
// of days would.
func exceedsMonths(value int32, unit DurationUnit, months int32) bool {
	v, m := int64(value), int64(months)
	switch unit {
	case DurationYears:
		return v*12 > m
	case DurationMonths:
		return v > m
	case DurationWeeks:
		return v*7*48 > m*1461
	case DurationDays:
		return v*48 > m*1461
	case DurationHours:
		return v*2 > m*1461
	}
	return false
}

// checkRules applies the area's pilot rules to c. p is the course's provider in the area,
// or nil when the area has no provider with that UKPRN.
func checkRules(a *Area, p *Provider, c *Course, dir *postcode.Directory) violations {
	var vs violations
	r := &a.Rules
	if c.Level != LevelUnset && c.Level < r.MinLevel {
		vs.rule(RuleLevel, "level", fmt.Sprintf("must be level %s or above to be published in this area", r.MinLevel))
	}
	switch {
	case p == nil:
		vs.rule(RuleProviderKnown, "provider_ukprn", "is not a provider in this area: create the provider first")
	default:
		if r.RequireLoanFacility && !p.LoanFacility {
			vs.rule(RuleLoanFacility, "provider_ukprn", "the provider must hold an Advanced Learner Loan facility")
		}
		if r.RequirePremisesInArea && !hasPremisesIn(p, a.Code, dir) {
			vs.rule(RulePremisesInArea, "provider_ukprn", "the provider must have premises in this area")
		}
	}
	if c.DurationUnit.Valid() && c.DurationValue > 0 {
		if c.Study == StudyPartTime {
			if exceedsMonths(c.DurationValue, c.DurationUnit, r.MaxPartTimeDurationMonths) {
				vs.rule(RulePartTimeDuration, "duration_value", fmt.Sprintf(
					"a part-time course must be completed within %d months in this area (the pilots' completion limit, which part-time learners in full-time work often cannot meet; the area may raise it)",
					r.MaxPartTimeDurationMonths))
			}
		} else if exceedsMonths(c.DurationValue, c.DurationUnit, r.MaxDurationMonths) {
			vs.rule(RuleDuration, "duration_value", fmt.Sprintf("the course must be completed within %d months in this area", r.MaxDurationMonths))
		}
	}
	if c.DiscountPercent >= 0 && c.DiscountPercent <= 100 && !a.offers(c.DiscountPercent) {
		vs.rule(RuleDiscountOffered, "discount_percent", fmt.Sprintf("must be a discount this area offers (%s per cent)", joinInts(a.Discounts)))
	}
	if aimRE.MatchString(c.LearningAim) && !r.approved(c.LearningAim) {
		vs.rule(RuleApprovedAim, "learning_aim_reference", "is not on this area's list of approved qualifications")
	}
	return vs
}

func hasPremisesIn(p *Provider, area string, dir *postcode.Directory) bool {
	for _, s := range p.Premises {
		if place, ok := dir.Lookup(postcode.Postcode(s)); ok && place.InArea(area) {
			return true
		}
	}
	return false
}

func joinInts(xs []int32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	switch len(parts) {
	case 0:
		return "none"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// checkProvider validates and normalises p.
func checkProvider(p *Provider) violations {
	var vs violations
	p.UKPRN = strings.TrimSpace(p.UKPRN)
	p.Name = strings.TrimSpace(p.Name)
	if !ValidUKPRN(p.UKPRN) {
		vs.add("ukprn", "must be a UKPRN: 8 digits starting with 1")
	}
	checkText(&vs, "display_name", p.Name, true, maxShortText)
	if len(p.Premises) > maxPremises {
		vs.add("premises_postcodes", fmt.Sprintf("must list at most %d postcodes", maxPremises))
	}
	for i, s := range p.Premises {
		pc, err := postcode.Parse(s)
		if err != nil {
			vs.add(fmt.Sprintf("premises_postcodes[%d]", i), err.Error())
			continue
		}
		p.Premises[i] = string(pc)
	}
	return vs
}
