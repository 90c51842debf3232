package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nrs-pilots/retrain/platform/config"
	"github.com/nrs-pilots/retrain/platform/logging"
)

// Main parses the flags (and RETRAIN_* environment variables) of a binary called name,
// validates them before anything listens, and runs the configured components until ctx
// ends. defaultTarget is what --target means when not given: "all" for the all-in-one
// binary, one component for the per-service binaries.
func Main(ctx context.Context, name string, args []string, stderr io.Writer, defaultTarget string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.RegisterFlags(fs)
	// Change the default, not the value: fs.Set would count as given on the command line
	// and hide RETRAIN_TARGET.
	target := fs.Lookup("target")
	if err := target.Value.Set(defaultTarget); err != nil {
		return err
	}
	target.DefValue = defaultTarget
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
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// Migrate applies the PostgreSQL migrations of the services --target names (all by
// default) to --store, and returns: `retrain migrate --store postgres://...`, for
// deployments that migrate before rolling out rather than at start.
func Migrate(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("retrain migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	store := fs.String("store", "", "postgres:// URL of the database (required)")
	target := fs.String("target", TargetAll, "services to migrate: all, or a comma list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := config.ApplyEnv(fs, os.LookupEnv); err != nil {
		return err
	}
	cfg := Config{Store: *store, Target: *target}
	if cfg.Store == "" {
		return errors.New("migrate: --store postgres://... is required")
	}
	targets, err := cfg.Targets()
	if err != nil {
		return err
	}
	if err := migrate(ctx, targets, cfg.Store); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "migrate: up to date:", strings.Join(targets, ", "))
	return nil
}

// Exec runs a binary's main: it turns SIGINT and SIGTERM into a graceful drain, runs
// Main, prints a failure to stderr and returns the process's exit code (0 after a clean
// drain, 2 for bad flags or a failure). Only main calls os.Exit with it.
func Exec(name string, args []string, stderr io.Writer, defaultTarget string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Main(ctx, name, args, stderr, defaultTarget)
	if err == nil {
		return 0
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}
	return 2
}
