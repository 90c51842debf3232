package postcode

import (
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
)

// Directory maps postcodes to [Place]s. Make one with [Builtin], [LoadONSPD],
// [LoadFile] or [Combine]. A Directory never changes after it is made, so it
// is safe for concurrent use; a nil *Directory is empty.
type Directory struct {
	// layers are consulted in order; see Lookup for how.
	layers []*table
}

// table is one source of places: exact postcodes, districts or both, sorted
// by key for binary search. Coordinates are whole millionths of a degree,
// which holds the ONSPD's six decimal places exactly in half the space of
// float64s; a full ONSPD load costs about 20 bytes a postcode.
type table struct {
	unitKeys     []uint64
	units        []entry
	districtKeys []uint32
	districts    []entry
	profiles     []profile
}

// entry is the coordinates of one postcode or district and the index of its
// profile.
type entry struct {
	lat, long int32 // millionths of a degree
	profile   uint32
}

// profile is a local authority and its areas, shared by every entry that has
// them (a few thousand distinct profiles serve the 1.8 million live
// postcodes of the ONSPD).
type profile struct {
	la    string
	areas []string // capacity clipped so an append by a caller copies
}

// microdegrees is the number of coordinate units in a degree.
const microdegrees = 1e6

// place turns e into a Place of precision p.
func (t *table) place(e entry, p Precision) Place {
	pr := &t.profiles[e.profile]
	return Place{
		Lat:            float64(e.lat) / microdegrees,
		Long:           float64(e.long) / microdegrees,
		LocalAuthority: pr.la,
		Areas:          pr.areas,
		Precision:      p,
	}
}

// Lookup returns what d knows about pc. It looks for pc's own entry first
// (PrecisionPostcode) in every source d was made from, in order, and then
// for pc's district (PrecisionDistrict), so an exact answer always wins over
// an approximate one. ok is false if neither is known or pc is not a
// postcode. Lookup accepts a Postcode in any case and spacing, and does not
// allocate.
func (d *Directory) Lookup(pc Postcode) (Place, bool) {
	if d == nil {
		return Place{}, false
	}
	unit, district, ok := keys(string(pc))
	if !ok {
		return Place{}, false
	}
	for _, t := range d.layers {
		if i, found := slices.BinarySearch(t.unitKeys, unit); found {
			return t.place(t.units[i], PrecisionPostcode), true
		}
	}
	for _, t := range d.layers {
		if i, found := slices.BinarySearch(t.districtKeys, district); found {
			return t.place(t.districts[i], PrecisionDistrict), true
		}
	}
	return Place{}, false
}

// LookupDistrict returns what d knows about a postcode district (an outward
// code such as "LS1"), always at PrecisionDistrict. It is for searches that
// start from a district rather than a full postcode. ok is false if the
// district is unknown or district is not an outward code.
func (d *Directory) LookupDistrict(district string) (Place, bool) {
	if d == nil {
		return Place{}, false
	}
	var buf [8]byte
	n, res := scan(district, &buf)
	if res != scanOK || !validOutward(buf[:n]) {
		return Place{}, false
	}
	key := packOutward(buf[:n])
	for _, t := range d.layers {
		if i, found := slices.BinarySearch(t.districtKeys, key); found {
			return t.place(t.districts[i], PrecisionDistrict), true
		}
	}
	return Place{}, false
}

// Len returns the number of postcodes plus the number of districts d knows,
// for health checks and start-up logs (a full ONSPD gives about 1.8 million
// live postcodes with coordinates; the built-in table about 2,800 districts).
func (d *Directory) Len() int {
	if d == nil {
		return 0
	}
	n := 0
	for _, t := range d.layers {
		n += len(t.units) + len(t.districts)
	}
	return n
}

// Combine returns a Directory that answers from primary where it can and
// from fallback otherwise. The usual use is Combine(onspd, builtin): exact
// answers for every postcode in the loaded file, and district answers for
// postcodes too new for it. Either may be nil. The result shares the data
// of both, which stay usable.
func Combine(primary, fallback *Directory) *Directory {
	d := &Directory{}
	if primary != nil {
		d.layers = append(d.layers, primary.layers...)
	}
	if fallback != nil {
		d.layers = append(d.layers, fallback.layers...)
	}
	return d
}

// keys returns the lookup keys of a postcode given in any case and spacing:
// the unit key and the district key. It does not allocate.
func keys(s string) (unit uint64, district uint32, ok bool) {
	var buf [8]byte
	n, res := scan(s, &buf)
	if res != scanOK || !validPostcode(buf[:n]) {
		return 0, 0, false
	}
	district = packOutward(buf[:n-3])
	unit = uint64(district)<<24 | uint64(buf[n-3])<<16 | uint64(buf[n-2])<<8 | uint64(buf[n-1])
	return unit, district, true
}

// packOutward packs an outward code of up to four bytes into a uint32,
// left-aligned and padded with zero bytes. Padding below every letter and
// digit makes the order of packed keys the order of the ONSPD's 7-character
// pcd column ("B1  1AA" before "B10 1AA"), in which the ONSPD is sorted, so
// loading it needs no sort.
func packOutward(b []byte) uint32 {
	var k uint32
	for i := range 4 {
		k <<= 8
		if i < len(b) {
			k |= uint32(b[i])
		}
	}
	return k
}

// maxAreas is the most area codes one place can have: two LEPs and a
// combined authority in the ONSPD, with one to spare.
const maxAreas = 4

