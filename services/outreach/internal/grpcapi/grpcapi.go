// Package grpcapi is the gRPC face of the outreach service: it converts messages to
// domain values and back, checks the caller's area, and turns domain errors into
// statuses through one table.
package grpcapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/platform/rpcerr"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Deps are what the API needs.
type Deps struct {
	Log     *zap.Logger
	Service *domain.Service
	Index   *attribution.Index
	// Refresh, when set, brings Index up to date with the store before a report reads
	// it: every event committed before the report started, whichever replica stored it,
	// is in the report.
	Refresh func(context.Context) error
	Now     func() time.Time
	// Location is Europe/London, in which report dates are read.
	Location *time.Location
	// SuppressionThreshold: exported counts from 1 to SuppressionThreshold-1 are
	// replaced by "suppressed".
	SuppressionThreshold int
}

// Server implements retrain.outreach.v1.OutreachService.
type Server struct {
	outreachv1.UnimplementedOutreachServiceServer
	d Deps
}

// New returns the API over d.
func New(d Deps) *Server { return &Server{d: d} }

// errorTable is the service's one mapping from domain errors to gRPC codes. Validation
// errors carry their own field violations (rpcerr.Violations).
func errorTable() rpcerr.Table {
	return rpcerr.Table{
		{Err: domain.ErrNotFound, Code: codes.NotFound, Reason: "NOT_FOUND"},
		{Err: domain.ErrAlreadyExists, Code: codes.AlreadyExists, Reason: "ALREADY_EXISTS"},
		{Err: domain.ErrEtagMismatch, Code: codes.FailedPrecondition, Reason: "ETAG_MISMATCH"},
		{Err: domain.ErrPermissionDenied, Code: codes.PermissionDenied, Reason: "AREA_NOT_ALLOWED"},
		{Err: domain.ErrTooComplex, Code: codes.FailedPrecondition, Reason: "REPORT_TOO_COMPLEX"},
	}
}

func (s *Server) status(err error) error {
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return rpcerr.InvalidArgument(ve.Error(), fieldViolations(ve.Violations))
	}
	return errorTable().Status(s.d.Log, err)
}

func fieldViolations(vs []domain.Violation) []rpcerr.FieldViolation {
	out := make([]rpcerr.FieldViolation, len(vs))
	for i, v := range vs {
		out[i] = rpcerr.FieldViolation{Field: v.Field, Description: v.Description}
	}
	return out
}

func invalid(field, desc string) error {
	return &domain.ValidationError{Violations: []domain.Violation{{Field: field, Description: desc}}}
}

// access is what a call does to an area's data.
type access uint8

const (
	readArea access = iota
	writeCampaigns
	writeEvents
)

// authorize checks the caller against the area of a call, object by object (area is ""
// for the wildcard areas/-, and each event of a batch names its own area). The guard
// interceptor has already authenticated the caller and checked the RPC's policy; without
// a principal (a unit test calling the API directly) the call is allowed.
func authorize(ctx context.Context, area string, a access) error {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return nil
	}
	allowed := false
	switch p.Role {
	case authn.RoleAdmin:
		allowed = true
	case authn.RoleLEP:
		allowed = area != "" && area == p.Area
	case authn.RoleEvaluator:
		allowed = a == readArea
	case authn.RoleFrontend, authn.RoleAdviser, authn.RoleService:
		allowed = a == writeEvents
	}
	if !allowed {
		return domain.ErrPermissionDenied
	}
	return nil
}

// actor is who is calling, for the record: the principal's subject, or
// "unauthenticated" (never an identity taken from a header).
func actor(ctx context.Context) string {
	if p, ok := authn.FromContext(ctx); ok && p.Subject != "" {
		return p.Subject
	}
	return "unauthenticated"
}

