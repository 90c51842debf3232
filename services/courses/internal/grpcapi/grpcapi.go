// Package grpcapi is the gRPC face of the courses service: it converts messages to domain
// values and back, reads the caller from the context, and turns domain errors into
// statuses through one table.
package grpcapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/platform/rpcerr"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Deps are what the API needs.
type Deps struct {
	Log     *zap.Logger
	Catalog *catalog.Catalog
	// ImportMaxBytes bounds the CSV of one import; ImportMaxRows its rows.
	ImportMaxBytes int64
	ImportMaxRows  int
}

// Server implements retrain.courses.v1.CoursesService.
type Server struct {
	coursesv1.UnimplementedCoursesServiceServer
	d Deps
}

// New returns the API over d.
func New(d Deps) *Server { return &Server{d: d} }

// errorTable is the service's one mapping from domain errors to gRPC codes. Validation
// errors carry their own field violations.
var errorTable = rpcerr.Table{
	{Err: catalog.ErrNotFound, Code: codes.NotFound, Reason: "NOT_FOUND"},
	{Err: catalog.ErrAlreadyExists, Code: codes.AlreadyExists, Reason: "ALREADY_EXISTS"},
	{Err: catalog.ErrProviderHasCourses, Code: codes.FailedPrecondition, Reason: "PROVIDER_HAS_COURSES"},
	{Err: catalog.ErrNoProvider, Code: codes.FailedPrecondition, Reason: "PROVIDER_NOT_FOUND"},
	{Err: catalog.ErrProviderBreaksCourses, Code: codes.FailedPrecondition, Reason: "PROVIDER_CHANGE_BREAKS_COURSES"},
	{Err: catalog.ErrUnknownPostcode, Code: codes.NotFound, Reason: "POSTCODE_NOT_FOUND"},
	{Err: catalog.ErrTooLarge, Code: codes.ResourceExhausted, Reason: "IMPORT_TOO_LARGE"},
}

// invalidInput is a request refused for field violations.
type invalidInput struct{ vs []rpcerr.FieldViolation }

func (e invalidInput) Error() string {
	var b strings.Builder
	b.WriteString("invalid request:")
	for i, v := range e.vs {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" " + v.Field + " " + v.Description)
	}
	return b.String()
}

func (e invalidInput) FieldViolations() []rpcerr.FieldViolation { return e.vs }

// status converts err, giving a domain *ValidationError's fields the prefix of the request
// message they came from ("course." for a create).
func (s *Server) status(err error, prefix string) error {
	var ve *catalog.ValidationError
	if errors.As(err, &ve) {
		err = invalidInput{domainViolations(ve.Violations, prefix)}
	}
	return errorTable.Status(s.d.Log, err)
}

func (s *Server) bad(vs []rpcerr.FieldViolation) error {
	return errorTable.Status(s.d.Log, invalidInput{vs})
}

// actor is who is writing: the authenticated subject, or "unauthenticated" until the
// authentication interceptor is in place. It is never taken from a request header.
func actor(ctx context.Context) string {
	if p, ok := authn.FromContext(ctx); ok && p.Subject != "" {
		return p.Subject
	}
	return "unauthenticated"
}

// Page sizes of the list methods.
const (
	defaultPage = 50
	maxPage     = 1000
)

// page reads page_size and page_token of a list under parent. Tokens are opaque: the
// parent and the last key, so a token cannot be reused for another collection.
func page(parent string, size int32, token string) (limit int, after string, vs []rpcerr.FieldViolation) {
	switch {
	case size < 0:
		vs = append(vs, rpcerr.FieldViolation{Field: "page_size", Description: "must not be negative"})
	case size == 0:
		limit = defaultPage
	default:
		limit = min(int(size), maxPage)
	}
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		p, key, ok := strings.Cut(string(raw), "\x00")
		if err != nil || !ok || p != parent || key == "" {
			vs = append(vs, rpcerr.FieldViolation{Field: "page_token", Description: "is not a page token of this list"})
		}
		after = key
	}
	return limit, after, vs
}

func nextToken(parent, last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(parent + "\x00" + last))
}

// GetArea implements the API.
func (s *Server) GetArea(ctx context.Context, req *coursesv1.GetAreaRequest) (*coursesv1.GetAreaResponse, error) {
	code, _, ok := parseName(req.GetName(), "")
	if !ok {
		return nil, s.bad(nameViolation("name", "areas/{area}"))
	}
	a, err := s.d.Catalog.Area(code)
	if err != nil {
		return nil, s.status(err, "")
	}
	return &coursesv1.GetAreaResponse{Area: areaToProto(a)}, nil
}

