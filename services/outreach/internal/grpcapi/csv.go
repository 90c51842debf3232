package grpcapi

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
)

// csvHeader is the one table of an export: every row says which table of the report it
// belongs to, so the file is one rectangular RFC 4180 table that spreadsheets and
// dataframes read as it is.
func csvHeader() []string {
	return []string{"table", "key", "label", "stage", "conversions", "credited_conversions", "cost_pence",
		"cost_per_conversion_pence", "rate_numerator", "rate_denominator", "rate", "rate_lower_95", "rate_upper_95"}
}

// suppressed replaces a small count in exports.
const suppressed = "suppressed"

// exporter formats cells, suppressing counts from 1 to threshold-1 (statistical
// disclosure control: a small count can identify a person in a small area).
type exporter struct{ threshold int }

func (e exporter) small(v float64) bool { return v > 0 && v < float64(e.threshold) }

func (e exporter) count(n int64) string {
	if e.small(float64(n)) {
		return suppressed
	}
	return strconv.FormatInt(n, 10)
}

func (e exporter) credit(v float64) string {
	if e.small(v) {
		return suppressed
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// costPer hides a cost per conversion whose conversions are hidden (it would reveal them).
func (e exporter) costPer(pence int64, conversions float64) string {
	if e.small(conversions) {
		return suppressed
	}
	return strconv.FormatInt(pence, 10)
}

// rate writes a rate, hidden whole when either count is small.
func (e exporter) rate(r *outreachv1.Rate) []string {
	if e.small(float64(r.GetNumerator())) || e.small(float64(r.GetDenominator())) {
		return []string{suppressed, suppressed, suppressed, suppressed, suppressed}
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	return []string{strconv.FormatInt(r.GetNumerator(), 10), strconv.FormatInt(r.GetDenominator(), 10), f(r.GetValue()), f(r.GetLower()), f(r.GetUpper())}
}

// safeText stops a spreadsheet from running a label as a formula (CSV injection).
func safeText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func stageName(s outreachv1.ConversionStage) string { return s.String() }

// exportCSV writes a report as CSV with small counts suppressed.
func exportCSV(rep *outreachv1.AttributionReport, threshold int) (string, error) {
	e := exporter{threshold: threshold}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rows := [][]string{csvHeader()}
	pad := func(r []string) []string {
		for len(r) < len(csvHeader()) {
			r = append(r, "")
		}
		return r
	}
	pp := rep.GetParameters()
	for _, kv := range [][2]string{
		{"parent", rep.GetParent()},
		{"stage", pp.GetStage().String()},
		{"model", pp.GetModel().String()},
		{"group_by", pp.GetGroupBy().String()},
		{"start_date", pp.GetStartDate()},
		{"end_date", pp.GetEndDate()},
		{"lookback_days", strconv.Itoa(int(pp.GetLookbackDays()))},
		{"half_life_hours", strconv.Itoa(int(pp.GetHalfLifeHours()))},
		{"eligibility_outcome", pp.GetEligibilityOutcome().String()},
		{"suppression_threshold", strconv.Itoa(threshold)},
	} {
		rows = append(rows, pad([]string{"parameter", kv[0], kv[1]}))
	}
	rows = append(rows, pad([]string{"total", "conversions", "", stageName(pp.GetStage()), e.count(rep.GetConversions())}))
	for _, f := range rep.GetFunnel() {
		r := []string{"funnel", stageName(f.GetStage()), "", stageName(f.GetStage()), e.count(f.GetConversions()), "",
			strconv.FormatInt(f.GetCostPence(), 10), e.costPer(f.GetCostPerConversionPence(), float64(f.GetConversions()))}
		rows = append(rows, append(r, e.rate(f.GetRate())...))
	}
	for _, a := range rep.GetRows() {
		r := []string{"attribution", a.GetKey(), safeText(a.GetDisplayName()), stageName(pp.GetStage()), "", e.credit(a.GetCreditedConversions()),
			strconv.FormatInt(a.GetCostPence(), 10), e.costPer(a.GetCostPerConversionPence(), a.GetCreditedConversions())}
		rows = append(rows, append(r, e.rate(a.GetConversionRate())...))
	}
	for _, m := range rep.GetMessengers() {
		for _, s := range m.GetStages() {
			r := []string{"messenger", m.GetMessenger().String(), enumLabel(m.GetMessenger().String(), "MESSENGER_"), stageName(s.GetStage()), "",
				e.credit(s.GetCreditedConversions()), strconv.FormatInt(m.GetCostPence(), 10), e.costPer(s.GetCostPerConversionPence(), s.GetCreditedConversions())}
			rows = append(rows, append(r, e.rate(s.GetConversionRate())...))
		}
	}
	if err := w.WriteAll(rows); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// exportFilename names an export after its parameters.
func exportFilename(rep *outreachv1.AttributionReport) string {
	area := strings.TrimPrefix(rep.GetParent(), "areas/")
	if area == "-" {
		area = "all-areas"
	}
	pp := rep.GetParameters()
	stage := strings.ToLower(strings.TrimPrefix(pp.GetStage().String(), "CONVERSION_STAGE_"))
	model := strings.ToLower(strings.TrimPrefix(pp.GetModel().String(), "ATTRIBUTION_MODEL_"))
	return "attribution-" + area + "-" + stage + "-" + model + "-" + pp.GetStartDate() + "-" + pp.GetEndDate() + ".csv"
}
