package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/cmd/retrain/app"
	"go.uber.org/zap"
)

// startCoursesServer runs the services in process (with the demo catalogue) and returns
// their gRPC address.
func startCoursesServer(t *testing.T) string {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var cfg app.Config
	cfg.RegisterFlags(fs)
	dataDir := t.TempDir()
	if err := fs.Parse([]string{"-target", "courses", "-grpc-addr", "127.0.0.1:0", "-data-dir", dataDir, "-shutdown-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	// The CLI reads its token from RETRAIN_TOKEN: a LEP system of the area it works on.
	t.Setenv("RETRAIN_TOKEN", tokenFor(t, dataDir, "--role", "lep", "--area", "E37000022"))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, zap.NewNop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return a.GRPCAddr()
}

func TestCoursesCLI(t *testing.T) {
	addr := startCoursesServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "lcr.csv")
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := runCourses(ctx, args, &out, &errOut)
		if errOut.Len() > 0 && err == nil {
			t.Errorf("courses %v wrote to stderr when not a terminal: %q", args, errOut.String())
		}
		return out.String(), err
	}
	if _, err := cli("export", "--area", "E37000022", "--addr", addr, file); err != nil {
		t.Fatalf("export: %v", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Count(string(data), "\n") - 1
	if rows < 10 || !strings.HasPrefix(string(data), "course_id,") {
		t.Fatalf("export wrote %d rows:\n%s", rows, data)
	}
	tests := []struct {
		name    string
		args    []string
		edit    func(string) string
		wantOut string
		wantErr string
	}{
		{"re-import unchanged", []string{"import", "--area", "E37000022", "--addr", addr, file}, nil, "0 created, 0 updated, " + strconv.Itoa(rows) + " unchanged, 0 refused", ""},
		{"flags after the file", []string{"import", file, "--addr", addr, "--area", "areas/E37000022"}, nil, strconv.Itoa(rows) + " unchanged", ""},
		{"dry run with a bad row", []string{"import", "--dry-run", "--area", "E37000022", "--addr", addr, file},
			func(s string) string { return strings.Replace(s, ",3,", ",2,", 1) }, "level must be level 3 or above", "1 row(s) refused"},
		{"missing area", []string{"import", "--addr", addr, file}, nil, "", "--area is required"},
		{"no file", []string{"import", "--area", "E37000022", "--addr", addr}, nil, "", "exactly one CSV file"},
		{"another area", []string{"export", "--area", "E37999999", "--addr", addr}, nil, "", "PermissionDenied"},
		{"unknown subcommand", []string{"frobnicate"}, nil, "", flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit != nil {
				if err := os.WriteFile(file, []byte(tt.edit(string(data))), 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.WriteFile(file, data, 0o600)
			}
			out, err := cli(tt.args...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("courses %v error = %v, want %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("courses %v printed %q, want it to contain %q", tt.args, out, tt.wantOut)
			}
		})
	}
}
