package postcode_test

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

// onspdFixture is a small ONSPD extract: real column names in the real
// order (less the columns LoadONSPD ignores), made-up rows.
const onspdFixture = `pcd,pcd2,pcds,dointr,doterm,oscty,oslaua,osward,lat,long,lep1,lep2,ctry
"B1  1AA","B1   1AA","B1 1AA","198001","","E99999999","E08000025","E05011118",52.480100,-1.902500,"E37000012","","E92000001"
"B1  1AB","B1   1AB","B1 1AB","198001","200012","E99999999","E08000025","E05011118",52.480200,-1.902600,"E37000012","","E92000001"
"B1  1AD","B1   1AD","B1 1AD","198001","","E99999999","E08000025","E05011118",99.999999,0.000000,"E37000012","","E92000001"
"B1  1AE","B1   1AE","B1 1AE","198001","","E99999999","E08000025","E05011118",,,"E37000012","","E92000001"
"CV1 5FB","CV1  5FB","CV1 5FB","198001","","E99999999","E08000026","E05001226",52.408200,-1.510700,"E37000006","","E92000001"
"L1  8JQ","L1   8JQ","L1 8JQ","198001","","E99999999","E08000012","E05000886",53.401100,-2.978000,"E37000022","","E92000001"
"LN1 1AA","LN1  1AA","LN1 1AA","198001","","E10000019","E07000138","E05010790",53.231900,-0.540300,"E37000060","","E92000001"
"S70 1AA","S70  1AA","S70 1AA","198001","","E99999999","E08000016","E05000988",53.552900,-1.479700,"E37000054","E37000062","E92000001"
"SW1A1AA","SW1A 1AA","SW1A 1AA","198001","","E99999999","E09000033","E05013806",51.501009,-0.141588,"E37000051","","E92000001"
"EH1 1YZ","EH1  1YZ","EH1 1YZ","198001","","S99999999","S12000036","S13002928",55.952400,-3.188500,"S99999999","S99999999","S92000003"
"AB1 0AA","AB1  0AA","AB1 0AA","198001","199606","S99999999","S12000033","S13002843",57.101474,-2.242851,"S99999999","S99999999","S92000003"
"AB101AA","AB10 1AA","AB10 1AA","199606","","S99999999","S12000033","S13002842",57.148707,-2.097806,"S99999999","S99999999","S92000003"
`

func TestLoadONSPD(t *testing.T) {
	d, err := postcode.LoadONSPD(strings.NewReader(onspdFixture))
	if err != nil {
		t.Fatalf("LoadONSPD() error = %v", err)
	}
	if got, want := d.Len(), 8; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	tests := []struct {
		name      string
		pc        postcode.Postcode
		wantOK    bool
		want      postcode.Place
		wantAreas []string
	}{
		{"WMCA by local authority code", "B1 1AA", true,
			postcode.Place{Lat: 52.4801, Long: -1.9025, LocalAuthority: "E08000025"}, []string{"E37000012", "E47000007"}},
		{"Coventry", "cv15fb", true,
			postcode.Place{Lat: 52.4082, Long: -1.5107, LocalAuthority: "E08000026"}, []string{"E37000006", "E47000007"}},
		{"Liverpool City Region", "L1 8JQ", true,
			postcode.Place{Lat: 53.4011, Long: -2.978, LocalAuthority: "E08000012"}, []string{"E37000022", "E47000004"}},
		{"two-tier county", "LN1 1AA", true,
			postcode.Place{Lat: 53.2319, Long: -0.5403, LocalAuthority: "E07000138"}, []string{"E37000060"}},
		{"both LEP columns", "S70 1AA", true,
			postcode.Place{Lat: 53.5529, Long: -1.4797, LocalAuthority: "E08000016"}, []string{"E37000054", "E37000062"}},
		{"non-pilot LEP", "SW1A 1AA", true,
			postcode.Place{Lat: 51.501009, Long: -0.141588, LocalAuthority: "E09000033"}, []string{"E37000051"}},
		{"pseudo-code LEPs mean none", "EH1 1YZ", true,
			postcode.Place{Lat: 55.9524, Long: -3.1885, LocalAuthority: "S12000036"}, nil},
		{"four-character outward", "AB10 1AA", true,
			postcode.Place{Lat: 57.148707, Long: -2.097806, LocalAuthority: "S12000033"}, nil},
		{"terminated", "B1 1AB", false, postcode.Place{}, nil},
		{"terminated, old form", "AB1 0AA", false, postcode.Place{}, nil},
		{"no grid reference", "B1 1AD", false, postcode.Place{}, nil},
		{"empty coordinates", "B1 1AE", false, postcode.Place{}, nil},
		{"not in the file", "B1 1AF", false, postcode.Place{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.Lookup(tt.pc)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.pc, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			tt.want.Precision = postcode.PrecisionPostcode
			tt.want.Areas = tt.wantAreas
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Lookup(%q) = %+v, want %+v", tt.pc, got, tt.want)
			}
		})
	}
}

