package postcode

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts is
// canonical and parses to itself, and that the allocation-free scanner
// Lookup uses agrees with it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SW1A 1AA", "sw1a1aa", " M1 1AE ", "B33 8TH", "CR2 6XH", "DN55 1PT",
		"W1A 0AX", "EC1A 1BB", "GIR 0AA", "GIR 1AA", "", " ", "SW1A",
		"SW1A 1CA", "1W1A 1AA", "s w 1 a 1 a a", "ST4\u00a01AA", "\u017fW1A 1AA",
		"SW1A\xff1AA", "ASCN 1ZZ", "AAAAAAAAAAAAAAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		unit, district, ok := keys(s)
		if err != nil {
			if err != ErrEmpty && err != ErrMalformed {
				t.Fatalf("Parse(%q) error = %v, want ErrEmpty or ErrMalformed", s, err)
			}
			if p != "" {
				t.Fatalf("Parse(%q) = %q with error %v, want empty", s, p, err)
			}
			if ok {
				t.Fatalf("keys(%q) ok but Parse failed: %v", s, err)
			}
			return
		}
		if n := len(p); n < 6 || n > 8 || p[n-4] != ' ' || strings.Count(string(p), " ") != 1 {
			t.Fatalf("Parse(%q) = %q, not canonical", s, p)
		}
		if strings.ToUpper(string(p)) != string(p) {
			t.Fatalf("Parse(%q) = %q, not upper case", s, p)
		}
		again, err := Parse(string(p))
		if err != nil || again != p {
			t.Fatalf("Parse(Parse(%q)) = %q, %v, want %q", s, again, err, p)
		}
		if got := p.Outward() + " " + p.Inward(); got != string(p) {
			t.Fatalf("Outward + Inward of %q = %q", p, got)
		}
		if !strings.HasPrefix(string(p), p.Sector()) || len(p.Sector()) != len(p.Outward())+2 {
			t.Fatalf("Sector of %q = %q", p, p.Sector())
		}
		if out, err := ParseOutward(p.Outward()); err != nil || out != p.Outward() {
			t.Fatalf("ParseOutward(%q) = %q, %v", p.Outward(), out, err)
		}
		u2, d2, ok2 := keys(string(p))
		if !ok || !ok2 || unit != u2 || district != d2 {
			t.Fatalf("keys(%q) = %x, %x, %v; keys(%q) = %x, %x, %v", s, unit, district, ok, p, u2, d2, ok2)
		}
	})
}
