package domain

import (
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// Violation names a bad field and says what is wrong, without echoing the value.
type Violation struct {
	Field       string
	Description string
}

// ValidationError is invalid input: one violation per bad field.
type ValidationError struct {
	Violations []Violation
}

// Error lists the bad fields and what is wrong with each, never their values.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid request:")
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(" " + v.Field + " " + v.Description)
	}
	return b.String()
}

// violations collects field violations.
type violations []Violation

func (vs *violations) add(field, desc string) { *vs = append(*vs, Violation{field, desc}) }

// merge adds the violations of err (a *ValidationError or nil) for fields not already
// reported: a field that failed to decode is not also reported as missing.
func (vs *violations) merge(err error) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return
	}
	for _, v := range ve.Violations {
		if !slices.ContainsFunc(*vs, func(o Violation) bool { return o.Field == v.Field }) {
			*vs = append(*vs, v)
		}
	}
}

func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{Violations: vs}
}

// Wildcard is the area segment that means every area, in parents such as areas/-.
const Wildcard = "-"

// ValidArea reports whether s looks like an ONS area code: a letter and eight digits
// (E37000022, E47000007).
func ValidArea(s string) bool {
	if len(s) != 9 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 9; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseParent reads areas/{area} or, when wildcard is allowed, areas/- (returned as "").
func ParseParent(parent string, wildcard bool) (area string, ok bool) {
	a, found := strings.CutPrefix(parent, "areas/")
	if !found {
		return "", false
	}
	if a == Wildcard && wildcard {
		return "", true
	}
	return a, ValidArea(a)
}

// ParseCampaignName reads areas/{area}/campaigns/{id}.
func ParseCampaignName(name string) (area, id string, ok bool) {
	rest, found := strings.CutPrefix(name, "areas/")
	if !found {
		return "", "", false
	}
	area, id, found = strings.Cut(rest, "/campaigns/")
	if !found || !ValidArea(area) || !ValidCampaignID(id) {
		return "", "", false
	}
	return area, id, true
}

// ValidCampaignID reports whether id is 1 to 63 lower-case letters, digits and hyphens,
// starting with a letter and not ending with a hyphen (AIP-122).
func ValidCampaignID(id string) bool {
	if len(id) == 0 || len(id) > 63 || id[0] < 'a' || id[0] > 'z' || id[len(id)-1] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validText(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 })
}

// validCode reports whether a code is 1 to 64 printable ASCII characters without spaces
// inside (leaflet and QR codes, utm_campaign values).
func validCode(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// MaxCampaignCodes caps the promo codes of one campaign.
const MaxCampaignCodes = 100

// ValidateCampaign checks a campaign's fields (not its name or timestamps). prefix is
// prepended to field names ("campaign.").
func ValidateCampaign(c Campaign, prefix string) error {
	var vs violations
	if strings.TrimSpace(c.DisplayName) == "" || !validText(c.DisplayName, 200) {
		vs.add(prefix+"display_name", "is required: 1 to 200 characters")
	}
	if c.Channel == ChannelUnspecified || !c.Channel.Valid() {
		vs.add(prefix+"channel", "is required and must be a known channel")
	}
	if c.Messenger == MessengerUnspecified || !c.Messenger.Valid() {
		vs.add(prefix+"messenger", "is required and must be a known messenger")
	}
	if !validText(c.TargetAudience, 500) {
		vs.add(prefix+"target_audience", "must be at most 500 characters of text")
	}
	if !validText(c.MessageVariant, 200) {
		vs.add(prefix+"message_variant", "must be at most 200 characters of text")
	}
	if c.Start.IsZero() {
		vs.add(prefix+"start_date", "is required, as YYYY-MM-DD")
	}
	if !c.End.IsZero() && !c.Start.IsZero() && c.End.Before(c.Start) {
		vs.add(prefix+"end_date", "must be on or after start_date")
	}
	if c.CostPence < 0 {
		vs.add(prefix+"cost_pence", "must not be negative")
	}
	if c.UTMCampaign != "" && !validCode(c.UTMCampaign) {
		vs.add(prefix+"utm_campaign", "must be 1 to 64 printable characters without spaces")
	}
	if len(c.Codes) > MaxCampaignCodes {
		vs.add(prefix+"codes", "must hold at most 100 codes")
	}
	seen := map[string]bool{}
	if c.UTMCampaign != "" {
		seen[NormaliseCode(c.UTMCampaign)] = true
	}
	for _, code := range c.Codes {
		if !validCode(code) {
			vs.add(prefix+"codes", "each code must be 1 to 64 printable characters without spaces")
			break
		}
		n := NormaliseCode(code)
		if seen[n] {
			vs.add(prefix+"codes", "must not repeat a code or the utm_campaign value")
			break
		}
		seen[n] = true
	}
	return vs.err()
}

// ParseDateField parses an optional YYYY-MM-DD field, adding a violation when bad.
func ParseDateField(vs *[]Violation, field, s string) civil.Date {
	if s == "" {
		return civil.Date{}
	}
	d, err := civil.Parse(s)
	if err != nil {
		*vs = append(*vs, Violation{field, "must be a real date as YYYY-MM-DD"})
	}
	return d
}