// CreateCampaign implements the RPC.
func (s *Server) CreateCampaign(ctx context.Context, req *outreachv1.CreateCampaignRequest) (*outreachv1.CreateCampaignResponse, error) {
	area, ok := domain.ParseParent(req.GetParent(), false)
	if !ok {
		return nil, s.status(invalid("parent", "must be areas/{area} with an ONS area code"))
	}
	if err := authorize(ctx, area, writeCampaigns); err != nil {
		return nil, s.status(err)
	}
	if req.GetCampaign() == nil {
		return nil, s.status(invalid("campaign", "is required"))
	}
	var vs []domain.Violation
	c := campaignFromProto(req.GetCampaign(), "campaign.", &vs)
	c.Area, c.ID = area, req.GetCampaignId()
	c.Creator = actor(ctx)
	created, err := s.d.Service.CreateCampaign(ctx, c, vs...)
	if err != nil {
		return nil, s.status(err)
	}
	return &outreachv1.CreateCampaignResponse{Campaign: campaignToProto(created)}, nil
}

// GetCampaign implements the RPC.
func (s *Server) GetCampaign(ctx context.Context, req *outreachv1.GetCampaignRequest) (*outreachv1.GetCampaignResponse, error) {
	area, id, ok := domain.ParseCampaignName(req.GetName())
	if !ok {
		return nil, s.status(invalid("name", "must be areas/{area}/campaigns/{campaign}"))
	}
	if err := authorize(ctx, area, readArea); err != nil {
		return nil, s.status(err)
	}
	c, err := s.d.Service.GetCampaign(ctx, area, id)
	if err != nil {
		return nil, s.status(err)
	}
	return &outreachv1.GetCampaignResponse{Campaign: campaignToProto(c)}, nil
}

// Page sizes of ListCampaigns.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageToken is opaque to clients: base64url of the parent and the last (area, id).
func encodePageToken(parent string, c domain.Campaign) string {
	return base64.RawURLEncoding.EncodeToString([]byte(parent + "\x00" + c.Area + "\x00" + c.ID))
}

func decodePageToken(parent, tok string) (domain.ListCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return domain.ListCursor{}, false
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[0] != parent || !domain.ValidArea(parts[1]) || !domain.ValidCampaignID(parts[2]) {
		return domain.ListCursor{}, false
	}
	return domain.ListCursor{Area: parts[1], ID: parts[2]}, true
}

