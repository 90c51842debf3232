// Command bench measures retrain against the limits of its own stack, in one run on one
// machine: it builds and starts the all-in-one binary and the baselines on loopback, drives
// each with the same closed-loop load generator at the same concurrencies, and prints a
// table of figures and ratios, also written to docs/benchmarks.md.
//
// Run it from the repository root with `make bench`.
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
	if err := fs.Parse(args); err != nil {
		return o, err
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
