package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// tokenFor runs `retrain token` with the data directory and args and returns the token.
func tokenFor(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runToken(append([]string{"--data-dir", dataDir}, args...), &out, &errOut); err != nil {
		t.Fatalf("retrain token %v: %v %s", args, err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	if tok := tokenFor(t, dir, "--role", "adviser"); strings.Count(tok, ".") != 2 {
		t.Errorf("token %q is not a compact JWT", tok)
	}
	for _, bad := range [][]string{
		{"--role", "lep"}, // a lep token needs its area
		{"--role", "adviser", "--area", "E37000022"}, // only lep has an area
		{"--role", "root"},
		{"--role", "admin", "--ttl", "0s"},
	} {
		var out, errOut bytes.Buffer
		if err := runToken(append([]string{"--data-dir", dir}, bad...), &out, &errOut); err == nil {
			t.Errorf("retrain token %v = %q, want an error", bad, out.String())
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--no-such-flag"}, "no-such-flag"},
		{"bad target", []string{"--target", "everything"}, "target"},
		{"bad duration", []string{"--shutdown-timeout", "soon"}, "shutdown-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.want) {
				t.Errorf("run(%v) = %v (stderr %q), want an error mentioning %q", tt.args, err, stderr.String(), tt.want)
			}
		})
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("RETRAIN_TARGET", "nonsense")
	var stderr bytes.Buffer
	err := run(context.Background(), nil, &stderr)
	if err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("run with RETRAIN_TARGET=nonsense = %v, want the target refused", err)
	}
}
