package postcode

import (
	_ "embed" // for the built-in district table
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// districtsCSV is the built-in district table. It is generated from the
// shared postcode_districts.csv by internal/gen (see the go:generate line in
// doc.go) and committed, so nothing outside this package is read at run time.
//
//go:embed districts.csv
var districtsCSV string

// Builtin returns a Directory of the built-in postcode districts: about 2,800
// districts of England, Wales, Scotland and Northern Ireland, each with its
// centroid, and for the pilot areas its local authority and area codes.
// Every answer is at [PrecisionDistrict]:
//
//   - Coordinates are the district centroid, good enough to rank courses by
//     distance but several miles out in a large rural district.
//   - Area codes are given for the pilot areas only (Greater Lincolnshire,
//     Heart of the South West, Stoke-on-Trent and Staffordshire, Leeds City
//     Region, Liverpool City Region and the West Midlands Combined Authority
//     with its three LEPs), assigned to whole districts by the county the
//     district is mostly in, so a district on a boundary answers for its
//     larger side. Memberships of other LEPs, including the second LEP of
//     districts in two, are not known.
//   - LocalAuthority is an ONS code for the unitary and metropolitan
//     authorities of the pilot areas, and otherwise a county or authority
//     name.
//
// Load the ONSPD with [LoadONSPD] for postcode-level answers and [Combine]
// it with Builtin. Each call parses the embedded table afresh (about a
// millisecond): call it once at start-up and share the result. An error means
// the embedded table is corrupt, which the package's tests rule out.
func Builtin() (*Directory, error) {
	d, err := loadDistricts(strings.NewReader(districtsCSV))
	if err != nil {
		return nil, fmt.Errorf("postcode: built-in districts: %w", err)
	}
	return d, nil
}

// loadDistricts reads a table in the format of districts.csv: columns
// district, lat, long, local_authority and areas (space-separated codes),
// with # comment lines.
func loadDistricts(r io.Reader) (*Directory, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 5
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, err
	}
	if strings.Join(header, ",") != "district,lat,long,local_authority,areas" {
		return nil, errors.New("unexpected header")
	}
	b := newBuilder()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		var buf [8]byte
		n, res := scan(rec[0], &buf)
		if res != scanOK || !validOutward(buf[:n]) {
			return nil, fmt.Errorf("line %d: bad district", line)
		}
		lat, err1 := strconv.ParseFloat(rec[1], 64)
		long, err2 := strconv.ParseFloat(rec[2], 64)
		la, lo, ok := coordinates(lat, long)
		if err1 != nil || err2 != nil || !ok {
			return nil, fmt.Errorf("line %d: bad coordinates", line)
		}
		key := profileKey{la: rec[3]}
		areas := strings.Fields(rec[4])
		if len(areas) > maxAreas {
			return nil, fmt.Errorf("line %d: more than %d areas", line, maxAreas)
		}
		copy(key.areas[:], areas)
		p, err := b.profile(key)
		if err != nil {
			return nil, err
		}
		b.addDistrict(packOutward(buf[:n]), entry{lat: la, long: lo, profile: p})
	}
	return b.finish()
}
