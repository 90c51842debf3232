package app

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestOutreachCampaigns(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	client := outreachv1.NewOutreachServiceClient(s.conn)

	code, body := s.post(t, "/v1/areas/E37000022/campaigns?campaign_id=radio-autumn", `{
		"display_name": "Radio City autumn", "channel": "CHANNEL_RADIO", "messenger": "MESSENGER_LOCAL_AUTHORITY",
		"start_date": "2020-09-01", "end_date": "2020-11-30", "cost_pence": 1500000, "utm_campaign": "radio_autumn"}`)
	if code != http.StatusOK || body["name"] != "areas/E37000022/campaigns/radio-autumn" || body["etag"] != "r1" || body["creator"] != "test-admin" {
		t.Fatalf("REST create = %d %v, want 200 with the name, etag r1 and creator test-admin", code, body)
	}
	created, err := client.CreateCampaign(ctx, &outreachv1.CreateCampaignRequest{
		Parent: "areas/E37000022", CampaignId: "union-leaflets",
		Campaign: &outreachv1.Campaign{DisplayName: "Union leaflets", Channel: outreachv1.Channel_CHANNEL_PRINT,
			Messenger: outreachv1.Messenger_MESSENGER_TRADE_UNION, StartDate: "2020-09-01", Codes: []string{"LEAF-1"}},
	})
	if err != nil || created.GetCampaign().GetCreateTime() == nil {
		t.Fatalf("gRPC create = %v, %v", created, err)
	}
	if _, err := client.CreateCampaign(ctx, &outreachv1.CreateCampaignRequest{Parent: "areas/E37000016", CampaignId: "employers",
		Campaign: &outreachv1.Campaign{DisplayName: "Employers", Channel: outreachv1.Channel_CHANNEL_EMPLOYER, Messenger: outreachv1.Messenger_MESSENGER_EMPLOYER, StartDate: "2020-10-01"},
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, path, body string
			want             int
			fields           []string
		}{
			{"id taken", "/v1/areas/E37000022/campaigns?campaign_id=radio-autumn",
				`{"display_name":"x","channel":"CHANNEL_RADIO","messenger":"MESSENGER_LOCAL_AUTHORITY","start_date":"2020-09-01"}`, http.StatusConflict, nil},
			{"code taken", "/v1/areas/E37000022/campaigns",
				`{"display_name":"x","channel":"CHANNEL_RADIO","messenger":"MESSENGER_LOCAL_AUTHORITY","start_date":"2020-09-01","codes":["leaf-1"]}`, http.StatusConflict, nil},
			{"bad fields", "/v1/areas/E37000022/campaigns?campaign_id=Bad_Id",
				`{"start_date":"2020-02-30","cost_pence":-1}`, http.StatusBadRequest,
				[]string{"campaign.channel", "campaign.cost_pence", "campaign.display_name", "campaign.messenger", "campaign.start_date", "campaign_id"}},
			{"bad area", "/v1/areas/liverpool/campaigns", `{}`, http.StatusBadRequest, []string{"parent"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, body := s.post(t, tt.path, tt.body)
				if code != tt.want {
					t.Fatalf("POST %s = %d %v, want %d", tt.path, code, body, tt.want)
				}
				if tt.fields != nil {
					if got := fieldViolations(body); !slices.Equal(got, tt.fields) {
						t.Errorf("violations = %v, want %v", got, tt.fields)
					}
				}
			})
		}
	})

	t.Run("get and list over REST", func(t *testing.T) {
		code, body := s.do(t, http.MethodGet, "/v1/areas/E37000022/campaigns/union-leaflets", "")
		if code != http.StatusOK || body["display_name"] != "Union leaflets" {
			t.Errorf("GET campaign = %d %v", code, body)
		}
		if code, body := s.do(t, http.MethodGet, "/v1/areas/E37000022/campaigns/nope", ""); code != http.StatusNotFound {
			t.Errorf("GET missing campaign = %d %v, want 404", code, body)
		}
		code, body = s.do(t, http.MethodGet, "/v1/areas/E37000022/campaigns", "")
		cs, _ := body["campaigns"].([]any)
		if code != http.StatusOK || len(cs) != 2 {
			t.Errorf("list E37000022 = %d %v, want 2 campaigns", code, body)
		}
	})

	t.Run("list every area in pages over gRPC", func(t *testing.T) {
		var names []string
		req := &outreachv1.ListCampaignsRequest{Parent: "areas/-", PageSize: 2}
		for range 5 {
			resp, err := client.ListCampaigns(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range resp.GetCampaigns() {
				names = append(names, c.GetName())
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		want := []string{"areas/E37000016/campaigns/employers", "areas/E37000022/campaigns/radio-autumn", "areas/E37000022/campaigns/union-leaflets"}
		if !slices.Equal(names, want) {
			t.Errorf("pages = %v, want %v", names, want)
		}
		_, err := client.ListCampaigns(ctx, &outreachv1.ListCampaignsRequest{Parent: "areas/E37000022", PageToken: req.GetPageToken()})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("token of another listing: %v, want INVALID_ARGUMENT", err)
		}
	})

	t.Run("update with mask and etag", func(t *testing.T) {
		code, body := s.do(t, http.MethodPatch, "/v1/areas/E37000022/campaigns/radio-autumn?update_mask=cost_pence",
			`{"cost_pence": 1600000, "display_name": "ignored", "etag": "r1"}`)
		if code != http.StatusOK || body["cost_pence"] != "1600000" || body["display_name"] != "Radio City autumn" || body["etag"] != "r2" {
			t.Fatalf("PATCH = %d %v, want cost changed only, etag r2", code, body)
		}
		code, body = s.do(t, http.MethodPatch, "/v1/areas/E37000022/campaigns/radio-autumn?update_mask=cost_pence", `{"cost_pence": 1, "etag": "r1"}`)
		if code != http.StatusBadRequest && code != http.StatusPreconditionFailed {
			t.Errorf("PATCH with a stale etag = %d %v, want FAILED_PRECONDITION", code, body)
		}
	})
}

// outreachBadRequests are malformed calls of the outreach REST API; TestBadInput sends
// them. (An event that is bad on its own is not one: its batch answers 200 with a result
// per event, see TestOutreachEventsAndReport.)
func outreachBadRequests() []badRequest {
	const campaigns = "/v1/areas/E37000022/campaigns"
	const record = "/v1/areas/E37000022/events:record"
	const run = "/v1/areas/E37000022/attribution:run?parameters.stage=CONVERSION_STAGE_ENROLMENT&parameters.start_date=2020-09-01&parameters.end_date=2020-09-30"
	good := `"display_name":"x","channel":"CHANNEL_RADIO","messenger":"MESSENGER_EMPLOYER","start_date":"2020-09-01"`
	return []badRequest{
		{"campaign: not JSON", "POST", campaigns, `display_name=x`, 400, ""},
		{"campaign: unknown field", "POST", campaigns, `{` + good + `,"colour":"red"}`, 400, ""},
		{"campaign: unknown channel", "POST", campaigns, `{"display_name":"x","channel":"CHANNEL_TV"}`, 400, ""},
		{"campaign: channel number out of range", "POST", campaigns, `{"display_name":"x","channel":99,"messenger":"MESSENGER_EMPLOYER","start_date":"2020-09-01"}`, 400, "campaign.channel"},
		{"campaign: cost as text", "POST", campaigns, `{` + good + `,"cost_pence":"lots"}`, 400, ""},
		{"campaign: negative cost", "POST", campaigns, `{` + good + `,"cost_pence":-5}`, 400, "campaign.cost_pence"},
		{"campaign: end before start", "POST", campaigns, `{` + good + `,"end_date":"2020-08-01"}`, 400, "campaign.end_date"},
		{"campaign: name too long", "POST", campaigns, `{"display_name":"` + strings.Repeat("x", 300) + `","channel":"CHANNEL_RADIO","messenger":"MESSENGER_EMPLOYER","start_date":"2020-09-01"}`, 400, "campaign.display_name"},
		{"campaign: code with spaces", "POST", campaigns, `{` + good + `,"codes":["A B"]}`, 400, "campaign.codes"},
		{"campaign: id too long", "POST", campaigns + "?campaign_id=" + strings.Repeat("a", 64), `{` + good + `}`, 400, "campaign_id"},
		{"campaign: area not an ONS code", "POST", "/v1/areas/E3700002/campaigns", `{` + good + `}`, 400, "parent"},
		{"campaign: get with a bad name", "GET", campaigns + "/Radio", ``, 400, "name"},
		{"campaign: list with a negative page size", "GET", campaigns + "?page_size=-1", ``, 400, "page_size"},
		{"campaign: list with a forged token", "GET", campaigns + "?page_token=bm9wZQ", ``, 400, "page_token"},
		{"campaign: update mask names no field", "PATCH", campaigns + "/radio?update_mask=name", `{"display_name":"y"}`, 400, "update_mask"},
		{"campaign: update of a missing campaign", "PATCH", campaigns + "/missing", `{` + good + `}`, 404, ""},
		{"events: not JSON", "POST", record, `events`, 400, ""},
		{"events: not a list", "POST", record, `{"events":{"event_id":"a"}}`, 400, ""},
		{"events: none", "POST", record, `{"events":[]}`, 400, "events"},
		{"events: bad timestamp syntax", "POST", record, `{"events":[{"event_id":"a","occur_time":"yesterday"}]}`, 400, ""},
		{"events: both touch and conversion", "POST", record, `{"events":[{"event_id":"a","touch":{},"conversion":{}}]}`, 400, ""},
		{"events: bad parent", "POST", "/v1/areas/nowhere/events:record", `{"events":[{"event_id":"a"}]}`, 400, "parent"},
		{"report: no stage", "GET", "/v1/areas/E37000022/attribution:run?parameters.start_date=2020-09-01&parameters.end_date=2020-09-30", ``, 400, "parameters.stage"},
		{"report: no dates", "GET", "/v1/areas/E37000022/attribution:run?parameters.stage=CONVERSION_STAGE_ENROLMENT", ``, 400, "parameters.start_date"},
		{"report: impossible date", "GET", "/v1/areas/-/attribution:run?parameters.stage=CONVERSION_STAGE_ENROLMENT&parameters.start_date=2020-02-30&parameters.end_date=2020-09-30", ``, 400, "parameters.start_date"},
		{"report: lookback over 90 days", "GET", run + "&parameters.lookback_days=91", ``, 400, "parameters.lookback_days"},
		{"report: negative half-life", "GET", run + "&parameters.half_life_hours=-1", ``, 400, "parameters.half_life_hours"},
		{"report: unknown model", "GET", run + "&parameters.model=ATTRIBUTION_MODEL_MAGIC", ``, 400, ""},
		{"report: model number out of range", "GET", run + "&parameters.model=42", ``, 400, ""},
		{"report: range over three years", "GET", "/v1/areas/-/attribution:run?parameters.stage=CONVERSION_STAGE_ENROLMENT&parameters.start_date=2010-01-01&parameters.end_date=2020-01-01", ``, 400, "parameters.end_date"},
		{"export: no stage", "GET", "/v1/areas/E37000022/attribution:export?parameters.start_date=2020-09-01&parameters.end_date=2020-09-30", ``, 400, "parameters.stage"},
	}
}

// outreachEventJSON is an event of the REST batch.
func outreachEventJSON(id, journey string, at time.Time, detail string) string {
	return fmt.Sprintf(`{"event_id":%q,"journey_id":%q,"occur_time":%q,%s}`, id, journey, at.UTC().Format(time.RFC3339Nano), detail)
}

func TestOutreachEventsAndReport(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	client := outreachv1.NewOutreachServiceClient(s.conn)
	for _, c := range []*outreachv1.CreateCampaignRequest{
		{Parent: "areas/E37000022", CampaignId: "radio", Campaign: &outreachv1.Campaign{DisplayName: "Radio", Channel: outreachv1.Channel_CHANNEL_RADIO,
			Messenger: outreachv1.Messenger_MESSENGER_LOCAL_AUTHORITY, StartDate: "2020-01-01", CostPence: 500000, UtmCampaign: "radio_2020"}},
		{Parent: "areas/E37000022", CampaignId: "leaflets", Campaign: &outreachv1.Campaign{DisplayName: "Leaflets", Channel: outreachv1.Channel_CHANNEL_PRINT,
			Messenger: outreachv1.Messenger_MESSENGER_NATIONAL_BODY, StartDate: "2020-01-01", CostPence: 100000, Codes: []string{"LEAF7"}}},
	} {
		if _, err := client.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	day := 24 * time.Hour
	touchRadio := `"touch":{"source":"TOUCH_SOURCE_CAMPAIGN_LINK","code":"radio_2020"}`
	touchLeaflet := `"touch":{"source":"TOUCH_SOURCE_CODE_ENTERED","code":"leaf7"}`
	batch := []string{
		outreachEventJSON("ev-1", "journey-a", now.Add(-5*day), touchRadio),
		outreachEventJSON("ev-2", "journey-a", now.Add(-4*day), touchLeaflet),
		outreachEventJSON("ev-3", "journey-a", now.Add(-3*day), `"conversion":{"stage":"CONVERSION_STAGE_ELIGIBILITY_CHECKED","eligibility_outcome":"ELIGIBILITY_OUTCOME_ELIGIBLE"}`),
		outreachEventJSON("ev-4", "journey-a", now.Add(-2*day), `"conversion":{"stage":"CONVERSION_STAGE_ENROLMENT"}`),
		outreachEventJSON("ev-5", "journey-b", now.Add(-2*day), touchLeaflet),
		// Bad events: each gets its own error, the good ones land.
		`{"event_id":"ev-6","journey_id":"journey-b","touch":{"source":"TOUCH_SOURCE_DIRECT"}}`,
		outreachEventJSON("ev-7", "journey-b", now.Add(-day), `"touch":{"source":"TOUCH_SOURCE_CODE_ENTERED","code":"NOPE"}`),
		outreachEventJSON("ev-8", "journey-b", now.Add(2*time.Hour), `"touch":{"source":"TOUCH_SOURCE_DIRECT"}`),
		outreachEventJSON("ev-9", "journey-b", now.Add(-day), `"conversion":{"stage":"CONVERSION_STAGE_ELIGIBILITY_CHECKED"}`),
		outreachEventJSON("ev-4", "journey-a", now.Add(-2*day), `"conversion":{"stage":"CONVERSION_STAGE_ENROLMENT"}`),
	}
	body := `{"events":[` + strings.Join(batch, ",") + `]}`
	code, resp := s.post(t, "/v1/areas/E37000022/events:record", body)
	if code != http.StatusOK {
		t.Fatalf("record = %d %v", code, resp)
	}
	type result struct {
		status string
		http   float64
		fields []string
	}
	results := func(resp map[string]any) []result {
		var out []result
		rs, _ := resp["results"].([]any)
		for _, r := range rs {
			m, _ := r.(map[string]any)
			res := result{status: fmt.Sprint(m["status"])}
			res.http, _ = m["http_status"].(float64)
			vs, _ := m["field_violations"].([]any)
			for _, v := range vs {
				vm, _ := v.(map[string]any)
				res.fields = append(res.fields, fmt.Sprint(vm["field"]))
			}
			out = append(out, res)
		}
		return out
	}
	want := []result{
		{"EVENT_STATUS_ACCEPTED", 200, nil}, {"EVENT_STATUS_ACCEPTED", 200, nil}, {"EVENT_STATUS_ACCEPTED", 200, nil},
		{"EVENT_STATUS_ACCEPTED", 200, nil}, {"EVENT_STATUS_ACCEPTED", 200, nil},
		{"EVENT_STATUS_INVALID", 400, []string{"occur_time"}},
		{"EVENT_STATUS_INVALID", 400, []string{"touch.code"}},
		{"EVENT_STATUS_INVALID", 400, []string{"occur_time"}},
		{"EVENT_STATUS_INVALID", 400, []string{"conversion.eligibility_outcome"}},
		{"EVENT_STATUS_DUPLICATE", 200, nil},
	}
	if got := results(resp); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("results:\n got %v\nwant %v", got, want)
	}
	if resp["accepted_count"] != float64(5) || resp["duplicate_count"] != float64(1) || resp["rejected_count"] != float64(4) {
		t.Errorf("counts = %v %v %v, want 5 1 4", resp["accepted_count"], resp["duplicate_count"], resp["rejected_count"])
	}

	t.Run("resend: duplicates and a conflict", func(t *testing.T) {
		resend := `{"events":[` + batch[0] + `,` + strings.Replace(batch[3], "ENROLMENT", "COMPLETION", 1) + `]}`
		code, resp := s.post(t, "/v1/areas/E37000022/events:record", resend)
		want := []result{{"EVENT_STATUS_DUPLICATE", 200, nil}, {"EVENT_STATUS_CONFLICT", 409, nil}}
		if got := results(resp); code != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("resend = %d %v, want %v", code, got, want)
		}
		// Resent with a new send time: the same event, skew corrected the same way.
		sent := `{"events":[{"event_id":"ev-1","journey_id":"journey-a","occur_time":"` + now.Add(-5*day).UTC().Format(time.RFC3339Nano) +
			`","send_time":"` + now.UTC().Format(time.RFC3339Nano) + `",` + touchRadio + `}]}`
		if _, resp := s.post(t, "/v1/areas/E37000022/events:record", sent); fmt.Sprint(results(resp)) != fmt.Sprint([]result{{"EVENT_STATUS_DUPLICATE", 200, nil}}) {
			t.Errorf("resend with a send time = %v, want a duplicate", results(resp))
		}
	})

	t.Run("whole-batch errors", func(t *testing.T) {
		if code, body := s.post(t, "/v1/areas/E37000022/events:record", `{"events":[]}`); code != http.StatusBadRequest || !slices.Equal(fieldViolations(body), []string{"events"}) {
			t.Errorf("empty batch = %d %v, want 400 naming events", code, body)
		}
		many := make([]string, 501)
		for i := range many {
			many[i] = outreachEventJSON(fmt.Sprintf("m-%d", i), "j", now, touchRadio)
		}
		if code, _ := s.post(t, "/v1/areas/E37000022/events:record", `{"events":[`+strings.Join(many, ",")+`]}`); code != http.StatusBadRequest {
			t.Errorf("501 events = %d, want 400", code)
		}
	})

	t.Run("stream from a LEP system", func(t *testing.T) {
		stream, err := client.StreamEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conv := func(id, journey string, stage outreachv1.ConversionStage) *outreachv1.Event {
			return &outreachv1.Event{EventId: id, JourneyId: journey, OccurTime: timestamppb.New(now.Add(-day)),
				Detail: &outreachv1.Event_Conversion{Conversion: &outreachv1.Conversion{Stage: stage}}}
		}
		for _, b := range []*outreachv1.StreamEventsRequest{
			{Parent: "areas/E37000022", Events: []*outreachv1.Event{conv("lep-1", "journey-b", outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT)}},
			{Parent: "areas/-", Events: []*outreachv1.Event{
				conv("lep-2", "journey-b", outreachv1.ConversionStage_CONVERSION_STAGE_COMPLETION), // no area with areas/-
				conv("lep-1", "journey-b", outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT),
			}},
		} {
			if b.GetParent() == "areas/-" {
				b.Events[1].Area = "E37000022"
			}
			if err := stream.Send(b); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetAcceptedCount() != 1 || resp.GetDuplicateCount() != 1 || resp.GetRejectedCount() != 1 ||
			len(resp.GetRejected()) != 1 || resp.GetRejected()[0].GetIndex() != 1 || resp.GetRejected()[0].GetFieldViolations()[0].GetField() != "area" {
			t.Errorf("stream = %v, want 1 accepted, 1 duplicate and event 1 refused for its area", resp)
		}
	})

	london, _ := time.LoadLocation("Europe/London")
	start, end := now.Add(-10*day).In(london).Format(time.DateOnly), now.In(london).Format(time.DateOnly)
	query := "?parameters.stage=CONVERSION_STAGE_ENROLMENT&parameters.start_date=" + start + "&parameters.end_date=" + end

	t.Run("report over REST", func(t *testing.T) {
		code, rep := s.do(t, http.MethodGet, "/v1/areas/E37000022/attribution:run"+query+"&parameters.model=ATTRIBUTION_MODEL_LINEAR", "")
		if code != http.StatusOK {
			t.Fatalf("report = %d %v", code, rep)
		}
		if rep["conversions"] != "2" {
			t.Errorf("conversions = %v, want 2 (journey a from the front end, journey b from the LEP stream)", rep["conversions"])
		}
		credit := map[string]float64{}
		rows, _ := rep["rows"].([]any)
		for _, r := range rows {
			m, _ := r.(map[string]any)
			c, _ := m["credited_conversions"].(float64)
			credit[fmt.Sprint(m["key"])] = c
		}
		// Journey a: radio then leaflet, half each; journey b: the leaflet alone.
		wantCredit := map[string]float64{"areas/E37000022/campaigns/radio": 0.5, "areas/E37000022/campaigns/leaflets": 1.5}
		for k, v := range wantCredit {
			if credit[k] != v {
				t.Errorf("credit[%s] = %v, want %v (rows %v)", k, credit[k], v, credit)
			}
		}
		funnel, _ := rep["funnel"].([]any)
		if len(funnel) != 5 {
			t.Fatalf("funnel = %v, want 5 stages", funnel)
		}
		if f0, _ := funnel[0].(map[string]any); f0["conversions"] != "1" {
			t.Errorf("eligibility checks = %v, want 1", f0["conversions"])
		}
	})

	t.Run("report errors", func(t *testing.T) {
		code, body := s.do(t, http.MethodGet, "/v1/areas/-/attribution:run?parameters.lookback_days=91&parameters.start_date=2020-09-30&parameters.end_date=2020-09-01", "")
		want := []string{"parameters.end_date", "parameters.lookback_days", "parameters.stage"}
		if code != http.StatusBadRequest || !slices.Equal(fieldViolations(body), want) {
			t.Errorf("bad report = %d %v, want 400 naming %v", code, fieldViolations(body), want)
		}
	})

	t.Run("markov and shapley over gRPC", func(t *testing.T) {
		for _, m := range []outreachv1.AttributionModel{outreachv1.AttributionModel_ATTRIBUTION_MODEL_MARKOV, outreachv1.AttributionModel_ATTRIBUTION_MODEL_SHAPLEY} {
			resp, err := client.RunAttributionReport(ctx, &outreachv1.RunAttributionReportRequest{Parent: "areas/-", Parameters: &outreachv1.ReportParameters{
				Stage: outreachv1.ConversionStage_CONVERSION_STAGE_ENROLMENT, Model: m, GroupBy: outreachv1.GroupBy_GROUP_BY_MESSENGER, StartDate: start, EndDate: end,
			}})
			if err != nil {
				t.Fatalf("%v: %v", m, err)
			}
			var sum float64
			for _, r := range resp.GetReport().GetRows() {
				sum += r.GetCreditedConversions()
			}
			if resp.GetReport().GetConversions() != 2 || sum < 1.999999 || sum > 2.000001 {
				t.Errorf("%v: %d conversions, credit %v, want 2 and 2", m, resp.GetReport().GetConversions(), sum)
			}
		}
	})

	t.Run("CSV export with suppression", func(t *testing.T) {
		code, body := s.do(t, http.MethodGet, "/v1/areas/E37000022/attribution:export"+query, "")
		if code != http.StatusOK {
			t.Fatalf("export = %d %v", code, body)
		}
		doc, _ := body["csv"].(string)
		records, err := csv.NewReader(strings.NewReader(doc)).ReadAll()
		if err != nil {
			t.Fatalf("export is not CSV: %v\n%s", err, doc)
		}
		if len(records) < 10 || records[0][0] != "table" {
			t.Fatalf("export has %d records, header %v", len(records), records[0])
		}
		for _, r := range records {
			if r[0] == "total" && r[4] != "suppressed" {
				t.Errorf("total of 2 conversions exported as %q, want suppressed below 10", r[4])
			}
		}
		if !strings.HasSuffix(fmt.Sprint(body["filename"]), ".csv") {
			t.Errorf("filename = %v", body["filename"])
		}
	})

	t.Run("no journey id in the logs", func(t *testing.T) {
		for _, e := range s.logs.All() {
			line, _ := json.Marshal(map[string]any{"msg": e.Message, "fields": e.ContextMap()})
			if strings.Contains(string(line), "journey-a") || strings.Contains(string(line), "journey-b") {
				t.Errorf("log line holds a journey id: %s", line)
			}
		}
	})
}
