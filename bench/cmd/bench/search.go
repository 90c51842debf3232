package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/bench/internal/load"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
)

// The generated catalogue and the searches, as in the courses service's own in-process
// benchmark (services/courses/internal/catalog/bench_test.go), so the REST figure and the
// in-process one measure the same searches over the same kind of catalogue.
var (
	benchQuals    = []string{"Diploma", "Certificate", "Extended Certificate", "Award", "Higher National Certificate"}
	benchSubjects = []string{"Accounting", "Adult Care", "Engineering Maintenance", "Electrical Installation", "Cyber Security", "Software Development", "Digital Marketing", "Management and Leadership", "Hospitality Supervision", "Supporting Teaching and Learning", "Occupational Health and Safety", "Agriculture", "Logistics Operations", "Plumbing and Heating", "Counselling", "CNC Machining", "Construction Site Supervision", "Business Administration", "Data Analysis", "Early Years Education"}
	benchWords    = strings.Fields("skills practical workplace learners employers industry assessment portfolio theory safety customers teams planning systems quality equipment maintenance records software design analysis budget people support care community digital online project management leadership communication standards regulations technology processes evening weekend release modules units progression apprenticeship career")
	// searchLearners live in every pilot area; searchKeywords are whole words and prefixes.
	searchLearners = []string{"LN2 1AB", "EX2 4AA", "ST3 1AA", "LS6 1AA", "B5 4AA", "L8 1AA", "DN32 7AA", "PL3 4AA", "WF2 9AA", "CV3 1AA"}
	searchKeywords = []string{"accounting", "care", "engin", "cyber security", "manag", "plumbing", "data", "digital marketing"}
)

var (
	deliveryWords   = []string{"classroom", "online", "work-based", "blended"}
	studyWords      = []string{"full-time", "part-time", "flexible"}
	attendanceWords = []string{"daytime", "evening", "weekend", "day-block-release"}
)

// districts reads the built-in postcode district table: area code -> districts in it.
func districts(root string) (map[string][]string, error) {
	fh, err := os.Open(filepath.Join(root, "platform", "postcode", "districts.csv"))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ",")
		if len(parts) != 5 || strings.HasPrefix(parts[0], "#") {
			continue
		}
		for _, a := range strings.Fields(parts[4]) {
			out[a] = append(out[a], parts[0])
		}
	}
	return out, sc.Err()
}

// courseCSV generates n courses of area in the import format, with venues spread over
// every postcode district of the area and the area's own providers, discounts and
// approved learning aims, so every row is valid and a new course.
func courseCSV(rng *rand.Rand, prefix string, area *coursesv1.Area, provs []*coursesv1.Provider, dists []string, n int) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"course_id", "learning_aim_reference", "title", "description", "level", "sector_subject_area", "awarding_body",
		"provider_ukprn", "venue_postcode", "delivery_mode", "study_mode", "attendance_pattern", "duration_value", "duration_unit",
		"start_date", "flexible_start", "full_cost_pence", "modular", "discount_percent"})
	aims := area.GetRules().GetApprovedLearningAims()
	if !area.GetRules().GetApprovedListRequired() || len(aims) == 0 {
		aims = []string{"60318011", "60323452", "60399999"}
	}
	discounts := area.GetDiscountPercents()
	today := time.Now()
	for i := range n {
		subj := benchSubjects[rng.IntN(len(benchSubjects))]
		lvl := strconv.Itoa(3 + rng.IntN(3))
		desc := make([]string, 0, 32)
		for range 12 + rng.IntN(20) {
			desc = append(desc, benchWords[rng.IntN(len(benchWords))])
		}
		delivery := rng.IntN(len(deliveryWords))
		venue, attendance := dists[rng.IntN(len(dists))]+" 2AB", attendanceWords[rng.IntN(len(attendanceWords))]
		if deliveryWords[delivery] == "online" {
			venue, attendance = "", ""
		}
		_ = w.Write([]string{
			fmt.Sprintf("%s-%06d", prefix, i), aims[rng.IntN(len(aims))],
			fmt.Sprintf("Level %s %s in %s", lvl, benchQuals[rng.IntN(len(benchQuals))], subj),
			strings.Join(desc, " ") + " " + strings.ToLower(subj), lvl,
			fmt.Sprintf("%d.%d", 1+rng.IntN(15), 1+rng.IntN(4)), "Pearson",
			provs[rng.IntN(len(provs))].GetUkprn(), venue, deliveryWords[delivery],
			studyWords[rng.IntN(len(studyWords))], attendance, strconv.Itoa(4 + rng.IntN(40)), "weeks",
			today.AddDate(0, 0, 14+rng.IntN(365)).Format(time.DateOnly), "false",
			strconv.Itoa(20000 + rng.IntN(400000)), strconv.FormatBool(rng.IntN(2) == 0),
			strconv.Itoa(int(discounts[rng.IntN(len(discounts))])),
		})
	}
	w.Flush()
	return buf.Bytes()
}

