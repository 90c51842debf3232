// Command gen writes districts.csv, the built-in postcode district table of
// package postcode, from the shared postcode_districts.csv and the area tables
// beside this file. Run it from the postcode package directory with
//
//	go generate
//
// or, spelling out the defaults,
//
//	go run ./internal/gen -src ../../../shared/data/postcode_districts.csv -out districts.csv
//
// It keeps the districts of England, Wales, Scotland and Northern Ireland
// (dropping the Crown Dependencies), gives each its centroid, and gives the
// districts of the pilot areas a local authority and area codes from
// county_areas.csv (by the source's county column), district_areas.csv (one
// district at a time, where the county column cannot tell) and
// ../../combined_authorities.csv (combined authorities by local authority
// code). The source's region column has known errors and is not read.
package main

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nrs-pilots/retrain/platform/postcode"
)

func main() {
	if err := runMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// runMain parses flags, opens the files and runs the generator.
func runMain(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	src := fs.String("src", "../../../shared/data/postcode_districts.csv", "postcode district centroids (postcode,latitude,longitude,county,country_code columns)")
	counties := fs.String("counties", "internal/gen/county_areas.csv", "areas by county")
	districts := fs.String("districts", "internal/gen/district_areas.csv", "areas by district, overriding counties")
	cas := fs.String("combined-authorities", "combined_authorities.csv", "combined authorities by local authority code")
	out := fs.String("out", "districts.csv", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var in inputs
	for _, f := range []struct {
		path string
		dst  *io.Reader
	}{{*src, &in.source}, {*counties, &in.counties}, {*districts, &in.districts}, {*cas, &in.combinedAuthorities}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		*f.dst = bytes.NewReader(b)
	}
	var buf bytes.Buffer
	if err := run(in, &buf); err != nil {
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}

// inputs are the generator's input tables.
type inputs struct {
	source, counties, districts, combinedAuthorities io.Reader
}

// keepCountry reports whether districts with the source country_code c are
// kept: those of the United Kingdom, not the Crown Dependencies (GGY, IMN,
// JEY), which the scheme does not cover.
func keepCountry(c string) bool {
	switch c {
	case "ENG", "WLS", "SCT", "NIR":
		return true
	}
	return false
}

// areaRule is what a county or district row of the area tables says.
type areaRule struct {
	county string // for district rules: what the source must say
	la     string
	leps   []string
	used   bool
}

// district is one output row.
type district struct {
	code      string
	lat, long float64
	la        string
	areas     []string
}

// run reads the inputs and writes districts.csv to w.
func run(in inputs, w io.Writer) error {
	byCounty, err := readRules(in.counties, "county", []string{"county", "local_authority", "leps", "note"})
	if err != nil {
		return fmt.Errorf("county table: %w", err)
	}
	byDistrict, err := readRules(in.districts, "district", []string{"district", "county", "local_authority", "leps", "note"})
	if err != nil {
		return fmt.Errorf("district table: %w", err)
	}
	cas, err := readCombinedAuthorities(in.combinedAuthorities)
	if err != nil {
		return fmt.Errorf("combined authorities: %w", err)
	}
	rows, err := readSource(in.source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}

	var out []district
	for _, r := range rows {
		if !keepCountry(r["country_code"]) {
			continue
		}
		code, err := postcode.ParseOutward(r["postcode"])
		if err != nil || code != r["postcode"] {
			return fmt.Errorf("source line %s: postcode %q is not a canonical district", r["line"], r["postcode"])
		}
		lat, err1 := strconv.ParseFloat(r["latitude"], 64)
		long, err2 := strconv.ParseFloat(r["longitude"], 64)
		if err1 != nil || err2 != nil || lat < 49 || lat > 61 || long < -9 || long > 2 {
			return fmt.Errorf("source line %s: district %s has no usable coordinates", r["line"], code)
		}
		d := district{code: code, lat: lat, long: long, la: r["county"]}
		rule := byCounty[r["county"]]
		if dr := byDistrict[code]; dr != nil {
			if dr.county != r["county"] {
				return fmt.Errorf("district table: %s is in county %q in the source, not %q", code, r["county"], dr.county)
			}
			rule = dr
		}
		if rule != nil {
			rule.used = true
			if rule.la != "" {
				d.la = rule.la
			}
			d.areas = append(d.areas, rule.leps...)
			if ca := cas[rule.la]; ca != "" {
				d.areas = append(d.areas, ca)
			}
		}
		out = append(out, d)
	}
	for _, table := range []struct {
		name  string
		rules map[string]*areaRule
	}{{"county", byCounty}, {"district", byDistrict}} {
		for k, r := range table.rules {
			if !r.used {
				return fmt.Errorf("%s table: %q matches nothing in the source", table.name, k)
			}
		}
	}
	slices.SortFunc(out, func(a, b district) int { return compareDistricts(a.code, b.code) })
	for i := 1; i < len(out); i++ {
		if out[i].code == out[i-1].code {
			return fmt.Errorf("source: district %s appears more than once", out[i].code)
		}
	}
	return write(w, out)
}

// write writes the districts as CSV.
func write(w io.Writer, ds []district) error {
	if _, err := io.WriteString(w, `# Code generated by go run ./internal/gen; DO NOT EDIT.
# Postcode districts of England, Wales, Scotland and Northern Ireland: the
# centroid of each from postcode_districts.csv, and the local authority and
# areas (space-separated ONS codes, LEPs first) of the pilot areas from
# internal/gen/county_areas.csv, internal/gen/district_areas.csv and
# combined_authorities.csv. Other districts carry the source's county name.
`); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"district", "lat", "long", "local_authority", "areas"}); err != nil {
		return err
	}
	for _, d := range ds {
		if err := cw.Write([]string{
			d.code,
			strconv.FormatFloat(d.lat, 'f', -1, 64),
			strconv.FormatFloat(d.long, 'f', -1, 64),
			d.la,
			strings.Join(d.areas, " "),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// compareDistricts orders outward codes as people expect: by area letters,
// then district number, then any final letter ("B2" before "B10").
func compareDistricts(a, b string) int {
	split := func(s string) (string, int, string) {
		i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
		if i < 0 {
			return s, 0, ""
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(s[i:j])
		return s[:i], n, s[j:]
	}
	aa, an, as := split(a)
	ba, bn, bs := split(b)
	return cmp.Or(cmp.Compare(aa, ba), cmp.Compare(an, bn), cmp.Compare(as, bs))
}

// newReader returns a CSV reader for the generator's tables, which allow
// comment lines starting with #.
func newReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	return cr
}

// readRules reads an area table whose first column is the key, checking its
// header is want.
func readRules(r io.Reader, key string, want []string) (map[string]*areaRule, error) {
	recs, err := newReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || !slices.Equal(recs[0], want) {
		return nil, fmt.Errorf("header must be %s", strings.Join(want, ","))
	}
	col := func(rec []string, name string) string { return rec[slices.Index(want, name)] }
	rules := make(map[string]*areaRule)
	for i, rec := range recs[1:] {
		k := col(rec, key)
		if _, dup := rules[k]; dup {
			return nil, fmt.Errorf("row %d: %s %q appears more than once", i+1, key, k)
		}
		rule := &areaRule{la: col(rec, "local_authority"), leps: strings.Fields(col(rec, "leps"))}
		if key == "district" {
			rule.county = col(rec, "county")
		}
		if len(rule.leps) == 0 {
			return nil, fmt.Errorf("row %d: %s %q has no LEP codes", i+1, key, k)
		}
		for _, l := range rule.leps {
			if !isONSCode(l, "E37") {
				return nil, fmt.Errorf("row %d: %q is not a LEP code", i+1, l)
			}
		}
		rules[k] = rule
	}
	return rules, nil
}

// readCombinedAuthorities reads combined_authorities.csv into a map from
// local authority code to combined authority code.
func readCombinedAuthorities(r io.Reader) (map[string]string, error) {
	recs, err := newReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	want := []string{"local_authority", "combined_authority", "local_authority_name"}
	if len(recs) == 0 || !slices.Equal(recs[0], want) {
		return nil, fmt.Errorf("header must be %s", strings.Join(want, ","))
	}
	m := make(map[string]string)
	for _, rec := range recs[1:] {
		if !isONSCode(rec[1], "E47") {
			return nil, fmt.Errorf("%q is not a combined authority code", rec[1])
		}
		m[rec[0]] = rec[1]
	}
	return m, nil
}

// isONSCode reports whether s is a nine-character ONS code with the given
// entity prefix, such as "E37" for LEPs.
func isONSCode(s, prefix string) bool {
	if len(s) != 9 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readSource reads the source CSV into maps by column name, adding a "line"
// entry with the row's line number.
func readSource(r io.Reader) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"postcode", "latitude", "longitude", "county", "country_code"} {
		if !slices.Contains(header, name) {
			return nil, fmt.Errorf("no %s column", name)
		}
	}
	var rows []map[string]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		row := map[string]string{"line": strconv.Itoa(line)}
		for i, name := range header {
			row[name] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, row)
	}
}
