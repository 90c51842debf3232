package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func eligibilityJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestEligibilityAssessmentsREST walks an adviser's whole journey over REST: record,
// read, list, replay, export, audit, erase.
func TestEligibilityAssessmentsREST(t *testing.T) {
	s := startSystem(t)
	const learner = "NCS-0042"
	body := `{"date_of_birth":"1979-11-23","highest_qualification":"RQF_LEVEL_3","annual_salary_pence":3400000,"postcode":"l18jq","as_of":"2024-05-01"}`
	code, a := s.do(t, http.MethodPost, "/v1/learners/"+learner+"/assessments", body)
	if code != http.StatusOK {
		t.Fatalf("POST assessment = %d %v", code, a)
	}
	name, _ := a["name"].(string)
	if !strings.HasPrefix(name, "learners/"+learner+"/assessments/") || a["recorded_by"] != "test-admin" || a["postcode"] != "L1 8JQ" || a["ruleset_version"] != "gb-2020-07-01" {
		t.Errorf("created assessment = %v", eligibilityJSON(a))
	}
	result, _ := a["result"].(map[string]any)
	if result["outcome"] != "ELIGIBILITY_OUTCOME_ELIGIBLE" {
		t.Errorf("assessment outcome = %v", result["outcome"])
	}

	t.Run("bad requests", func(t *testing.T) {
		tests := []struct {
			method, path, body string
			wantCode           int
			wantFields         []string
		}{
			{http.MethodPost, "/v1/learners/" + learner + "/assessments", `{"date_of_birth":"1979-02-30","postcode":"nope"}`, http.StatusBadRequest, []string{"assessment.date_of_birth", "assessment.postcode"}},
			{http.MethodGet, "/v1/learners/" + learner + "/assessments/not-an-id", "", http.StatusBadRequest, []string{"name"}},
			{http.MethodGet, "/v1/learners/" + learner + "/assessments/00000000000000000000000000000000", "", http.StatusNotFound, nil},
			{http.MethodGet, "/v1/learners/" + learner + "/assessments?page_token=forged", "", http.StatusBadRequest, []string{"page_token"}},
			{http.MethodGet, "/v1/rulesets/nope", "", http.StatusNotFound, nil},
		}
		for _, tt := range tests {
			code, body := s.do(t, tt.method, tt.path, tt.body)
			if code != tt.wantCode {
				t.Errorf("%s %s = %d %v, want %d", tt.method, tt.path, code, body, tt.wantCode)
			}
			if tt.wantFields != nil && !slices.Equal(fieldViolations(body), tt.wantFields) {
				t.Errorf("%s %s violations = %v, want %v", tt.method, tt.path, fieldViolations(body), tt.wantFields)
			}
			if strings.Contains(eligibilityJSON(body), "1979-02-30") {
				t.Errorf("error echoes the date of birth: %v", body)
			}
		}
	})

	code, got := s.do(t, http.MethodGet, "/v1/"+name, "")
	if code != http.StatusOK || got["date_of_birth"] != "1979-11-23" || got["annual_salary_pence"] != "3400000" {
		t.Errorf("GET %s = %d %v", name, code, got)
	}
	code, list := s.do(t, http.MethodGet, "/v1/learners/"+learner+"/assessments?page_size=10", "")
	if items, _ := list["assessments"].([]any); code != http.StatusOK || len(items) != 1 {
		t.Errorf("list = %d %v", code, list)
	}

	// A ruleset published today (the test's today) changes what a replay says now, never
	// what was recorded.
	lowered := `{"version":"e2e-lowered","description":"lowered threshold",` +
		`"age_floor":{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]},` +
		`"qualification_ceiling":{"values":[{"start":"2020-07-01","value":7,"reference":"r"}]},` +
		`"salary_threshold_pence":{"values":[{"start":"2020-07-01","value":3000000,"reference":"r"}]}}`
	code, rs := s.do(t, http.MethodPost, "/v1/rulesets", lowered)
	if code != http.StatusOK || rs["name"] != "rulesets/e2e-lowered" || rs["published_by"] != "test-admin" || rs["source"] != "api" {
		t.Fatalf("POST /v1/rulesets = %d %v", code, rs)
	}
	if code, _ := s.do(t, http.MethodPost, "/v1/rulesets", lowered); code != http.StatusConflict {
		t.Errorf("publishing the same version again = %d, want 409", code)
	}
	past := strings.Replace(lowered, `"version":"e2e-lowered"`, `"version":"e2e-past","effective_from":"2020-01-01"`, 1)
	if code, body := s.do(t, http.MethodPost, "/v1/rulesets", past); code != http.StatusBadRequest || !slices.Equal(fieldViolations(body), []string{"ruleset.effective_from"}) {
		t.Errorf("publishing effective in the past = %d %v, want 400 naming ruleset.effective_from", code, body)
	}
	code, rsList := s.do(t, http.MethodGet, "/v1/rulesets?page_size=1", "")
	if items, _ := rsList["rulesets"].([]any); code != http.StatusOK || len(items) != 1 || rsList["next_page_token"] == "" {
		t.Errorf("GET /v1/rulesets?page_size=1 = %d %v", code, rsList)
	}
	code, one := s.do(t, http.MethodGet, "/v1/rulesets/gb-2020-07-01", "")
	if sal, _ := one["salary_threshold_pence"].(map[string]any); code != http.StatusOK || len(sal["values"].([]any)) != 1 {
		t.Errorf("GET /v1/rulesets/gb-2020-07-01 = %d %v", code, one)
	}

	code, replay := s.do(t, http.MethodPost, "/v1/"+name+":replay", `{}`)
	if code != http.StatusOK || replay["recorded_matches"] != true {
		t.Fatalf("replay = %d %v", code, replay)
	}
	if cur, _ := replay["current"].(map[string]any); cur["outcome"] != "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE" || cur["ruleset_version"] != "e2e-lowered" {
		t.Errorf("replay under the current ruleset = %v", cur)
	}
	if rec, _ := replay["recorded"].(map[string]any); rec["outcome"] != "ELIGIBILITY_OUTCOME_ELIGIBLE" || rec["ruleset_version"] != "gb-2020-07-01" {
		t.Errorf("replay under its own ruleset = %v", rec)
	}

	code, export := s.do(t, http.MethodGet, "/v1/learners/"+learner+":export", "")
	if code != http.StatusOK {
		t.Fatalf("export = %d %v", code, export)
	}
	var actions []string
	for _, r := range export["audit_records"].([]any) {
		rm := r.(map[string]any)
		actions = append(actions, rm["action"].(string))
		if rm["actor"] != "test-admin" || !strings.HasPrefix(rm["rpc"].(string), "/retrain.eligibility.v1.EligibilityService/") || rm["learner"] != "learners/"+learner {
			t.Errorf("audit record %v lacks who, which RPC or which learner", rm)
		}
	}
	// The list with a forged page token was refused before any data was read: no record.
	if want := []string{"ASSESSMENT_CREATED", "ASSESSMENT_READ", "ASSESSMENTS_LISTED", "ASSESSMENT_REPLAYED", "LEARNER_EXPORTED"}; !slices.Equal(actions, want) {
		t.Errorf("audit of the learner = %v, want %v", actions, want)
	}

	code, erased := s.do(t, http.MethodDelete, "/v1/learners/"+learner, "")
	if code != http.StatusOK || erased["erased_assessments"] != float64(1) {
		t.Fatalf("DELETE learner = %d %v", code, erased)
	}
	if code, _ := s.do(t, http.MethodGet, "/v1/"+name, ""); code != http.StatusNotFound {
		t.Errorf("GET after erasure = %d, want 404", code)
	}
	code, audit := s.do(t, http.MethodGet, "/v1/auditRecords?page_size=1000", "")
	if code != http.StatusOK {
		t.Fatalf("audit = %d %v", code, audit)
	}
	if strings.Contains(eligibilityJSON(audit), learner) {
		t.Errorf("the audit trail still names the erased learner")
	}
	for _, e := range s.logs.All() {
		line, _ := json.Marshal(map[string]any{"msg": e.Message, "fields": e.ContextMap()})
		for _, secret := range []string{learner, "1979-11-23", "3400000", "L1 8JQ", "l18jq"} {
			if bytes.Contains(line, []byte(secret)) {
				t.Errorf("log line holds personal data %q: %s", secret, line)
			}
		}
	}
	last := audit["audit_records"].([]any)
	if lr := last[len(last)-1].(map[string]any); lr["action"] != "LEARNER_ERASED" || lr["learner"] != nil {
		t.Errorf("last audit record = %v, want an erasure naming no learner", lr)
	}
}

