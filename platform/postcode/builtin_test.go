package postcode_test

import (
	"math"
	"slices"
	"testing"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

// builtin returns the built-in directory or stops the test.
func builtin(t testing.TB) *postcode.Directory {
	t.Helper()
	d, err := postcode.Builtin()
	if err != nil {
		t.Fatalf("Builtin() error = %v", err)
	}
	return d
}

func TestBuiltinLookup(t *testing.T) {
	d := builtin(t)
	tests := []struct {
		name      string
		pc        postcode.Postcode
		wantOK    bool
		wantLA    string
		wantAreas []string
		lat, long float64 // the district centroid, checked when wantOK
	}{
		// Liverpool City Region: the LEP and the combined authority.
		{"Liverpool", "L1 8JQ", true, "E08000012", []string{"E37000022", "E47000004"}, 53.40254, -2.97928},
		{"Wirral", "CH41 1AA", true, "E08000015", []string{"E37000022", "E47000004"}, 53.39402, -3.03022},
		{"Halton", "WA7 1AA", true, "E06000006", []string{"E37000022", "E47000004"}, 53.32987, -2.7028},
		// West Midlands Combined Authority and its three LEPs.
		{"Birmingham", "B1 1AA", true, "E08000025", []string{"E37000012", "E47000007"}, 52.47872, -1.90723},
		{"Solihull", "B91 3QB", true, "E08000029", []string{"E37000012", "E47000007"}, 52.41382, -1.78238},
		{"Coventry", "CV1 5FB", true, "E08000026", []string{"E37000006", "E47000007"}, 52.40939, -1.506},
		{"Dudley", "DY1 1HF", true, "E08000027", []string{"E37000001", "E47000007"}, 52.51648, -2.0958},
		{"Wolverhampton", "WV1 1AA", true, "E08000031", []string{"E37000001", "E47000007"}, 52.58569, -2.11514},
		// Warwickshire is in Coventry and Warwickshire LEP, which is not a
		// pilot area: the built-in table does not know it.
		{"Warwickshire", "CV34 4AA", true, "Warwickshire", nil, 52.2829, -1.57924},
		// Greater Lincolnshire.
		{"Lincoln", "LN1 1AA", true, "Lincolnshire", []string{"E37000060"}, 53.25883, -0.58621},
		{"Scunthorpe", "DN15 6AA", true, "E06000013", []string{"E37000060"}, 53.61469, -0.64994},
		{"Grimsby", "DN31 1AA", true, "E06000012", []string{"E37000060"}, 53.57014, -0.08648},
		// Heart of the South West.
		{"Exeter", "EX1 1AA", true, "Devon", []string{"E37000016"}, 50.72543, -3.50479},
		{"Plymouth", "PL1 1AA", true, "E06000026", []string{"E37000016"}, 50.37074, -4.15317},
		{"Torquay", "TQ1 1AA", true, "E06000027", []string{"E37000016"}, 50.47156, -3.52209},
		{"Taunton", "TA1 1AA", true, "Somerset", []string{"E37000016"}, 51.01234, -3.10203},
		{"Bath is not Somerset", "BA1 1AA", true, "Bath and North East Somerset", nil, 51.39109, -2.35934},
		// Stoke-on-Trent and Staffordshire.
		{"Stoke", "ST4 1AA", true, "E06000021", []string{"E37000032"}, 52.99468, -2.18328},
		{"Stafford", "ST16 1AA", true, "Staffordshire", []string{"E37000032"}, 52.81315, -2.11871},
		// Leeds City Region.
		{"Leeds", "LS1 1AA", true, "E08000035", []string{"E37000062"}, 53.79674, -1.54754},
		{"Bradford", "BD1 1AA", true, "E08000032", []string{"E37000062"}, 53.79554, -1.75252},
		{"York", "YO1 7HH", true, "E06000014", []string{"E37000062"}, 53.95857, -1.0809},
		{"Barnsley", "S70 1AA", true, "E08000016", []string{"E37000062"}, 53.54114, -1.4733},
		{"Harrogate", "HG1 1AA", true, "Harrogate", []string{"E37000062"}, 53.99983, -1.53313},
		{"Selby", "YO8 4AA", true, "Selby", []string{"E37000062"}, 53.7813, -1.05745},
		{"Scarborough is not", "YO11 1AA", true, "North Yorkshire", nil, 54.26511, -0.39535},
		// Outside every pilot area, with coordinates.
		{"Westminster", "SW1A 1AA", true, "London", nil, 51.50265, -0.13111},
		{"Edinburgh", "EH1 1YZ", true, "City of Edinburgh", nil, 55.95243, -3.1884},
		{"Cardiff", "CF10 1AA", true, "Cardiff", nil, 51.47387, -3.17648},
		{"Belfast", "BT1 1AA", true, "Belfast", nil, 54.59941, -5.92838},
		// Lookup takes any case and spacing.
		{"non-canonical", "l18jq", true, "E08000012", []string{"E37000022", "E47000004"}, 53.40254, -2.97928},
		// Not known.
		{"Jersey is not in the UK", "JE2 3AB", false, "", nil, 0, 0},
		{"no such district", "ZZ9 9ZZ", false, "", nil, 0, 0},
		{"Girobank", "GIR 0AA", false, "", nil, 0, 0},
		{"not a postcode", "hello", false, "", nil, 0, 0},
		{"empty", "", false, "", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.Lookup(tt.pc)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.pc, ok, tt.wantOK)
			}
			if !ok {
				if got.Precision != postcode.PrecisionNone || got.Areas != nil {
					t.Errorf("Lookup(%q) = %+v, want the zero Place", tt.pc, got)
				}
				return
			}
			if got.LocalAuthority != tt.wantLA || !slices.Equal(got.Areas, tt.wantAreas) {
				t.Errorf("Lookup(%q) = %q %q, want %q %q", tt.pc, got.LocalAuthority, got.Areas, tt.wantLA, tt.wantAreas)
			}
			if got.Precision != postcode.PrecisionDistrict {
				t.Errorf("Lookup(%q).Precision = %v, want district", tt.pc, got.Precision)
			}
			if math.Abs(got.Lat-tt.lat) > 1e-9 || math.Abs(got.Long-tt.long) > 1e-9 {
				t.Errorf("Lookup(%q) at %v,%v, want %v,%v", tt.pc, got.Lat, got.Long, tt.lat, tt.long)
			}
			for _, a := range tt.wantAreas {
				if !got.InArea(a) {
					t.Errorf("Lookup(%q).InArea(%q) = false, want true", tt.pc, a)
				}
			}
			if got.InArea("E37000051") {
				t.Errorf("Lookup(%q).InArea(London LEP) = true, want false", tt.pc)
			}
		})
	}
}

