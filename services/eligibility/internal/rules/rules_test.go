package rules_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
)

func day(y int, m time.Month, d int) civil.Date {
	return civil.Date{Year: y, Month: m, Day: d}
}

func ptr[T any](v T) *T { return &v }

func builtin(t testing.TB) rules.Ruleset {
	t.Helper()
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatalf("Builtin() = %v", err)
	}
	return rs
}

func TestLevel(t *testing.T) {
	tests := []struct {
		l     rules.Level
		name  string
		valid bool
	}{
		{rules.LevelUnspecified, "RQF_LEVEL_UNSPECIFIED", false},
		{rules.LevelNone, "RQF_LEVEL_NONE", true},
		{rules.LevelEntry, "RQF_LEVEL_ENTRY", true},
		{rules.Level1, "RQF_LEVEL_1", true},
		{rules.Level2, "RQF_LEVEL_2", true},
		{rules.Level3, "RQF_LEVEL_3", true},
		{rules.Level4, "RQF_LEVEL_4", true},
		{rules.Level5, "RQF_LEVEL_5", true},
		{rules.Level6, "RQF_LEVEL_6", true},
		{rules.Level7, "RQF_LEVEL_7", true},
		{rules.Level8, "RQF_LEVEL_8", true},
		{rules.Level(11), "Level(11)", false},
		{rules.Level(-1), "Level(-1)", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i <= 10 && int(tt.l) != i {
				t.Errorf("%v = %d, want %d to match the protobuf enum", tt.name, int(tt.l), i)
			}
			if got := tt.l.String(); got != tt.name {
				t.Errorf("Level(%d).String() = %q, want %q", int(tt.l), got, tt.name)
			}
			if got := tt.l.Valid(); got != tt.valid {
				t.Errorf("Level(%d).Valid() = %v, want %v", int(tt.l), got, tt.valid)
			}
			got, ok := rules.ParseLevel(tt.name)
			if wantOK := i <= 10; ok != wantOK || (ok && got != tt.l) {
				t.Errorf("ParseLevel(%q) = %v, %v, want %v, %v", tt.name, got, ok, tt.l, wantOK)
			}
		})
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		v    interface{ String() string }
		want string
	}{
		{rules.CriterionUnspecified, "UNSPECIFIED"},
		{rules.CriterionAge, "AGE"},
		{rules.CriterionQualification, "QUALIFICATION"},
		{rules.CriterionSalary, "SALARY"},
		{rules.CriterionArea, "AREA"},
		{rules.Criterion(9), "Criterion(9)"},
		{rules.StatusUnspecified, "UNSPECIFIED"},
		{rules.StatusMet, "MET"},
		{rules.StatusNotMet, "NOT_MET"},
		{rules.StatusUnknown, "UNKNOWN"},
		{rules.Status(9), "Status(9)"},
		{rules.OutcomeUnspecified, "UNSPECIFIED"},
		{rules.OutcomeEligible, "ELIGIBLE"},
		{rules.OutcomeNotEligible, "NOT_ELIGIBLE"},
		{rules.OutcomeUndetermined, "UNDETERMINED"},
		{rules.Outcome(9), "Outcome(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.v.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
	// The values are those of the protobuf enums.
	if rules.CriterionArea != 4 || rules.StatusUnknown != 3 || rules.OutcomeUndetermined != 3 {
		t.Errorf("enum values changed: CriterionArea=%d StatusUnknown=%d OutcomeUndetermined=%d, want 4, 3, 3",
			rules.CriterionArea, rules.StatusUnknown, rules.OutcomeUndetermined)
	}
}

func TestFormatPence(t *testing.T) {
	tests := []struct {
		p    int64
		want string
	}{
		{0, "£0.00"},
		{1, "£0.01"},
		{99, "£0.99"},
		{100, "£1.00"},
		{123456, "£1,234.56"},
		{3499999, "£34,999.99"},
		{3500000, "£35,000.00"},
		{100000000, "£1,000,000.00"},
		{-1234, "-£12.34"},
		{math.MaxInt64, "£92,233,720,368,547,758.07"},
		{math.MinInt64, "-£92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := rules.FormatPence(tt.p); got != tt.want {
				t.Errorf("FormatPence(%d) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

func TestParameterAt(t *testing.T) {
	p := rules.Parameter{Values: []rules.ParameterValue{
		{Start: day(2020, time.July, 1), Value: 1},
		{Start: day(2022, time.April, 1), Value: 2},
		{Start: day(2023, time.April, 1), Value: 3},
	}}
	reversed := rules.Parameter{Values: []rules.ParameterValue{p.Values[2], p.Values[1], p.Values[0]}}
	tests := []struct {
		name   string
		d      civil.Date
		want   int64
		wantOK bool
	}{
		{"before the first", day(2020, time.June, 30), 0, false},
		{"on the first", day(2020, time.July, 1), 1, true},
		{"day before a change", day(2022, time.March, 31), 1, true},
		{"on a change", day(2022, time.April, 1), 2, true},
		{"after the last", day(2030, time.January, 1), 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, param := range []rules.Parameter{p, reversed} {
				got, ok := param.At(tt.d)
				if ok != tt.wantOK || got.Value != tt.want {
					t.Errorf("At(%v) = %v, %v, want %v, %v", tt.d, got.Value, ok, tt.want, tt.wantOK)
				}
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	rs := builtin(t)
	if err := rs.Validate(); err != nil {
		t.Fatalf("Builtin().Validate() = %v", err)
	}
	if rs.Version != "gb-2020-07-01" {
		t.Errorf("Builtin().Version = %q, want %q", rs.Version, "gb-2020-07-01")
	}
	launch := day(2020, time.July, 1)
	tests := []struct {
		name string
		p    rules.Parameter
		want int64
	}{
		{"age_floor", rs.AgeFloor, 24},
		{"qualification_ceiling", rs.QualificationCeiling, int64(rules.Level5)},
		{"salary_threshold_pence", rs.SalaryThresholdPence, 3500000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.p.Values) != 1 {
				t.Fatalf("Builtin().%s has %d values, want 1", tt.name, len(tt.p.Values))
			}
			v := tt.p.Values[0]
			if v.Start != launch || v.Value != tt.want || !strings.Contains(v.Reference, "Get Help to Retrain") {
				t.Errorf("Builtin().%s = %+v, want %d from %v with a reference", tt.name, v, tt.want, launch)
			}
		})
	}
	if len(rs.LiveAreas) != 0 || len(rs.AreaOverrides) != 0 || !rs.PublishedAt.IsZero() {
		t.Errorf("Builtin() = %+v, want no live areas, no overrides and no publication time", rs)
	}

	// Each call is a fresh copy: changing one does not change the next.
	rs.AgeFloor.Values[0].Value = 99
	if again := builtin(t); again.AgeFloor.Values[0].Value != 24 {
		t.Errorf("Builtin() after changing an earlier copy has age floor %d, want 24", again.AgeFloor.Values[0].Value)
	}
}

func TestRulesetJSONRoundTrip(t *testing.T) {
	rs := builtin(t)
	rs.PublishedAt = time.Date(2024, time.March, 1, 9, 30, 0, 0, time.UTC)
	rs.AreaOverrides = map[string]rules.Overrides{
		"E37000022": {SalaryThresholdPence: &rules.Parameter{Values: []rules.ParameterValue{{Start: day(2021, time.April, 1), Value: 4000000, Reference: "r"}}}},
	}
	rs.LiveAreas = []rules.LiveArea{
		{Code: "E37000022", From: day(2020, time.July, 1)},
		{Code: "E37000060", From: day(2021, time.January, 1), Until: ptr(day(2021, time.December, 31)), Reference: "r"},
	}
	data, err := json.Marshal(rs)
	if err != nil {
		t.Fatalf("json.Marshal(ruleset) = %v", err)
	}
	for _, key := range []string{`"version"`, `"published_at"`, `"age_floor"`, `"qualification_ceiling"`, `"salary_threshold_pence"`, `"area_overrides"`, `"live_areas"`, `"start":"2020-07-01"`, `"until":"2021-12-31"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("json.Marshal(ruleset) = %s, want it to contain %s", data, key)
		}
	}
	back, err := rules.ParseRuleset(data)
	if err != nil {
		t.Fatalf("ParseRuleset(%s) = %v", data, err)
	}
	if !reflect.DeepEqual(back, rs) {
		t.Errorf("ParseRuleset(json.Marshal(rs)) = %+v, want %+v", back, rs)
	}

	// The built-in ruleset has no publication time and leaves the key out.
	data, err = json.Marshal(builtin(t))
	if err != nil || strings.Contains(string(data), "published_at") {
		t.Errorf("json.Marshal(Builtin()) = %s, %v, want no published_at", data, err)
	}
}

func TestParseRuleset(t *testing.T) {
	valid := `{"version":"v1",
		"age_floor":{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]},
		"qualification_ceiling":{"values":[{"start":"2020-07-01","value":7,"reference":"r"}]},
		"salary_threshold_pence":{"values":[{"start":"2020-07-01","value":3500000,"reference":"r"}]}`
	tests := []struct {
		name    string
		json    string
		wantErr string // "" for valid
	}{
		{"valid", valid + `}`, ""},
		{"valid with overrides and live areas", valid + `,
			"area_overrides":{"E37000022":{"age_floor":{"values":[{"start":"2021-01-01","value":19,"reference":"r"}]}}},
			"live_areas":[{"code":"E37000022","from":"2020-07-01","until":"2020-07-01"}]}`, ""},
		{"not JSON", `{`, "decode ruleset"},
		{"unknown field", valid + `,"salary_threshold":{}}`, "unknown field"},
		{"trailing data", valid + `} {}`, "after the ruleset"},
		{"impossible date", strings.Replace(valid, "2020-07-01", "2023-02-29", 1) + `}`, civil.ErrNotReal.Error()},
		{"no version", strings.Replace(valid, `"v1"`, `""`, 1) + `}`, "version is empty"},
		{"no values", strings.Replace(valid, `{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]}`, `{"values":[]}`, 1) + `}`, "age_floor: has no values"},
		{"missing parameter", `{"version":"v1",
			"age_floor":{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]},
			"qualification_ceiling":{"values":[{"start":"2020-07-01","value":7,"reference":"r"}]}}`, "salary_threshold_pence: has no values"},
		{"age too high", strings.Replace(valid, `"value":24`, `"value":121`, 1) + `}`, "age_floor.values[0]: age 121"},
		{"age negative", strings.Replace(valid, `"value":24`, `"value":-1`, 1) + `}`, "age_floor.values[0]: age -1"},
		{"level unspecified", strings.Replace(valid, `"value":7`, `"value":0`, 1) + `}`, "qualification_ceiling.values[0]: 0 is not a level"},
		{"level too high", strings.Replace(valid, `"value":7`, `"value":11`, 1) + `}`, "qualification_ceiling.values[0]: 11 is not a level"},
		{"negative salary", strings.Replace(valid, `"value":3500000`, `"value":-1`, 1) + `}`, "salary_threshold_pence.values[0]: amount -1"},
		{"no reference", strings.Replace(valid, `"value":24,"reference":"r"`, `"value":24,"reference":""`, 1) + `}`, "age_floor.values[0]: reference is empty"},
		{"no start", strings.Replace(valid, `"start":"2020-07-01","value":24`, `"value":24`, 1) + `}`, "age_floor.values[0]: start is not a real date"},
		{"unsorted", strings.Replace(valid, `{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]}`,
			`{"values":[{"start":"2021-07-01","value":24,"reference":"r"},{"start":"2020-07-01","value":25,"reference":"r"}]}`, 1) + `}`,
			"age_floor.values[1]: start 2020-07-01 is not after the previous start 2021-07-01"},
		{"duplicate start", strings.Replace(valid, `{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]}`,
			`{"values":[{"start":"2020-07-01","value":24,"reference":"r"},{"start":"2020-07-01","value":25,"reference":"r"}]}`, 1) + `}`,
			"age_floor.values[1]: start 2020-07-01 is not after"},
		{"bad override code", valid + `,"area_overrides":{"e37000022":{"age_floor":{"values":[{"start":"2021-01-01","value":19,"reference":"r"}]}}}}`,
			`area_overrides: "e37000022" is not an ONS area code`},
		{"short override code", valid + `,"area_overrides":{"E3700002":{"age_floor":{"values":[{"start":"2021-01-01","value":19,"reference":"r"}]}}}}`,
			`"E3700002" is not an ONS area code`},
		{"empty override", valid + `,"area_overrides":{"E37000022":{}}}`, "area_overrides[E37000022]: overrides nothing"},
		{"bad override value", valid + `,"area_overrides":{"E37000022":{"salary_threshold_pence":{"values":[{"start":"2021-01-01","value":-5,"reference":"r"}]}}}}`,
			"area_overrides[E37000022].salary_threshold_pence.values[0]: amount -5"},
		{"bad live area code", valid + `,"live_areas":[{"code":"Liverpool","from":"2020-07-01"}]}`, `live_areas[0]: "Liverpool" is not an ONS area code`},
		{"live area without from", valid + `,"live_areas":[{"code":"E37000022"}]}`, "live_areas[0]: from is not a real date"},
		{"live area until before from", valid + `,"live_areas":[{"code":"E37000022","from":"2020-07-01","until":"2020-06-30"}]}`,
			"live_areas[0]: until must be a real date on or after from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.ParseRuleset([]byte(tt.json))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ParseRuleset(%s) = %v, want no error", tt.json, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ParseRuleset(%s) = %v, want an error containing %q", tt.json, err, tt.wantErr)
			}
		})
	}
}

// TestValidateReportsEveryProblem checks that Validate does not stop at the
// first problem, so one edit can fix a rules file.
func TestValidateReportsEveryProblem(t *testing.T) {
	err := rules.Ruleset{}.Validate()
	for _, want := range []string{"version is empty", "age_floor: has no values", "qualification_ceiling: has no values", "salary_threshold_pence: has no values"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Ruleset{}.Validate() = %v, want an error containing %q", err, want)
		}
	}
}

func TestParseRequest(t *testing.T) {
	today := day(2024, time.June, 15)
	type violation = rules.FieldViolation
	tests := []struct {
		name string
		raw  rules.RawRequest
		want rules.Input
		// wantViolations lists the fields expected to be rejected, in order.
		wantViolations []string
	}{
		{
			name: "everything given",
			raw:  rules.RawRequest{DateOfBirth: "1990-05-20", Qualification: int32(rules.Level3), SalaryPence: ptr[int64](2500000), AsOf: "2024-01-31"},
			want: rules.Input{DateOfBirth: ptr(day(1990, time.May, 20)), Qualification: rules.Level3, SalaryPence: ptr[int64](2500000), AsOf: day(2024, time.January, 31)},
		},
		{
			name: "nothing given: as_of is today",
			raw:  rules.RawRequest{},
			want: rules.Input{AsOf: today},
		},
		{
			name: "highest level and zero salary",
			raw:  rules.RawRequest{Qualification: int32(rules.Level8), SalaryPence: ptr[int64](0)},
			want: rules.Input{Qualification: rules.Level8, SalaryPence: ptr[int64](0), AsOf: today},
		},
		{
			name: "born on the day of the check",
			raw:  rules.RawRequest{DateOfBirth: "2024-06-15"},
			want: rules.Input{DateOfBirth: ptr(today), AsOf: today},
		},
		{
			name: "as_of in 1900",
			raw:  rules.RawRequest{AsOf: "1900-01-01"},
			want: rules.Input{AsOf: day(1900, time.January, 1)},
		},
		{name: "date of birth not a date", raw: rules.RawRequest{DateOfBirth: "20/05/1990"}, wantViolations: []string{"date_of_birth"}},
		{name: "date of birth impossible", raw: rules.RawRequest{DateOfBirth: "1990-02-30"}, wantViolations: []string{"date_of_birth"}},
		{name: "date of birth year 0", raw: rules.RawRequest{DateOfBirth: "0000-02-03"}, wantViolations: []string{"date_of_birth"}},
		{name: "date of birth after today", raw: rules.RawRequest{DateOfBirth: "2024-06-16"}, wantViolations: []string{"date_of_birth"}},
		{name: "date of birth after as_of", raw: rules.RawRequest{DateOfBirth: "2000-01-02", AsOf: "2000-01-01"}, wantViolations: []string{"date_of_birth"}},
		{name: "qualification out of range", raw: rules.RawRequest{Qualification: 11}, wantViolations: []string{"highest_qualification"}},
		{name: "qualification negative", raw: rules.RawRequest{Qualification: -1}, wantViolations: []string{"highest_qualification"}},
		{name: "salary negative", raw: rules.RawRequest{SalaryPence: ptr[int64](-1)}, wantViolations: []string{"annual_salary_pence"}},
		{name: "as_of not a date", raw: rules.RawRequest{AsOf: "today"}, wantViolations: []string{"as_of"}},
		{name: "as_of impossible", raw: rules.RawRequest{AsOf: "2024-04-31"}, wantViolations: []string{"as_of"}},
		{name: "as_of before 1900", raw: rules.RawRequest{AsOf: "1899-12-31"}, wantViolations: []string{"as_of"}},
		{
			// With as_of unusable, date_of_birth is not also blamed for being after it.
			name:           "bad as_of does not make date of birth wrong",
			raw:            rules.RawRequest{DateOfBirth: "2030-01-01", AsOf: "2024-13-01"},
			wantViolations: []string{"as_of"},
		},
		{
			name:           "every field wrong at once",
			raw:            rules.RawRequest{DateOfBirth: "1990-13-01", Qualification: 42, SalaryPence: ptr[int64](-3500000), AsOf: "31/12/2024"},
			wantViolations: []string{"date_of_birth", "highest_qualification", "annual_salary_pence", "as_of"},
		},
		{
			name:           "two fields wrong",
			raw:            rules.RawRequest{DateOfBirth: "2025-01-01", SalaryPence: ptr[int64](-1)},
			wantViolations: []string{"date_of_birth", "annual_salary_pence"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rules.ParseRequest(tt.raw, today)
			if tt.wantViolations == nil {
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("ParseRequest(%+v) = %+v, %v, want %+v, nil", tt.raw, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, rules.ErrInvalid) {
				t.Fatalf("ParseRequest(%+v) = %v, want an error matching ErrInvalid", tt.raw, err)
			}
			var verr *rules.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("ParseRequest(%+v) = %T, want *ValidationError", tt.raw, err)
			}
			var fields []string
			for _, v := range verr.Violations {
				fields = append(fields, v.Field)
				if v.Description == "" {
					t.Errorf("ParseRequest(%+v) violation %+v has no description", tt.raw, v)
				}
				for _, value := range []string{tt.raw.DateOfBirth, tt.raw.AsOf} {
					if value != "" && strings.Contains(v.Description, value) {
						t.Errorf("ParseRequest(%+v) violation %+v repeats the value %q", tt.raw, v, value)
					}
				}
			}
			if !reflect.DeepEqual(fields, tt.wantViolations) {
				t.Errorf("ParseRequest(%+v) violations on %v, want %v", tt.raw, fields, tt.wantViolations)
			}
			for _, f := range tt.wantViolations {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("ParseRequest(%+v).Error() = %q, want it to name %s", tt.raw, err, f)
				}
			}
			if strings.Contains(err.Error(), tt.raw.DateOfBirth+" ") && tt.raw.DateOfBirth != "" {
				t.Errorf("ParseRequest(%+v).Error() = %q repeats the date of birth", tt.raw, err)
			}
			if !reflect.DeepEqual(got, rules.Input{}) {
				t.Errorf("ParseRequest(%+v) = %+v with an error, want the zero Input", tt.raw, got)
			}
		})
	}
}

func TestParseRequestCopiesSalary(t *testing.T) {
	salary := int64(100)
	in, err := rules.ParseRequest(rules.RawRequest{SalaryPence: &salary}, day(2024, time.June, 15))
	if err != nil {
		t.Fatal(err)
	}
	salary = 999
	if *in.SalaryPence != 100 {
		t.Errorf("ParseRequest kept the caller's pointer: salary now %d, want 100", *in.SalaryPence)
	}
}

// TestEvaluateUnusableInput checks that input ParseRequest would reject is
// treated as not given rather than trusted.
func TestEvaluateUnusableInput(t *testing.T) {
	rs := builtin(t)
	asOf := day(2024, time.June, 15)
	tests := []struct {
		name      string
		in        rules.Input
		criterion int
		want      string
	}{
		{"level out of range", rules.Input{Qualification: rules.Level(42), AsOf: asOf}, 1, rules.ReasonQualificationNotGiven},
		{"negative salary", rules.Input{SalaryPence: ptr[int64](-1), AsOf: asOf}, 2, rules.ReasonSalaryNotGiven},
		{"impossible date of birth", rules.Input{DateOfBirth: ptr(day(2023, time.February, 29)), AsOf: asOf}, 0, rules.ReasonDateOfBirthNotGiven},
		{"zero as_of", rules.Input{Qualification: rules.Level3}, 1, rules.ReasonParameterNotInForce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rules.Evaluate(rs, tt.in)
			if c := got.Criteria[tt.criterion]; c.Status != rules.StatusUnknown || c.Reason != tt.want {
				t.Errorf("Evaluate(%+v).Criteria[%d] = %v %v, want UNKNOWN %v", tt.in, tt.criterion, c.Status, c.Reason, tt.want)
			}
			if got.Outcome != rules.OutcomeUndetermined {
				t.Errorf("Evaluate(%+v).Outcome = %v, want UNDETERMINED", tt.in, got.Outcome)
			}
		})
	}
}

// TestEvaluateIsPure checks that Evaluate leaves its arguments alone and
// gives the same answer every time.
func TestEvaluateIsPure(t *testing.T) {
	rs, err := rules.ParseRuleset([]byte(`{"version":"v1",
		"age_floor":{"values":[{"start":"2020-07-01","value":24,"reference":"r"}]},
		"qualification_ceiling":{"values":[{"start":"2020-07-01","value":7,"reference":"r"}]},
		"salary_threshold_pence":{"values":[{"start":"2020-07-01","value":3500000,"reference":"r"}]},
		"area_overrides":{"E37000022":{"salary_threshold_pence":{"values":[{"start":"2020-07-01","value":4000000,"reference":"r"}]}}},
		"live_areas":[{"code":"E37000022","from":"2020-07-01"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	in := rules.Input{
		DateOfBirth:   ptr(day(1990, time.May, 20)),
		Qualification: rules.Level7,
		SalaryPence:   ptr[int64](3900000),
		Areas:         []string{"E06000001", "E37000022"},
		AsOf:          day(2024, time.June, 15),
	}
	rsJSON, _ := json.Marshal(rs)
	inCopy := in
	inCopy.Areas = append([]string(nil), in.Areas...)

	first := rules.Evaluate(rs, in)
	second := rules.Evaluate(rs, in)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("Evaluate gave %+v then %+v, want the same", first, second)
	}
	if after, _ := json.Marshal(rs); string(after) != string(rsJSON) {
		t.Errorf("Evaluate changed the ruleset: %s, want %s", after, rsJSON)
	}
	if !reflect.DeepEqual(in, inCopy) || *in.SalaryPence != 3900000 || *in.DateOfBirth != day(1990, time.May, 20) {
		t.Errorf("Evaluate changed the input: %+v, want %+v", in, inCopy)
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add("1990-05-20", int32(5), int64(2500000), true, "2024-06-15", "E37000022")
	f.Add("2000-02-29", int32(10), int64(3500000), true, "2024-02-28", "")
	f.Add("", int32(0), int64(0), false, "", "E37000016")
	f.Add("2076-02-29", int32(2), int64(3499999), true, "2100-03-01", "E37000060")
	f.Add("1990-13-01", int32(42), int64(-1), true, "1899-12-31", "x")
	f.Add("2024-06-16", int32(-3), int64(math.MaxInt64), true, "2019-01-01", "E37000022")

	national := builtin(f)
	withAreas, err := rules.ParseRuleset([]byte(`{"version":"fuzz",
		"age_floor":{"values":[{"start":"2020-07-01","value":24,"reference":"r"},{"start":"2030-01-01","value":0,"reference":"r"}]},
		"qualification_ceiling":{"values":[{"start":"2020-07-01","value":7,"reference":"r"}]},
		"salary_threshold_pence":{"values":[{"start":"2020-07-01","value":3500000,"reference":"r"}]},
		"area_overrides":{
			"E37000022":{"salary_threshold_pence":{"values":[{"start":"2020-07-01","value":0,"reference":"r"}]}},
			"E37000016":{"age_floor":{"values":[{"start":"2021-01-01","value":120,"reference":"r"}]},
			             "qualification_ceiling":{"values":[{"start":"2021-01-01","value":1,"reference":"r"}]}}},
		"live_areas":[{"code":"E37000022","from":"2020-07-01"},{"code":"E37000060","from":"2021-01-01","until":"2021-12-31"}]}`))
	if err != nil {
		f.Fatal(err)
	}
	today := day(2024, time.June, 15)

	f.Fuzz(func(t *testing.T, dob string, qual int32, salary int64, hasSalary bool, asOf, area string) {
		raw := rules.RawRequest{DateOfBirth: dob, Qualification: qual, AsOf: asOf}
		if hasSalary {
			raw.SalaryPence = &salary
		}
		in, err := rules.ParseRequest(raw, today)
		if err != nil {
			var verr *rules.ValidationError
			if !errors.Is(err, rules.ErrInvalid) || !errors.As(err, &verr) || len(verr.Violations) == 0 {
				t.Fatalf("ParseRequest(%+v) = %v, want a *ValidationError with violations", raw, err)
			}
			for _, v := range verr.Violations {
				// Other fields' descriptions may quote fixed dates such as
				// 1900-01-01; the date of birth's must quote nothing.
				if v.Field == rules.FieldDateOfBirth && strings.ContainsAny(dob, "0123456789") && strings.Contains(v.Description, dob) {
					t.Fatalf("ParseRequest(%+v) violation %+v repeats the date of birth", raw, v)
				}
			}
			return
		}
		if area != "" {
			in.Areas = []string{area}
		}
		for _, rs := range []rules.Ruleset{national, withAreas} {
			got := rules.Evaluate(rs, in)
			checkInvariants(t, got, dob)
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	rs := builtin(b)
	in := rules.Input{
		DateOfBirth:   ptr(day(1990, time.May, 20)),
		Qualification: rules.Level3,
		SalaryPence:   ptr[int64](2500000),
		Areas:         []string{"E06000001", "E37000022"},
		AsOf:          day(2024, time.June, 15),
	}
	b.ReportAllocs()
	for b.Loop() {
		rules.Evaluate(rs, in)
	}
}
