package eligibility_test

import (
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/postcode"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// sink collects conversions.
type sink struct {
	mu  sync.Mutex
	got []eligibility.Conversion
}

func (s *sink) Send(_ context.Context, batch []eligibility.Conversion) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, batch...)
	return nil
}

func (s *sink) journeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.got {
		out = append(out, c.JourneyID)
	}
	return out
}

func config(t *testing.T, args ...string) eligibility.Config {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var cfg eligibility.Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSinkReceivesConversionsOfChecks(t *testing.T) {
	dir := t.TempDir()
	places, err := postcode.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	snk := &sink{}
	cfg := config(t, "-eligibility-data-keys", "k1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	svc, err := eligibility.New(cfg, eligibility.Deps{Log: zap.NewNop(), DataDir: dir, Postcodes: places, Now: time.Now, Sink: snk})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	svc.Register(srv)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		if err := svc.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	}()
	conn, err := grpc.NewClient("passthrough:///x",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := eligibilityv1.NewEligibilityServiceClient(conn)
	for _, j := range []string{"j1", "", "j2"} {
		if _, err := c.CheckEligibility(context.Background(), &eligibilityv1.CheckEligibilityRequest{JourneyId: j, Postcode: "B1 1AA"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(snk.journeys()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := strings.Join(snk.journeys(), ","); got != "j1,j2" {
		t.Errorf("sink received journeys %q, want j1,j2 (a check without a journey id records nothing)", got)
	}
	if _, err := os.Stat(filepath.Join(dir, eligibility.DevKeyFile)); !os.IsNotExist(err) {
		t.Errorf("a development key was written although keys were configured (%v)", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"bad keys", []string{"-eligibility-data-keys", "k1=short"}, "eligibility-data-keys"},
		{"negative retention", []string{"-eligibility-retention", "-1h"}, "eligibility-retention"},
		{"missing ruleset file", []string{"-eligibility-ruleset-file", "/nonexistent/rules.json"}, "eligibility-ruleset-file"},
		{"missing next steps file", []string{"-eligibility-next-steps-file", "/nonexistent/steps.json"}, "eligibility-next-steps-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, tt.args...)
			err := cfg.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "short") {
				t.Errorf("Validate() error %q echoes key material", err)
			}
		})
	}
}
