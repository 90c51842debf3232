package civil_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/nrs-pilots/retrain/platform/civil"
)

func date(y int, m time.Month, d int) civil.Date {
	return civil.Date{Year: y, Month: m, Day: d}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    civil.Date
		wantErr error
	}{
		{"ordinary", "2024-06-15", date(2024, time.June, 15), nil},
		{"first year", "0001-01-01", date(1, time.January, 1), nil},
		{"last day", "9999-12-31", date(9999, time.December, 31), nil},
		{"leap day in leap year", "2024-02-29", date(2024, time.February, 29), nil},
		{"leap day in 2000", "2000-02-29", date(2000, time.February, 29), nil},
		{"leap day in common year", "2023-02-29", civil.Date{}, civil.ErrNotReal},
		{"leap day in 1900", "1900-02-29", civil.Date{}, civil.ErrNotReal},
		{"month 13", "2024-13-01", civil.Date{}, civil.ErrNotReal},
		{"month 0", "2024-00-10", civil.Date{}, civil.ErrNotReal},
		{"day 0", "2024-01-00", civil.Date{}, civil.ErrNotReal},
		{"31 April", "2024-04-31", civil.Date{}, civil.ErrNotReal},
		{"32 January", "2024-01-32", civil.Date{}, civil.ErrNotReal},
		{"year 0", "0000-01-01", civil.Date{}, civil.ErrYearRange},
		{"empty", "", civil.Date{}, civil.ErrFormat},
		{"short year", "024-06-15", civil.Date{}, civil.ErrFormat},
		{"single digit month", "2024-6-15", civil.Date{}, civil.ErrFormat},
		{"slashes", "2024/06/15", civil.Date{}, civil.ErrFormat},
		{"UK order", "15-06-2024", civil.Date{}, civil.ErrFormat},
		{"sign", "+024-06-15", civil.Date{}, civil.ErrFormat},
		{"sign in month", "2024-+6-15", civil.Date{}, civil.ErrFormat},
		{"trailing space", "2024-06-15 ", civil.Date{}, civil.ErrFormat},
		{"leading space", " 2024-06-15", civil.Date{}, civil.ErrFormat},
		{"timestamp", "2024-06-15T00:00:00Z", civil.Date{}, civil.ErrFormat},
		{"five digit year", "12024-06-15", civil.Date{}, civil.ErrFormat},
		{"non-ASCII digit", "２０２４-06-15", civil.Date{}, civil.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := civil.Parse(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && tt.in != "" && strings.Contains(err.Error(), tt.in) {
				t.Errorf("Parse(%q) error %q repeats the input", tt.in, err)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		d    civil.Date
		want string
	}{
		{date(2024, time.June, 5), "2024-06-05"},
		{date(1, time.January, 1), "0001-01-01"},
		{date(9999, time.December, 31), "9999-12-31"},
		{civil.Date{}, "0000-00-00"},
		{date(10000, time.January, 1), "10000-01-01"},
		{date(-1, time.January, 1), "-1-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b civil.Date
		want int
	}{
		{date(2024, time.June, 15), date(2024, time.June, 15), 0},
		{date(2024, time.June, 14), date(2024, time.June, 15), -1},
		{date(2024, time.June, 16), date(2024, time.June, 15), 1},
		{date(2024, time.May, 31), date(2024, time.June, 1), -1},
		{date(2023, time.December, 31), date(2024, time.January, 1), -1},
		{date(2025, time.January, 1), date(2024, time.December, 31), 1},
	}
	for _, tt := range tests {
		t.Run(tt.a.String()+"_"+tt.b.String(), func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got, want := tt.a.Before(tt.b), tt.want < 0; got != want {
				t.Errorf("%v.Before(%v) = %v, want %v", tt.a, tt.b, got, want)
			}
			if got, want := tt.a.After(tt.b), tt.want > 0; got != want {
				t.Errorf("%v.After(%v) = %v, want %v", tt.a, tt.b, got, want)
			}
		})
	}
}

func TestIsZero(t *testing.T) {
	tests := []struct {
		d    civil.Date
		want bool
	}{
		{civil.Date{}, true},
		{date(1, time.January, 1), false},
		{civil.Date{Day: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := tt.d.IsZero(); got != tt.want {
				t.Errorf("%#v.IsZero() = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
}

func TestAddDays(t *testing.T) {
	tests := []struct {
		d    civil.Date
		n    int
		want civil.Date
	}{
		{date(2024, time.June, 15), 0, date(2024, time.June, 15)},
		{date(2024, time.June, 15), 1, date(2024, time.June, 16)},
		{date(2024, time.June, 30), 1, date(2024, time.July, 1)},
		{date(2024, time.February, 28), 1, date(2024, time.February, 29)},
		{date(2023, time.February, 28), 1, date(2023, time.March, 1)},
		{date(2024, time.December, 31), 1, date(2025, time.January, 1)},
		{date(2025, time.January, 1), -1, date(2024, time.December, 31)},
		{date(2024, time.March, 1), -1, date(2024, time.February, 29)},
		{date(2024, time.January, 1), 366, date(2025, time.January, 1)},
		// The clocks go forward in London on 2024-03-31; a civil day is still a day.
		{date(2024, time.March, 30), 2, date(2024, time.April, 1)},
		{date(1970, time.January, 1), -719162, date(1, time.January, 1)},
		{date(2000, time.February, 28), 1, date(2000, time.February, 29)},
		{date(1900, time.February, 28), 1, date(1900, time.March, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := tt.d.AddDays(tt.n); got != tt.want {
				t.Errorf("%v.AddDays(%d) = %v, want %v", tt.d, tt.n, got, tt.want)
			}
		})
	}
}

// TestAddDaysMatchesTime checks the day arithmetic against package time over
// several centuries, leap rules included.
func TestAddDaysMatchesTime(t *testing.T) {
	start := date(1599, time.December, 25)
	base := start.In(time.UTC)
	for n := 0; n < 200000; n += 7 {
		want := civil.Of(base.AddDate(0, 0, n), time.UTC)
		if got := start.AddDays(n); got != want {
			t.Fatalf("%v.AddDays(%d) = %v, want %v", start, n, got, want)
		}
		if got := civil.DaysBetween(start, want); got != n {
			t.Fatalf("DaysBetween(%v, %v) = %d, want %d", start, want, got, n)
		}
	}
}

func TestAddYears(t *testing.T) {
	tests := []struct {
		d    civil.Date
		n    int
		want civil.Date
	}{
		{date(2000, time.June, 15), 24, date(2024, time.June, 15)},
		{date(2000, time.February, 29), 24, date(2024, time.February, 29)},
		{date(2000, time.February, 29), 25, date(2025, time.March, 1)},
		{date(2000, time.February, 29), 1, date(2001, time.March, 1)},
		{date(2076, time.February, 29), 24, date(2100, time.March, 1)},
		{date(1976, time.February, 29), 24, date(2000, time.February, 29)},
		{date(2024, time.February, 29), -1, date(2023, time.March, 1)},
		{date(2023, time.February, 28), 1, date(2024, time.February, 28)},
		{date(2023, time.March, 1), 1, date(2024, time.March, 1)},
		{date(2024, time.December, 31), 0, date(2024, time.December, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := tt.d.AddYears(tt.n); got != tt.want {
				t.Errorf("%v.AddYears(%d) = %v, want %v", tt.d, tt.n, got, tt.want)
			}
		})
	}
}

func TestDaysBetween(t *testing.T) {
	tests := []struct {
		a, b civil.Date
		want int
	}{
		{date(2024, time.June, 15), date(2024, time.June, 15), 0},
		{date(2024, time.June, 15), date(2024, time.June, 16), 1},
		{date(2024, time.June, 16), date(2024, time.June, 15), -1},
		{date(2024, time.January, 1), date(2025, time.January, 1), 366},
		{date(2023, time.January, 1), date(2024, time.January, 1), 365},
		{date(2024, time.March, 30), date(2024, time.April, 1), 2},
		{date(1970, time.January, 1), date(2000, time.January, 1), 10957},
	}
	for _, tt := range tests {
		t.Run(tt.a.String()+"_"+tt.b.String(), func(t *testing.T) {
			if got := civil.DaysBetween(tt.a, tt.b); got != tt.want {
				t.Errorf("DaysBetween(%v, %v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestOfAndIn(t *testing.T) {
	london, err := civil.London()
	if err != nil {
		t.Fatalf("London() = %v", err)
	}
	tests := []struct {
		name    string
		instant time.Time
		want    civil.Date
	}{
		// In British Summer Time London is an hour ahead of UTC, so late
		// evening UTC is already the next day there.
		{"BST after UTC midnight in London", time.Date(2024, time.June, 14, 23, 30, 0, 0, time.UTC), date(2024, time.June, 15)},
		{"BST before", time.Date(2024, time.June, 14, 22, 59, 59, 0, time.UTC), date(2024, time.June, 14)},
		{"GMT same as UTC", time.Date(2024, time.January, 14, 23, 30, 0, 0, time.UTC), date(2024, time.January, 14)},
		{"New Year", time.Date(2024, time.December, 31, 23, 59, 59, 0, time.UTC), date(2024, time.December, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := civil.Of(tt.instant, london); got != tt.want {
				t.Errorf("Of(%v, London) = %v, want %v", tt.instant, got, tt.want)
			}
		})
	}

	midnights := []struct {
		d    civil.Date
		want time.Time
	}{
		{date(2024, time.June, 15), time.Date(2024, time.June, 14, 23, 0, 0, 0, time.UTC)},
		{date(2024, time.January, 15), time.Date(2024, time.January, 15, 0, 0, 0, 0, time.UTC)},
		{date(2024, time.March, 31), time.Date(2024, time.March, 31, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range midnights {
		t.Run("In "+tt.d.String(), func(t *testing.T) {
			got := tt.d.In(london)
			if !got.Equal(tt.want) {
				t.Errorf("%v.In(London) = %v, want %v", tt.d, got.UTC(), tt.want)
			}
			if back := civil.Of(got, london); back != tt.d {
				t.Errorf("Of(%v.In(London), London) = %v, want %v", tt.d, back, tt.d)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		Start civil.Date  `json:"start"`
		Until *civil.Date `json:"until,omitempty"`
	}
	until := date(2025, time.March, 31)
	tests := []struct {
		name string
		in   doc
		want string
	}{
		{"date", doc{Start: date(2020, time.July, 1)}, `{"start":"2020-07-01"}`},
		{"pointer", doc{Start: date(2020, time.July, 1), Until: &until}, `{"start":"2020-07-01","until":"2025-03-31"}`},
		{"zero", doc{}, `{"start":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil || string(b) != tt.want {
				t.Fatalf("json.Marshal(%v) = %s, %v, want %s", tt.in, b, err, tt.want)
			}
			var back doc
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v", b, err)
			}
			if back.Start != tt.in.Start || (back.Until == nil) != (tt.in.Until == nil) ||
				(back.Until != nil && *back.Until != *tt.in.Until) {
				t.Errorf("json.Unmarshal(%s) = %v, want %v", b, back, tt.in)
			}
		})
	}

	bad := []struct {
		in      string
		wantErr error
	}{
		{`{"start":"2023-02-29"}`, civil.ErrNotReal},
		{`{"start":"1 July 2020"}`, civil.ErrFormat},
	}
	for _, tt := range bad {
		t.Run(tt.in, func(t *testing.T) {
			var d doc
			if err := json.Unmarshal([]byte(tt.in), &d); !errors.Is(err, tt.wantErr) {
				t.Errorf("json.Unmarshal(%s) = %v, want %v", tt.in, err, tt.wantErr)
			}
		})
	}

	if _, err := json.Marshal(doc{Start: date(2023, time.February, 29)}); !errors.Is(err, civil.ErrNotReal) {
		t.Errorf("json.Marshal(2023-02-29) = %v, want %v", err, civil.ErrNotReal)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024-06-15", "2023-02-29", "0000-01-01", "9999-12-31", "", "2024-6-15", "+024-06-15", "２０２４-06-15"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := civil.Parse(s)
		if err != nil {
			if d != (civil.Date{}) {
				t.Fatalf("Parse(%q) = %v, %v, want the zero Date with an error", s, d, err)
			}
			return
		}
		if !d.IsValid() {
			t.Fatalf("Parse(%q) = %v, which is not valid", s, d)
		}
		if got := d.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q, want %q", s, got, s)
		}
		if next := d.AddDays(1); civil.DaysBetween(d, next) != 1 || !next.After(d) {
			t.Fatalf("Parse(%q).AddDays(1) = %v, want the next day", s, next)
		}
	})
}
