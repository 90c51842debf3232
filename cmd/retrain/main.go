// Command retrain runs the retrain backend: the eligibility, courses and outreach services
// and the REST gateway, in one process by default (-target=all) or any subset of them.
// Subcommands: `retrain token` mints development tokens; `retrain courses import|export`
// moves a catalogue in and out of a running server; `retrain migrate` applies the
// PostgreSQL migrations.
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

	"github.com/nrs-pilots/retrain/cmd/retrain/app"
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
		case "migrate":
			return app.Migrate(ctx, args[1:], stderr)
		}
	}
	return app.Main(ctx, "retrain", args, stderr, app.TargetAll)
}
