// Package grpcapi is the gRPC face of the eligibility service: it converts messages to
// domain values and back, reads the caller for the audit trail, and turns domain errors
// into statuses through one table.
package grpcapi

import (
	"context"
	"errors"
	"io"

	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/platform/rpcerr"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Deps are what the API needs.
type Deps struct {
	// Log is the service's logger.
	Log *zap.Logger
	// App is the application core.
	App *domain.Service
}

// Server implements retrain.eligibility.v1.EligibilityService.
type Server struct {
	eligibilityv1.UnimplementedEligibilityServiceServer
	log *zap.Logger
	app *domain.Service
}

// New returns the API over deps.
func New(d Deps) *Server { return &Server{log: d.Log, app: d.App} }

// errorTable is the service's one mapping from domain errors to gRPC codes. Validation
// errors become INVALID_ARGUMENT with their field violations (see status).
var errorTable = rpcerr.Table{
	{Err: domain.ErrNotFound, Code: codes.NotFound, Reason: "NOT_FOUND"},
	{Err: domain.ErrAlreadyExists, Code: codes.AlreadyExists, Reason: "ALREADY_EXISTS"},
	{Err: domain.ErrUndecryptable, Code: codes.DataLoss, Reason: "UNDECRYPTABLE"},
	{Err: domain.ErrClosed, Code: codes.Unavailable, Reason: "UNAVAILABLE"},
}

// status converts a domain error into a gRPC status error.
func (s *Server) status(err error) error {
	if vs := violations(err); vs != nil {
		return rpcerr.InvalidArgument(err.Error(), vs)
	}
	return errorTable.Status(s.log, err)
}

// violations returns the field violations of a validation error, or nil.
func violations(err error) []rpcerr.FieldViolation {
	var in []rules.FieldViolation
	var de *domain.ValidationError
	var re *rules.ValidationError
	switch {
	case errors.As(err, &de):
		in = de.Violations
	case errors.As(err, &re):
		in = re.Violations
	default:
		return nil
	}
	out := make([]rpcerr.FieldViolation, len(in))
	for i, v := range in {
		out[i] = rpcerr.FieldViolation{Field: v.Field, Description: v.Description}
	}
	return out
}

// caller is who is calling, for the audit trail: the authenticated subject, or
// "unauthenticated" (no identity is invented from headers).
func caller(ctx context.Context) domain.Caller {
	c := domain.Caller{Actor: domain.Unauthenticated}
	if p, ok := authn.FromContext(ctx); ok && p.Subject != "" {
		c.Actor = p.Subject
	}
	if m, ok := grpc.Method(ctx); ok {
		c.RPC = m
	}
	return c
}

// CheckEligibility implements the check.
func (s *Server) CheckEligibility(ctx context.Context, req *eligibilityv1.CheckEligibilityRequest) (*eligibilityv1.CheckEligibilityResponse, error) {
	res, err := s.app.Check(ctx, domain.CheckRequest{
		Raw:       rawRequest(req.GetDateOfBirth(), req.GetHighestQualification(), req.AnnualSalaryPence, req.GetAsOf()),
		Postcode:  req.GetPostcode(),
		JourneyID: req.GetJourneyId(),
	})
	if err != nil {
		return nil, s.status(err)
	}
	return checkResponse(res.Result, res.Areas, res.NextSteps), nil
}

func rawRequest(dob string, q eligibilityv1.RqfLevel, salary *int64, asOf string) rules.RawRequest {
	return rules.RawRequest{DateOfBirth: dob, Qualification: int32(q), SalaryPence: salary, AsOf: asOf}
}

// maxRowIDLen bounds the row ids echoed by ScreenCohort.
const maxRowIDLen = 128

// ScreenCohort answers a stream of rows in order, one response each.
func (s *Server) ScreenCohort(stream eligibilityv1.EligibilityService_ScreenCohortServer) error {
	var row int64
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp := &eligibilityv1.ScreenCohortResponse{Row: row, RowId: req.GetRowId()}
		if len(req.GetRowId()) > maxRowIDLen {
			resp.RowId = ""
			resp.Outcome = &eligibilityv1.ScreenCohortResponse_Error{Error: &eligibilityv1.RowError{
				Message:         "invalid row: row_id is longer than 128 bytes",
				FieldViolations: []*eligibilityv1.FieldViolation{{Field: "row_id", Description: "must be at most 128 bytes"}},
			}}
		} else {
			res, err := s.app.ScreenRow(domain.CheckRequest{
				Raw:      rawRequest(req.GetDateOfBirth(), req.GetHighestQualification(), req.AnnualSalaryPence, req.GetAsOf()),
				Postcode: req.GetPostcode(),
			})
			switch vs := violations(err); {
			case err == nil:
				resp.Outcome = &eligibilityv1.ScreenCohortResponse_Result{Result: checkResponse(res.Result, res.Areas, res.NextSteps)}
			case vs != nil:
				re := &eligibilityv1.RowError{Message: err.Error()}
				for _, v := range vs {
					re.FieldViolations = append(re.FieldViolations, &eligibilityv1.FieldViolation{Field: v.Field, Description: v.Description})
				}
				resp.Outcome = &eligibilityv1.ScreenCohortResponse_Error{Error: re}
			default:
				// A fault of the service, not of the row: stop with a status.
				return s.status(err)
			}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
		row++
	}
}

// ListRulesets implements the list.
func (s *Server) ListRulesets(ctx context.Context, req *eligibilityv1.ListRulesetsRequest) (*eligibilityv1.ListRulesetsResponse, error) {
	recs, next, err := s.app.ListRulesets(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.status(err)
	}
	out := &eligibilityv1.ListRulesetsResponse{NextPageToken: next, Rulesets: make([]*eligibilityv1.Ruleset, 0, len(recs))}
	for _, r := range recs {
		out.Rulesets = append(out.Rulesets, rulesetToProto(r))
	}
	return out, nil
}

// GetRuleset implements the get.
func (s *Server) GetRuleset(ctx context.Context, req *eligibilityv1.GetRulesetRequest) (*eligibilityv1.GetRulesetResponse, error) {
	rec, err := s.app.GetRuleset(req.GetName())
	if err != nil {
		return nil, s.status(err)
	}
	return &eligibilityv1.GetRulesetResponse{Ruleset: rulesetToProto(rec)}, nil
}

// CreateRuleset publishes a version.
func (s *Server) CreateRuleset(ctx context.Context, req *eligibilityv1.CreateRulesetRequest) (*eligibilityv1.CreateRulesetResponse, error) {
	rs, eff, vs := rulesetFromProto(req.GetRuleset())
	if len(vs) > 0 {
		return nil, s.status(&domain.ValidationError{Violations: vs})
	}
	rec, err := s.app.PublishRuleset(ctx, caller(ctx), rs, eff)
	if err != nil {
		return nil, s.status(err)
	}
	return &eligibilityv1.CreateRulesetResponse{Ruleset: rulesetToProto(rec)}, nil
}

// CreateAssessment records an assessment.
func (s *Server) CreateAssessment(ctx context.Context, req *eligibilityv1.CreateAssessmentRequest) (*eligibilityv1.CreateAssessmentResponse, error) {
	a := req.GetAssessment()
	got, err := s.app.CreateAssessment(ctx, caller(ctx), req.GetParent(),
		rawRequest(a.GetDateOfBirth(), a.GetHighestQualification(), a.AnnualSalaryPence, a.GetAsOf()), a.GetPostcode())
	if err != nil {
		return nil, s.status(err)
	}
	return &eligibilityv1.CreateAssessmentResponse{Assessment: assessmentToProto(got)}, nil
}

// GetAssessment reads one assessment.
func (s *Server) GetAssessment(ctx context.Context, req *eligibilityv1.GetAssessmentRequest) (*eligibilityv1.GetAssessmentResponse, error) {
	a, err := s.app.GetAssessment(ctx, caller(ctx), req.GetName())
	if err != nil {
		return nil, s.status(err)
	}
	return &eligibilityv1.GetAssessmentResponse{Assessment: assessmentToProto(a)}, nil
}

// ListAssessments lists a learner's assessments.
func (s *Server) ListAssessments(ctx context.Context, req *eligibilityv1.ListAssessmentsRequest) (*eligibilityv1.ListAssessmentsResponse, error) {
	as, next, err := s.app.ListAssessments(ctx, caller(ctx), req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.status(err)
	}
	out := &eligibilityv1.ListAssessmentsResponse{NextPageToken: next, Assessments: make([]*eligibilityv1.Assessment, 0, len(as))}
	for _, a := range as {
		out.Assessments = append(out.Assessments, assessmentToProto(a))
	}
	return out, nil
}

// ReplayAssessment evaluates an assessment again.
func (s *Server) ReplayAssessment(ctx context.Context, req *eligibilityv1.ReplayAssessmentRequest) (*eligibilityv1.ReplayAssessmentResponse, error) {
	r, err := s.app.ReplayAssessment(ctx, caller(ctx), req.GetName())
	if err != nil {
		return nil, s.status(err)
	}
	return &eligibilityv1.ReplayAssessmentResponse{
		Assessment:      assessmentToProto(r.Assessment),
		Recorded:        checkResponse(r.Recorded, r.Assessment.Input.Areas, r.Assessment.NextSteps),
		RecordedMatches: r.RecordedMatches,
		Current:         checkResponse(r.Current, r.Assessment.Input.Areas, r.CurrentNextSteps),
		Changes:         r.Changes,
	}, nil
}

// ExportLearner returns everything held on a learner.
func (s *Server) ExportLearner(ctx context.Context, req *eligibilityv1.ExportLearnerRequest) (*eligibilityv1.ExportLearnerResponse, error) {
	e, err := s.app.ExportLearner(ctx, caller(ctx), req.GetName())
	if err != nil {
		return nil, s.status(err)
	}
	out := &eligibilityv1.ExportLearnerResponse{Name: domain.LearnerName(e.Learner), ExportTime: timestamppb.Now()}
	for _, a := range e.Assessments {
		out.Assessments = append(out.Assessments, assessmentToProto(a))
	}
	for _, r := range e.Audit {
		out.AuditRecords = append(out.AuditRecords, auditToProto(r))
	}
	return out, nil
}

// DeleteLearner erases a learner.
func (s *Server) DeleteLearner(ctx context.Context, req *eligibilityv1.DeleteLearnerRequest) (*eligibilityv1.DeleteLearnerResponse, error) {
	n, err := s.app.EraseLearner(ctx, caller(ctx), req.GetName())
	if err != nil {
		return nil, s.status(err)
	}
	return &eligibilityv1.DeleteLearnerResponse{ErasedAssessments: int32(n)}, nil
}

// ListAuditRecords pages through the audit trail.
func (s *Server) ListAuditRecords(ctx context.Context, req *eligibilityv1.ListAuditRecordsRequest) (*eligibilityv1.ListAuditRecordsResponse, error) {
	recs, next, err := s.app.ListAudit(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.status(err)
	}
	out := &eligibilityv1.ListAuditRecordsResponse{NextPageToken: next, AuditRecords: make([]*eligibilityv1.AuditRecord, 0, len(recs))}
	for _, r := range recs {
		out.AuditRecords = append(out.AuditRecords, auditToProto(r))
	}
	return out, nil
}
