package reliability

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPerServiceBinaries runs each component as its own binary, as a deployment does: the
// three services and a gateway dialing each at its own address, sharing one data
// directory only for the development signing key. A check and a course search through the
// gateway work, and the eligibility outbox reaches the separate outreach process.
func TestPerServiceBinaries(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/",
		"github.com/nrs-pilots/retrain/services/eligibility/cmd/eligibility",
		"github.com/nrs-pilots/retrain/services/courses/cmd/courses",
		"github.com/nrs-pilots/retrain/services/outreach/cmd/outreach",
		"github.com/nrs-pilots/retrain/gateway/cmd/gateway")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build the per-service binaries: %v", err)
	}
	dataDir := t.TempDir()
	outreachAddr := freePort(t)
	run := func(name string, args ...string) *proc {
		t.Helper()
		return startBinary(t, filepath.Join(bin, name), dataDir, args...)
	}
	outreach := run("outreach", "--grpc-addr", outreachAddr)
	courses := run("courses")
	elig := run("eligibility", "--outreach-addr", outreachAddr)
	gw := run("gateway", "--eligibility-addr", elig.GRPCAddr, "--courses-addr", courses.GRPCAddr, "--outreach-addr", outreach.GRPCAddr)
	if gw.GRPCAddr != "" || elig.HTTPAddr != "" {
		t.Errorf("a per-service binary opened a port of another component: gateway gRPC %q, eligibility HTTP %q", gw.GRPCAddr, elig.HTTPAddr)
	}

	tok := token(t, dataDir, "--role", "frontend")
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+gw.HTTPAddr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + gw.HTTPAddr + "/readyz")
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway never became ready with three separate services")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := call("POST", "/v1/eligibility:check", `{"highest_qualification":"RQF_LEVEL_2","postcode":"L1 8JQ","journey_id":"per-binary-1"}`); code != http.StatusOK || body["outcome"] != "ELIGIBILITY_OUTCOME_UNDETERMINED" {
		t.Errorf("check through the gateway binary = %d %v", code, body)
	}
	if code, body := call("GET", "/v1/courses:search?postcode=L1%208JQ&distance_miles=30", ""); code != http.StatusOK {
		t.Errorf("search through the gateway binary = %d %v", code, body)
	}
	// The check carried a journey id: the eligibility binary's outbox delivers it to the
	// outreach binary, where an evaluator's report through the gateway counts it.
	tok = token(t, dataDir, "--role", "evaluator")
	q := "/v1/areas/E37000022/attribution:run?parameters.stage=CONVERSION_STAGE_ELIGIBILITY_CHECKED&parameters.model=ATTRIBUTION_MODEL_LAST_TOUCH" +
		"&parameters.start_date=" + time.Now().AddDate(0, 0, -2).Format("2006-01-02") + "&parameters.end_date=" + time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	var conversions any
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		code, body := call("GET", q, "")
		if code != http.StatusOK {
			t.Fatalf("report through the gateway = %d %v", code, body)
		}
		if conversions = body["conversions"]; conversions == "1" { // the bare report (response_body)
			break
		}
	}
	if conversions != "1" {
		t.Errorf("conversions reported by the outreach binary = %v, want 1 (the check with a journey id)", conversions)
	}
	for _, p := range []*proc{gw, elig, courses, outreach} {
		p.stop(t)
	}
}