// ListCampaigns implements the RPC.
func (s *Server) ListCampaigns(ctx context.Context, req *outreachv1.ListCampaignsRequest) (*outreachv1.ListCampaignsResponse, error) {
	area, ok := domain.ParseParent(req.GetParent(), true)
	var vs []domain.Violation
	if !ok {
		vs = append(vs, domain.Violation{Field: "parent", Description: "must be areas/{area} or areas/-"})
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		vs = append(vs, domain.Violation{Field: "page_size", Description: "must not be negative"})
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	var after domain.ListCursor
	if tok := req.GetPageToken(); tok != "" {
		if after, ok = decodePageToken(req.GetParent(), tok); !ok {
			vs = append(vs, domain.Violation{Field: "page_token", Description: "is not a token of this listing"})
		}
	}
	if len(vs) > 0 {
		return nil, s.status(&domain.ValidationError{Violations: vs})
	}
	if err := authorize(ctx, area, readArea); err != nil {
		return nil, s.status(err)
	}
	cs, more, err := s.d.Service.ListCampaigns(ctx, area, after, size)
	if err != nil {
		return nil, s.status(err)
	}
	resp := &outreachv1.ListCampaignsResponse{Campaigns: make([]*outreachv1.Campaign, 0, len(cs))}
	for _, c := range cs {
		resp.Campaigns = append(resp.Campaigns, campaignToProto(c))
	}
	if more {
		resp.NextPageToken = encodePageToken(req.GetParent(), cs[len(cs)-1])
	}
	return resp, nil
}

// UpdateCampaign implements the RPC.
func (s *Server) UpdateCampaign(ctx context.Context, req *outreachv1.UpdateCampaignRequest) (*outreachv1.UpdateCampaignResponse, error) {
	pc := req.GetCampaign()
	area, id, ok := domain.ParseCampaignName(pc.GetName())
	if !ok {
		return nil, s.status(invalid("campaign.name", "must be areas/{area}/campaigns/{campaign}"))
	}
	if err := authorize(ctx, area, writeCampaigns); err != nil {
		return nil, s.status(err)
	}
	var vs []domain.Violation
	c := campaignFromProto(pc, "campaign.", &vs)
	c.Area, c.ID = area, id
	c.LastModifier = actor(ctx)
	updated, err := s.d.Service.UpdateCampaign(ctx, c, req.GetUpdateMask().GetPaths(), pc.GetEtag(), vs...)
	if err != nil {
		return nil, s.status(err)
	}
	return &outreachv1.UpdateCampaignResponse{Campaign: campaignToProto(updated)}, nil
}

// record validates and stores one batch; offset is the index of its first event in the
// stream.
func (s *Server) record(ctx context.Context, parent string, events []*outreachv1.Event, offset int) ([]*outreachv1.EventResult, error) {
	area, ok := domain.ParseParent(parent, true)
	if !ok {
		return nil, invalid("parent", "must be areas/{area} or areas/-")
	}
	raws := make([]domain.RawEvent, len(events))
	for i, e := range events {
		raws[i] = eventFromProto(e)
		// A wildcard batch is checked per event: each event names its own area.
		evArea := area
		if evArea == "" {
			evArea = e.GetArea()
		}
		if err := authorize(ctx, evArea, writeEvents); err != nil {
			return nil, err
		}
	}
	results, err := s.d.Service.Record(ctx, area, raws)
	if err != nil {
		return nil, err
	}
	out := make([]*outreachv1.EventResult, len(results))
	for i, r := range results {
		er := &outreachv1.EventResult{Index: int32(offset + i), EventId: events[i].GetEventId()}
		vs := r.Violations
		switch {
		case r.Status == domain.StatusInvalid:
			er.Status, er.Code, er.HttpStatus = outreachv1.EventStatus_EVENT_STATUS_INVALID, int32(codes.InvalidArgument), 400
			er.Message = (&domain.ValidationError{Violations: vs}).Error()
			for _, v := range vs {
				er.FieldViolations = append(er.FieldViolations, &outreachv1.FieldViolation{Field: v.Field, Description: v.Description})
			}
		case r.Status == domain.StatusAccepted:
			er.Status, er.Code, er.HttpStatus = outreachv1.EventStatus_EVENT_STATUS_ACCEPTED, int32(codes.OK), 200
		case r.Status == domain.StatusDuplicate:
			er.Status, er.Code, er.HttpStatus = outreachv1.EventStatus_EVENT_STATUS_DUPLICATE, int32(codes.OK), 200
		case r.Status == domain.StatusConflict:
			er.Status, er.Code, er.HttpStatus = outreachv1.EventStatus_EVENT_STATUS_CONFLICT, int32(codes.AlreadyExists), 409
			er.Message = r.Message
		}
		out[i] = er
	}
	return out, nil
}

// count sums up the results of a batch.
func count(results []*outreachv1.EventResult) (accepted, duplicate, rejected int32) {
	for _, r := range results {
		switch r.GetStatus() {
		case outreachv1.EventStatus_EVENT_STATUS_ACCEPTED:
			accepted++
		case outreachv1.EventStatus_EVENT_STATUS_DUPLICATE:
			duplicate++
		default:
			rejected++
		}
	}
	return
}

// RecordEvents implements the RPC.
func (s *Server) RecordEvents(ctx context.Context, req *outreachv1.RecordEventsRequest) (*outreachv1.RecordEventsResponse, error) {
	results, err := s.record(ctx, req.GetParent(), req.GetEvents(), 0)
	if err != nil {
		return nil, s.status(err)
	}
	resp := &outreachv1.RecordEventsResponse{Results: results}
	resp.AcceptedCount, resp.DuplicateCount, resp.RejectedCount = count(results)
	return resp, nil
}

// maxStreamRejected caps the refused events listed in a stream's response, so a long
// stream of bad events cannot make the response larger than a message may be.
const maxStreamRejected = 1000

// StreamEvents implements the RPC.
func (s *Server) StreamEvents(stream grpc.ClientStreamingServer[outreachv1.StreamEventsRequest, outreachv1.StreamEventsResponse]) error {
	ctx := stream.Context()
	resp := &outreachv1.StreamEventsResponse{}
	offset := 0
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		results, err := s.record(ctx, req.GetParent(), req.GetEvents(), offset)
		if err != nil {
			return s.status(err)
		}
		offset += len(req.GetEvents())
		a, d, r := count(results)
		resp.AcceptedCount += a
		resp.DuplicateCount += d
		resp.RejectedCount += r
		for _, res := range results {
			if res.GetStatus() != outreachv1.EventStatus_EVENT_STATUS_ACCEPTED && res.GetStatus() != outreachv1.EventStatus_EVENT_STATUS_DUPLICATE &&
				len(resp.Rejected) < maxStreamRejected {
				resp.Rejected = append(resp.Rejected, res)
			}
		}
	}
}

