package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestCORS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := cors(splitOrigins("https://front.example, https://other.example/"), ok)
	tests := []struct {
		name       string
		method     string
		origin     string
		preflight  bool
		wantStatus int
		wantAllow  string
	}{
		{"allowed origin", http.MethodPost, "https://front.example", false, http.StatusTeapot, "https://front.example"},
		{"trailing slash in config", http.MethodPost, "https://other.example", false, http.StatusTeapot, "https://other.example"},
		{"other origin served without CORS", http.MethodPost, "https://evil.example", false, http.StatusTeapot, ""},
		{"allowed preflight", http.MethodOptions, "https://front.example", true, http.StatusNoContent, "https://front.example"},
		{"refused preflight", http.MethodOptions, "https://evil.example", true, http.StatusForbidden, ""},
		{"no origin", http.MethodGet, "", false, http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/v1/x", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				r.Header.Set("Access-Control-Request-Method", "POST")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus || w.Header().Get("Access-Control-Allow-Origin") != tt.wantAllow {
				t.Errorf("%s from %q: %d allow %q, want %d allow %q", tt.method, tt.origin, w.Code, w.Header().Get("Access-Control-Allow-Origin"), tt.wantStatus, tt.wantAllow)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	securityHeaders(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestErrorHandlerHeaders(t *testing.T) {
	limited, _ := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
	tests := []struct {
		name       string
		err        error
		wantStatus int
		header     string
		want       string
	}{
		{"rate limited", limited.Err(), http.StatusTooManyRequests, "Retry-After", "2"},
		{"unauthenticated", status.Error(codes.Unauthenticated, "no token"), http.StatusUnauthorized, "WWW-Authenticate", `Bearer realm="retrain"`},
		{"forbidden", status.Error(codes.PermissionDenied, "no"), http.StatusForbidden, "WWW-Authenticate", ""},
	}
	mux := runtime.NewServeMux()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			errorHandler(context.Background(), mux, &runtime.JSONPb{}, w, httptest.NewRequest(http.MethodGet, "/", nil), tt.err)
			if w.Code != tt.wantStatus || w.Header().Get(tt.header) != tt.want {
				t.Errorf("status %d %s=%q, want %d %q", w.Code, tt.header, w.Header().Get(tt.header), tt.wantStatus, tt.want)
			}
		})
	}
}

// endless yields bytes for ever: a client streaming a body with no end.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestLimitBody(t *testing.T) {
	var got int
	h := limitBody(1024, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = len(b)
		w.WriteHeader(http.StatusOK)
	}))
	tests := []struct {
		name     string
		body     io.Reader
		length   int64 // -1: chunked (unknown length)
		want     int
		wantRead int
	}{
		{"small, declared", strings.NewReader("hello"), 5, http.StatusOK, 5},
		{"small, chunked", strings.NewReader("hello"), -1, http.StatusOK, 5},
		{"exactly the limit, chunked", strings.NewReader(strings.Repeat("x", 1024)), -1, http.StatusOK, 1024},
		{"declared too large", strings.NewReader("x"), 1 << 30, http.StatusRequestEntityTooLarge, 0},
		{"endless chunked", &endless{}, -1, http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = 0
			r := httptest.NewRequest(http.MethodPost, "/v1/x", tt.body)
			r.ContentLength = tt.length
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want || got != tt.wantRead {
				t.Errorf("status %d read %d, want %d and %d", w.Code, got, tt.want, tt.wantRead)
			}
			if e, ok := tt.body.(*endless); ok && e.n > 64<<10 {
				t.Errorf("read %d bytes of an endless body, want at most about the limit", e.n)
			}
		})
	}
}
