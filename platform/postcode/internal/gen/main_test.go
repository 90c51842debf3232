package main

import (
	"os"
	"strings"
	"testing"
)

const (
	testSource = `postcode,easting,northing,latitude,longitude,city,county,country_code,country_name,iso3166-2,region_code,region_name
B10,0,0,52.47,-1.85,,Birmingham,ENG,England,GB-ENG,WESTMID,West Midlands
B2,0,0,52.48,-1.89,,Birmingham,ENG,England,GB-ENG,WESTMID,West Midlands
HG1,0,0,53.99,-1.53,Harrogate,North Yorkshire,ENG,England,GB-ENG,NORTHEAST,Wrong
YO11,0,0,54.26,-0.39,Scarborough,North Yorkshire,ENG,England,GB-ENG,YORKS,Yorkshire
EH1,0,0,55.95,-3.18,,City of Edinburgh,SCT,Scotland,GB-SCT,SCOTLAND,Scotland
JE2,0,0,49.19,-2.10,,Jersey,JEY,Jersey,GB-JEY,,
`
	testCounties  = "# comment\ncounty,local_authority,leps,note\nBirmingham,E08000025,E37000012,GBSLEP\n"
	testDistricts = "district,county,local_authority,leps,note\nHG1,North Yorkshire,Harrogate,E37000062,\n"
	testCAs       = "local_authority,combined_authority,local_authority_name\nE08000025,E47000007,Birmingham\n"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	err := run(inputs{
		source:              strings.NewReader(testSource),
		counties:            strings.NewReader(testCounties),
		districts:           strings.NewReader(testDistricts),
		combinedAuthorities: strings.NewReader(testCAs),
	}, &out)
	if err != nil {
		t.Fatalf("run() error = %v", err)
	}
	got := out.String()
	i := strings.Index(got, "district,")
	if i < 0 {
		t.Fatalf("run() wrote no header: %q", got)
	}
	want := `district,lat,long,local_authority,areas
B2,52.48,-1.89,E08000025,E37000012 E47000007
B10,52.47,-1.85,E08000025,E37000012 E47000007
EH1,55.95,-3.18,City of Edinburgh,
HG1,53.99,-1.53,Harrogate,E37000062
YO11,54.26,-0.39,North Yorkshire,
`
	if got[i:] != want {
		t.Errorf("run() wrote\n%s\nwant\n%s", got[i:], want)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name                   string
		source, counties, dist string
		want                   string
	}{
		{"county not in source", testSource, testCounties + "Birmingam,,E37000012,typo\n", testDistricts, "Birmingam"},
		{"district not in source", testSource, testCounties, testDistricts + "HG9,North Yorkshire,Harrogate,E37000062,\n", "HG9"},
		{"district in another county", testSource, testCounties, "district,county,local_authority,leps,note\nB2,Solihull,X,E37000012,\n", "B2"},
		{"not a LEP code", testSource, "county,local_authority,leps,note\nBirmingham,,E47000007,\n", testDistricts, "not a LEP code"},
		{"no LEPs", testSource, "county,local_authority,leps,note\nBirmingham,,,\n", testDistricts, "no LEP codes"},
		{"bad header", testSource, "county,leps\nBirmingham,E37000012\n", testDistricts, "header"},
		{"repeated district", testSource + "B2,0,0,52.48,-1.89,,Birmingham,ENG,England,GB-ENG,,\n", testCounties, testDistricts, "more than once"},
		{"bad coordinates", testSource + "B3,0,0,,-1.89,,Birmingham,ENG,England,GB-ENG,,\n", testCounties, testDistricts, "coordinates"},
		{"bad district", testSource + "b3,0,0,52.4,-1.89,,Birmingham,ENG,England,GB-ENG,,\n", testCounties, testDistricts, "not a canonical district"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(inputs{
				source:              strings.NewReader(tt.source),
				counties:            strings.NewReader(tt.counties),
				districts:           strings.NewReader(tt.dist),
				combinedAuthorities: strings.NewReader(testCAs),
			}, new(strings.Builder))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run() error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestTables checks the committed area tables parse; the source they are
// applied to lives outside the repository, so the full run is left to
// go generate.
func TestTables(t *testing.T) {
	tests := []struct {
		path string
		key  string
		cols []string
	}{
		{"county_areas.csv", "county", []string{"county", "local_authority", "leps", "note"}},
		{"district_areas.csv", "district", []string{"district", "county", "local_authority", "leps", "note"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := os.Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rules, err := readRules(f, tt.key, tt.cols)
			if err != nil || len(rules) == 0 {
				t.Fatalf("readRules(%s) = %d rules, %v", tt.path, len(rules), err)
			}
		})
	}
	f, err := os.Open("../../combined_authorities.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cas, err := readCombinedAuthorities(f); err != nil || len(cas) != 13 {
		t.Errorf("readCombinedAuthorities() = %d entries, %v, want 13", len(cas), err)
	}
}