// loadCourses imports total generated courses into the running binary, spread evenly over
// the pilot areas, one ImportCourses stream per area sent by the area's LEP (the bulk
// upsert path of LEP systems). It returns the rows written and the time the imports took.
func (h *harness) loadCourses(ctx context.Context, run string, total int) (int, time.Duration, error) {
	dists, err := districts(h.o.root)
	if err != nil {
		return 0, 0, err
	}
	conns, err := clientConns(h.grpc, h.token, 1)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll(conns)
	areas, err := coursesv1.NewCoursesServiceClient(conns[0]).ListAreas(ctx, &coursesv1.ListAreasRequest{PageSize: 100})
	if err != nil {
		return 0, 0, fmt.Errorf("list areas: %w", err)
	}
	n := len(areas.GetAreas())
	if n == 0 {
		return 0, 0, fmt.Errorf("no pilot areas")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	written := 0
	var took time.Duration
	for i, a := range areas.GetAreas() {
		code := a.GetOnsCode()
		rows := total / n
		if i < total%n {
			rows++
		}
		if len(dists[code]) == 0 {
			return 0, 0, fmt.Errorf("no postcode districts for %s", code)
		}
		tok, err := h.mint("lep", code)
		if err != nil {
			return 0, 0, err
		}
		lc, err := clientConns(h.grpc, tok, 1)
		if err != nil {
			return 0, 0, err
		}
		client := coursesv1.NewCoursesServiceClient(lc[0])
		provs, err := loanProviders(ctx, client, code)
		if err != nil {
			closeAll(lc)
			return 0, 0, err
		}
		data := courseCSV(rng, run+"-"+strings.ToLower(code), a, provs, dists[code], rows)
		t0 := time.Now()
		resp, err := importCSV(ctx, client, code, data)
		took += time.Since(t0)
		closeAll(lc)
		if err != nil {
			return 0, 0, fmt.Errorf("import into %s: %w", code, err)
		}
		if resp.GetInvalidCount() > 0 {
			for _, r := range resp.GetRows() {
				if r.GetStatus() == coursesv1.ImportRowStatus_IMPORT_ROW_STATUS_INVALID {
					return 0, 0, fmt.Errorf("import into %s: %d rows invalid, the first (row %d): %v", code, resp.GetInvalidCount(), r.GetRow(), r.GetViolations())
				}
			}
		}
		written += int(resp.GetCreatedCount() + resp.GetUpdatedCount())
	}
	return written, took, nil
}

// importCSV streams data to ImportCourses in 1 MiB pieces.
func importCSV(ctx context.Context, c coursesv1.CoursesServiceClient, area string, data []byte) (*coursesv1.ImportCoursesResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	stream, err := c.ImportCourses(ctx)
	if err != nil {
		return nil, err
	}
	const piece = 1 << 20
	for off := 0; off < len(data); off += piece {
		req := &coursesv1.ImportCoursesRequest{CsvData: data[off:min(off+piece, len(data))]}
		if off == 0 {
			req.Parent = "areas/" + area
		}
		if err := stream.Send(req); err != nil {
			if err == io.EOF {
				break // the server answered early: CloseAndRecv has its status
			}
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

// restSearchLoad drives GET /v1/courses:search with a typical learner search (postcode,
// 20 miles, keyword, level 3), rotating over learners in every area and keywords.
func restSearchLoad(ctx context.Context, base, token string, o load.Options) load.Result {
	urls := searchURLs(base)
	tr := &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return load.Run(ctx, o, func(ctx context.Context, w, seq int) error {
		status, _, err := get(ctx, client, urls[(w+seq*o.Concurrency)%len(urls)], token)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		return err
	})
}

// searchURLs are the searches driven over REST: every learner with every keyword.
func searchURLs(base string) []string {
	urls := make([]string, 0, len(searchLearners)*len(searchKeywords))
	for i := range len(searchLearners) * len(searchKeywords) {
		q := url.Values{}
		q.Set("postcode", searchLearners[i%len(searchLearners)])
		q.Set("distance_miles", "20")
		q.Set("keyword", searchKeywords[i%len(searchKeywords)])
		q.Set("levels", "3")
		urls = append(urls, base+"/v1/courses:search?"+q.Encode())
	}
	return urls
}

// searchMatches runs every search once and returns the mean number of courses found, so a
// run over searches that find nothing is not mistaken for a fast search.
func searchMatches(ctx context.Context, base, token string) (float64, error) {
	urls := searchURLs(base)
	total := 0
	for _, u := range urls {
		status, body, err := get(ctx, http.DefaultClient, u, token)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d: %s", status, body)
		}
		if err != nil {
			return 0, fmt.Errorf("search: %w", err)
		}
		var resp struct {
			TotalSize int `json:"total_size"` // the gateway writes proto field names
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return 0, fmt.Errorf("search answer: %w", err)
		}
		total += resp.TotalSize
	}
	return float64(total) / float64(len(urls)), nil
}

func get(ctx context.Context, c *http.Client, url, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
