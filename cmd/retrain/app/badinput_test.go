package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// badRequest is one malformed request and what the API must answer.
type badRequest struct {
	name   string
	method string
	path   string
	body   string
	// wantStatus is the exact status; 0 means any 4xx.
	wantStatus int
	// wantField, when set, must be named by a field violation.
	wantField string
}

// eligibilityBadRequests are malformed calls of the eligibility REST API.
func eligibilityBadRequests() []badRequest {
	const check = "/v1/eligibility:check"
	huge := strings.Repeat("9", 100_000)
	return []badRequest{
		{"check: not JSON", "POST", check, `date_of_birth=1990-01-01`, 400, ""},
		{"check: truncated JSON", "POST", check, `{"date_of_birth":"1990-01-01"`, 400, ""},
		{"check: JSON array", "POST", check, `[]`, 400, ""},
		{"check: date as number", "POST", check, `{"date_of_birth":19900101}`, 400, ""},
		{"check: salary as text", "POST", check, `{"annual_salary_pence":"a lot"}`, 400, ""},
		{"check: salary as float", "POST", check, `{"annual_salary_pence":2500000.5}`, 400, ""},
		{"check: salary negative", "POST", check, `{"annual_salary_pence":-1}`, 400, "annual_salary_pence"},
		{"check: salary beyond int64", "POST", check, `{"annual_salary_pence":` + huge + `}`, 400, ""},
		{"check: date impossible", "POST", check, `{"date_of_birth":"2023-02-29"}`, 400, "date_of_birth"},
		{"check: date wrong shape", "POST", check, `{"date_of_birth":"01/02/1990"}`, 400, "date_of_birth"},
		{"check: date huge string", "POST", check, `{"date_of_birth":"` + huge + `"}`, 400, "date_of_birth"},
		{"check: month 13", "POST", check, `{"date_of_birth":"1990-13-01"}`, 400, "date_of_birth"},
		{"check: year zero", "POST", check, `{"date_of_birth":"0000-01-01"}`, 400, "date_of_birth"},
		{"check: born after as_of", "POST", check, `{"date_of_birth":"2030-01-01","as_of":"2026-01-01"}`, 400, "date_of_birth"},
		{"check: as_of impossible", "POST", check, `{"as_of":"2026-02-30"}`, 400, "as_of"},
		{"check: unknown enum name", "POST", check, `{"highest_qualification":"RQF_LEVEL_9"}`, 400, ""},
		{"check: enum number out of range", "POST", check, `{"highest_qualification":11}`, 400, "highest_qualification"},
		{"check: enum negative", "POST", check, `{"highest_qualification":-1}`, 400, "highest_qualification"},
		{"check: postcode malformed", "POST", check, `{"postcode":"12345"}`, 400, "postcode"},
		{"check: postcode huge", "POST", check, `{"postcode":"` + strings.Repeat("A", 50_000) + `"}`, 400, "postcode"},
		{"check: unknown field", "POST", check, `{"dob":"1990-01-01"}`, 400, ""},
		{"check: bad UTF-8", "POST", check, "{\"postcode\":\"L1 \xff\xfe8JQ\"}", 400, ""},
		{"check: null byte", "POST", check, "{\"date_of_birth\":\"1990-01-01\x00\"}", 400, ""},
		{"check: wrong method", "GET", check, ``, 0, ""},
		{"check: oversized body", "POST", check, `{"postcode":"` + strings.Repeat("A", 2<<20) + `"}`, 413, ""},
		{"unknown path", "GET", "/v1/nothing-here", ``, 404, ""},
	}
}

