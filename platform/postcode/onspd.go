package postcode

import (
	"bufio"
	_ "embed" // for the combined authority table
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// combinedAuthoritiesCSV maps local authority codes to combined authority
// codes; see the comment at its top.
//
//go:embed combined_authorities.csv
var combinedAuthoritiesCSV string

// Errors a [RowError] wraps, besides [ErrMalformed] for a postcode column
// that holds no postcode. Like the parse errors they read as predicates after
// a column name, and never repeat the row's content.
var (
	// ErrBadCoordinate means a lat or long field is not a number of degrees
	// on the globe.
	ErrBadCoordinate = errors.New("is not a coordinate in degrees")
	// ErrDuplicate means a live postcode has a second row.
	ErrDuplicate = errors.New("repeats an earlier postcode")
)

// RowError reports a row of an ONSPD or NSPL file that [LoadONSPD] cannot
// use. It names the line and the column, never the row's content, because
// the row holds a postcode.
type RowError struct {
	// Line is the 1-based line number in the file; the header is line 1.
	Line int
	// Column is the header name of the offending field.
	Column string
	// Err is ErrMalformed, ErrBadCoordinate or ErrDuplicate.
	Err error
}

// Error reads like "postcode: ONSPD line 1042: lat is not a coordinate in
// degrees".
func (e *RowError) Error() string {
	return fmt.Sprintf("postcode: ONSPD line %d: %s %v", e.Line, e.Column, e.Err)
}

// Unwrap returns e.Err, for errors.Is.
func (e *RowError) Unwrap() error { return e.Err }

// noGridLatitude is the latitude the ONSPD and NSPL give a postcode with no
// grid reference (with longitude 0), such as a non-geographic postcode.
const noGridLatitude = 99.999999

// LoadONSPD reads an ONS Postcode Directory (ONSPD) or National Statistics
// Postcode Lookup (NSPL) CSV file, as published by the ONS (unzipped), and
// returns a Directory that answers every live postcode in it at
// [PrecisionPostcode].
//
// Columns are found by header name, in any order and case: the postcode from
// pcds (or pcd2 or pcd), the coordinates from lat and long, the local
// authority from oslaua (ONSPD) or laua (NSPL), the LEPs from lep1 and lep2,
// and the date of termination from doterm. Only the postcode, lat and long
// columns are required. A row is skipped if its postcode is terminated
// (doterm is not empty) or has no coordinates (empty, or the ONSPD's
// 99.999999 for "no grid reference"). A place's areas are its LEPs (ignoring
// ONS pseudo-codes such as E99999999, which mean "none") followed by the
// combined authority its local authority belongs to, from the table in
// combined_authorities.csv (the files have no combined-authority column).
//
// The file is read as a stream and stored compactly, about 20 bytes a
// postcode, so the full ONSPD of about 2.7 million rows (1.8 million live)
// fits in well under 100 MB. A row that cannot be used (a bad postcode or
// coordinate, or a second row for a live postcode) stops the load with a
// [*RowError] naming its line; malformed CSV stops it with the
// [*csv.ParseError], which also names the line. Neither repeats a postcode.
func LoadONSPD(r io.Reader) (*Directory, error) {
	cas, err := combinedAuthorities()
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("postcode: ONSPD file is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("postcode: reading ONSPD: %w", err)
	}
	cols := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte order mark
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	find := func(names ...string) (string, int) {
		for _, n := range names {
			if i, ok := cols[n]; ok {
				return n, i
			}
		}
		return "", -1
	}
	pcName, pcCol := find("pcds", "pcd2", "pcd")
	_, latCol := find("lat")
	_, longCol := find("long")
	switch {
	case pcCol < 0:
		return nil, errors.New("postcode: ONSPD header has no pcds, pcd2 or pcd column")
	case latCol < 0:
		return nil, errors.New("postcode: ONSPD header has no lat column")
	case longCol < 0:
		return nil, errors.New("postcode: ONSPD header has no long column")
	}
	_, laCol := find("oslaua", "laua")
	_, lep1Col := find("lep1")
	_, lep2Col := find("lep2")
	_, dotermCol := find("doterm")
	field := func(rec []string, i int) string {
		if i < 0 {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}

	b := newBuilder()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("postcode: reading ONSPD: %w", err)
		}
		if field(rec, dotermCol) != "" {
			continue // terminated
		}
		latS, longS := field(rec, latCol), field(rec, longCol)
		if latS == "" || longS == "" {
			continue // no coordinates
		}
		line, _ := cr.FieldPos(0)
		lat, err := strconv.ParseFloat(latS, 64)
		if err != nil {
			return nil, &RowError{Line: line, Column: "lat", Err: ErrBadCoordinate}
		}
		if lat == noGridLatitude {
			continue
		}
		long, err := strconv.ParseFloat(longS, 64)
		if err != nil {
			return nil, &RowError{Line: line, Column: "long", Err: ErrBadCoordinate}
		}
		la, lo, ok := coordinates(lat, long)
		if !ok {
			col := "lat"
			if lat >= -90 && lat <= 90 {
				col = "long"
			}
			return nil, &RowError{Line: line, Column: col, Err: ErrBadCoordinate}
		}
		unit, _, ok := keys(rec[pcCol])
		if !ok {
			return nil, &RowError{Line: line, Column: pcName, Err: ErrMalformed}
		}

		key := profileKey{la: code(field(rec, laCol))}
		n := 0
		for _, c := range []string{code(field(rec, lep1Col)), code(field(rec, lep2Col)), cas[key.la]} {
			if c != "" && c != key.areas[0] && c != key.areas[1] {
				key.areas[n] = c
				n++
			}
		}
		p, err := b.profile(key)
		if err != nil {
			return nil, err
		}
		if !b.addUnit(unit, entry{lat: la, long: lo, profile: p}) {
			return nil, &RowError{Line: line, Column: pcName, Err: ErrDuplicate}
		}
	}
	d, err := b.finish()
	if err != nil {
		return nil, fmt.Errorf("postcode: ONSPD: a row %w", err)
	}
	return d, nil
}

// LoadFile opens the ONSPD or NSPL CSV file at path and loads it with
// [LoadONSPD].
func LoadFile(path string) (*Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("postcode: %w", err)
	}
	defer f.Close()
	return LoadONSPD(f)
}

// code returns s, an ONS code, or "" if s is a pseudo-code such as
// E99999999, which the ONS uses for "not in any".
func code(s string) string {
	if len(s) == 9 && s[1:] == "99999999" {
		return ""
	}
	return s
}

// combinedAuthorities parses the embedded combined authority table into a
// map from local authority code to combined authority code.
func combinedAuthorities() (map[string]string, error) {
	cr := csv.NewReader(strings.NewReader(combinedAuthoritiesCSV))
	cr.Comment = '#'
	cr.FieldsPerRecord = 3
	recs, err := cr.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("postcode: embedded combined authority table is corrupt: %v", err)
	}
	m := make(map[string]string, len(recs)-1)
	for _, rec := range recs[1:] {
		m[rec[0]] = rec[1]
	}
	return m, nil
}