// profileKey identifies a profile while a table is built. Its strings may
// point into a reused row buffer: builder.profile copies them before keeping
// them.
type profileKey struct {
	la    string
	areas [maxAreas]string
}

// builder assembles a table.
type builder struct {
	t        table
	profiles map[profileKey]uint32
	// strs interns local-authority and area codes, so two million rows
	// share a few hundred strings.
	strs map[string]string
	// sorted is false once a unit arrives out of key order.
	sorted bool
}

// newBuilder returns an empty builder.
func newBuilder() *builder {
	return &builder{
		profiles: make(map[profileKey]uint32),
		strs:     make(map[string]string),
		sorted:   true,
	}
}

// intern returns a copy of s that is shared by every equal string, so the
// table does not keep alive the row buffer s may point into.
func (b *builder) intern(s string) string {
	if v, ok := b.strs[s]; ok {
		return v
	}
	v := strings.Clone(s)
	b.strs[v] = v
	return v
}

// profile returns the index of the profile for key, adding it if new. The
// lookup of an existing profile does not allocate.
func (b *builder) profile(key profileKey) (uint32, error) {
	if i, ok := b.profiles[key]; ok {
		return i, nil
	}
	if uint64(len(b.t.profiles)) >= math.MaxUint32 {
		return 0, errors.New("postcode: too many distinct local authority and area combinations")
	}
	key.la = b.intern(key.la)
	var areas []string
	for i, a := range key.areas {
		if a == "" {
			continue
		}
		key.areas[i] = b.intern(a)
		areas = append(areas, key.areas[i])
	}
	i := uint32(len(b.t.profiles))
	b.t.profiles = append(b.t.profiles, profile{la: key.la, areas: slices.Clip(areas)})
	b.profiles[key] = i
	return i, nil
}

// addUnit adds a postcode entry. It reports false if the key repeats the
// previous one, which is a duplicate when units arrive in order; duplicates
// among unordered units are found by finish.
func (b *builder) addUnit(key uint64, e entry) bool {
	if n := len(b.t.unitKeys); n > 0 && b.sorted {
		switch last := b.t.unitKeys[n-1]; {
		case key == last:
			return false
		case key < last:
			b.sorted = false
		}
	}
	b.t.unitKeys = append(b.t.unitKeys, key)
	b.t.units = append(b.t.units, e)
	return true
}

// addDistrict adds a district entry.
func (b *builder) addDistrict(key uint32, e entry) {
	b.t.districtKeys = append(b.t.districtKeys, key)
	b.t.districts = append(b.t.districts, e)
}

// finish sorts the table if need be, checks it has no duplicates (returning
// [ErrDuplicate]), trims spare capacity and returns it as a Directory.
func (b *builder) finish() (*Directory, error) {
	t := &b.t
	if !b.sorted {
		sort.Sort(unitsByKey{t})
	}
	if !slices.IsSorted(t.districtKeys) {
		sort.Sort(districtsByKey{t})
	}
	for i := 1; i < len(t.unitKeys); i++ {
		if t.unitKeys[i] == t.unitKeys[i-1] {
			return nil, ErrDuplicate
		}
	}
	for i := 1; i < len(t.districtKeys); i++ {
		if t.districtKeys[i] == t.districtKeys[i-1] {
			return nil, ErrDuplicate
		}
	}
	t.unitKeys = shrink(t.unitKeys)
	t.units = shrink(t.units)
	t.districtKeys = shrink(t.districtKeys)
	t.districts = shrink(t.districts)
	t.profiles = shrink(t.profiles)
	b.profiles, b.strs = nil, nil
	return &Directory{layers: []*table{t}}, nil
}

// shrink returns s in an array of its own length if appending left much
// spare capacity, so a long-lived table does not keep up to twice the memory
// it needs.
func shrink[S ~[]E, E any](s S) S {
	if cap(s)-len(s) <= len(s)/16 {
		return s
	}
	return slices.Clone(s)
}

// unitsByKey sorts a table's postcode keys and entries together.
type unitsByKey struct{ t *table }

func (s unitsByKey) Len() int           { return len(s.t.unitKeys) }
func (s unitsByKey) Less(i, j int) bool { return s.t.unitKeys[i] < s.t.unitKeys[j] }
func (s unitsByKey) Swap(i, j int) {
	s.t.unitKeys[i], s.t.unitKeys[j] = s.t.unitKeys[j], s.t.unitKeys[i]
	s.t.units[i], s.t.units[j] = s.t.units[j], s.t.units[i]
}

// districtsByKey sorts a table's district keys and entries together.
type districtsByKey struct{ t *table }

func (s districtsByKey) Len() int           { return len(s.t.districtKeys) }
func (s districtsByKey) Less(i, j int) bool { return s.t.districtKeys[i] < s.t.districtKeys[j] }
func (s districtsByKey) Swap(i, j int) {
	s.t.districtKeys[i], s.t.districtKeys[j] = s.t.districtKeys[j], s.t.districtKeys[i]
	s.t.districts[i], s.t.districts[j] = s.t.districts[j], s.t.districts[i]
}

// coordinates converts a latitude and longitude in degrees to an entry's
// millionths of a degree. It reports false for values off the globe, and for
// NaN and infinities.
func coordinates(lat, long float64) (int32, int32, bool) {
	if !(lat >= -90 && lat <= 90 && long >= -180 && long <= 180) {
		return 0, 0, false
	}
	return int32(math.Round(lat * microdegrees)), int32(math.Round(long * microdegrees)), true
}
