package config

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestEnvName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"grpc-addr", "RETRAIN_GRPC_ADDR"},
		{"data-dir", "RETRAIN_DATA_DIR"},
		{"grpc.max-recv-bytes", "RETRAIN_GRPC_MAX_RECV_BYTES"},
	}
	for _, tt := range tests {
		if got := EnvName(tt.in); got != tt.want {
			t.Errorf("EnvName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantAddr string
		wantWait time.Duration
		wantErr  bool
	}{
		{name: "defaults", wantAddr: "a:1", wantWait: time.Second},
		{name: "env sets", env: map[string]string{"RETRAIN_ADDR": "b:2", "RETRAIN_WAIT": "3s"}, wantAddr: "b:2", wantWait: 3 * time.Second},
		{name: "flag wins", args: []string{"-addr", "c:3"}, env: map[string]string{"RETRAIN_ADDR": "b:2"}, wantAddr: "c:3", wantWait: time.Second},
		{name: "bad env value", env: map[string]string{"RETRAIN_WAIT": "soon"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			addr := fs.String("addr", "a:1", "")
			wait := fs.Duration("wait", time.Second, "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if (err != nil) != tt.wantErr {
				t.Fatalf("ApplyEnv() error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return // the process refuses to start; the values do not matter
			}
			if *addr != tt.wantAddr || *wait != tt.wantWait {
				t.Errorf("after ApplyEnv: addr=%q wait=%v, want %q %v", *addr, *wait, tt.wantAddr, tt.wantWait)
			}
		})
	}
}
