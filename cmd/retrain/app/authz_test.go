package app

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/services/courses"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/outreach"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// caller is one column of the access matrix.
type caller struct {
	name string
	role string // "" for no token
	area string
}

var matrixCallers = []caller{
	{"none", "", ""},
	{"frontend", "frontend", ""},
	{"adviser", "adviser", ""},
	{"lep", "lep", "E37000022"},
	{"lep-other", "lep", "E37000016"},
	{"evaluator", "evaluator", ""},
	{"admin", "admin", ""},
	{"service", "service", ""},
}

// accessMatrix is the declared expectation, one row per RPC and one column per caller in
// matrixCallers order: A allowed (the guard lets it through; the handler may still refuse
// the request for its content), D PERMISSION_DENIED, U UNAUTHENTICATED. Every request
// names area E37000022, the area of the "lep" column.
const accessMatrix = `
/grpc.health.v1.Health/Check                                  A A A A A A A A
/grpc.health.v1.Health/List                                   A A A A A A A A
/retrain.courses.v1.CoursesService/GetArea                    U A A A A A A D
/retrain.courses.v1.CoursesService/ListAreas                  U A A A A A A D
/retrain.courses.v1.CoursesService/GetProvider                U A A A D A A D
/retrain.courses.v1.CoursesService/ListProviders              U A A A D A A D
/retrain.courses.v1.CoursesService/GetCourse                  U A A A D A A D
/retrain.courses.v1.CoursesService/ListCourses                U A A A D A A D
/retrain.courses.v1.CoursesService/CreateProvider             U D D A D D A D
/retrain.courses.v1.CoursesService/UpdateProvider             U D D A D D A D
/retrain.courses.v1.CoursesService/DeleteProvider             U D D A D D A D
/retrain.courses.v1.CoursesService/CreateCourse               U D D A D D A D
/retrain.courses.v1.CoursesService/UpdateCourse               U D D A D D A D
/retrain.courses.v1.CoursesService/DeleteCourse               U D D A D D A D
/retrain.courses.v1.CoursesService/ImportCourses              U D D A D D A D
/retrain.courses.v1.CoursesService/ExportCourses              U D D A D A A D
/retrain.courses.v1.CoursesService/SearchCourses              U A A D D A A D
/retrain.outreach.v1.OutreachService/CreateCampaign           U D D A D D A D
/retrain.outreach.v1.OutreachService/UpdateCampaign           U D D A D D A D
/retrain.outreach.v1.OutreachService/GetCampaign              U D D A D A A D
/retrain.outreach.v1.OutreachService/ListCampaigns            U D D A D A A D
/retrain.outreach.v1.OutreachService/RecordEvents             U A D A D D A A
/retrain.outreach.v1.OutreachService/StreamEvents             U D D A D D A D
/retrain.outreach.v1.OutreachService/RunAttributionReport     U D D A D A A D
/retrain.outreach.v1.OutreachService/ExportAttributionReport  U D D A D A A D
` + eligibilityMatrix

// fillRequest sets every resource name field to one in area E37000022, so the guard's area
// rule has something to check, in the request and in a resource it carries.
func fillRequest(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.Kind() == protoreflect.StringKind && !fd.IsList() && fd.Name() == "name":
			m.Set(fd, protoreflect.ValueOfString("areas/E37000022/things/x"))
		case fd.Kind() == protoreflect.StringKind && !fd.IsList() && fd.Name() == "parent":
			m.Set(fd, protoreflect.ValueOfString("areas/E37000022"))
		case fd.Kind() == protoreflect.StringKind && !fd.IsList() && fd.Name() == "area":
			m.Set(fd, protoreflect.ValueOfString("E37000022"))
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && fd.Message().Fields().ByName("name") != nil:
			fillRequest(m.Mutable(fd).Message())
		}
	}
}

