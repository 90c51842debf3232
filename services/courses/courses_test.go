package courses

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/postcode"
	"go.uber.org/zap"
)

func TestConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "areas.json")
	if err := os.WriteFile(bad, []byte(`{"areas":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"defaults", nil, false},
		{"missing areas file", []string{"-courses-areas-file", "/nonexistent/areas.json"}, true},
		{"bad areas file", []string{"-courses-areas-file", bad}, true},
		{"zero import limit", []string{"-courses-import-max-rows", "0"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var cfg Config
			cfg.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			svc, err := New(cfg, Deps{Log: zap.NewNop(), DataDir: t.TempDir(), Postcodes: dir, Now: time.Now})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%v) = %v, want error %v", tt.args, err, tt.wantErr)
			}
			if svc != nil {
				if err := svc.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
