package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewFormats(t *testing.T) {
	tests := []struct {
		format   string
		wantJSON bool
	}{
		{"auto", true}, // a buffer is not a terminal
		{"json", true},
		{"text", false},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(Config{Level: "info", Format: tt.format}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			l.Named("svc").Info("hello")
			l.Debug("hidden")
			_ = l.Sync()
			out := strings.TrimSpace(buf.String())
			if strings.Contains(out, "hidden") {
				t.Errorf("debug line written at info level: %s", out)
			}
			var m map[string]any
			isJSON := json.Unmarshal([]byte(out), &m) == nil
			if isJSON != tt.wantJSON {
				t.Errorf("format %s: output %q JSON=%v, want %v", tt.format, out, isJSON, tt.wantJSON)
			}
			if isJSON && (m["logger"] != "svc" || m["msg"] != "hello") {
				t.Errorf("JSON line = %v, want logger svc and msg hello", m)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Level: "loud", Format: "auto"}, {Level: "info", Format: "xml"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", c)
		}
	}
}
