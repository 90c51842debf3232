package grpcapi

import (
	"fmt"
	"slices"

	"github.com/nrs-pilots/retrain/platform/civil"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// checkResponse converts an answer. Domain enums match the proto enums by number (see
// TestEnumsLineUp).
func checkResponse(res rules.Result, areas []string, steps []domain.NextStep) *eligibilityv1.CheckEligibilityResponse {
	out := &eligibilityv1.CheckEligibilityResponse{
		Outcome:           eligibilityv1.EligibilityOutcome(res.Outcome),
		RulesetVersion:    res.RulesetVersion,
		AsOf:              res.AsOf.String(),
		SalaryOverByPence: res.SalaryOverByPence,
		WouldChange:       res.WouldChange,
		Areas:             areas,
		Criteria:          make([]*eligibilityv1.CriterionResult, 0, len(res.Criteria)),
	}
	if res.EligibleFrom != nil {
		out.EligibleFrom = res.EligibleFrom.String()
	}
	for _, c := range res.Criteria {
		cr := &eligibilityv1.CriterionResult{
			Criterion: eligibilityv1.Criterion(c.Criterion),
			Status:    eligibilityv1.CriterionStatus(c.Status),
			Reason:    c.Reason,
			Message:   c.Message,
		}
		if t := c.Trace; t != nil {
			cr.Trace = &eligibilityv1.ParameterTrace{
				Parameter: t.Parameter,
				Value:     t.Value,
				Area:      t.Area,
				Reference: t.Reference,
			}
			if !t.EffectiveFrom.IsZero() {
				cr.Trace.EffectiveFrom = t.EffectiveFrom.String()
			}
		}
		out.Criteria = append(out.Criteria, cr)
	}
	if len(steps) > 0 {
		out.NextSteps = make([]*eligibilityv1.NextStep, len(steps))
		for i, s := range steps {
			out.NextSteps[i] = &eligibilityv1.NextStep{Kind: s.Kind, Title: s.Title, Description: s.Description, Url: s.URL, Phone: s.Phone, Area: s.Area}
		}
	}
	return out
}

func dateString(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func parameterToProto(p *rules.Parameter) *eligibilityv1.Parameter {
	if p == nil {
		return nil
	}
	out := &eligibilityv1.Parameter{Values: make([]*eligibilityv1.ParameterValue, len(p.Values))}
	for i, v := range p.Values {
		out.Values[i] = &eligibilityv1.ParameterValue{Start: v.Start.String(), Value: v.Value, Reference: v.Reference}
	}
	return out
}

func rulesetToProto(r domain.RulesetRecord) *eligibilityv1.Ruleset {
	rs := r.Ruleset
	out := &eligibilityv1.Ruleset{
		Name:                 domain.RulesetName(rs.Version),
		Version:              rs.Version,
		Description:          rs.Description,
		EffectiveFrom:        dateString(r.EffectiveFrom),
		PublishTime:          timestamppb.New(r.PublishedAt),
		PublishedBy:          r.PublishedBy,
		Source:               r.Source,
		AgeFloor:             parameterToProto(&rs.AgeFloor),
		QualificationCeiling: parameterToProto(&rs.QualificationCeiling),
		SalaryThresholdPence: parameterToProto(&rs.SalaryThresholdPence),
	}
	codes := make([]string, 0, len(rs.AreaOverrides))
	for code := range rs.AreaOverrides {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		o := rs.AreaOverrides[code]
		out.AreaOverrides = append(out.AreaOverrides, &eligibilityv1.AreaOverride{
			Area:                 code,
			AgeFloor:             parameterToProto(o.AgeFloor),
			QualificationCeiling: parameterToProto(o.QualificationCeiling),
			SalaryThresholdPence: parameterToProto(o.SalaryThresholdPence),
		})
	}
	for _, la := range rs.LiveAreas {
		l := &eligibilityv1.LiveArea{Code: la.Code, From: la.From.String(), Reference: la.Reference}
		if la.Until != nil {
			l.Until = la.Until.String()
		}
		out.LiveAreas = append(out.LiveAreas, l)
	}
	return out
}

// rulesetFromProto reads a ruleset to publish; dates that do not parse are violations
// (the domain checks everything else).
func rulesetFromProto(pb *eligibilityv1.Ruleset) (rules.Ruleset, civil.Date, []rules.FieldViolation) {
	var vs []rules.FieldViolation
	date := func(field, s string) civil.Date {
		d, err := civil.Parse(s)
		if err != nil {
			vs = append(vs, rules.FieldViolation{Field: field, Description: err.Error()})
		}
		return d
	}
	param := func(field string, p *eligibilityv1.Parameter) rules.Parameter {
		var out rules.Parameter
		for i, v := range p.GetValues() {
			out.Values = append(out.Values, rules.ParameterValue{
				Start:     date(fmt.Sprintf("%s.values[%d].start", field, i), v.GetStart()),
				Value:     v.GetValue(),
				Reference: v.GetReference(),
			})
		}
		return out
	}
	optParam := func(field string, p *eligibilityv1.Parameter) *rules.Parameter {
		if p == nil {
			return nil
		}
		out := param(field, p)
		return &out
	}
	if pb == nil {
		return rules.Ruleset{}, civil.Date{}, []rules.FieldViolation{{Field: "ruleset", Description: "is required"}}
	}
	rs := rules.Ruleset{
		Version:              pb.GetVersion(),
		Description:          pb.GetDescription(),
		AgeFloor:             param("ruleset.age_floor", pb.GetAgeFloor()),
		QualificationCeiling: param("ruleset.qualification_ceiling", pb.GetQualificationCeiling()),
		SalaryThresholdPence: param("ruleset.salary_threshold_pence", pb.GetSalaryThresholdPence()),
	}
	for i, o := range pb.GetAreaOverrides() {
		field := fmt.Sprintf("ruleset.area_overrides[%d]", i)
		if rs.AreaOverrides == nil {
			rs.AreaOverrides = map[string]rules.Overrides{}
		}
		if _, dup := rs.AreaOverrides[o.GetArea()]; dup {
			vs = append(vs, rules.FieldViolation{Field: field + ".area", Description: "is listed twice"})
		}
		rs.AreaOverrides[o.GetArea()] = rules.Overrides{
			AgeFloor:             optParam(field+".age_floor", o.GetAgeFloor()),
			QualificationCeiling: optParam(field+".qualification_ceiling", o.GetQualificationCeiling()),
			SalaryThresholdPence: optParam(field+".salary_threshold_pence", o.GetSalaryThresholdPence()),
		}
	}
	for i, la := range pb.GetLiveAreas() {
		field := fmt.Sprintf("ruleset.live_areas[%d]", i)
		l := rules.LiveArea{Code: la.GetCode(), From: date(field+".from", la.GetFrom()), Reference: la.GetReference()}
		if la.GetUntil() != "" {
			u := date(field+".until", la.GetUntil())
			l.Until = &u
		}
		rs.LiveAreas = append(rs.LiveAreas, l)
	}
	var eff civil.Date
	if pb.GetEffectiveFrom() != "" {
		eff = date("ruleset.effective_from", pb.GetEffectiveFrom())
	}
	return rs, eff, vs
}

func assessmentToProto(a domain.Assessment) *eligibilityv1.Assessment {
	out := &eligibilityv1.Assessment{
		Name:                 domain.AssessmentName(a.Learner, a.ID),
		HighestQualification: eligibilityv1.RqfLevel(a.Input.Qualification),
		AnnualSalaryPence:    a.Input.SalaryPence,
		Postcode:             a.Input.Postcode,
		AsOf:                 a.Input.AsOf.String(),
		Result:               checkResponse(a.Result, a.Input.Areas, a.NextSteps),
		RulesetVersion:       a.RulesetVersion,
		CreateTime:           timestamppb.New(a.CreateTime),
		RecordedBy:           a.RecordedBy,
	}
	if a.Input.DateOfBirth != nil {
		out.DateOfBirth = a.Input.DateOfBirth.String()
	}
	return out
}

func auditToProto(r domain.AuditRecord) *eligibilityv1.AuditRecord {
	out := &eligibilityv1.AuditRecord{
		Name:       domain.AuditRecordName(r.Sequence),
		Time:       timestamppb.New(r.Time),
		Actor:      r.Actor,
		Action:     r.Action,
		Assessment: r.Assessment,
		Rpc:        r.RPC,
		Detail:     r.Detail,
		Redacted:   r.Redacted,
	}
	if r.Learner != "" {
		out.Learner = domain.LearnerName(r.Learner)
	}
	return out
}