// Report parameter bounds.
const (
	defaultLookbackDays = 30
	maxLookbackDays     = 90
	defaultHalfLife     = 168
	maxHalfLife         = 24 * 366
	maxRangeDays        = 3 * 366
)

// reportParams validates the parameters and fills in defaults.
func (s *Server) reportParams(ctx context.Context, parent string, in *outreachv1.ReportParameters) (attribution.Params, *outreachv1.ReportParameters, error) {
	var vs []domain.Violation
	area, ok := domain.ParseParent(parent, true)
	if !ok {
		vs = append(vs, domain.Violation{Field: "parent", Description: "must be areas/{area} or areas/-"})
	}
	pp := proto.Clone(in).(*outreachv1.ReportParameters)
	if pp == nil {
		pp = &outreachv1.ReportParameters{}
	}
	if pp.Model == outreachv1.AttributionModel_ATTRIBUTION_MODEL_UNSPECIFIED {
		pp.Model = outreachv1.AttributionModel_ATTRIBUTION_MODEL_LINEAR
	}
	if pp.GroupBy == outreachv1.GroupBy_GROUP_BY_UNSPECIFIED {
		pp.GroupBy = outreachv1.GroupBy_GROUP_BY_CAMPAIGN
	}
	if pp.LookbackDays == 0 {
		pp.LookbackDays = defaultLookbackDays
	}
	if pp.HalfLifeHours == 0 {
		pp.HalfLifeHours = defaultHalfLife
	}
	p := attribution.Params{
		Stage: domain.Stage(pp.GetStage()), Model: attribution.Model(pp.GetModel()), GroupBy: attribution.GroupBy(pp.GetGroupBy()),
		Loc: s.d.Location, Lookback: time.Duration(pp.GetLookbackDays()) * 24 * time.Hour,
		HalfLife: time.Duration(pp.GetHalfLifeHours()) * time.Hour, Area: area, Outcome: domain.Outcome(pp.GetEligibilityOutcome()),
	}
	if !p.Stage.Valid() {
		vs = append(vs, domain.Violation{Field: "parameters.stage", Description: "is required and must be a known stage"})
	}
	if !p.Model.Valid() {
		vs = append(vs, domain.Violation{Field: "parameters.model", Description: "must be a known model"})
	}
	if !p.GroupBy.Valid() {
		vs = append(vs, domain.Violation{Field: "parameters.group_by", Description: "must be a known grouping"})
	}
	p.Start = requiredDate(&vs, "parameters.start_date", pp.GetStartDate())
	p.End = requiredDate(&vs, "parameters.end_date", pp.GetEndDate())
	if p.Start.IsValid() && p.End.IsValid() {
		if p.End.Before(p.Start) {
			vs = append(vs, domain.Violation{Field: "parameters.end_date", Description: "must be on or after start_date"})
		} else if d := p.End.Compare(p.Start.AddDays(maxRangeDays)); d > 0 {
			vs = append(vs, domain.Violation{Field: "parameters.end_date", Description: "must be within three years of start_date"})
		}
	}
	if pp.LookbackDays < 1 || pp.LookbackDays > maxLookbackDays {
		vs = append(vs, domain.Violation{Field: "parameters.lookback_days", Description: "must be from 1 to 90"})
	}
	if pp.HalfLifeHours < 1 || pp.HalfLifeHours > maxHalfLife {
		vs = append(vs, domain.Violation{Field: "parameters.half_life_hours", Description: "must be from 1 to 8784"})
	}
	if o := pp.GetEligibilityOutcome(); o < 0 || o > outreachv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_UNDETERMINED {
		vs = append(vs, domain.Violation{Field: "parameters.eligibility_outcome", Description: "must be a known outcome"})
	}
	if len(vs) > 0 {
		return attribution.Params{}, nil, &domain.ValidationError{Violations: vs}
	}
	if err := authorize(ctx, area, readArea); err != nil {
		return attribution.Params{}, nil, err
	}
	return p, pp, nil
}

