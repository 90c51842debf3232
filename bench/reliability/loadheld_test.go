package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/load"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestLoadHeld measures the check's maximum throughput, then holds 80% of it: no call may
// fail, p99 must stay within a bound, and memory must not keep growing. The short form
// holds for 3 s; the soak form for 2 minutes.
func TestLoadHeld(t *testing.T) {
	dataDir := t.TempDir()
	p := start(t, dataDir)
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token(t, dataDir, "--role", "frontend"))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := eligibilityv1.NewEligibilityServiceClient(conn)
	salary := int64(2500000)
	req := &eligibilityv1.CheckEligibilityRequest{DateOfBirth: "1990-05-17", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_3, AnnualSalaryPence: &salary, Postcode: "L1 8JQ"}
	call := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := client.CheckEligibility(ctx, req)
		return err
	}
	ctx := context.Background()

	max := load.Run(ctx, load.Options{Concurrency: 16, Warmup: 300 * time.Millisecond, Duration: time.Second}, func(ctx context.Context, _, _ int) error { return call(ctx) })
	if max.Errors > 0 {
		t.Fatalf("max run: %d errors, first %v", max.Errors, max.FirstError)
	}
	rate := 0.8 * max.RPS()
	hold := 3 * time.Second
	if soak() {
		hold = 2 * time.Minute
	}
	// Memory is compared between the middle and the end of the held phase, after the
	// process has reached its working size.
	half := load.RunRate(ctx, rate, hold/2, 16, func(ctx context.Context, _ int) error { return call(ctx) })
	mid := p.rss(t)
	rest := load.RunRate(ctx, rate, hold/2, 16, func(ctx context.Context, _ int) error { return call(ctx) })
	end := p.rss(t)

	for _, r := range []load.Result{half, rest} {
		if r.Errors > 0 {
			t.Errorf("held %.0f/s: %d errors of %d, first %v", rate, r.Errors, r.Requests, r.FirstError)
		}
		// The bound is loose on purpose: the machine is shared with the load generator and
		// whatever else runs; it catches a service that stops keeping up, not a slow disk.
		if r.P99 > time.Second {
			t.Errorf("held %.0f/s: p99 %v, want under 1s", rate, r.P99)
		}
	}
	if growth := end - mid; growth > 32<<20 && float64(end) > 1.5*float64(mid) {
		t.Errorf("resident memory grew from %d MB to %d MB while the load was steady", mid>>20, end>>20)
	}
	t.Logf("max %.0f/s; held %.0f/s for %v: p50 %v p99 %v; RSS %d MB -> %d MB", max.RPS(), rate, hold, rest.P50, rest.P99, mid>>20, end>>20)
	p.stop(t)
}
