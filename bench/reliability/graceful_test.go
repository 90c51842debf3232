package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// wait returns the exit error once the process has exited, or fails after d.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.Exited:
		return p.ExitErr
	case <-time.After(d):
		t.Fatalf("process still running %v later:\n%s", d, p.Stderr.String())
		return nil
	}
}

// TestGracefulShutdownUnderLoad sends SIGTERM while clients are busy: health must turn
// NOT_SERVING, a request already in flight must complete, calls may be refused only after
// the signal, and the process must exit 0 within the drain timeout.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	dataDir := t.TempDir()
	p := start(t, dataDir, "--shutdown-timeout", "3s")
	tok := token(t, dataDir, "--role", "frontend")
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)

	// Health watch: it must report NOT_SERVING before the server goes away.
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch first = %v, %v, want SERVING", first.GetStatus(), err)
	}
	sawNotServing := make(chan struct{})
	go func() {
		for {
			r, err := watch.Recv()
			if err != nil {
				return
			}
			if r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
				close(sawNotServing)
				return
			}
		}
	}()

	// An in-flight REST request: headers and half the body sent before the signal.
	body := `{"date_of_birth":"1990-05-17","highest_qualification":"RQF_LEVEL_3","annual_salary_pence":2500000}`
	raw, err := net.Dial("tcp", p.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fmt.Fprintf(raw, "POST /v1/eligibility:check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tok, len(body), body[:20])
	time.Sleep(100 * time.Millisecond) // the server has read the headers

	// Load over gRPC until the signal and a little after.
	client := eligibilityv1.NewEligibilityServiceClient(conn)
	var signalled atomic.Bool
	var okBefore, failedBefore, after atomic.Int64
	var firstBad atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sentAfter := signalled.Load()
				_, err := client.CheckEligibility(ctx, &eligibilityv1.CheckEligibilityRequest{HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_2})
				switch {
				case sentAfter:
					after.Add(1)
				case err == nil:
					okBefore.Add(1)
				case status.Code(err) == codes.Unavailable:
					// Sent just as the signal landed: refused, not lost.
					after.Add(1)
				default:
					failedBefore.Add(1)
					firstBad.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	signalled.Store(true)
	sent := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sawNotServing:
	case <-time.After(5 * time.Second):
		t.Error("health never reported NOT_SERVING after SIGTERM")
	}

	// Finish the in-flight request: it must be answered.
	if _, err := io.WriteString(raw, body[20:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(raw), nil)
	if err != nil {
		t.Fatalf("in-flight request got no response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("in-flight request status = %d, want 200", resp.StatusCode)
	}

	err = p.wait(t, 10*time.Second)
	took := time.Since(sent)
	close(stop)
	wg.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) || err != nil {
		t.Errorf("exit = %v, want 0\n%s", err, p.Stderr.String())
	}
	if took > 3*time.Second+2*time.Second {
		t.Errorf("exited %v after SIGTERM, want within the 3s drain timeout (plus start-up slack)", took)
	}
	if okBefore.Load() == 0 {
		t.Error("no request succeeded before the signal: the load did not run")
	}
	if n := failedBefore.Load(); n > 0 {
		t.Errorf("%d requests sent before the signal failed, first: %v", n, firstBad.Load())
	}
	t.Logf("before signal: %d ok; after: %d calls; exit %v after SIGTERM", okBefore.Load(), after.Load(), took.Round(time.Millisecond))
}
