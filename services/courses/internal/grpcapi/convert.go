package grpcapi

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/rpcerr"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// enum converts an API enum number to a domain value. Numbers outside 0..254 become 255,
// which no domain type accepts, so the domain reports them instead of wrapping them round.
func enum[T ~uint8](n int32) T {
	if n < 0 || n > 254 {
		return T(255)
	}
	return T(n)
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func areaToProto(a catalog.Area) *coursesv1.Area {
	r := a.Rules
	eff := ""
	if !r.EffectiveFrom.IsZero() {
		eff = r.EffectiveFrom.String()
	}
	return &coursesv1.Area{
		Name:             catalog.AreaName(a.Code),
		OnsCode:          a.Code,
		DisplayName:      a.Name,
		Kind:             coursesv1.AreaKind(a.Kind),
		PrioritySectors:  a.PrioritySectors,
		DiscountPercents: a.Discounts,
		Rules: &coursesv1.PilotRules{
			MinLevel:                  r.MinLevel.String(),
			RequireLoanFacility:       r.RequireLoanFacility,
			RequirePremisesInArea:     r.RequirePremisesInArea,
			MaxDurationMonths:         r.MaxDurationMonths,
			MaxPartTimeDurationMonths: r.MaxPartTimeDurationMonths,
			ApprovedListRequired:      r.ApprovedListRequired,
			ApprovedLearningAims:      r.ApprovedAims,
			EffectiveFrom:             eff,
			Reference:                 r.Reference,
		},
	}
}

func providerToProto(p catalog.Provider) *coursesv1.Provider {
	return &coursesv1.Provider{
		Name:              catalog.ProviderName(p.Area, p.UKPRN),
		Ukprn:             p.UKPRN,
		DisplayName:       p.Name,
		LoanFacility:      p.LoanFacility,
		PremisesPostcodes: p.Premises,
		Demo:              p.Demo,
		CreateTime:        ts(p.CreateTime),
		UpdateTime:        ts(p.UpdateTime),
	}
}

func courseToProto(c catalog.Course, providerName string) *coursesv1.Course {
	start := ""
	if !c.FlexibleStart && !c.StartDate.IsZero() {
		start = c.StartDate.String()
	}
	return &coursesv1.Course{
		Name:                 c.Name(),
		LearningAimReference: c.LearningAim,
		Title:                c.Title,
		Description:          c.Description,
		Level:                c.Level.String(),
		SectorSubjectArea:    c.Sector,
		AwardingBody:         c.AwardingBody,
		ProviderUkprn:        c.ProviderUKPRN,
		ProviderName:         providerName,
		VenuePostcode:        c.VenuePostcode,
		DeliveryMode:         coursesv1.DeliveryMode(c.Delivery),
		StudyMode:            coursesv1.StudyMode(c.Study),
		AttendancePattern:    coursesv1.AttendancePattern(c.Attendance),
		DurationValue:        c.DurationValue,
		DurationUnit:         coursesv1.DurationUnit(c.DurationUnit),
		StartDate:            start,
		FlexibleStart:        c.FlexibleStart,
		FullCostPence:        c.FullCostPence,
		Modular:              c.Modular,
		DiscountPercent:      c.DiscountPercent,
		LearnerCostPence:     &c.LearnerCostPence,
		Demo:                 c.Demo,
		CreateTime:           ts(c.CreateTime),
		UpdateTime:           ts(c.UpdateTime),
	}
}

// courseFromProto reads the client-settable fields of m. Output-only fields are ignored, as
// AIP-203 says; in particular learner_cost_pence is always computed by the service. prefix
// goes before field names in violations ("course." for a create).
func courseFromProto(m *coursesv1.Course, prefix string) (catalog.Course, []rpcerr.FieldViolation) {
	var vs []rpcerr.FieldViolation
	c := catalog.Course{
		LearningAim:     m.GetLearningAimReference(),
		Title:           m.GetTitle(),
		Description:     m.GetDescription(),
		Sector:          m.GetSectorSubjectArea(),
		AwardingBody:    m.GetAwardingBody(),
		ProviderUKPRN:   m.GetProviderUkprn(),
		VenuePostcode:   m.GetVenuePostcode(),
		Delivery:        enum[catalog.DeliveryMode](int32(m.GetDeliveryMode())),
		Study:           enum[catalog.StudyMode](int32(m.GetStudyMode())),
		Attendance:      enum[catalog.AttendancePattern](int32(m.GetAttendancePattern())),
		DurationValue:   m.GetDurationValue(),
		DurationUnit:    enum[catalog.DurationUnit](int32(m.GetDurationUnit())),
		FlexibleStart:   m.GetFlexibleStart(),
		FullCostPence:   m.GetFullCostPence(),
		Modular:         m.GetModular(),
		DiscountPercent: m.GetDiscountPercent(),
	}
	if s := m.GetLevel(); s != "" {
		l, ok := catalog.ParseLevel(s)
		if !ok {
			vs = append(vs, rpcerr.FieldViolation{Field: prefix + "level", Description: "must be E or 1 to 8"})
		}
		c.Level = l
	}
	if s := m.GetStartDate(); s != "" {
		d, err := civil.Parse(s)
		if err != nil {
			vs = append(vs, rpcerr.FieldViolation{Field: prefix + "start_date", Description: err.Error()})
		}
		c.StartDate = d
	}
	return c, vs
}

// domainViolations converts domain violations, putting prefix before each field.
func domainViolations(vs []catalog.Violation, prefix string) []rpcerr.FieldViolation {
	out := make([]rpcerr.FieldViolation, 0, len(vs))
	for _, v := range vs {
		out = append(out, rpcerr.FieldViolation{Field: prefix + v.Field, Description: v.Description})
	}
	return out
}

func roundMiles(m float64) float64 { return math.Round(m*10) / 10 }

func facetLevels(counts []int) []*coursesv1.FacetCount {
	var out []*coursesv1.FacetCount
	for l, n := range counts {
		if n > 0 {
			out = append(out, &coursesv1.FacetCount{Value: catalog.Level(l).String(), Count: int32(n)})
		}
	}
	return out
}

func facetEnum(counts []int, name func(int32) string) []*coursesv1.FacetCount {
	var out []*coursesv1.FacetCount
	for v, n := range counts {
		if n > 0 && v > 0 {
			out = append(out, &coursesv1.FacetCount{Value: name(int32(v)), Count: int32(n)})
		}
	}
	return out
}

// parseName splits a resource name of the form areas/{area}[/{collection}/{id}].
func parseName(name, collection string) (area, id string, ok bool) {
	parts := strings.Split(name, "/")
	switch {
	case collection == "" && len(parts) == 2 && parts[0] == "areas" && parts[1] != "":
		return parts[1], "", true
	case collection != "" && len(parts) == 4 && parts[0] == "areas" && parts[1] != "" && parts[2] == collection && parts[3] != "":
		return parts[1], parts[3], true
	}
	return "", "", false
}

func nameViolation(field, pattern string) []rpcerr.FieldViolation {
	return []rpcerr.FieldViolation{{Field: field, Description: fmt.Sprintf("must be a resource name of the form %s", pattern)}}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		// Numeric sector codes: "2" before "10".
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return keys
}
