package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const (
	lincsProvider = `{"display_name":"Lindum College","loan_facility":true,"premises_postcodes":["LN1 3BL"]}`
	lincsCourse   = `{"learning_aim_reference":"60318011","title":"Level 3 Diploma in Adult Care","description":"Safeguarding and medication",
		"level":"3","sector_subject_area":"1.3","awarding_body":"NCFE CACHE","provider_ukprn":"10000001","venue_postcode":"LN6 7TS",
		"delivery_mode":"DELIVERY_MODE_CLASSROOM","study_mode":"STUDY_MODE_PART_TIME","attendance_pattern":"ATTENDANCE_PATTERN_EVENING",
		"duration_value":30,"duration_unit":"DURATION_UNIT_WEEKS","start_date":"2027-01-11","full_cost_pence":"12345","modular":true,
		"discount_percent":75,"learner_cost_pence":"1"}`
)

func TestCoursesREST(t *testing.T) {
	s := startSystem(t, "-courses-demo-data=false")
	steps := []struct {
		name, method, path, body string
		wantCode                 int
		wantFields               []string
		check                    func(t *testing.T, body map[string]any)
	}{
		{"create provider", "POST", "/v1/areas/E37000060/providers?provider_id=10000001", lincsProvider, 200, nil, func(t *testing.T, b map[string]any) {
			if b["name"] != "areas/E37000060/providers/10000001" {
				t.Errorf("provider name = %v", b["name"])
			}
		}},
		{"create course", "POST", "/v1/areas/E37000060/courses?course_id=care-1", lincsCourse, 200, nil, func(t *testing.T, b map[string]any) {
			if b["name"] != "areas/E37000060/courses/care-1" || b["learner_cost_pence"] != "3086" || b["provider_name"] != "Lindum College" {
				t.Errorf("created course = %v, want care-1 costing 3086 (12345 less 75%%, half up; the client's cost ignored)", b)
			}
		}},
		{"create it again", "POST", "/v1/areas/E37000060/courses?course_id=care-1", lincsCourse, 409, nil, nil},
		{"create breaking rules", "POST", "/v1/areas/E37000060/courses?course_id=care-2",
			strings.Replace(strings.Replace(lincsCourse, `"level":"3"`, `"level":"2"`, 1), `"discount_percent":75`, `"discount_percent":50`, 1),
			400, []string{"course.discount_percent", "course.level"}, nil},
		{"create malformed", "POST", "/v1/areas/E37000060/courses?course_id=Bad_Id", `{"title":"","start_date":"2027-02-30"}`, 400,
			[]string{"course.start_date", "course_id"}, nil},
		{"get", "GET", "/v1/areas/E37000060/courses/care-1", "", 200, nil, func(t *testing.T, b map[string]any) {
			if b["title"] != "Level 3 Diploma in Adult Care" {
				t.Errorf("got %v", b)
			}
		}},
		{"get missing", "GET", "/v1/areas/E37000060/courses/nope", "", 404, nil, nil},
		{"get in unknown area", "GET", "/v1/areas/E37999999/courses/care-1", "", 404, nil, nil},
		{"update discount", "PATCH", "/v1/areas/E37000060/courses/care-1?update_mask=discount_percent", `{"discount_percent":100}`, 200, nil, func(t *testing.T, b map[string]any) {
			if b["learner_cost_pence"] != "0" || b["title"] != "Level 3 Diploma in Adult Care" {
				t.Errorf("after update = %v, want a free course with its title kept", b)
			}
		}},
		{"update to an unoffered discount", "PATCH", "/v1/areas/E37000060/courses/care-1?update_mask=discount_percent", `{"discount_percent":60}`, 400,
			[]string{"course.discount_percent"}, nil},
		{"search", "GET", "/v1/courses:search?postcode=ln2+1ab&distance_miles=20&keyword=CARE&levels=3", "", 200, nil, func(t *testing.T, b map[string]any) {
			rs, _ := b["results"].([]any)
			if len(rs) != 1 || b["area"] != "areas/E37000060" || b["total_size"] != float64(1) {
				t.Fatalf("search = %v, want care-1 in Lincolnshire", b)
			}
			r := rs[0].(map[string]any)
			if d, _ := r["distance_miles"].(float64); d <= 0 || d > 20 {
				t.Errorf("distance = %v, want a few miles", r["distance_miles"])
			}
		}},
		{"search malformed", "GET", "/v1/courses:search?postcode=nope&levels=9&distance_miles=-2", "", 400, []string{"distance_miles", "levels[0]", "postcode"}, nil},
		{"search unknown postcode", "GET", "/v1/courses:search?postcode=ZZ99+9ZZ", "", 404, nil, nil},
		// FAILED_PRECONDITION is 400 through grpc-gateway; the ErrorInfo reason says why.
		{"delete provider with a course", "DELETE", "/v1/areas/E37000060/providers/10000001", "", 400, nil, func(t *testing.T, b map[string]any) {
			if !strings.Contains(fmtJSON(b), "PROVIDER_HAS_COURSES") {
				t.Errorf("body = %v, want reason PROVIDER_HAS_COURSES", b)
			}
		}},
		{"delete course", "DELETE", "/v1/areas/E37000060/courses/care-1", "", 200, nil, nil},
		{"delete provider", "DELETE", "/v1/areas/E37000060/providers/10000001", "", 200, nil, nil},
		{"areas", "GET", "/v1/areas", "", 200, nil, func(t *testing.T, b map[string]any) {
			if as, _ := b["areas"].([]any); len(as) != 6 {
				t.Errorf("areas = %v, want 6", b)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, body := s.do(t, st.method, st.path, st.body)
			if code != st.wantCode {
				t.Fatalf("%s %s = %d %v, want %d", st.method, st.path, code, body, st.wantCode)
			}
			if st.wantFields != nil {
				if got := fieldViolations(body); !slices.Equal(got, st.wantFields) {
					t.Errorf("field violations = %v, want %v", got, st.wantFields)
				}
			}
			if st.check != nil {
				st.check(t, body)
			}
		})
	}
	code, body := s.get(t, "/openapi.json")
	if code != http.StatusOK || !strings.Contains(string(body), `"/v1/courses:search"`) {
		t.Errorf("OpenAPI document = %d, want it to list /v1/courses:search", code)
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func grpcFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	slices.Sort(out)
	return out
}

// importCSV streams data in small pieces, as the CLI does.
func importCSV(t *testing.T, c coursesv1.CoursesServiceClient, parent, data string, dryRun bool) (*coursesv1.ImportCoursesResponse, error) {
	t.Helper()
	stream, err := c.ImportCourses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i == 0 || i < len(data); i += 100 {
		msg := &coursesv1.ImportCoursesRequest{CsvData: []byte(data[i:min(i+100, len(data))])}
		if i == 0 {
			msg.Parent, msg.DryRun = parent, dryRun
		}
		if err := stream.Send(msg); err != nil {
			break
		}
	}
	return stream.CloseAndRecv()
}

const importHeader = "course_id,learning_aim_reference,title,description,level,sector_subject_area,awarding_body,provider_ukprn,venue_postcode,delivery_mode,study_mode,attendance_pattern,duration_value,duration_unit,start_date,flexible_start,full_cost_pence,modular,discount_percent\n"

func TestCoursesGRPCAndImport(t *testing.T) {
	s := startSystem(t, "-courses-demo-data=false")
	ctx := context.Background()
	c := coursesv1.NewCoursesServiceClient(s.conn)
	const parent = "areas/E37000062"
	if _, err := c.CreateProvider(ctx, &coursesv1.CreateProviderRequest{Parent: parent, ProviderId: "10000002",
		Provider: &coursesv1.Provider{DisplayName: "Aire Valley College", LoanFacility: true, PremisesPostcodes: []string{"LS1 4DT"}}}); err != nil {
		t.Fatal(err)
	}
	var good strings.Builder
	good.WriteString(importHeader)
	for i := range 60 {
		venue, delivery, att, start, flex := "LS1 4DT", "classroom", "evening", "2027-01-11", "false"
		if i%4 == 0 {
			venue, delivery, att, start, flex = "", "online", "", "", "true"
		}
		good.WriteString(strings.Join([]string{
			"acc-" + string(rune('a'+i/26)) + string(rune('a'+i%26)), "60323452", "AAT Level 3 Diploma in Accounting", "Bookkeeping", "3", "15.1", "AAT",
			"10000002", venue, delivery, "part-time", att, "36", "weeks", start, flex, "185000", "true", "25",
		}, ",") + "\n")
	}
	tests := []struct {
		name                                       string
		data                                       string
		dryRun                                     bool
		created, updated, unchanged, invalid, rows int32
	}{
		{"dry run writes nothing", good.String(), true, 60, 0, 0, 0, 60},
		{"good file", good.String(), false, 60, 0, 0, 0, 60},
		{"same file again", good.String(), false, 0, 0, 60, 0, 60},
		{"one changed row", strings.Replace(good.String(), ",185000,", ",190000,", 1), false, 0, 1, 59, 0, 60},
		{"bad file", importHeader +
			"ok-row,60323452,AAT Level 3,,3,15.1,AAT,10000002,LS1 4DT,classroom,part-time,evening,36,weeks,2027-01-11,,185000,,25\n" +
			"level-2,60323452,AAT Level 2,,2,15.1,AAT,10000002,LS1 4DT,classroom,part-time,evening,36,weeks,2027-01-11,,185000,,25\n" +
			"two-years,60323452,AAT Level 3,,3,15.1,AAT,10000002,LS1 4DT,classroom,part-time,evening,2,years,2027-01-11,,185000,,25\n" +
			"no-provider,60323452,AAT Level 3,,3,15.1,AAT,19999999,LS1 4DT,classroom,part-time,evening,36,weeks,2027-01-11,,185000,,25\n",
			false, 1, 0, 0, 3, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := importCSV(t, c, parent, tt.data, tt.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			got := []int32{resp.GetCreatedCount(), resp.GetUpdatedCount(), resp.GetUnchangedCount(), resp.GetInvalidCount(), int32(len(resp.GetRows()))}
			want := []int32{tt.created, tt.updated, tt.unchanged, tt.invalid, tt.rows}
			if !slices.Equal(got, want) {
				t.Errorf("import counts (created, updated, unchanged, invalid, rows) = %v, want %v", got, want)
			}
			for _, r := range resp.GetRows() {
				if (r.GetStatus() == coursesv1.ImportRowStatus_IMPORT_ROW_STATUS_INVALID) != (len(r.GetViolations()) > 0) {
					t.Errorf("row %d: status %v with violations %v", r.GetRow(), r.GetStatus(), r.GetViolations())
				}
			}
		})
	}
	t.Run("header error", func(t *testing.T) {
		_, err := importCSV(t, c, parent, "course_id,colour\nx,red\n", false)
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(grpcFields(err), "csv_data") {
			t.Errorf("import with a bad header = %v, want INVALID_ARGUMENT on csv_data", err)
		}
	})
	t.Run("unknown area", func(t *testing.T) {
		_, err := importCSV(t, c, "areas/E37999999", good.String(), false)
		if status.Code(err) != codes.NotFound {
			t.Errorf("import into an unknown area = %v, want NOT_FOUND", err)
		}
	})

	// Course messages instead of CSV: the same rows are unchanged.
	t.Run("course messages", func(t *testing.T) {
		got, err := c.GetCourse(ctx, &coursesv1.GetCourseRequest{Name: parent + "/courses/acc-ab"})
		if err != nil {
			t.Fatal(err)
		}
		stream, err := c.ImportCourses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		changed := got.GetCourse()
		if err := stream.Send(&coursesv1.ImportCoursesRequest{Parent: parent, Courses: []*coursesv1.ImportCourse{{Course: changed}}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.CloseAndRecv()
		if err != nil || resp.GetUnchangedCount() != 1 {
			t.Errorf("import of a course as read = %v, %v, want 1 unchanged", resp, err)
		}
	})

	// Search over gRPC, paged: every course once.
	seen := map[string]bool{}
	req := &coursesv1.SearchCoursesRequest{Postcode: "LS6 1AA", DistanceMiles: 20, Keyword: "aat", Levels: []string{"3"}, PageSize: 7, OrderBy: coursesv1.SearchOrder_SEARCH_ORDER_DISTANCE}
	for {
		resp, err := c.SearchCourses(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.GetResults() {
			if seen[r.GetCourse().GetName()] {
				t.Errorf("%s on two pages", r.GetCourse().GetName())
			}
			seen[r.GetCourse().GetName()] = true
			online := r.GetCourse().GetDeliveryMode() == coursesv1.DeliveryMode_DELIVERY_MODE_ONLINE
			if online == (r.DistanceMiles != nil) {
				t.Errorf("%s: online %v with distance %v", r.GetCourse().GetName(), online, r.DistanceMiles)
			}
		}
		if resp.GetNextPageToken() == "" {
			if resp.GetTotalSize() != 61 {
				t.Errorf("total_size = %d, want 61", resp.GetTotalSize())
			}
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(seen) != 61 {
		t.Errorf("paged search saw %d courses, want 61", len(seen))
	}
	_, err := c.SearchCourses(ctx, &coursesv1.SearchCoursesRequest{Postcode: "LS6 1AA", PageToken: "garbage"})
	if status.Code(err) != codes.InvalidArgument || !slices.Equal(grpcFields(err), []string{"page_token"}) {
		t.Errorf("search with a bad token = %v, want INVALID_ARGUMENT on page_token", err)
	}

	// Update with a mask over gRPC.
	up, err := c.UpdateCourse(ctx, &coursesv1.UpdateCourseRequest{
		Course:     &coursesv1.Course{Name: parent + "/courses/acc-ab", DiscountPercent: 75},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"discount_percent"}},
	})
	if err != nil || up.GetCourse().GetLearnerCostPence() != 46250 {
		t.Errorf("UpdateCourse = %v, %v, want learner cost 46250 (185000 less 75%%)", up.GetCourse().GetLearnerCostPence(), err)
	}

	// Export gives back the catalogue, which imports as unchanged.
	ex, err := c.ExportCourses(ctx, &coursesv1.ExportCoursesRequest{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	for {
		msg, err := ex.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		csv.Write(msg.GetCsvData())
	}
	if lines := strings.Count(csv.String(), "\n"); lines != 62 {
		t.Errorf("export has %d lines, want header and 61 courses", lines)
	}
	resp, err := importCSV(t, c, parent, csv.String(), false)
	if err != nil || resp.GetUnchangedCount() != 61 {
		t.Errorf("re-import of the export = %v, %v, want 61 unchanged", resp.GetUnchangedCount(), err)
	}

	// Lists page by name.
	var names []string
	lreq := &coursesv1.ListCoursesRequest{Parent: parent, PageSize: 25}
	for {
		lr, err := c.ListCourses(ctx, lreq)
		if err != nil {
			t.Fatal(err)
		}
		for _, co := range lr.GetCourses() {
			names = append(names, co.GetName())
		}
		if lr.GetNextPageToken() == "" {
			break
		}
		lreq.PageToken = lr.GetNextPageToken()
	}
	if len(names) != 61 || !slices.IsSorted(names) {
		t.Errorf("ListCourses in pages gave %d names (sorted %v), want 61 in order", len(names), slices.IsSorted(names))
	}
}

func TestCoursesDemoCatalogue(t *testing.T) {
	s := startSystem(t)
	c := coursesv1.NewCoursesServiceClient(s.conn)
	learners := map[string]string{"E37000060": "LN2 1AB", "E37000016": "EX2 4AA", "E37000032": "ST3 1AA", "E37000062": "LS6 1AA", "E47000007": "B5 4AA", "E37000022": "L8 1AA"}
	areas, err := c.ListAreas(context.Background(), &coursesv1.ListAreasRequest{})
	if err != nil || len(areas.GetAreas()) != 6 {
		t.Fatalf("ListAreas = %v, %v, want 6 areas", areas, err)
	}
	for _, a := range areas.GetAreas() {
		resp, err := c.SearchCourses(context.Background(), &coursesv1.SearchCoursesRequest{Postcode: learners[a.GetOnsCode()], DistanceMiles: 30})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetArea() != a.GetName() || len(resp.GetResults()) == 0 || !resp.GetResults()[0].GetCourse().GetDemo() {
			t.Errorf("%s: search = area %s, %d results, want demo courses of the area", a.GetDisplayName(), resp.GetArea(), len(resp.GetResults()))
		}
		if len(resp.GetLevelFacets()) == 0 || len(resp.GetDeliveryModeFacets()) == 0 || len(resp.GetSectorFacets()) == 0 {
			t.Errorf("%s: facets missing: %v", a.GetDisplayName(), resp)
		}
	}
	for _, e := range s.logs.All() {
		if line := fmtJSON(map[string]any{"msg": e.Message, "fields": e.ContextMap()}); strings.Contains(line, "L8 1AA") || strings.Contains(line, "LN2 1AB") {
			t.Errorf("log line holds a learner's postcode: %s", line)
		}
	}
	code, body := s.get(t, "/v1/courses:search?postcode=B5+4AA&keyword=accounting")
	var m map[string]any
	if err := json.Unmarshal(body, &m); code != 200 || err != nil || m["area"] != "areas/E47000007" {
		t.Errorf("REST search from Birmingham = %d %s, want the West Midlands catalogue", code, body)
	}
}
