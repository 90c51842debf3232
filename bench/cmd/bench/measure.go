package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/baseline"
	"github.com/nrs-pilots/retrain/bench/internal/load"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// row is one measured line of the report.
type row struct {
	group  string // what is compared, e.g. "gRPC check"
	target string // what was driven, e.g. "retrain" or "bare gRPC echo"
	res    load.Result
}

// report is everything one run measured.
type report struct {
	started  time.Time
	commit   string
	rows     []row
	rssIdle  int64
	rssEnd   int64
	duration time.Duration
	notes    []string
}

func (h *harness) measure(ctx context.Context) (*report, error) {
	rep := &report{started: time.Now(), commit: gitCommit(h.o.root), duration: h.o.duration}
	// Idle memory: after start-up and the two sample checks, before any load.
	time.Sleep(2 * time.Second)
	var err error
	if rep.rssIdle, err = rssBytes(h.retrain.pid()); err != nil {
		return nil, err
	}
	opts := func(c int) load.Options {
		return load.Options{Concurrency: c, Warmup: h.o.warmup, Duration: h.o.duration}
	}

	for _, c := range h.o.concurrency {
		// gRPC: the check against the bare echo, with the same client set-up.
		for _, t := range []struct{ name, addr string }{{"bare gRPC echo", h.addrs.GRPCEcho}, {"retrain", h.grpc}} {
			res, err := grpcCheckLoad(ctx, t.addr, h.token, opts(c))
			if err != nil {
				return nil, err
			}
			h.progress("gRPC check", t.name, res)
			rep.rows = append(rep.rows, row{"gRPC check", t.name, res})
		}
		// REST: bare net/http, the gateway over the bare echo, and the real thing.
		for _, t := range []struct{ name, url string }{
			{"bare net/http echo", "http://" + h.addrs.HTTPEcho + "/v1/eligibility:check"},
			{"gateway over gRPC echo", "http://" + h.addrs.GatewayEcho + "/v1/eligibility:check"},
			{"retrain", "http://" + h.http + "/v1/eligibility:check"},
		} {
			res := restCheckLoad(ctx, t.url, h.token, opts(c))
			h.progress("REST check", t.name, res)
			rep.rows = append(rep.rows, row{"REST check", t.name, res})
		}
		// Durable writes: the floor every service's writes are measured against.
		for _, batched := range []bool{false, true} {
			name := "raw bbolt, fsync per write"
			if batched {
				name = "raw bbolt, DB.Batch"
			}
			dir, err := os.MkdirTemp(h.tmp, "bolt-")
			if err != nil {
				return nil, err
			}
			res, err := baseline.BoltWrites(ctx, dir, c, batched, 256, opts(c))
			if err != nil {
				return nil, err
			}
			h.progress("durable writes", name, res)
			rep.rows = append(rep.rows, row{"durable writes", name, res})
		}
	}
	if rep.rssEnd, err = rssBytes(h.retrain.pid()); err != nil {
		return nil, err
	}
	return rep, nil
}

func (h *harness) progress(group, target string, r load.Result) {
	fmt.Fprintf(os.Stderr, "bench: %-15s %-26s c=%-3d %9.0f/s p50=%-9v p99=%-9v errors=%d\n",
		group, target, r.Concurrency, r.RPS(), r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
}

// clientConns are shared by the workers of a run: one HTTP/2 connection per 16 workers,
// the same for the service and its baseline.
func clientConns(addr, token string, concurrency int) ([]*grpc.ClientConn, error) {
	n := (concurrency + 15) / 16
	conns := make([]*grpc.ClientConn, 0, n)
	for i := 0; i < n; i++ {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// grpcCheckLoad drives the check over gRPC. Every call carries the token, baselines
// included, so requests are byte for byte the same.
func grpcCheckLoad(ctx context.Context, addr, token string, o load.Options) (load.Result, error) {
	conns, err := clientConns(addr, token, o.Concurrency)
	if err != nil {
		return load.Result{}, err
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	clients := make([]eligibilityv1.EligibilityServiceClient, len(conns))
	for i, c := range conns {
		clients[i] = eligibilityv1.NewEligibilityServiceClient(c)
	}
	req := eligibleRequest()
	return load.Run(ctx, o, func(ctx context.Context, w, _ int) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := clients[w%len(clients)].CheckEligibility(ctx, req)
		return err
	}), nil
}

func restCheckLoad(ctx context.Context, url, token string, o load.Options) load.Result {
	tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return load.Run(ctx, o, func(ctx context.Context, _, _ int) error {
		_, status, err := postJSON(client, url, eligibleJSON, token)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		return err
	})
}

func gitCommit(root string) string {
	out, err := execOutput(root, "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown"
	}
	return out
}

func machine() string {
	mem := "unknown memory"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s, %s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