// TestLoadONSPDVariants loads the same rows under the other headers the
// ONS has published: the NSPL's laua, upper-case names with a byte order
// mark, and a file with only the 7-character pcd column, in no order.
func TestLoadONSPDVariants(t *testing.T) {
	tests := []struct {
		name string
		csv  string
	}{
		{"NSPL", "pcds,laua,lat,long,lep1,lep2,doterm\n" +
			"B1 1AA,E08000025,52.4801,-1.9025,E37000012,,\n" +
			"L1 8JQ,E08000012,53.4011,-2.978,E37000022,,\n"},
		{"upper case with BOM", "\uFEFFPCDS,OSLAUA,LAT,LONG,LEP1,LEP2,DOTERM\r\n" +
			"B1 1AA,E08000025,52.4801,-1.9025,E37000012,,\r\n" +
			"L1 8JQ,E08000012,53.4011,-2.978,E37000022,,\r\n"},
		{"pcd only, unsorted", "lep1,long,lat,oslaua,pcd\n" +
			"E37000022,-2.978,53.4011,E08000012,L1  8JQ\n" +
			"E37000012,-1.9025,52.4801,E08000025,B1  1AA\n"},
	}
	want := map[postcode.Postcode][]string{
		"B1 1AA": {"E37000012", "E47000007"},
		"L1 8JQ": {"E37000022", "E47000004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := postcode.LoadONSPD(strings.NewReader(tt.csv))
			if err != nil {
				t.Fatalf("LoadONSPD() error = %v", err)
			}
			if d.Len() != len(want) {
				t.Errorf("Len() = %d, want %d", d.Len(), len(want))
			}
			for pc, areas := range want {
				got, ok := d.Lookup(pc)
				if !ok || !slices.Equal(got.Areas, areas) || got.Precision != postcode.PrecisionPostcode {
					t.Errorf("Lookup(%q) = %+v, %v, want areas %q", pc, got, ok, areas)
				}
			}
		})
	}
}

func TestLoadONSPDErrors(t *testing.T) {
	const header = "pcds,doterm,oslaua,lat,long,lep1,lep2\n"
	const good = "B1 1AA,,E08000025,52.4801,-1.9025,E37000012,\n"
	tests := []struct {
		name     string
		csv      string
		wantLine int    // of a *RowError or *csv.ParseError; 0 for neither
		wantCol  string // of a *RowError
		wantErr  error
	}{
		{"bad postcode", header + good + "B1 1XYZ,,E08000025,52.4,-1.9,,\n", 3, "pcds", postcode.ErrMalformed},
		{"blank postcode", header + good + ",,E08000025,52.4,-1.9,,\n", 3, "pcds", postcode.ErrMalformed},
		{"lat not a number", header + good + "B1 1AB,,E08000025,north,-1.9,,\n", 3, "lat", postcode.ErrBadCoordinate},
		{"long not a number", header + "B1 1AB,,E08000025,52.4,west,,\n", 2, "long", postcode.ErrBadCoordinate},
		{"lat off the globe", header + good + "B1 1AB,,E08000025,123.4,-1.9,,\n", 3, "lat", postcode.ErrBadCoordinate},
		{"long off the globe", header + "B1 1AB,,E08000025,52.4,-190,,\n", 2, "long", postcode.ErrBadCoordinate},
		{"lat NaN", header + "B1 1AB,,E08000025,NaN,-1.9,,\n", 2, "lat", postcode.ErrBadCoordinate},
		{"duplicate in order", header + good + good, 3, "pcds", postcode.ErrDuplicate},
		{"duplicate out of order", header + good + "AB10 1AA,,S12000033,57.1,-2.1,,\n" + good, 0, "", postcode.ErrDuplicate},
		{"short row", header + good + "B1 1AB,,E08000025,52.4\n", 3, "", csv.ErrFieldCount},
		{"bad quoting", header + good + "B1 1AD,,E08000025,52.4,-1.9,,\n" + "\"B1 1AB,,E08000025,52.4,-1.9,,\n", 4, "", csv.ErrQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := postcode.LoadONSPD(strings.NewReader(tt.csv))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadONSPD() = %v, %v, want error %v", d, err, tt.wantErr)
			}
			var rowErr *postcode.RowError
			var parseErr *csv.ParseError
			switch {
			case errors.As(err, &rowErr):
				if rowErr.Line != tt.wantLine || rowErr.Column != tt.wantCol {
					t.Errorf("LoadONSPD() error at line %d column %q, want line %d column %q", rowErr.Line, rowErr.Column, tt.wantLine, tt.wantCol)
				}
			case errors.As(err, &parseErr):
				if parseErr.Line != tt.wantLine {
					t.Errorf("LoadONSPD() error at line %d, want %d", parseErr.Line, tt.wantLine)
				}
			case tt.wantLine != 0:
				t.Errorf("LoadONSPD() error %v names no line, want line %d", err, tt.wantLine)
			}
			for _, pc := range []string{"B1 1", "B1 1AB", "AB10"} {
				if strings.Contains(err.Error(), pc) {
					t.Errorf("LoadONSPD() error %q repeats a postcode", err)
				}
			}
		})
	}
}

