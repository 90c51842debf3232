package postcode_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

// syntheticONSPD returns an ONSPD-shaped CSV of n rows, as wide as the real
// file (every column of onspd_schema.json, the unused ones filled with
// plausible codes) and sorted like it, with one row in ten terminated and
// one in fifty without a grid reference. It also returns the live
// postcodes, for lookups.
func syntheticONSPD(n int) ([]byte, []postcode.Postcode) {
	columns := []string{"pcd", "pcd2", "pcds", "dointr", "doterm", "oscty", "ced", "oslaua", "osward", "parish",
		"usertype", "oseast1m", "osnrth1m", "osgrdind", "oshlthau", "nhser", "ctry", "rgn", "streg", "pcon", "eer",
		"teclec", "ttwa", "pct", "nuts", "statsward", "oa01", "casward", "park", "lsoa01", "msoa01", "ur01ind",
		"oac01", "oa11", "lsoa11", "msoa11", "wz11", "ccg", "bua22", "ru11ind", "oac11", "lat", "long", "lep1",
		"lep2", "pfa", "imd", "calncv", "icb", "oa21", "lsoa21", "msoa21", "ru21ind"}
	las := []struct{ la, lep1, lep2 string }{
		{"E08000025", "E37000012", ""}, {"E08000012", "E37000022", ""}, {"E08000016", "E37000054", "E37000062"},
		{"E07000138", "E37000060", ""}, {"E09000033", "E37000051", ""}, {"S12000036", "S99999999", "S99999999"},
	}
	// Outward codes in the ONSPD's order: by the 7-character pcd form,
	// in which a short outward code is padded with spaces.
	var outwards []string
	for _, area := range []string{"B", "BD", "CV", "L", "LS", "SW"} {
		for d := 1; d <= 20; d++ {
			outwards = append(outwards, fmt.Sprintf("%s%d", area, d))
		}
	}
	slices.SortFunc(outwards, func(a, b string) int { return strings.Compare(fmt.Sprintf("%-4s", a), fmt.Sprintf("%-4s", b)) })
	const letters = "ABDEFGHJLNPQRSTUWXYZ"

	var buf bytes.Buffer
	buf.WriteString(strings.Join(columns, ",") + "\n")
	var live []postcode.Postcode
	row := make([]string, len(columns))
	i := 0
	for _, out := range outwards {
		for sector := 0; sector <= 9 && i < n; sector++ {
			for u := 0; u < len(letters)*len(letters) && i < n; u++ {
				in := fmt.Sprintf("%d%c%c", sector, letters[u/len(letters)], letters[u%len(letters)])
				pcds := out + " " + in
				la := las[i%len(las)]
				for j := range row {
					row[j] = `"E00000000"`
				}
				row[0] = fmt.Sprintf(`"%-4s%s"`, out, in)
				row[1] = fmt.Sprintf(`"%-5s%s"`, out, in)
				row[2] = `"` + pcds + `"`
				row[3] = `"198001"`
				row[4] = `""`
				row[7] = `"` + la.la + `"`
				row[11], row[12] = "406300", "0286800"
				lat, long := fmt.Sprintf("%.6f", 52+float64(i%100000)/100000), fmt.Sprintf("%.6f", -1.9+float64(i%7919)/10000)
				switch {
				case i%10 == 9:
					row[4] = `"200012"`
				case i%50 == 7:
					lat, long = "99.999999", "0.000000"
				default:
					live = append(live, postcode.Postcode(pcds))
				}
				row[41], row[42] = lat, long
				row[43], row[44] = `"`+la.lep1+`"`, `"`+la.lep2+`"`
				buf.WriteString(strings.Join(row, ",") + "\n")
				i++
			}
		}
	}
	return buf.Bytes(), live
}

func TestSyntheticONSPD(t *testing.T) {
	tests := []struct{ rows int }{{1000}, {20000}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rows), func(t *testing.T) {
			data, live := syntheticONSPD(tt.rows)
			d, err := postcode.LoadONSPD(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("LoadONSPD(synthetic %d) error = %v", tt.rows, err)
			}
			if d.Len() != len(live) {
				t.Errorf("LoadONSPD(synthetic %d).Len() = %d, want %d", tt.rows, d.Len(), len(live))
			}
			for _, pc := range live {
				if p, ok := d.Lookup(pc); !ok || p.Precision != postcode.PrecisionPostcode {
					t.Fatalf("Lookup(%q) = %+v, %v, want a postcode-level place", pc, p, ok)
				}
			}
		})
	}
}

func BenchmarkLoadONSPD(b *testing.B) {
	data, _ := syntheticONSPD(200_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := postcode.LoadONSPD(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuiltin(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := postcode.Builtin(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	data, live := syntheticONSPD(200_000)
	full, err := postcode.LoadONSPD(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	builtin := builtin(b)
	// Spread the lookups over the file so they are not all cache hits.
	var sample []postcode.Postcode
	for i := 0; i < len(live); i += len(live) / 4096 {
		sample = append(sample, live[i])
	}
	districts := []postcode.Postcode{"B1 1AA", "L1 8JQ", "LS1 4AP", "SW1A 1AA", "EX1 1AA", "BT1 1AA", "KW17 2AA", "ZE2 9AA"}
	tests := []struct {
		name string
		d    *postcode.Directory
		pcs  []postcode.Postcode
	}{
		{"onspd", full, sample},
		{"builtin", builtin, districts},
		{"combined/postcode", postcode.Combine(full, builtin), sample},
		{"combined/district", postcode.Combine(full, builtin), districts},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := tt.d.Lookup(tt.pcs[i%len(tt.pcs)]); !ok {
					b.Fatalf("Lookup(%q) not found", tt.pcs[i%len(tt.pcs)])
				}
				i++
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := postcode.Parse(" sw1a1aa "); err != nil {
			b.Fatal(err)
		}
	}
}