// ListAreas implements the API. There are few areas: one page holds them all.
func (s *Server) ListAreas(ctx context.Context, req *coursesv1.ListAreasRequest) (*coursesv1.ListAreasResponse, error) {
	limit, after, vs := page("areas", req.GetPageSize(), req.GetPageToken())
	if len(vs) > 0 {
		return nil, s.bad(vs)
	}
	limit = min(limit, 100)
	resp := &coursesv1.ListAreasResponse{}
	for _, a := range s.d.Catalog.Areas() {
		if a.Code <= after {
			continue
		}
		if len(resp.Areas) == limit {
			resp.NextPageToken = nextToken("areas", resp.Areas[len(resp.Areas)-1].GetOnsCode())
			break
		}
		resp.Areas = append(resp.Areas, areaToProto(a))
	}
	return resp, nil
}

// GetProvider implements the API.
func (s *Server) GetProvider(ctx context.Context, req *coursesv1.GetProviderRequest) (*coursesv1.GetProviderResponse, error) {
	area, ukprn, ok := parseName(req.GetName(), "providers")
	if !ok {
		return nil, s.bad(nameViolation("name", "areas/{area}/providers/{ukprn}"))
	}
	p, err := s.d.Catalog.GetProvider(ctx, area, ukprn)
	if err != nil {
		return nil, s.status(err, "")
	}
	return &coursesv1.GetProviderResponse{Provider: providerToProto(p)}, nil
}

// listArgs validates the parent (areas/{area}) and paging of a list request.
func listArgs(parent string, size int32, token string) (area string, limit int, after string, vs []rpcerr.FieldViolation) {
	area, _, ok := parseName(parent, "")
	if !ok {
		vs = nameViolation("parent", "areas/{area}")
	}
	limit, after, pvs := page(parent, size, token)
	return area, limit, after, append(vs, pvs...)
}