// campaigns returns every campaign of area ("" for all), for a report.
func (s *Server) campaigns(ctx context.Context, area string) ([]domain.Campaign, error) {
	var all []domain.Campaign
	var after domain.ListCursor
	for {
		page, more, err := s.d.Service.ListCampaigns(ctx, area, after, maxPageSize)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if !more {
			return all, nil
		}
		last := page[len(page)-1]
		after = domain.ListCursor{Area: last.Area, ID: last.ID}
	}
}

func (s *Server) report(ctx context.Context, parent string, in *outreachv1.ReportParameters) (*outreachv1.AttributionReport, error) {
	p, pp, err := s.reportParams(ctx, parent, in)
	if err != nil {
		return nil, err
	}
	// Every campaign, not only the area's: touches of another area's campaign can
	// precede a conversion in this one. Costs are limited to the area by the report.
	cs, err := s.campaigns(ctx, "")
	if err != nil {
		return nil, err
	}
	if s.d.Refresh != nil {
		if err := s.d.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	rep, err := s.d.Index.Report(p, cs)
	if err != nil {
		return nil, err
	}
	out := reportToProto(parent, pp, rep, cs)
	out.CreateTime = timestamppb.New(s.d.Now())
	return out, nil
}

// RunAttributionReport implements the RPC.
func (s *Server) RunAttributionReport(ctx context.Context, req *outreachv1.RunAttributionReportRequest) (*outreachv1.RunAttributionReportResponse, error) {
	rep, err := s.report(ctx, req.GetParent(), req.GetParameters())
	if err != nil {
		return nil, s.status(err)
	}
	return &outreachv1.RunAttributionReportResponse{Report: rep}, nil
}

// ExportAttributionReport implements the RPC.
func (s *Server) ExportAttributionReport(ctx context.Context, req *outreachv1.ExportAttributionReportRequest) (*outreachv1.ExportAttributionReportResponse, error) {
	rep, err := s.report(ctx, req.GetParent(), req.GetParameters())
	if err != nil {
		return nil, s.status(err)
	}
	doc, err := exportCSV(rep, s.d.SuppressionThreshold)
	if err != nil {
		return nil, s.status(err)
	}
	return &outreachv1.ExportAttributionReportResponse{
		Filename:             exportFilename(rep),
		ContentType:          "text/csv; charset=utf-8",
		Csv:                  doc,
		SuppressionThreshold: int32(s.d.SuppressionThreshold),
	}, nil
}
