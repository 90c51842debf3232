package load

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsAndPercentiles(t *testing.T) {
	boom := errors.New("boom")
	res := Run(context.Background(), Options{Concurrency: 4, Duration: 200 * time.Millisecond}, func(ctx context.Context, w, seq int) error {
		time.Sleep(time.Millisecond)
		if seq%10 == 9 {
			return boom
		}
		return nil
	})
	if res.Requests == 0 {
		t.Fatal("Run made no requests")
	}
	if res.Errors == 0 || res.Errors >= res.Requests {
		t.Errorf("Errors = %d of %d, want about a tenth", res.Errors, res.Requests)
	}
	if !errors.Is(res.FirstError, boom) {
		t.Errorf("FirstError = %v, want boom", res.FirstError)
	}
	if res.P50 < time.Millisecond || res.P50 > res.P99 || res.P99 > res.Max {
		t.Errorf("percentiles p50=%v p99=%v max=%v, want 1ms <= p50 <= p99 <= max", res.P50, res.P99, res.Max)
	}
	if res.RPS() <= 0 {
		t.Errorf("RPS() = %v", res.RPS())
	}
}

func TestRunMaxRequests(t *testing.T) {
	res := Run(context.Background(), Options{Concurrency: 2, Duration: time.Minute, MaxRequests: 1000}, func(ctx context.Context, w, seq int) error { return nil })
	if res.Requests < 1000 || res.Requests > 1000+2*64+2 {
		t.Errorf("Requests = %d, want about 1000", res.Requests)
	}
}

func TestRunRate(t *testing.T) {
	res := RunRate(context.Background(), 200, 500*time.Millisecond, 4, func(ctx context.Context, seq int) error { return nil })
	if res.Requests != 100 {
		t.Errorf("Requests = %d at 200/s for 0.5s, want 100", res.Requests)
	}
	if res.Errors != 0 || res.Elapsed < 450*time.Millisecond {
		t.Errorf("Errors = %d, Elapsed = %v; want 0 errors over about 0.5s", res.Errors, res.Elapsed)
	}
	// A system slower than the rate: calls start late and their latency shows it.
	slow := RunRate(context.Background(), 100, 200*time.Millisecond, 1, func(ctx context.Context, seq int) error {
		time.Sleep(20 * time.Millisecond)
		return nil
	})
	if slow.Max < 100*time.Millisecond {
		t.Errorf("falling behind: max latency %v, want the queueing delay counted (>100ms)", slow.Max)
	}
}

func TestRunCallsCountsWarmup(t *testing.T) {
	var made atomic.Int64
	res := Run(context.Background(), Options{Concurrency: 3, Warmup: 100 * time.Millisecond, Duration: 100 * time.Millisecond}, func(ctx context.Context, w, seq int) error {
		made.Add(1)
		time.Sleep(time.Millisecond)
		return nil
	})
	if int64(res.Calls) != made.Load() {
		t.Errorf("Calls = %d, want every call made (%d)", res.Calls, made.Load())
	}
	if res.Calls <= res.Requests {
		t.Errorf("Calls = %d, Requests = %d: want the warm-up's calls counted in Calls only", res.Calls, res.Requests)
	}
}
