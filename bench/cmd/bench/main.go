// Command bench measures retrain against the limits of its own stack, in one run on one
// machine: it builds and starts the all-in-one binary and the baselines on loopback, drives
// each with the same closed-loop load generator at the same concurrencies, and prints a
// table of figures and ratios, also written to docs/benchmarks.md. It covers:
//
//   - the eligibility check over gRPC and REST, against a bare gRPC echo, a bare net/http
//     echo and the gateway in front of the gRPC echo;
//   - durable writes through the binary over gRPC (assessments, events in batches of 100,
//     course creates), against raw bbolt with the same writers (fsync per write, DB.Batch);
//   - course search at 100,000 courses, in process (the courses service's own benchmark)
//     and over REST after importing the courses into the binary;
//   - an attribution report over 1,000,000 events for every model, in process (the outreach
//     service's own benchmark) and over gRPC after recording the events into the binary;
//   - the binary's resident memory, idle with demo data and as the run goes on.
//
// Every call carries a bearer token minted with `retrain token` for the role the RPC
// needs, and the per-caller rate limits are lifted. Run it from the repository root with
// `make bench` (about 5 minutes), or `go run ./bench/cmd/bench -quick` (about 1 minute)
// to check the harness end to end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency []int
	out         string
	root        string
	quick       bool
	keep        bool // keep the temporary directory (binaries, data directory) for inspection
	// courses is how many generated courses are imported before the search is driven.
	courses int
	// events is how many events the outreach service holds when its attribution reports
	// are timed over the RPC (0: not timed over the RPC).
	events int
	// searchIters and reportIters are the -benchtime of the in-process search and
	// attribution benchmarks.
	searchIters, reportIters int
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	var conc string
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of each run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	fs.StringVar(&conc, "concurrency", "1,16,64", "comma list of concurrencies")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown file the table is written to (empty: none)")
	fs.StringVar(&o.root, "root", ".", "repository root")
	fs.BoolVar(&o.quick, "quick", false, "a short run to check the harness end to end: 1s runs, 10,000 courses, 50,000 events, few benchmark iterations, no document written unless -out is given (figures not comparable with a full run)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory with the binaries and the data directory, and print its path")
	fs.IntVar(&o.courses, "courses", 100_000, "courses imported into the binary before course search is driven over REST")
	fs.IntVar(&o.events, "events", 1_000_000, "events the outreach service holds when attribution reports are timed over gRPC (0: skip)")
	fs.IntVar(&o.searchIters, "search-iterations", 5000, "-benchtime iterations of each in-process course search benchmark")
	fs.IntVar(&o.reportIters, "report-iterations", 3, "-benchtime iterations of each in-process attribution report benchmark")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.quick {
		// Shorter everything, unless given explicitly.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{
			"duration": "1s", "warmup": "250ms", "courses": "10000", "events": "50000",
			"search-iterations": "500", "report-iterations": "1",
			"out": "", // a quick run's figures do not replace the full run's document
		} {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return o, err
				}
			}
		}
	}
	if o.courses < 0 || o.events < 0 || o.searchIters < 1 || o.reportIters < 1 {
		return o, fmt.Errorf("courses and events must not be negative, iterations at least 1")
	}
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("concurrency: %q is not a positive number", s)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if o.duration <= 0 || o.warmup < 0 {
		return o, fmt.Errorf("duration must be positive and warmup not negative")
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	h, err := newHarness(ctx, o)
	if err != nil {
		return err
	}
	defer h.close()
	rep, err := h.measure(ctx)
	if err != nil {
		return err
	}
	table := rep.markdown()
	fmt.Println(table)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(table), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "bench: written to", o.out)
	}
	return nil
}