// callAny calls method with a filled request of its input type, unary or streaming.
func callAny(ctx context.Context, conn *grpc.ClientConn, method protoreflect.MethodDescriptor, full string) error {
	req := dynamicpb.NewMessage(method.Input())
	fillRequest(req)
	resp := dynamicpb.NewMessage(method.Output())
	if !method.IsStreamingClient() && !method.IsStreamingServer() {
		return conn.Invoke(ctx, full, req, resp)
	}
	desc := &grpc.StreamDesc{StreamName: string(method.Name()), ClientStreams: method.IsStreamingClient(), ServerStreams: method.IsStreamingServer()}
	st, err := conn.NewStream(ctx, desc, full)
	if err != nil {
		return err
	}
	if err := st.SendMsg(req); err != nil && err != io.EOF {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	for {
		if err := st.RecvMsg(resp); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if !method.IsStreamingServer() {
			return nil
		}
	}
}

// TestAccessMatrix calls every RPC of every registered service as every kind of caller and
// checks the guard's answer against accessMatrix; it also fails when a registered method
// is missing from the matrix, so a new RPC cannot ship without a declared expectation.
func TestAccessMatrix(t *testing.T) {
	s := startSystem(t)
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(accessMatrix), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 1+len(matrixCallers) {
			t.Fatalf("matrix line %q has %d cells, want %d", line, len(f)-1, len(matrixCallers))
		}
		want[f[0]] = strings.Join(f[1:], "")
	}
	services, err := listServices(s)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	descs := map[string]protoreflect.MethodDescriptor{}
	for _, svc := range services {
		if strings.HasPrefix(svc, "grpc.reflection") {
			continue
		}
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatalf("descriptor of %s: %v", svc, err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := 0; i < sd.Methods().Len(); i++ {
			m := sd.Methods().Get(i)
			full := "/" + svc + "/" + string(m.Name())
			if full == "/grpc.health.v1.Health/Watch" {
				continue // a stream that never ends; its policy is the same as Check's
			}
			methods = append(methods, full)
			descs[full] = m
		}
	}
	slices.Sort(methods)
	for _, full := range methods {
		if _, ok := want[full]; !ok {
			t.Errorf("%s has no row in the access matrix", full)
		}
	}
	tokens := map[string]string{}
	for _, c := range matrixCallers {
		if c.role != "" {
			tokens[c.name] = s.token(t, c.role, c.area)
		}
	}
	for _, full := range methods {
		row, ok := want[full]
		if !ok {
			continue
		}
		for i, c := range matrixCallers {
			ctx, cancel := context.WithTimeout(context.Background(), 10e9)
			if tok := tokens[c.name]; tok != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
			}
			err := callAny(ctx, s.rawConn, descs[full], full)
			cancel()
			code := status.Code(err)
			got := "A"
			switch code {
			case codes.Unauthenticated:
				got = "U"
			case codes.PermissionDenied:
				got = "D"
			}
			// A handler may refuse for its own reasons (NOT_FOUND, INVALID_ARGUMENT...), but
			// a PERMISSION_DENIED from a handler on an allowed cell is also a finding.
			if got != string(row[i]) {
				t.Errorf("%s as %s: %v (%v), want %s", full, c.name, code, err, string(row[i]))
			}
		}
	}
}

// eligibilityMatrix is the eligibility service's part of accessMatrix.
const eligibilityMatrix = `
/retrain.eligibility.v1.EligibilityService/CheckEligibility   U A A A A A A D
/retrain.eligibility.v1.EligibilityService/ListRulesets       U A A A A A A D
/retrain.eligibility.v1.EligibilityService/GetRuleset         U A A A A A A D
/retrain.eligibility.v1.EligibilityService/CreateRuleset      U D D D D D A D
/retrain.eligibility.v1.EligibilityService/ScreenCohort       U D D A A D A D
/retrain.eligibility.v1.EligibilityService/CreateAssessment   U D A D D D A D
/retrain.eligibility.v1.EligibilityService/GetAssessment      U D A D D D A D
/retrain.eligibility.v1.EligibilityService/ListAssessments    U D A D D D A D
/retrain.eligibility.v1.EligibilityService/ReplayAssessment   U D A D D D A D
/retrain.eligibility.v1.EligibilityService/ExportLearner      U D D D D D A D
/retrain.eligibility.v1.EligibilityService/DeleteLearner      U D D D D D A D
/retrain.eligibility.v1.EligibilityService/ListAuditRecords   U D D D D D A D
`

// listServices asks the server's reflection service for its services.
func listServices(s *system) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(s.rawConn).ServerReflectionInfo(context.Background())
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	return names, nil
}

// TestEveryMethodHasAPolicy walks every method of every service the all-in-one binary
// registers: each must have a declared policy (New refuses to start otherwise; this
// checks the same from outside: an unknown method of a known service is refused).
func TestEveryMethodHasAPolicy(t *testing.T) {
	s := startSystem(t)
	services, err := listServices(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"retrain.courses.v1.CoursesService", "retrain.eligibility.v1.EligibilityService", "retrain.outreach.v1.OutreachService"} {
		if !slices.Contains(services, want) {
			t.Errorf("services %v lack %s", services, want)
		}
	}
	// Every method the server exposes has a declared policy (the guard refuses, and New
	// refuses to start, otherwise): checked from outside against reflection.
	policies, err := auth.Merge(auth.PublicPolicies(), eligibility.Policies(), courses.Policies(), outreach.Policies())
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatalf("descriptor of %s: %v", svc, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := 0; i < methods.Len(); i++ {
			full := "/" + svc + "/" + string(methods.Get(i).Name())
			if _, ok := policies[full]; !ok && !strings.HasPrefix(svc, "grpc.reflection.v1alpha") {
				t.Errorf("%s has no declared policy", full)
			}
		}
	}
}
