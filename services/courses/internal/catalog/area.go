package catalog

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nrs-pilots/retrain/platform/civil"
)

// AreaKind says who leads an area. The numbers match the API's enum.
type AreaKind uint8

// The kinds of area.
const (
	AreaKindUnset AreaKind = iota
	AreaKindLEP
	AreaKindCombinedAuthority
)

// Area is a pilot area and the rules of its catalogue.
type Area struct {
	// Code is the ONS code (E37… for a LEP, E47… for a Combined Authority).
	Code string
	// Name is the display name.
	Name string
	// Kind is LEP or Combined Authority.
	Kind AreaKind
	// PrioritySectors are LARS sector subject area codes the area prioritises.
	PrioritySectors []string
	// Discounts are the discounts the area offers, in per cent, ascending.
	Discounts []int32
	// Rules are the conditions a course must meet to be published in the area.
	Rules PilotRules
}

// PilotRules are an area's publishing conditions, as data.
type PilotRules struct {
	// MinLevel is the lowest RQF level a course may have.
	MinLevel Level
	// RequireLoanFacility: the provider must hold an Advanced Learner Loan facility.
	RequireLoanFacility bool
	// RequirePremisesInArea: the provider must have premises in the area.
	RequirePremisesInArea bool
	// MaxDurationMonths bounds full-time and flexible courses.
	MaxDurationMonths int32
	// MaxPartTimeDurationMonths bounds part-time courses; the pilots used 12, their known
	// flaw for learners in full-time work.
	MaxPartTimeDurationMonths int32
	// ApprovedListRequired: the learning aim must be in ApprovedAims.
	ApprovedListRequired bool
	// ApprovedAims are the approved learning aim references, sorted.
	ApprovedAims []string
	// EffectiveFrom is when these rules took effect.
	EffectiveFrom civil.Date
	// Reference says where the rules come from.
	Reference string
}

// approved reports whether aim is on the area's approved list (always true without one).
func (r PilotRules) approved(aim string) bool {
	if !r.ApprovedListRequired {
		return true
	}
	_, ok := slices.BinarySearch(r.ApprovedAims, aim)
	return ok
}

// offers reports whether the area offers a discount of pct per cent.
func (a *Area) offers(pct int32) bool { return slices.Contains(a.Discounts, pct) }

//go:embed areas.json
var builtinAreas []byte

// BuiltinAreas returns the pilot areas built into the service: the five Cost and Outreach
// pilot areas and Liverpool City Region, with their discounts and rules.
func BuiltinAreas() ([]Area, error) { return ParseAreas(builtinAreas) }

// areaFile is the JSON form of an areas file.
type areaFile struct {
	Comment string `json:"_comment"`
	Areas   []struct {
		Code            string   `json:"code"`
		Name            string   `json:"name"`
		Kind            string   `json:"kind"`
		PrioritySectors []string `json:"priority_sectors"`
		Discounts       []int32  `json:"discount_percents"`
		Rules           struct {
			MinLevel                  string     `json:"min_level"`
			RequireLoanFacility       bool       `json:"require_loan_facility"`
			RequirePremisesInArea     bool       `json:"require_premises_in_area"`
			MaxDurationMonths         int32      `json:"max_duration_months"`
			MaxPartTimeDurationMonths int32      `json:"max_part_time_duration_months"`
			ApprovedListRequired      bool       `json:"approved_list_required"`
			ApprovedAims              []string   `json:"approved_learning_aims"`
			EffectiveFrom             civil.Date `json:"effective_from"`
			Reference                 string     `json:"reference"`
		} `json:"rules"`
	} `json:"areas"`
}

var (
	areaCodeRE = regexp.MustCompile(`^E(37|47)[0-9]{6}$`)
	sectorRE   = regexp.MustCompile(`^[0-9]{1,2}(\.[0-9]{1,2})?$`)
	aimRE      = regexp.MustCompile(`^[0-9A-Z]{8}$`)
)

// ParseAreas reads an areas file (the format of the built-in areas.json) and checks it.
func ParseAreas(data []byte) ([]Area, error) {
	var f areaFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("areas: %w", err)
	}
	if len(f.Areas) == 0 {
		return nil, errors.New("areas: no areas")
	}
	var out []Area
	var errs []error
	seen := map[string]bool{}
	for i, fa := range f.Areas {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("areas[%d] %s: %s", i, fa.Code, fmt.Sprintf(format, args...)))
		}
		a := Area{Code: fa.Code, Name: fa.Name, PrioritySectors: fa.PrioritySectors, Discounts: slices.Clone(fa.Discounts)}
		switch {
		case !areaCodeRE.MatchString(fa.Code):
			bad("code must be an ONS LEP (E37) or Combined Authority (E47) code")
		case seen[fa.Code]:
			bad("code repeats")
		}
		seen[fa.Code] = true
		switch fa.Kind {
		case "lep":
			a.Kind = AreaKindLEP
		case "combined_authority":
			a.Kind = AreaKindCombinedAuthority
		default:
			bad("kind must be lep or combined_authority")
		}
		if fa.Name == "" {
			bad("name is required")
		}
		for _, s := range fa.PrioritySectors {
			if !sectorRE.MatchString(s) {
				bad("priority sector %q is not a sector subject area code", s)
			}
		}
		slices.Sort(a.Discounts)
		if len(a.Discounts) == 0 {
			bad("discount_percents is empty")
		}
		for _, d := range a.Discounts {
			if d < 0 || d > 100 {
				bad("discount %d is not 0 to 100", d)
			}
		}
		r := fa.Rules
		lvl, ok := ParseLevel(r.MinLevel)
		if !ok {
			bad("rules.min_level must be E or 1 to 8")
		}
		if r.MaxDurationMonths <= 0 || r.MaxPartTimeDurationMonths <= 0 {
			bad("rules.max_duration_months and max_part_time_duration_months must be positive")
		}
		aims := slices.Clone(r.ApprovedAims)
		slices.Sort(aims)
		for _, aim := range aims {
			if !aimRE.MatchString(aim) {
				bad("approved learning aim %q is not 8 upper-case letters or digits", aim)
			}
		}
		if r.ApprovedListRequired && len(aims) == 0 {
			bad("rules.approved_list_required with no approved_learning_aims")
		}
		a.Rules = PilotRules{
			MinLevel:                  lvl,
			RequireLoanFacility:       r.RequireLoanFacility,
			RequirePremisesInArea:     r.RequirePremisesInArea,
			MaxDurationMonths:         r.MaxDurationMonths,
			MaxPartTimeDurationMonths: r.MaxPartTimeDurationMonths,
			ApprovedListRequired:      r.ApprovedListRequired,
			ApprovedAims:              slices.Compact(aims),
			EffectiveFrom:             r.EffectiveFrom,
			Reference:                 r.Reference,
		}
		out = append(out, a)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Area) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}
