package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// system is a running all-in-one process for end-to-end tests. conn and http carry an
// admin token on every call unless the call sets its own; rawConn carries none.
type system struct {
	grpcAddr, httpAddr string
	dataDir            string
	conn               *grpc.ClientConn
	rawConn            *grpc.ClientConn
	http               *http.Client
	logs               *observer.ObservedLogs
}

// testRates lifts the per-caller rate limits so functional tests are not throttled; the
// limits themselves are tested on their own.
const testRates = "frontend=1000000:1000000,adviser=1000000:1000000,lep=1000000:1000000,evaluator=1000000:1000000,admin=1000000:1000000,service=1000000:1000000"

// token mints a development token for role (and area, for lep) trusted by the system.
func (s *system) token(t *testing.T, role, area string) string {
	t.Helper()
	return devToken(t, s.dataDir, role, area)
}

func devToken(t *testing.T, dataDir, role, area string) string {
	t.Helper()
	key, err := auth.LoadOrCreateDevKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.DevIssuer, auth.DevAudience, authn.Principal{Subject: "test-" + role + area, Role: authn.Role(role), Area: area}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer is per-RPC credentials carrying a fixed token over plaintext loopback.
type bearer string

func (b bearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get("authorization")) > 0 {
		return nil, nil // the call brought its own
	}
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// tokenTransport adds a bearer token to requests that have none.
type tokenTransport struct{ token string }

func (tt tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tt.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// authedClient returns a gRPC client connection to addr sending token on every call.
func authedClient(t *testing.T, addr, token string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// startSystem runs the real App on 127.0.0.1:0 ports with a temporary data directory and
// stops it (checking that Run returns nil) when the test ends.
func startSystem(t *testing.T, args ...string) *system {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var cfg Config
	cfg.RegisterFlags(fs)
	dataDir := t.TempDir()
	base := []string{"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-data-dir", dataDir, "-shutdown-timeout", "5s", "-rate-limits", testRates}
	if err := fs.Parse(append(base, args...)); err != nil {
		t.Fatal(err)
	}
	dataDir = cfg.DataDir // a test may give its own
	core, logs := observer.New(zapcore.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, zap.New(core))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v, want nil after cancel", err)
			}
			assertNoSecretsLogged(t, logs)
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	s := &system{grpcAddr: a.GRPCAddr(), httpAddr: a.HTTPAddr(), logs: logs, dataDir: dataDir}
	admin := s.token(t, "admin", "")
	s.http = &http.Client{Transport: tokenTransport{token: admin}, Timeout: time.Minute}
	if s.grpcAddr != "" {
		s.conn = authedClient(t, s.grpcAddr, admin)
		s.rawConn, err = grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.rawConn.Close() })
	}
	return s
}

// assertNoSecretsLogged fails the test when any log line holds a bearer token: every
// end-to-end test checks this on the whole log of its system.
func assertNoSecretsLogged(t *testing.T, logs *observer.ObservedLogs) {
	t.Helper()
	for _, e := range logs.All() {
		line, _ := json.Marshal(map[string]any{"msg": e.Message, "fields": e.ContextMap()})
		for _, secret := range []string{"eyJ", "Bearer ", "bearer "} {
			if bytes.Contains(line, []byte(secret)) {
				t.Errorf("log line holds a token (%q): %s", secret, line)
			}
		}
	}
}

// do sends a REST request (with the admin token unless the request names another) and
// decodes the JSON answer; an empty body sends none.
func (s *system) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+s.httpAddr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp)
}

func (s *system) post(t *testing.T, path, body string) (int, map[string]any) {
	t.Helper()
	resp, err := s.http.Post("http://"+s.httpAddr+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp)
}

func (s *system) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := s.http.Get("http://" + s.httpAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response %d is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// fieldViolations returns the fields named by the BadRequest details of a JSON status body.
func fieldViolations(body map[string]any) []string {
	var fields []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		vs, _ := dm["field_violations"].([]any)
		for _, v := range vs {
			vm, _ := v.(map[string]any)
			if f, ok := vm["field"].(string); ok {
				fields = append(fields, f)
			}
		}
	}
	slices.Sort(fields)
	return fields
}

