// Package grpcapi is the gRPC face of the eligibility service: it converts messages to
// domain values and back, and domain errors to statuses through one table.
package grpcapi

import (
	"context"
	"errors"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/platform/rpcerr"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"go.uber.org/zap"
)

// Rulesets gives the ruleset in force.
type Rulesets interface {
	Current() rules.Ruleset
}

// Deps are what the API needs.
type Deps struct {
	Log       *zap.Logger
	Rulesets  Rulesets
	Postcodes *postcode.Directory
	Now       func() time.Time
	Location  *time.Location
}

// Server implements retrain.eligibility.v1.EligibilityService.
type Server struct {
	eligibilityv1.UnimplementedEligibilityServiceServer
	d Deps
}

// New returns the API over deps.
func New(d Deps) *Server { return &Server{d: d} }

// errorTable is the service's one mapping from domain errors to gRPC codes. Validation
// errors carry their own field violations (rpcerr.Violations).
var errorTable = rpcerr.Table{}

// invalidInput collects field violations from the domain and from the postcode.
type invalidInput struct{ vs []rpcerr.FieldViolation }

func (e invalidInput) Error() string {
	msg := "invalid request:"
	for i, v := range e.vs {
		if i > 0 {
			msg += ";"
		}
		msg += " " + v.Field + " " + v.Description
	}
	return msg
}

func (e invalidInput) FieldViolations() []rpcerr.FieldViolation { return e.vs }

// CheckEligibility implements the check: validate, resolve the postcode, evaluate.
func (s *Server) CheckEligibility(ctx context.Context, req *eligibilityv1.CheckEligibilityRequest) (*eligibilityv1.CheckEligibilityResponse, error) {
	in, areas, err := s.input(req)
	if err != nil {
		return nil, errorTable.Status(s.d.Log, err)
	}
	res := rules.Evaluate(s.d.Rulesets.Current(), in)
	return toProto(res, areas), nil
}

// input validates the request and returns the domain input and the resolved areas.
func (s *Server) input(req *eligibilityv1.CheckEligibilityRequest) (rules.Input, []string, error) {
	raw := rules.RawRequest{
		DateOfBirth:   req.GetDateOfBirth(),
		Qualification: int32(req.GetHighestQualification()),
		SalaryPence:   req.AnnualSalaryPence,
		AsOf:          req.GetAsOf(),
	}
	today := civil.Of(s.d.Now(), s.d.Location)
	in, err := rules.ParseRequest(raw, today)
	var vs []rpcerr.FieldViolation
	if err != nil {
		var ve *rules.ValidationError
		if !errors.As(err, &ve) {
			return rules.Input{}, nil, err
		}
		for _, v := range ve.Violations {
			vs = append(vs, rpcerr.FieldViolation{Field: v.Field, Description: v.Description})
		}
	}
	var areas []string
	if req.GetPostcode() != "" {
		pc, perr := postcode.Parse(req.GetPostcode())
		if perr != nil {
			vs = append(vs, rpcerr.FieldViolation{Field: "postcode", Description: "must be a UK postcode, for example SW1A 1AA"})
		} else if place, ok := s.d.Postcodes.Lookup(pc); ok {
			areas = place.Areas
		}
	}
	if len(vs) > 0 {
		return rules.Input{}, nil, invalidInput{vs}
	}
	in.Areas = areas
	return in, areas, nil
}

func toProto(res rules.Result, areas []string) *eligibilityv1.CheckEligibilityResponse {
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
				Parameter:     t.Parameter,
				Value:         t.Value,
				EffectiveFrom: t.EffectiveFrom.String(),
				Area:          t.Area,
				Reference:     t.Reference,
			}
		}
		out.Criteria = append(out.Criteria, cr)
	}
	return out
}
