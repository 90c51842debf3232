// Package load is the closed-loop load generator every benchmark target is driven by, so
// the figures of the services and of their baselines are comparable: the same number of
// workers, each sending its next request as soon as the previous one answers.
package load

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Result is what one run measured.
type Result struct {
	// Concurrency is the number of workers.
	Concurrency int
	// Requests and Errors count completed calls in the measured window.
	Requests, Errors int
	// Calls counts every completed call, warm-up included (set by Run): what a side effect
	// measured over the whole run, such as bytes written, is divided by.
	Calls int
	// Elapsed is the measured window.
	Elapsed time.Duration
	// Latency percentiles of successful and failed calls alike.
	P50, P90, P99, Max time.Duration
	// FirstError is the first error seen, for the report.
	FirstError error
}

// RPS is the throughput of the run in calls per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Options shape a run.
type Options struct {
	// Concurrency is the number of workers (at least 1).
	Concurrency int
	// Warmup runs before measuring and is not counted.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// MaxRequests stops the run early when this many calls were measured (0: no limit).
	MaxRequests int
}

// Run drives call with opts.Concurrency workers. worker is the worker's index, so a call
// can pick a per-worker client or make per-worker unique keys; seq counts its calls.
func Run(ctx context.Context, opts Options, call func(ctx context.Context, worker, seq int) error) Result {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	type sample struct {
		lat   []time.Duration
		err   int
		first error
		calls int
	}
	samples := make([]sample, opts.Concurrency)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	start := time.Now()
	measureFrom := start.Add(opts.Warmup)
	end := measureFrom.Add(opts.Duration)
	var wg sync.WaitGroup
	var countMu sync.Mutex
	counted := 0
	for w := 0; w < opts.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := &samples[w]
			s.lat = make([]time.Duration, 0, 4096)
			for seq := 0; ; seq++ {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				err := call(ctx, w, seq)
				d := time.Since(t0)
				s.calls++
				if t0.Before(measureFrom) {
					continue
				}
				s.lat = append(s.lat, d)
				if err != nil {
					s.err++
					if s.first == nil {
						s.first = err
					}
				}
				if opts.MaxRequests > 0 && len(s.lat)%64 == 0 {
					countMu.Lock()
					counted += 64
					if counted >= opts.MaxRequests {
						cancel()
					}
					countMu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)
	if elapsed > opts.Duration && opts.MaxRequests == 0 {
		// Workers stop starting calls at end; the tail of the last calls is not measured
		// throughput, so the window is the configured one.
		elapsed = opts.Duration
	}

	res := Result{Concurrency: opts.Concurrency, Elapsed: elapsed}
	var all []time.Duration
	for _, s := range samples {
		all = append(all, s.lat...)
		res.Errors += s.err
		res.Calls += s.calls
		if res.FirstError == nil {
			res.FirstError = s.first
		}
	}
	res.Requests = len(all)
	if len(all) == 0 {
		return res
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	return res
}