// ListProviders implements the API.
func (s *Server) ListProviders(ctx context.Context, req *coursesv1.ListProvidersRequest) (*coursesv1.ListProvidersResponse, error) {
	area, limit, after, vs := listArgs(req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if len(vs) > 0 {
		return nil, s.bad(vs)
	}
	ps, err := s.d.Catalog.ListProviders(ctx, area, after, limit+1)
	if err != nil {
		return nil, s.status(err, "")
	}
	resp := &coursesv1.ListProvidersResponse{}
	if len(ps) > limit {
		ps = ps[:limit]
		resp.NextPageToken = nextToken(req.GetParent(), ps[limit-1].UKPRN)
	}
	for _, p := range ps {
		resp.Providers = append(resp.Providers, providerToProto(p))
	}
	return resp, nil
}

// CreateProvider implements the API.
func (s *Server) CreateProvider(ctx context.Context, req *coursesv1.CreateProviderRequest) (*coursesv1.CreateProviderResponse, error) {
	area, _, ok := parseName(req.GetParent(), "")
	var vs []rpcerr.FieldViolation
	if !ok {
		vs = nameViolation("parent", "areas/{area}")
	}
	if req.GetProvider() == nil {
		vs = append(vs, rpcerr.FieldViolation{Field: "provider", Description: "is required"})
	}
	id := req.GetProviderId()
	if id == "" {
		id = req.GetProvider().GetUkprn()
	}
	if !catalog.ValidUKPRN(id) {
		vs = append(vs, rpcerr.FieldViolation{Field: "provider_id", Description: "must be the provider's UKPRN: 8 digits starting with 1"})
	}
	if len(vs) > 0 {
		return nil, s.bad(vs)
	}
	m := req.GetProvider()
	p, err := s.d.Catalog.CreateProvider(ctx, actor(ctx), catalog.Provider{
		Area: area, UKPRN: id, Name: m.GetDisplayName(), LoanFacility: m.GetLoanFacility(), Premises: m.GetPremisesPostcodes(),
	})
	if err != nil {
		return nil, s.status(err, "provider.")
	}
	return &coursesv1.CreateProviderResponse{Provider: providerToProto(p)}, nil
}

// UpdateProvider implements the API.
func (s *Server) UpdateProvider(ctx context.Context, req *coursesv1.UpdateProviderRequest) (*coursesv1.UpdateProviderResponse, error) {
	m := req.GetProvider()
	area, ukprn, ok := parseName(m.GetName(), "providers")
	if !ok {
		return nil, s.bad(nameViolation("provider.name", "areas/{area}/providers/{ukprn}"))
	}
	p, err := s.d.Catalog.UpdateProvider(ctx, actor(ctx), catalog.Provider{
		Area: area, UKPRN: ukprn, Name: m.GetDisplayName(), LoanFacility: m.GetLoanFacility(), Premises: m.GetPremisesPostcodes(),
	}, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, s.status(err, "provider.")
	}
	return &coursesv1.UpdateProviderResponse{Provider: providerToProto(p)}, nil
}

// DeleteProvider implements the API.
func (s *Server) DeleteProvider(ctx context.Context, req *coursesv1.DeleteProviderRequest) (*coursesv1.DeleteProviderResponse, error) {
	area, ukprn, ok := parseName(req.GetName(), "providers")
	if !ok {
		return nil, s.bad(nameViolation("name", "areas/{area}/providers/{ukprn}"))
	}
	if err := s.d.Catalog.DeleteProvider(ctx, area, ukprn); err != nil {
		return nil, s.status(err, "")
	}
	return &coursesv1.DeleteProviderResponse{}, nil
}

// GetCourse implements the API.
func (s *Server) GetCourse(ctx context.Context, req *coursesv1.GetCourseRequest) (*coursesv1.GetCourseResponse, error) {
	area, id, ok := parseName(req.GetName(), "courses")
	if !ok {
		return nil, s.bad(nameViolation("name", "areas/{area}/courses/{course}"))
	}
	c, pname, err := s.d.Catalog.GetCourse(ctx, area, id)
	if err != nil {
		return nil, s.status(err, "")
	}
	return &coursesv1.GetCourseResponse{Course: courseToProto(c, pname)}, nil
}

// ListCourses implements the API.
func (s *Server) ListCourses(ctx context.Context, req *coursesv1.ListCoursesRequest) (*coursesv1.ListCoursesResponse, error) {
	area, limit, after, vs := listArgs(req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if len(vs) > 0 {
		return nil, s.bad(vs)
	}
	cs, err := s.d.Catalog.ListCourses(ctx, area, after, limit+1)
	if err != nil {
		return nil, s.status(err, "")
	}
	resp := &coursesv1.ListCoursesResponse{}
	if len(cs) > limit {
		cs = cs[:limit]
		resp.NextPageToken = nextToken(req.GetParent(), cs[limit-1].ID)
	}
	for _, c := range cs {
		resp.Courses = append(resp.Courses, courseToProto(c, s.d.Catalog.ProviderName(area, c.ProviderUKPRN)))
	}
	return resp, nil
}

// CreateCourse implements the API.
func (s *Server) CreateCourse(ctx context.Context, req *coursesv1.CreateCourseRequest) (*coursesv1.CreateCourseResponse, error) {
	area, _, ok := parseName(req.GetParent(), "")
	var vs []rpcerr.FieldViolation
	if !ok {
		vs = nameViolation("parent", "areas/{area}")
	}
	if req.GetCourse() == nil {
		vs = append(vs, rpcerr.FieldViolation{Field: "course", Description: "is required"})
	}
	if id := req.GetCourseId(); id != "" && !catalog.ValidCourseID(id) {
		vs = append(vs, rpcerr.FieldViolation{Field: "course_id", Description: "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter"})
	}
	c, cvs := courseFromProto(req.GetCourse(), "course.")
	if vs = append(vs, cvs...); len(vs) > 0 {
		return nil, s.bad(vs)
	}
	c.Area, c.ID = area, req.GetCourseId()
	out, err := s.d.Catalog.CreateCourse(ctx, actor(ctx), c)
	if err != nil {
		return nil, s.status(err, "course.")
	}
	return &coursesv1.CreateCourseResponse{Course: courseToProto(out, s.d.Catalog.ProviderName(area, out.ProviderUKPRN))}, nil
}

// UpdateCourse implements the API.
func (s *Server) UpdateCourse(ctx context.Context, req *coursesv1.UpdateCourseRequest) (*coursesv1.UpdateCourseResponse, error) {
	area, id, ok := parseName(req.GetCourse().GetName(), "courses")
	if !ok {
		return nil, s.bad(nameViolation("course.name", "areas/{area}/courses/{course}"))
	}
	c, vs := courseFromProto(req.GetCourse(), "course.")
	if len(vs) > 0 {
		return nil, s.bad(vs)
	}
	c.Area, c.ID = area, id
	out, err := s.d.Catalog.UpdateCourse(ctx, actor(ctx), c, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, s.status(err, "course.")
	}
	return &coursesv1.UpdateCourseResponse{Course: courseToProto(out, s.d.Catalog.ProviderName(area, out.ProviderUKPRN))}, nil
}

// DeleteCourse implements the API.
func (s *Server) DeleteCourse(ctx context.Context, req *coursesv1.DeleteCourseRequest) (*coursesv1.DeleteCourseResponse, error) {
	area, id, ok := parseName(req.GetName(), "courses")
	if !ok {
		return nil, s.bad(nameViolation("name", "areas/{area}/courses/{course}"))
	}
	if err := s.d.Catalog.DeleteCourse(ctx, area, id); err != nil {
		return nil, s.status(err, "")
	}
	return &coursesv1.DeleteCourseResponse{}, nil
}

// SearchCourses implements the API.
func (s *Server) SearchCourses(ctx context.Context, req *coursesv1.SearchCoursesRequest) (*coursesv1.SearchCoursesResponse, error) {
	sr := catalog.SearchRequest{
		Postcode:       req.GetPostcode(),
		DistanceMiles:  req.GetDistanceMiles(),
		Keyword:        req.GetKeyword(),
		Levels:         req.GetLevels(),
		Sector:         req.GetSectorSubjectArea(),
		ModularOnly:    req.GetModularOnly(),
		MaxLearnerCost: req.MaxLearnerCostPence,
		StartFrom:      req.GetStartDateFrom(),
		StartTo:        req.GetStartDateTo(),
		Order:          enum[catalog.Order](int32(req.GetOrderBy())),
		PageSize:       req.GetPageSize(),
		PageToken:      req.GetPageToken(),
	}
	for _, m := range req.GetDeliveryModes() {
		sr.Delivery = append(sr.Delivery, enum[catalog.DeliveryMode](int32(m)))
	}
	for _, m := range req.GetStudyModes() {
		sr.Study = append(sr.Study, enum[catalog.StudyMode](int32(m)))
	}
	for _, m := range req.GetAttendancePatterns() {
		sr.Attendance = append(sr.Attendance, enum[catalog.AttendancePattern](int32(m)))
	}
	res, err := s.d.Catalog.Search(ctx, sr)
	if err != nil {
		return nil, s.status(err, "")
	}
	resp := &coursesv1.SearchCoursesResponse{
		NextPageToken:      res.NextPageToken,
		TotalSize:          int32(res.Total),
		LocationPrecision:  res.Precision,
		LevelFacets:        facetLevels(res.Facets.Levels[:]),
		DeliveryModeFacets: facetEnum(res.Facets.Delivery[:], func(v int32) string { return coursesv1.DeliveryMode(v).String() }),
		StudyModeFacets:    facetEnum(res.Facets.Study[:], func(v int32) string { return coursesv1.StudyMode(v).String() }),
	}
	if res.Area != "" {
		resp.Area = catalog.AreaName(res.Area)
	}
	for _, sector := range sortedKeys(res.Facets.Sectors) {
		resp.SectorFacets = append(resp.SectorFacets, &coursesv1.FacetCount{Value: sector, Count: int32(res.Facets.Sectors[sector])})
	}
	for _, f := range res.Results {
		r := &coursesv1.SearchResult{Course: courseToProto(f.Course, f.ProviderName)}
		if f.HasDistance {
			d := roundMiles(f.DistanceMiles)
			r.DistanceMiles = &d
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

// ImportCourses implements the API: the whole stream is read (within the configured
// limits), then validated and applied as one import.
func (s *Server) ImportCourses(stream grpc.ClientStreamingServer[coursesv1.ImportCoursesRequest, coursesv1.ImportCoursesResponse]) error {
	ctx := stream.Context()
	var (
		parent, area string
		dryRun       bool
		csvData      bytes.Buffer
		rows         []catalog.ImportRow
		vs           []rpcerr.FieldViolation
	)
	for n := 0; ; n++ {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // the stream is broken: its status is the answer
		}
		if n == 0 {
			parent, dryRun = msg.GetParent(), msg.GetDryRun()
			var ok bool
			if area, _, ok = parseName(parent, ""); !ok {
				return s.bad(nameViolation("parent", "areas/{area}"))
			}
		} else if p := msg.GetParent(); p != "" && p != parent {
			return s.bad([]rpcerr.FieldViolation{{Field: "parent", Description: "must be the same in every message of an import"}})
		}
		if int64(csvData.Len()+len(msg.GetCsvData())) > s.d.ImportMaxBytes {
			return s.status(catalog.ErrTooLarge, "")
		}
		csvData.Write(msg.GetCsvData())
		for _, ic := range msg.GetCourses() {
			if len(rows) >= s.d.ImportMaxRows {
				return s.status(catalog.ErrTooLarge, "")
			}
			c, cvs := courseFromProto(ic.GetCourse(), "")
			c.ID = ic.GetCourseId()
			if c.ID == "" {
				if a, id, ok := parseName(ic.GetCourse().GetName(), "courses"); ok && a == area {
					c.ID = id
				}
			}
			row := catalog.ImportRow{Row: len(rows) + 1, Course: c}
			for _, v := range cvs {
				row.Violations = append(row.Violations, catalog.Violation{Field: v.Field, Description: v.Description})
			}
			rows = append(rows, row)
		}
	}
	if parent == "" {
		return s.bad(nameViolation("parent", "areas/{area}"))
	}
	if csvData.Len() > 0 && len(rows) > 0 {
		vs = append(vs, rpcerr.FieldViolation{Field: "csv_data", Description: "cannot be mixed with courses in one import"})
	}
	if len(vs) > 0 {
		return s.bad(vs)
	}
	if csvData.Len() > 0 {
		r, err := catalog.NewCSVReader(&csvData)
		if err != nil {
			return s.status(err, "")
		}
		for {
			row, err := r.Read(area)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return s.status(err, "")
			}
			if len(rows) >= s.d.ImportMaxRows {
				return s.status(catalog.ErrTooLarge, "")
			}
			rows = append(rows, row)
		}
	}
	res, err := s.d.Catalog.Import(ctx, actor(ctx), area, rows, dryRun)
	if err != nil {
		return s.status(err, "")
	}
	s.d.Log.Info("courses imported", zap.String("area", area), zap.Bool("dry_run", dryRun),
		zap.Int("created", res.Created), zap.Int("updated", res.Updated), zap.Int("unchanged", res.Unchanged), zap.Int("invalid", res.Invalid))
	resp := &coursesv1.ImportCoursesResponse{
		CreatedCount:           int32(res.Created),
		UpdatedCount:           int32(res.Updated),
		UnchangedCount:         int32(res.Unchanged),
		InvalidCount:           int32(res.Invalid),
		PartTimeOverLimitCount: int32(res.PartTimeOverLimit),
		DryRun:                 res.DryRun,
		Rows:                   make([]*coursesv1.ImportRowResult, 0, len(res.Rows)),
	}
	for _, rr := range res.Rows {
		out := &coursesv1.ImportRowResult{Row: int32(rr.Row), CourseId: rr.CourseID, Status: coursesv1.ImportRowStatus(rr.Status)}
		for _, v := range rr.Violations {
			out.Violations = append(out.Violations, &coursesv1.FieldViolation{Field: v.Field, Description: v.Description})
		}
		resp.Rows = append(resp.Rows, out)
	}
	return stream.SendAndClose(resp)
}

// exportChunk is the size of the CSV pieces ExportCourses sends.
const exportChunk = 64 << 10

// ExportCourses implements the API.
func (s *Server) ExportCourses(req *coursesv1.ExportCoursesRequest, stream grpc.ServerStreamingServer[coursesv1.ExportCoursesResponse]) error {
	area, _, ok := parseName(req.GetParent(), "")
	if !ok {
		return s.bad(nameViolation("parent", "areas/{area}"))
	}
	w := &chunkWriter{send: func(b []byte) error { return stream.Send(&coursesv1.ExportCoursesResponse{CsvData: b}) }}
	if err := s.d.Catalog.ExportCSV(stream.Context(), area, w); err != nil {
		return s.status(err, "")
	}
	return s.status(w.flush(), "")
}

// chunkWriter sends what is written in pieces of exportChunk bytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for len(w.buf) >= exportChunk {
		if err := w.send(w.buf[:exportChunk]); err != nil {
			return 0, err
		}
		w.buf = append([]byte(nil), w.buf[exportChunk:]...)
	}
	return len(p), nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = nil
	return err
}
