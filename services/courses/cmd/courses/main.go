// Command courses runs the courses service alone.
// It is the all-in-one binary with --target=TargetCourses by default: the same flags and
// RETRAIN_* variables (see the README), one component per process for deployments that
// scale each part on its own.
package main

import (
	"os"
	_ "time/tzdata" // Europe/London on images without a zoneinfo database

	"github.com/nrs-pilots/retrain/cmd/retrain/app"
)

func main() {
	os.Exit(app.Exec("courses", os.Args[1:], os.Stderr, app.TargetCourses))
}
