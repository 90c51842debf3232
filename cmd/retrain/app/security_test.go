package app

import (
	"net/http"
	"strings"
	"testing"
)

// TestRESTAuthentication: the gateway passes the Authorization header through and the
// services decide: no token or a bad one is 401 with WWW-Authenticate, a role the policy
// does not allow is 403, and neither body says anything about the object.
func TestRESTAuthentication(t *testing.T) {
	s := startSystem(t)
	const check = "/v1/eligibility:check"
	tests := []struct {
		name   string
		path   string
		method string
		auth   string
		want   int
	}{
		{"no token", check, "POST", "", http.StatusUnauthorized},
		{"not bearer", check, "POST", "Basic dXNlcjpwYXNz", http.StatusUnauthorized},
		{"garbage token", check, "POST", "Bearer not.a.jwt", http.StatusUnauthorized},
		{"frontend checks", check, "POST", "Bearer " + s.token(t, "frontend", ""), http.StatusOK},
		{"frontend reads the audit trail", "/v1/auditRecords", "GET", "Bearer " + s.token(t, "frontend", ""), http.StatusForbidden},
		{"frontend reads a report", "/v1/areas/E37000022/attribution:run", "GET", "Bearer " + s.token(t, "frontend", ""), http.StatusForbidden},
		{"lep reads another area's courses", "/v1/areas/E37000016/courses", "GET", "Bearer " + s.token(t, "lep", "E37000022"), http.StatusForbidden},
		{"lep reads its own area's courses", "/v1/areas/E37000022/courses", "GET", "Bearer " + s.token(t, "lep", "E37000022"), http.StatusOK},
		{"health needs no token", "/healthz", "GET", "", http.StatusOK},
		{"openapi needs no token", "/openapi.json", "GET", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+s.httpAddr+tt.path, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req) // no default token
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer WWW-Authenticate header: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestRESTRateLimit: a caller over its bucket gets 429 with Retry-After, and others are
// not affected.
func TestRESTRateLimit(t *testing.T) {
	s := startSystem(t, "-rate-limits", "frontend=1:3,admin=1000:1000")
	tok := s.token(t, "frontend", "")
	codes := map[int]int{}
	retryAfter := ""
	for i := 0; i < 6; i++ {
		req, _ := http.NewRequest("POST", "http://"+s.httpAddr+"/v1/eligibility:check", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter = resp.Header.Get("Retry-After")
		}
	}
	if codes[http.StatusOK] != 3 || codes[http.StatusTooManyRequests] != 3 {
		t.Errorf("6 quick calls with a burst of 3: %v, want 3 OK and 3 429", codes)
	}
	if retryAfter == "" || retryAfter == "0" {
		t.Errorf("429 Retry-After = %q, want a positive number of seconds", retryAfter)
	}
	if code, _ := s.post(t, "/v1/eligibility:check", `{}`); code != http.StatusOK {
		t.Errorf("another caller (admin) got %d while the frontend was limited, want 200", code)
	}
}
