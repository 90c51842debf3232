package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	xproc "github.com/nrs-pilots/retrain/bench/internal/proc"
)

// harness owns the processes under test.
type harness struct {
	o       options
	tmp     string
	retrain *xproc.Proc
	base    *exec.Cmd // the baseline server
	grpc    string    // all-in-one gRPC address
	http    string    // all-in-one HTTP address
	token   string    // a frontend bearer token the all-in-one binary trusts
	addrs   baselineAddrs
	tokens  map[string]string // minted tokens by their `retrain token` arguments
}

type baselineAddrs struct {
	GRPCEcho    string `json:"grpc_echo"`
	HTTPEcho    string `json:"http_echo"`
	GatewayEcho string `json:"gateway_echo"`
}

// eligibleRequest is the check every load run sends: a full answer that is eligible.
var eligibleJSON = []byte(`{"date_of_birth":"1990-05-17","highest_qualification":"RQF_LEVEL_3","annual_salary_pence":2500000,"postcode":"L1 8JQ"}`)

func eligibleRequest() *eligibilityv1.CheckEligibilityRequest {
	salary := int64(2500000)
	return &eligibilityv1.CheckEligibilityRequest{
		DateOfBirth:          "1990-05-17",
		HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_3,
		AnnualSalaryPence:    &salary,
		Postcode:             "L1 8JQ",
	}
}

func newHarness(ctx context.Context, o options) (h *harness, err error) {
	tmp, err := os.MkdirTemp("", "retrain-bench-")
	if err != nil {
		return nil, err
	}
	h = &harness{o: o, tmp: tmp, tokens: map[string]string{}}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	fmt.Fprintln(os.Stderr, "bench: building binaries")
	for _, b := range []struct{ out, pkg string }{{"retrain", "./cmd/retrain"}, {"baseline", "./bench/cmd/baseline"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(tmp, b.out), b.pkg)
		cmd.Dir = o.root
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build %s: %w", b.pkg, err)
		}
	}

	h.retrain, err = xproc.Start(filepath.Join(tmp, "retrain"), []string{
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--data-dir", filepath.Join(tmp, "data"), "--log-format", "json", "--log-level", "info",
		// The per-caller limits would throttle one load generator: lifted for every role
		// the harness calls as, so the figures are the service's, with authentication
		// (token verification) and the limiter's bookkeeping still on every call.
		"--rate-limits", liftedRates}, 60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("retrain: %w", err)
	}
	h.grpc, h.http = h.retrain.GRPCAddr, h.retrain.HTTPAddr
	if err := waitReady("http://"+h.http+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}
	if h.token, err = h.mint("frontend", ""); err != nil {
		return nil, err
	}

	// The baselines answer with exactly what the real service answers, byte for byte.
	conn, err := grpc.NewClient(h.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(h.token)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := eligibilityv1.NewEligibilityServiceClient(conn).CheckEligibility(ctx, eligibleRequest())
	if err != nil {
		return nil, fmt.Errorf("sample check over gRPC: %w", err)
	}
	raw, err := proto.Marshal(resp)
	if err != nil {
		return nil, err
	}
	body, status, err := postJSON(http.DefaultClient, "http://"+h.http+"/v1/eligibility:check", eligibleJSON, h.token)
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("sample check over REST: status %d: %v", status, err)
	}
	respFile, jsonFile := filepath.Join(tmp, "resp.pb"), filepath.Join(tmp, "resp.json")
	if err := os.WriteFile(respFile, raw, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(jsonFile, body, 0o600); err != nil {
		return nil, err
	}
	err = h.startBaseline(filepath.Join(tmp, "baseline"), "-grpc-response", respFile, "-http-response", jsonFile)
	return h, err
}

// liftedRates lifts the per-caller rate limit of every role the harness calls as.
const liftedRates = "frontend=10000000:10000000,adviser=10000000:10000000,lep=10000000:10000000," +
	"evaluator=10000000:10000000,admin=10000000:10000000"

// mint returns a bearer token for role (and area, for the lep role) minted with
// `retrain token` against the running binary's data directory, once per role and area.
func (h *harness) mint(role, area string) (string, error) {
	args := []string{"token", "--data-dir", filepath.Join(h.tmp, "data"), "--role", role, "--ttl", "24h"}
	if area != "" {
		args = append(args, "--area", area)
	}
	k := role + "/" + area
	if t, ok := h.tokens[k]; ok {
		return t, nil
	}
	t, err := execOutput(h.o.root, filepath.Join(h.tmp, "retrain"), args...)
	if err != nil {
		return "", fmt.Errorf("retrain token --role %s: %w", role, err)
	}
	h.tokens[k] = t
	return t, nil
}

// startBaseline runs the baseline server, which prints its addresses as one JSON line on
// stdout, and reads them into h.addrs.
func (h *harness) startBaseline(bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	var stderr xproc.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	h.base = cmd
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("baseline did not print its addresses: %w; stderr: %s", err, stderr.String())
	}
	return json.Unmarshal(line, &h.addrs)
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %v", url, timeout)
}

func postJSON(c *http.Client, url string, body []byte, token string) ([]byte, int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// bearer is per-RPC credentials with a fixed token over plaintext loopback.
type bearer = xproc.Bearer

// writeBytes is how many bytes pid has caused to be written to storage (write_bytes of
// /proc/<pid>/io); 0 when unknown.
func writeBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "write_bytes:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	return 0
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// cpuSeconds is the CPU time (user and system) pid has used, from /proc; 0 when unknown.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: the fields that follow start after its ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	// After the name: state(3) ... utime(14) stime(15), so utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return (utime + stime) / clockTicks
}

func (h *harness) close() {
	if h.base != nil {
		_ = h.base.Process.Signal(syscall.SIGTERM)
		_ = h.base.Wait()
	}
	if h.retrain != nil {
		_ = h.retrain.Stop(20 * time.Second)
	}
	switch {
	case h.tmp != "" && h.o.keep:
		fmt.Fprintln(os.Stderr, "bench: kept", h.tmp)
	case h.tmp != "":
		_ = os.RemoveAll(h.tmp)
	}
}