func TestLoadONSPDBadHeader(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want string
	}{
		{"empty", "", "empty"},
		{"no postcode column", "postcode,lat,long\n", "pcds"},
		{"no lat column", "pcds,latitude,long\n", "lat"},
		{"no long column", "pcds,lat,longitude\n", "long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := postcode.LoadONSPD(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadONSPD() error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRowErrorText(t *testing.T) {
	err := &postcode.RowError{Line: 1042, Column: "lat", Err: postcode.ErrBadCoordinate}
	if got, want := err.Error(), "postcode: ONSPD line 1042: lat is not a coordinate in degrees"; got != want {
		t.Errorf("RowError.Error() = %q, want %q", got, want)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ONSPD.csv")
	if err := os.WriteFile(path, []byte(onspdFixture), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantLen int
		wantErr bool
	}{
		{"fixture", path, 8, false},
		{"missing", filepath.Join(dir, "missing.csv"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := postcode.LoadFile(tt.path)
			if (err != nil) != tt.wantErr || d.Len() != tt.wantLen {
				t.Fatalf("LoadFile(%q) = Len %d, %v, want Len %d, error %v", tt.path, d.Len(), err, tt.wantLen, tt.wantErr)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	full, err := postcode.LoadONSPD(strings.NewReader(onspdFixture))
	if err != nil {
		t.Fatalf("LoadONSPD() error = %v", err)
	}
	d := postcode.Combine(full, builtin(t))
	if got, want := d.Len(), full.Len()+builtin(t).Len(); got != want {
		t.Errorf("Combine().Len() = %d, want %d", got, want)
	}
	tests := []struct {
		pc   postcode.Postcode
		want postcode.Precision
		lat  float64
	}{
		{"B1 1AA", postcode.PrecisionPostcode, 52.4801},  // in the ONSPD
		{"B1 1AF", postcode.PrecisionDistrict, 52.47872}, // not: its district
		{"B1 1AB", postcode.PrecisionDistrict, 52.47872}, // terminated: its district
		{"SW1A 1AA", postcode.PrecisionPostcode, 51.501009},
		{"LS1 1AA", postcode.PrecisionDistrict, 53.79674},
		{"ZZ9 9ZZ", postcode.PrecisionNone, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.pc), func(t *testing.T) {
			got, ok := d.Lookup(tt.pc)
			if ok != (tt.want != postcode.PrecisionNone) || got.Precision != tt.want || got.Lat != tt.lat {
				t.Errorf("Lookup(%q) = %+v, %v, want precision %v at latitude %v", tt.pc, got, ok, tt.want, tt.lat)
			}
		})
	}
	// The ONSPD answer wins even with the directories the other way round.
	if got, _ := postcode.Combine(builtin(t), full).Lookup("B1 1AA"); got.Precision != postcode.PrecisionPostcode {
		t.Errorf("Combine(builtin, full).Lookup(B1 1AA).Precision = %v, want postcode", got.Precision)
	}
}
