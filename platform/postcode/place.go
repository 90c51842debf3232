package postcode

import (
	"math"
	"strconv"
)

// Precision says how closely a [Place] describes the postcode it was looked
// up for. Larger values are more precise.
type Precision uint8

const (
	// PrecisionNone is the zero Precision, for a Place that was not found.
	PrecisionNone Precision = iota
	// PrecisionDistrict means the Place describes the postcode's district
	// (outward code) as a whole, not the postcode: the coordinates are the
	// district's centroid, which can be several miles from the address in a
	// rural district, and the local authority and areas are those of most of
	// the district. A district can straddle a local authority or LEP
	// boundary, so an area answer at this precision is approximate: a caller
	// that must be exact about eligibility should load the ONSPD.
	PrecisionDistrict
	// PrecisionPostcode means the Place comes from the postcode's own row in
	// the ONS Postcode Directory: coordinates within about 100 metres of its
	// addresses, and its own local authority and LEPs.
	PrecisionPostcode
)

// String returns "postcode", "district" or "none", for logs and reports.
func (p Precision) String() string {
	switch p {
	case PrecisionPostcode:
		return "postcode"
	case PrecisionDistrict:
		return "district"
	case PrecisionNone:
		return "none"
	}
	return "Precision(" + strconv.Itoa(int(p)) + ")"
}

// Place is what a [Directory] knows about a postcode: where it is, which
// local authority it is in and which pilot-relevant areas cover it.
type Place struct {
	// Lat and Long are the latitude and longitude in decimal degrees
	// (WGS84): the postcode's own centroid at PrecisionPostcode, the
	// district's at PrecisionDistrict.
	Lat, Long float64
	// LocalAuthority is the ONS code of the local authority district (such
	// as "E08000025" for Birmingham) when known, and otherwise its name
	// (such as "Devon", a county, for district-level answers in two-tier
	// areas). It may be empty.
	LocalAuthority string
	// Areas holds the ONS codes of the Local Enterprise Partnerships (E37…)
	// and combined authority (E47…) covering the place, LEPs first: for
	// example ["E37000012", "E47000007"] for central Birmingham. It is empty
	// outside every known area. The slice is shared with the Directory and
	// other results: read it, never modify it.
	Areas []string
	// Precision says whether this describes the postcode itself or only its
	// district.
	Precision Precision
}

// InArea reports whether code, an ONS LEP or combined-authority code, is one
// of p.Areas.
func (p Place) InArea(code string) bool {
	for _, a := range p.Areas {
		if a == code {
			return true
		}
	}
	return false
}

// LatLong returns the place's coordinates, for [DistanceMiles].
func (p Place) LatLong() LatLong {
	return LatLong{Lat: p.Lat, Long: p.Long}
}

// LatLong is a point on the Earth's surface in decimal degrees (WGS84):
// latitude north positive, longitude east positive.
type LatLong struct {
	Lat, Long float64
}

// EarthRadiusMiles is the Earth's mean radius in statute miles, the radius
// [DistanceMiles] uses.
const EarthRadiusMiles = 3958.8

// DistanceMiles returns the great-circle ("as the crow flies") distance
// between a and b in statute miles, by the haversine formula on a sphere of
// radius [EarthRadiusMiles]. Over the distances a learner travels the
// spherical model is within about half a percent of the true ellipsoidal
// distance, far better than the precision of a postcode's centroid.
func DistanceMiles(a, b LatLong) float64 {
	const rad = math.Pi / 180
	lat1, lat2 := a.Lat*rad, b.Lat*rad
	dLat := lat2 - lat1
	dLong := (b.Long - a.Long) * rad
	sLat, sLong := math.Sin(dLat/2), math.Sin(dLong/2)
	h := sLat*sLat + math.Cos(lat1)*math.Cos(lat2)*sLong*sLong
	// Rounding can push h a hair above 1 for antipodal points.
	return 2 * EarthRadiusMiles * math.Asin(math.Sqrt(min(h, 1)))
}
