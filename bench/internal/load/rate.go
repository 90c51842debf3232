package load

import (
	"context"
	"slices"
	"sync"
	"time"
)

// RunRate holds a steady total rate of perSecond calls for d, spread over workers
// workers: worker w makes its k-th call at start + (k*workers+w)/perSecond. When the
// system falls behind, calls start late and the lateness counts in their latency, which
// is measured from the scheduled time (so queueing is not hidden, unlike in a closed loop).
func RunRate(ctx context.Context, perSecond float64, d time.Duration, workers int, call func(ctx context.Context, seq int) error) Result {
	if workers < 1 {
		workers = 1
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	total := int(d.Seconds() * perSecond)
	start := time.Now()
	lats := make([][]time.Duration, workers)
	errs := make([]int, workers)
	firsts := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := w; seq < total; seq += workers {
				due := start.Add(time.Duration(seq) * interval)
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				if ctx.Err() != nil {
					return
				}
				err := call(ctx, seq)
				lats[w] = append(lats[w], time.Since(due))
				if err != nil {
					errs[w]++
					if firsts[w] == nil {
						firsts[w] = err
					}
				}
			}
		}(w)
	}
	wg.Wait()
	res := Result{Concurrency: workers, Elapsed: time.Since(start)}
	var all []time.Duration
	for w := range lats {
		all = append(all, lats[w]...)
		res.Errors += errs[w]
		if res.FirstError == nil {
			res.FirstError = firsts[w]
		}
	}
	res.Requests = len(all)
	if len(all) > 0 {
		slices.Sort(all)
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		res.P50, res.P90, res.P99, res.Max = pct(0.5), pct(0.9), pct(0.99), all[len(all)-1]
	}
	return res
}