func TestEndToEndREST(t *testing.T) {
	s := startSystem(t)
	tests := []struct {
		name        string
		body        string
		wantCode    int
		wantOutcome string
		wantFields  []string
	}{
		{
			name:        "eligible",
			body:        `{"date_of_birth":"1990-05-17","highest_qualification":"RQF_LEVEL_3","annual_salary_pence":2500000,"postcode":"L1 8JQ","as_of":"2020-09-01"}`,
			wantCode:    http.StatusOK,
			wantOutcome: "ELIGIBILITY_OUTCOME_ELIGIBLE",
		},
		{
			name:        "salary at threshold",
			body:        `{"date_of_birth":"1990-05-17","highest_qualification":"RQF_LEVEL_3","annual_salary_pence":"3500000","as_of":"2020-09-01"}`,
			wantCode:    http.StatusOK,
			wantOutcome: "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE",
		},
		{
			name:        "nothing given",
			body:        `{}`,
			wantCode:    http.StatusOK,
			wantOutcome: "ELIGIBILITY_OUTCOME_UNDETERMINED",
		},
		{
			name:       "impossible date and bad postcode",
			body:       `{"date_of_birth":"1990-02-30","postcode":"NOT A POSTCODE","annual_salary_pence":-1}`,
			wantCode:   http.StatusBadRequest,
			wantFields: []string{"annual_salary_pence", "date_of_birth", "postcode"},
		},
		{
			name:       "enum number out of range",
			body:       `{"highest_qualification":42}`,
			wantCode:   http.StatusBadRequest,
			wantFields: []string{"highest_qualification"},
		},
		{
			name:       "born after as_of",
			body:       `{"date_of_birth":"2021-01-01","as_of":"2020-09-01"}`,
			wantCode:   http.StatusBadRequest,
			wantFields: []string{"date_of_birth"},
		},
		{
			name:     "not JSON",
			body:     `{"date_of_birth":`,
			wantCode: http.StatusBadRequest,
		},
		{
			name:     "unknown field",
			body:     `{"date_of_brith":"1990-05-17"}`,
			wantCode: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.post(t, "/v1/eligibility:check", tt.body)
			if code != tt.wantCode {
				t.Fatalf("POST %s = %d %v, want %d", tt.body, code, body, tt.wantCode)
			}
			if tt.wantOutcome != "" {
				if body["outcome"] != tt.wantOutcome {
					t.Errorf("outcome = %v, want %s", body["outcome"], tt.wantOutcome)
				}
				if crit, _ := body["criteria"].([]any); len(crit) != 3 {
					t.Errorf("criteria = %v, want 3 entries", body["criteria"])
				}
				if body["ruleset_version"] == "" || body["ruleset_version"] == nil {
					t.Errorf("ruleset_version missing in %v", body)
				}
			}
			if tt.wantFields != nil {
				if got := fieldViolations(body); !slices.Equal(got, tt.wantFields) {
					t.Errorf("field violations = %v, want %v (body %v)", got, tt.wantFields, body)
				}
			}
			if code >= 400 {
				if msg, _ := body["message"].(string); msg == "" {
					t.Errorf("error body %v has no message", body)
				}
			}
		})
	}

	t.Run("oversized body", func(t *testing.T) {
		big := `{"postcode":"` + strings.Repeat("A", 2<<20) + `"}`
		resp, err := s.http.Post("http://"+s.httpAddr+"/v1/eligibility:check", "application/json", strings.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("2 MiB body: status %d, want 413", resp.StatusCode)
		}
	})

	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics"} {
		t.Run(path, func(t *testing.T) {
			code, body := s.get(t, path)
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, code, body)
			}
			switch path {
			case "/openapi.json":
				if !bytes.Contains(body, []byte(`"/v1/eligibility:check"`)) {
					t.Errorf("OpenAPI document lacks the check path")
				}
			case "/metrics":
				for _, want := range []string{"grpc_server_handled_total", "http_requests_total", `route="/v1/eligibility:check"`} {
					if !bytes.Contains(body, []byte(want)) {
						t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "http_"))
					}
				}
			}
		})
	}
}

func TestEndToEndGRPC(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	client := eligibilityv1.NewEligibilityServiceClient(s.conn)

	salary := int64(3499999)
	resp, err := client.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{
		DateOfBirth:          "1996-09-01",
		HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_5,
		AnnualSalaryPence:    &salary,
		AsOf:                 "2020-09-01",
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetOutcome() != eligibilityv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_ELIGIBLE {
		t.Errorf("24th birthday on as_of, level 5, a penny under: outcome %v, want ELIGIBLE", resp.GetOutcome())
	}
	for _, c := range resp.GetCriteria() {
		if c.GetStatus() != eligibilityv1.CriterionStatus_CRITERION_STATUS_MET || c.GetReason() == "" || c.GetMessage() == "" || c.GetTrace() == nil {
			t.Errorf("criterion %v = %v, want MET with reason, message and trace", c.GetCriterion(), c)
		}
	}

	_, err = client.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{DateOfBirth: "17/05/1990"})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("bad date: code %v, want INVALID_ARGUMENT", st.Code())
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if !slices.Equal(fields, []string{"date_of_birth"}) {
		t.Errorf("bad date: violations %v, want [date_of_birth]", fields)
	}
	if strings.Contains(st.Message(), "17/05/1990") {
		t.Errorf("error message echoes the date of birth: %q", st.Message())
	}

	hc, err := healthpb.NewHealthClient(s.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "retrain.eligibility.v1.EligibilityService"})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of the eligibility service = %v, %v, want SERVING", hc.GetStatus(), err)
	}

	stream, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	rr, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, svc := range rr.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	for _, want := range []string{"retrain.eligibility.v1.EligibilityService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
	_ = stream.CloseSend()
}