func TestEligibilityGRPC(t *testing.T) {
	dir := t.TempDir()
	s := startSystem(t, "-data-dir", dir)
	ctx := context.Background()
	c := eligibilityv1.NewEligibilityServiceClient(s.conn)

	t.Run("development key", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(dir, "eligibility-dev.key"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("development key file: %v, %v; want mode 0600", fi, err)
		}
		if s.logs.FilterMessageSnippet("development data key").Len() != 1 {
			t.Error("want one log line saying a development data key is in use")
		}
	})

	t.Run("check with next steps and a journey id", func(t *testing.T) {
		resp, err := c.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_7, Postcode: "L1 8JQ", JourneyId: "journey-1"})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, st := range resp.GetNextSteps() {
			kinds = append(kinds, st.GetKind())
		}
		if !slices.Equal(kinds, []string{"ADVISER_LINE", "LOCAL_OFFER"}) {
			t.Errorf("next steps = %v, want the adviser line and the local offer", kinds)
		}
		_, err = c.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{JourneyId: "has spaces"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("malformed journey id = %v, want INVALID_ARGUMENT", err)
		}
	})

	t.Run("screen a cohort", func(t *testing.T) {
		stream, err := c.ScreenCohort(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const rows = 2000
		go func() {
			for i := range rows {
				req := &eligibilityv1.ScreenCohortRequest{RowId: "r", DateOfBirth: "1980-01-01", AsOf: "2024-01-01", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_2}
				if i%100 == 7 {
					req.DateOfBirth = "1980-13-01"
				}
				if stream.Send(req) != nil {
					return
				}
			}
			_ = stream.CloseSend()
		}()
		bad := 0
		for i := range rows {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			if resp.GetRow() != int64(i) {
				t.Fatalf("row %d numbered %d", i, resp.GetRow())
			}
			if e := resp.GetError(); e != nil {
				bad++
				if i%100 != 7 || e.GetFieldViolations()[0].GetField() != "date_of_birth" {
					t.Errorf("row %d: unexpected error %v", i, e)
				}
			}
		}
		if bad != rows/100 {
			t.Errorf("%d bad rows, want %d", bad, rows/100)
		}
	})

	t.Run("assessment errors map to codes", func(t *testing.T) {
		_, err := c.CreateAssessment(ctx, &eligibilityv1.CreateAssessmentRequest{Parent: "learners/", Assessment: &eligibilityv1.Assessment{}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("empty learner = %v, want INVALID_ARGUMENT", err)
		}
		_, err = c.ReplayAssessment(ctx, &eligibilityv1.ReplayAssessmentRequest{Name: "learners/x/assessments/0123456789abcdef0123456789abcdef"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("replay of a missing assessment = %v, want NOT_FOUND", err)
		}
		resp, err := c.DeleteLearner(ctx, &eligibilityv1.DeleteLearnerRequest{Name: "learners/never-seen"})
		if err != nil || resp.GetErasedAssessments() != 0 {
			t.Errorf("erasing an unknown learner = %v, %v; want 0, nil", resp, err)
		}
	})
}

// TestEligibilityScreenREST streams newline-delimited JSON rows through the gateway.
func TestEligibilityScreenREST(t *testing.T) {
	s := startSystem(t)
	body := `{"row_id":"a","date_of_birth":"1980-01-01","highest_qualification":"RQF_LEVEL_2","annual_salary_pence":100,"as_of":"2024-01-01"}` + "\n" +
		`{"row_id":"b","date_of_birth":"1980-02-30"}` + "\n" +
		`{"row_id":"c","highest_qualification":"RQF_LEVEL_8"}` + "\n"
	resp, err := s.http.Post("http://"+s.httpAddr+"/v1/eligibility:screen", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("screen = %d", resp.StatusCode)
	}
	var got []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var line struct {
			Result struct {
				RowID  string          `json:"row_id"`
				Result json.RawMessage `json:"result"`
				Error  json.RawMessage `json:"error"`
			} `json:"result"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		kind := "result"
		if line.Result.Error != nil {
			kind = "error"
		}
		got = append(got, line.Result.RowID+":"+kind)
	}
	if want := []string{"a:result", "b:error", "c:result"}; !slices.Equal(got, want) {
		t.Errorf("screen over REST = %v, want %v", got, want)
	}
}

// startEligibilityOnly runs the eligibility target alone on dir and returns a client and a
// function that stops the process and waits for Run to return.
func startEligibilityOnly(t *testing.T, dir string) (eligibilityv1.EligibilityServiceClient, func()) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"-grpc-addr", "127.0.0.1:0", "-data-dir", dir, "-target", "eligibility", "-shutdown-timeout", "5s"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, zap.NewNop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(devToken(t, dir, "admin", ""))))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = conn.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return")
		}
	}
	t.Cleanup(stop)
	return eligibilityv1.NewEligibilityServiceClient(conn), stop
}

// TestEligibilityRestartKeepsData restarts the process on the same data directory: the
// assessment and the development key survive, so the sealed data still opens.
func TestEligibilityRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, stop := startEligibilityOnly(t, dir)
	a, err := c.CreateAssessment(ctx, &eligibilityv1.CreateAssessmentRequest{Parent: "learners/restart-1", Assessment: &eligibilityv1.Assessment{DateOfBirth: "1985-04-12"}})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	c, _ = startEligibilityOnly(t, dir)
	got, err := c.GetAssessment(ctx, &eligibilityv1.GetAssessmentRequest{Name: a.GetAssessment().GetName()})
	if err != nil || got.GetAssessment().GetDateOfBirth() != "1985-04-12" {
		t.Errorf("after restart GetAssessment = %v, %v", got, err)
	}
}
