package app

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTwoInstancesOnOnePostgres runs two all-in-one processes against one PostgreSQL
// database (--store), as two replicas behind a load balancer: what one writes, the other
// serves — an assessment, a campaign, a course found by search — and a duplicate sent to
// both is stored once.
func TestTwoInstancesOnOnePostgres(t *testing.T) {
	url := pgtest.URL(t)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	shared := []string{"-store", url, "-eligibility-data-keys", "k1=" + key, "-outreach-journey-secret", "a-journey-secret-of-at-least-32-bytes!!"}
	a := startSystem(t, shared...)
	b := startSystem(t, shared...)

	// Eligibility: an adviser's assessment recorded on A is read on B.
	if code, body := a.do(t, http.MethodPost, "/v1/learners/NCS-7/assessments", `{"highest_qualification":"RQF_LEVEL_3","annual_salary_pence":2000000}`); code != http.StatusOK {
		t.Fatalf("assessment on A = %d %v", code, body)
	}
	code, list := b.do(t, http.MethodGet, "/v1/learners/NCS-7/assessments", "")
	if items, _ := list["assessments"].([]any); code != http.StatusOK || len(items) != 1 {
		t.Errorf("assessments of NCS-7 on B = %d %v, want the one recorded on A", code, list)
	}

	// Outreach: a campaign created on A is read on B; the same id on B is refused.
	campaign := `{"display_name":"Radio City","channel":"CHANNEL_RADIO","messenger":"MESSENGER_LOCAL_AUTHORITY","start_date":"2020-09-01","end_date":"2020-11-30","cost_pence":100,"utm_campaign":"radio_pg"}`
	if code, body := a.post(t, "/v1/areas/E37000022/campaigns?campaign_id=radio-pg", campaign); code != http.StatusOK {
		t.Fatalf("campaign on A = %d %v", code, body)
	}
	if code, _ := b.get(t, "/v1/areas/E37000022/campaigns/radio-pg"); code != http.StatusOK {
		t.Errorf("campaign on B = %d, want 200", code)
	}
	if code, _ := b.post(t, "/v1/areas/E37000022/campaigns?campaign_id=radio-pg", campaign); code != http.StatusConflict {
		t.Errorf("same campaign id on B = %d, want 409", code)
	}

	// Courses: a course created on A is found by a search on B once B's index has
	// followed the change feed.
	if code, body := a.do(t, "POST", "/v1/areas/E37000060/providers?provider_id=10000001", lincsProvider); code != http.StatusOK {
		t.Fatalf("provider on A = %d %v", code, body)
	}
	if code, body := a.do(t, "POST", "/v1/areas/E37000060/courses?course_id=care-pg", lincsCourse); code != http.StatusOK {
		t.Fatalf("course on A = %d %v", code, body)
	}
	found := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !found; time.Sleep(100 * time.Millisecond) {
		_, res := b.do(t, "GET", "/v1/courses:search?postcode=LN1%203BL&keyword=adult%20care&page_size=50", "")
		items, _ := res["results"].([]any)
		for _, it := range items {
			if strings.Contains(stringify(it), "areas/E37000060/courses/care-pg") {
				found = true
			}
		}
	}
	if !found {
		t.Error("a search on B never found the course created on A")
	}
	if code, _ := b.do(t, "POST", "/v1/areas/E37000060/courses?course_id=care-pg", lincsCourse); code != http.StatusConflict {
		t.Errorf("same course on B = %d, want 409", code)
	}
}

func stringify(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			b.WriteString(v + " ")
		}
	}
	walk(v)
	return b.String()
}
