package main

import (
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/load"
)

// result is a run of rps calls a second over one second.
func result(c int, rps int) load.Result {
	return load.Result{Concurrency: c, Requests: rps, Calls: rps, Elapsed: time.Second}
}

func TestAnalysisExplainsOnlyMissedTargets(t *testing.T) {
	base := []row{
		{group: groupWrites, target: boltSingle, items: 1, res: result(64, 2000), disk: 37000},
		{group: groupWrites, target: boltBatch, items: 1, res: result(64, 20000), disk: 1200},
		{group: groupWrites, target: boltBatch100, items: 100, res: result(64, 3000), disk: 280},
	}
	tests := []struct {
		name        string
		rows        []row
		want, avoid []string
	}{
		{
			name: "every write below target",
			rows: []row{
				{group: groupWrites, target: writeCourses, items: 1, res: result(64, 900), disk: 55000},
				{group: groupWrites, target: writeAssessment, items: 1, res: result(64, 5000), disk: 24000},
				{group: groupWrites, target: writeEvents, items: 100, res: result(64, 1300), disk: 400},
			},
			want: []string{"Course writes at concurrency 64: 900 CreateCourse/s", "Assessments at concurrency 64", "Events at concurrency 64: 130000 events/s"},
		},
		{
			name: "every write on target",
			rows: []row{
				{group: groupWrites, target: writeCourses, items: 1, res: result(64, 15000)},
				{group: groupWrites, target: writeAssessment, items: 1, res: result(64, 14000)},
				{group: groupWrites, target: writeEvents, items: 100, res: result(64, 2200)},
			},
			avoid: []string{"Course writes", "Assessments", "Events"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &report{rows: append(append([]row(nil), base...), tt.rows...)}
			got := strings.Join(r.analysis(), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("notes lack %q:\n%s", w, got)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(got, a) {
					t.Errorf("notes explain a target that was met (%q):\n%s", a, got)
				}
			}
		})
	}
}