func TestLogsHoldNoPersonalData(t *testing.T) {
	s := startSystem(t, "-log-level", "debug")
	s.post(t, "/v1/eligibility:check", `{"date_of_birth":"1987-03-14","highest_qualification":"RQF_LEVEL_2","annual_salary_pence":2345678,"postcode":"B1 1AA"}`)
	s.post(t, "/v1/eligibility:check", `{"date_of_birth":"1987-02-31","postcode":"ZZZZZZ"}`)
	if s.logs.FilterMessage("rpc").Len() < 2 {
		t.Fatalf("want access log lines for both requests, got %d", s.logs.FilterMessage("rpc").Len())
	}
	for _, e := range s.logs.All() {
		line, _ := json.Marshal(map[string]any{"msg": e.Message, "fields": e.ContextMap()})
		for _, secret := range []string{"1987-03-14", "1987-02-31", "2345678", "B1 1AA", "ZZZZZZ"} {
			if bytes.Contains(line, []byte(secret)) {
				t.Errorf("log line holds personal data %q: %s", secret, line)
			}
		}
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		target  string
		want    []string
		wantErr bool
	}{
		{"all", []string{"courses", "eligibility", "gateway", "outreach"}, false},
		{"eligibility", []string{"eligibility"}, false},
		{"gateway,eligibility,gateway", []string{"eligibility", "gateway"}, false},
		{"courses-typo", nil, true},
	}
	for _, tt := range tests {
		c := Config{Target: tt.target}
		got, err := c.Targets()
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("Targets(%q) = %v, %v, want %v (error %v)", tt.target, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestServicesOnlyHasNoHTTP(t *testing.T) {
	s := startSystem(t, "-target", "eligibility")
	if s.httpAddr != "" {
		t.Errorf("target eligibility opened HTTP on %s", s.httpAddr)
	}
	_, err := eligibilityv1.NewEligibilityServiceClient(s.conn).CheckEligibility(context.Background(), &eligibilityv1.CheckEligibilityRequest{})
	if err != nil {
		t.Errorf("check over gRPC with target eligibility: %v", err)
	}
}

func TestGatewayAlongsideRemoteServices(t *testing.T) {
	backend := startSystem(t, "-target", "courses,eligibility,outreach")
	gw := startSystem(t, "-target", "gateway", "-backend-addr", backend.grpcAddr)
	gw.http = backend.http // the backend trusts tokens of its own data directory's key
	if gw.grpcAddr != "" {
		t.Errorf("target gateway opened gRPC on %s", gw.grpcAddr)
	}
	code, body := gw.post(t, "/v1/eligibility:check", `{"highest_qualification":"RQF_LEVEL_7"}`)
	if code != http.StatusOK || body["outcome"] != "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE" {
		t.Errorf("remote check = %d %v, want 200 NOT_ELIGIBLE", code, body)
	}
	if code, _ := gw.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with a serving backend = %d, want 200", code)
	}
}

func TestReadyzFailsWithoutBackend(t *testing.T) {
	gw := startSystem(t, "-target", "gateway", "-backend-addr", "127.0.0.1:1", "-http-ready-timeout", "300ms")
	if code, body := gw.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with no backend = %d %s, want 503", code, body)
	}
	if code, _ := gw.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200 (liveness does not depend on backends)", code)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown target", []string{"-target", "nope"}},
		{"gateway alone needs a backend", []string{"-target", "gateway"}},
		{"bad log level", []string{"-log-level", "loud"}},
		{"zero limit", []string{"-grpc-max-recv-bytes", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var cfg Config
			cfg.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err == nil {
				t.Errorf("Validate(%v) = nil, want error", tt.args)
			}
		})
	}
}

func grepLines(b []byte, sub string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
