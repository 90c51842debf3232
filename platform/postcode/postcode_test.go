package postcode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    postcode.Postcode
		wantErr error
	}{
		// Every outward shape.
		{"A9", "M1 1AE", "M1 1AE", nil},
		{"A99", "B33 8TH", "B33 8TH", nil},
		{"AA9", "CR2 6XH", "CR2 6XH", nil},
		{"AA99", "DN55 1PT", "DN55 1PT", nil},
		{"A9A", "W1A 0AX", "W1A 0AX", nil},
		{"AA9A", "EC1A 1BB", "EC1A 1BB", nil},
		{"Girobank", "GIR 0AA", "GIR 0AA", nil},
		{"Girobank lower case", "gir0aa", "GIR 0AA", nil},

		// Case and spacing.
		{"lower case", "sw1a 1aa", "SW1A 1AA", nil},
		{"mixed case", "Ls1 4Ap", "LS1 4AP", nil},
		{"no space", "SW1A1AA", "SW1A 1AA", nil},
		{"no space short", "M11AE", "M1 1AE", nil},
		{"two spaces", "B1  1AA", "B1 1AA", nil},
		{"surrounding space", "  L1 8JQ\t", "L1 8JQ", nil},
		{"spaces everywhere", " s w 1 a 1 a a ", "SW1A 1AA", nil},
		{"tab inside", "LN1\t1AA", "LN1 1AA", nil},
		{"newline after", "EX1 1AA\n", "EX1 1AA", nil},
		{"no-break space", "ST4\u00a01AA", "ST4 1AA", nil},
		{"ONSPD pcd form", "B1  1AA", "B1 1AA", nil},

		// Empty.
		{"empty", "", "", postcode.ErrEmpty},
		{"only spaces", "   ", "", postcode.ErrEmpty},

		// Malformed.
		{"outward only", "SW1A", "", postcode.ErrMalformed},
		{"too short", "M1 1A", "", postcode.ErrMalformed},
		{"too long", "SW1A 1AAA", "", postcode.ErrMalformed},
		{"far too long", strings.Repeat("A", 100), "", postcode.ErrMalformed},
		{"inward letter C", "SW1A 1CA", "", postcode.ErrMalformed},
		{"inward letter I", "SW1A 1AI", "", postcode.ErrMalformed},
		{"inward letter K", "SW1A 1KA", "", postcode.ErrMalformed},
		{"inward letter M", "SW1A 1AM", "", postcode.ErrMalformed},
		{"inward letter O", "SW1A 1OA", "", postcode.ErrMalformed},
		{"inward letter V", "SW1A 1AV", "", postcode.ErrMalformed},
		{"inward starts with letter", "SW1A AAA", "", postcode.ErrMalformed},
		{"inward digit in letters", "SW1A 11A", "", postcode.ErrMalformed},
		{"outward starts with digit", "1W1A 1AA", "", postcode.ErrMalformed},
		{"outward all letters", "SWA 1AA", "", postcode.ErrMalformed},
		{"outward three digits", "A123 1AA", "", postcode.ErrMalformed},
		{"outward three letters", "ABC1 1AA", "", postcode.ErrMalformed},
		{"AA9A with digit last", "S1AA 1AA", "", postcode.ErrMalformed},
		{"A9A then digit", "W1A1 1AA", "", postcode.ErrMalformed},
		{"Girobank other inward", "GIR 1AA", "", postcode.ErrMalformed},
		{"punctuation", "SW1A-1AA", "", postcode.ErrMalformed},
		{"full width letters", "ＳＷ1A 1AA", "", postcode.ErrMalformed},
		{"long s folds to S elsewhere", "\u017fW1A 1AA", "", postcode.ErrMalformed},
		{"dotless i", "\u0131P1 1AA", "", postcode.ErrMalformed},
		{"overseas territory", "ASCN 1ZZ", "", postcode.ErrMalformed},
		{"BFPO", "BFPO 1234", "", postcode.ErrMalformed},
		{"invalid UTF-8", "SW1A\xff1AA", "", postcode.ErrMalformed},
		{"NUL", "SW1A\x001AA", "", postcode.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := postcode.Parse(tt.in)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Errorf("Parse(%q) error %q repeats the input", tt.in, err)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{postcode.ErrMalformed, "postcode is not a UK postcode"},
		{postcode.ErrEmpty, "postcode is required"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := "postcode " + tt.err.Error(); got != tt.want {
				t.Errorf(`"postcode " + err.Error() = %q, want %q`, got, tt.want)
			}
		})
	}
}

func TestParseOutward(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"LS1", "LS1", nil},
		{" ls 1 ", "LS1", nil},
		{"sw1a", "SW1A", nil},
		{"M1", "M1", nil},
		{"B33", "B33", nil},
		{"W1A", "W1A", nil},
		{"DN55", "DN55", nil},
		{"GIR", "GIR", nil},
		{"", "", postcode.ErrEmpty},
		{"SW1A 1AA", "", postcode.ErrMalformed},
		{"1AA", "", postcode.ErrMalformed},
		{"M", "", postcode.ErrMalformed},
		{"ABC1", "", postcode.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := postcode.ParseOutward(tt.in)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseOutward(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParts(t *testing.T) {
	tests := []struct {
		pc                               postcode.Postcode
		outward, inward, district, sectr string
	}{
		{"SW1A 1AA", "SW1A", "1AA", "SW1A", "SW1A 1"},
		{"M1 1AE", "M1", "1AE", "M1", "M1 1"},
		{"B33 8TH", "B33", "8TH", "B33", "B33 8"},
		{"GIR 0AA", "GIR", "0AA", "GIR", "GIR 0"},
		// Not canonical: answers are best effort, and must not panic.
		{"SW1A1AA", "SW1A", "1AA", "SW1A", "SW1A 1"},
		{"", "", "", "", ""},
		{"AB", "AB", "", "AB", "AB"},
	}
	for _, tt := range tests {
		t.Run(string(tt.pc), func(t *testing.T) {
			if got := tt.pc.Outward(); got != tt.outward {
				t.Errorf("Postcode(%q).Outward() = %q, want %q", tt.pc, got, tt.outward)
			}
			if got := tt.pc.Inward(); got != tt.inward {
				t.Errorf("Postcode(%q).Inward() = %q, want %q", tt.pc, got, tt.inward)
			}
			if got := tt.pc.District(); got != tt.district {
				t.Errorf("Postcode(%q).District() = %q, want %q", tt.pc, got, tt.district)
			}
			if got := tt.pc.Sector(); got != tt.sectr {
				t.Errorf("Postcode(%q).Sector() = %q, want %q", tt.pc, got, tt.sectr)
			}
		})
	}
}

func TestPrecisionString(t *testing.T) {
	tests := []struct {
		p    postcode.Precision
		want string
	}{
		{postcode.PrecisionNone, "none"},
		{postcode.PrecisionDistrict, "district"},
		{postcode.PrecisionPostcode, "postcode"},
		{postcode.Precision(9), "Precision(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("Precision(%d).String() = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}
