// Command retrain runs the retrain backend: the eligibility service and the REST gateway,
// in one process by default (-target=all) or any subset of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Europe/London on images without a zoneinfo database

	"github.com/nrs-pilots/retrain/cmd/retrain/internal/app"
	"github.com/nrs-pilots/retrain/platform/config"
	"github.com/nrs-pilots/retrain/platform/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "retrain:", err)
		}
		os.Exit(2)
	}
}

// run parses the arguments and environment, then runs the system until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "courses":
			return runCourses(ctx, args[1:], os.Stdout, stderr)
		case "token":
			return runToken(args[1:], os.Stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("retrain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := config.ApplyEnv(fs, os.LookupEnv); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