func TestBuiltinLen(t *testing.T) {
	// 2,848 districts in the source, less 22 in the Crown Dependencies.
	if got, want := builtin(t).Len(), 2826; got != want {
		t.Errorf("Builtin().Len() = %d, want %d", got, want)
	}
}

func TestLookupDistrict(t *testing.T) {
	d := builtin(t)
	tests := []struct {
		in        string
		wantOK    bool
		wantAreas []string
	}{
		{"LS1", true, []string{"E37000062"}},
		{" b 1 ", true, []string{"E37000012", "E47000007"}},
		{"SW1A", true, nil},
		{"ZZ9", false, nil},
		{"LS1 1AA", false, nil},
		{"", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := d.LookupDistrict(tt.in)
			if ok != tt.wantOK || !slices.Equal(got.Areas, tt.wantAreas) {
				t.Fatalf("LookupDistrict(%q) = %q, %v, want %q, %v", tt.in, got.Areas, ok, tt.wantAreas, tt.wantOK)
			}
			if ok && got.Precision != postcode.PrecisionDistrict {
				t.Errorf("LookupDistrict(%q).Precision = %v, want district", tt.in, got.Precision)
			}
		})
	}
}

func TestNilDirectory(t *testing.T) {
	var d *postcode.Directory
	tests := []struct {
		name string
		run  func() bool
	}{
		{"Lookup", func() bool { _, ok := d.Lookup("B1 1AA"); return ok }},
		{"LookupDistrict", func() bool { _, ok := d.LookupDistrict("B1"); return ok }},
		{"Len", func() bool { return d.Len() != 0 }},
		{"Combine", func() bool { return postcode.Combine(nil, nil).Len() != 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.run() {
				t.Errorf("%s on a nil Directory found something", tt.name)
			}
		})
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	d := builtin(t)
	tests := []postcode.Postcode{"B1 1AA", "l18jq", "JE2 3AB", "nonsense"}
	for _, pc := range tests {
		t.Run(string(pc), func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { d.Lookup(pc) }); n != 0 {
				t.Errorf("Lookup(%q) makes %v allocations, want 0", pc, n)
			}
		})
	}
}