// coursesBadRequests are malformed calls of the courses REST API.
func coursesBadRequests() []badRequest {
	huge := strings.Repeat("x", 100_000)
	return []badRequest{
		{"search: no postcode", "GET", "/v1/courses:search", ``, 400, ""},
		{"search: malformed postcode", "GET", "/v1/courses:search?postcode=12345", ``, 400, "postcode"},
		{"search: negative distance", "GET", "/v1/courses:search?postcode=L1%208JQ&distance_miles=-5", ``, 400, ""},
		{"search: distance not a number", "GET", "/v1/courses:search?postcode=L1%208JQ&distance_miles=far", ``, 400, ""},
		{"search: unknown level", "GET", "/v1/courses:search?postcode=L1%208JQ&levels=12", ``, 400, ""},
		{"search: bad page token", "GET", "/v1/courses:search?postcode=L1%208JQ&page_token=not-a-token", ``, 400, ""},
		{"search: negative page size", "GET", "/v1/courses:search?postcode=L1%208JQ&page_size=-1", ``, 400, ""},
		{"search: huge keyword", "GET", "/v1/courses:search?postcode=L1%208JQ&keyword=" + huge[:5000], ``, 400, ""},
		{"search: impossible start date", "GET", "/v1/courses:search?postcode=L1%208JQ&start_date_from=2027-02-30", ``, 400, ""},
		{"area: unknown", "GET", "/v1/areas/E99999999", ``, 404, ""},
		{"providers: bad page token", "GET", "/v1/areas/E37000022/providers?page_token=%00%01", ``, 400, ""},
		{"provider: bad UKPRN", "POST", "/v1/areas/E37000022/providers?provider_id=123", `{"display_name":"X","loan_facility":true,"premises_postcodes":["L1 8JQ"]}`, 400, ""},
		{"provider: premises not postcodes", "POST", "/v1/areas/E37000022/providers?provider_id=10000009", `{"display_name":"X","loan_facility":true,"premises_postcodes":["nowhere"]}`, 400, ""},
		{"provider: name huge", "POST", "/v1/areas/E37000022/providers?provider_id=10000009", `{"display_name":"` + huge + `","loan_facility":true,"premises_postcodes":["L1 8JQ"]}`, 400, ""},
		{"course: cost negative", "POST", "/v1/areas/E37000022/courses?course_id=c-1", `{"title":"T","level":"3","full_cost_pence":-100}`, 400, ""},
		{"course: cost as text", "POST", "/v1/areas/E37000022/courses?course_id=c-1", `{"title":"T","full_cost_pence":"cheap"}`, 400, ""},
		{"course: bad id", "POST", "/v1/areas/E37000022/courses?course_id=Not%20An%20Id!", `{"title":"T"}`, 400, ""},
		{"course: unknown delivery mode", "POST", "/v1/areas/E37000022/courses?course_id=c-2", `{"delivery_mode":"DELIVERY_MODE_TELEPATHY"}`, 400, ""},
		{"course: update mask names an unknown field", "PATCH", "/v1/areas/E37000022/courses/c-1?update_mask=colour", `{"title":"T"}`, 0, ""},
		{"course: get with a malformed name", "GET", "/v1/areas/E37000022/courses/UPPER%20CASE", ``, 0, ""},
	}
}

// learnerBadRequests are malformed calls of the eligibility API's rulesets, assessments
// and audit trail.
func learnerBadRequests() []badRequest {
	return []badRequest{
		{"assessment: impossible date of birth", "POST", "/v1/learners/NCS-1/assessments", `{"date_of_birth":"1990-02-30"}`, 400, ""},
		{"assessment: negative salary", "POST", "/v1/learners/NCS-1/assessments", `{"annual_salary_pence":-5}`, 400, ""},
		{"assessment: learner reference too long", "POST", "/v1/learners/" + strings.Repeat("a", 300) + "/assessments", `{}`, 400, ""},
		{"assessments: bad page token", "GET", "/v1/learners/NCS-1/assessments?page_token=garbage", ``, 400, ""},
		{"assessment: unknown", "GET", "/v1/learners/NCS-1/assessments/does-not-exist", ``, 0, ""},
		{"audit: bad page token", "GET", "/v1/auditRecords?page_token=garbage", ``, 400, ""},
		{"ruleset: unknown", "GET", "/v1/rulesets/no-such-version", ``, 404, ""},
		{"ruleset: threshold negative", "POST", "/v1/rulesets", `{"version":"bad-1","salary_threshold_pence":{"values":[{"start":"2027-01-01","value":-1,"reference":"r"}]}}`, 400, ""},
		{"ruleset: not JSON", "POST", "/v1/rulesets", `{"version":`, 400, ""},
	}
}

// TestBadInput sends every malformed request to the all-in-one binary: each must be a 4xx
// with a JSON error that says what is wrong, never a 5xx, and the service must keep
// serving afterwards.
func TestBadInput(t *testing.T) {
	s := startSystem(t)
	cases := append(eligibilityBadRequests(), outreachBadRequests()...)
	cases = append(cases, coursesBadRequests()...)
	cases = append(cases, learnerBadRequests()...)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+s.httpAddr+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode >= 500 || resp.StatusCode < 400 {
				t.Fatalf("status %d (%s), want a 4xx", resp.StatusCode, truncate(raw))
			}
			if tt.wantStatus != 0 && resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, truncate(raw), tt.wantStatus)
			}
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("error body is not JSON: %s", truncate(raw))
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Errorf("error body has no message: %s", truncate(raw))
			}
			if tt.wantField != "" {
				found := false
				for _, f := range fieldViolations(body) {
					found = found || f == tt.wantField
				}
				if !found {
					t.Errorf("violations %v, want one naming %s", fieldViolations(body), tt.wantField)
				}
			}
		})
	}
	// Still serving.
	code, body := s.post(t, "/v1/eligibility:check", `{"highest_qualification":"RQF_LEVEL_2"}`)
	if code != http.StatusOK {
		t.Errorf("after the bad requests a good one got %d %v", code, body)
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
