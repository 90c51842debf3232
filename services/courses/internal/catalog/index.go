package catalog

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
)

// areaIndex is the in-memory search index of one area's catalogue, kept in step with the
// store by the Catalog. Documents are numbered in the order they were added; a changed
// course gets a new number and its old one is tombstoned (cleared from live), and the index
// compacts itself once a quarter of it is dead. Structures:
//   - an inverted index from each word of titles and descriptions to the documents that
//     hold it, with the words sorted so a prefix is a binary search and a short scan;
//   - a grid of cells about 7 miles square from cell to the located documents in it, so a
//     distance search looks at the cells under the circle's bounding box only;
//   - per-document fields packed for the filters and sorts.
type areaIndex struct {
	mu   sync.RWMutex
	area *Area

	docs   []doc
	live   bitset
	online bitset
	byID   map[string]uint32
	dead   int

	vocab []string // sorted
	post  map[string]*posting
	grid  map[cell][]uint32

	provNames map[string]string
	bulk      bool // vocab is unsorted while an index is built, sorted by compact

	scratch sync.Pool // of *scratch
}

// doc is one indexed course, with what the filters and sorts read packed beside it so a
// search walks one contiguous array and never follows the course pointer for a candidate
// it rejects.
type doc struct {
	// x, y, z is the venue as a point on the unit sphere: the distance test is a chord
	// length, three multiplications instead of a haversine.
	x, y, z    float64
	lat, long  float64
	cost       int64
	startDay   int32  // days since 1970-01-01; math.MinInt32 for a flexible start
	sector     uint16 // tier 1 * 100 + tier 2; 0 when not given
	level      Level
	delivery   DeliveryMode
	study      StudyMode
	attendance AttendancePattern
	modular    bool
	located    bool
	course     *Course // immutable
}

// posting lists the documents holding a word in their title and in their description.
type posting struct{ title, desc []uint32 }

// cell is a grid square: latitude and longitude divided by the cell size.
type cell struct{ lat, long int16 }

// Cell sizes in degrees: 0.1 of latitude is 6.9 miles, 0.15 of longitude about 6.2 miles
// at England's latitudes.
const (
	cellLat  = 0.1
	cellLong = 0.15
)

func cellOf(lat, long float64) cell {
	return cell{int16(math.Floor(lat / cellLat)), int16(math.Floor(long / cellLong))}
}

var epoch = civil.Date{Year: 1970, Month: 1, Day: 1}

func newAreaIndex(a *Area) *areaIndex {
	return &areaIndex{
		area:      a,
		byID:      map[string]uint32{},
		post:      map[string]*posting{},
		grid:      map[cell][]uint32{},
		provNames: map[string]string{},
		bulk:      true,
	}
}

// stopWords are left out of queries: every course would match them or none should need to.
var stopWords = map[string]bool{"a": true, "an": true, "and": true, "the": true, "of": true, "in": true, "for": true, "to": true, "with": true, "on": true, "or": true}

// words splits s into lower-case words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// put adds or replaces a course. Callers hold the write lock of the Catalog; put takes the
// index's own lock.
func (ix *areaIndex) put(co Course, dir *postcode.Directory) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.putLocked(co, dir)
}

func (ix *areaIndex) putLocked(co Course, dir *postcode.Directory) {
	if old, ok := ix.byID[co.ID]; ok {
		ix.live.clear(old)
		ix.dead++
	}
	c := co
	d := doc{
		course: &c, startDay: math.MinInt32, sector: sectorCode(co.Sector), cost: co.LearnerCostPence,
		level: co.Level, delivery: co.Delivery, study: co.Study, attendance: co.Attendance, modular: co.Modular,
	}
	if !co.FlexibleStart {
		d.startDay = int32(civil.DaysBetween(epoch, co.StartDate))
	}
	if co.Delivery != DeliveryOnline && co.VenuePostcode != "" {
		if place, ok := dir.Lookup(postcode.Postcode(co.VenuePostcode)); ok {
			d.lat, d.long, d.located = place.Lat, place.Long, true
			d.x, d.y, d.z = unitVector(place.Lat, place.Long)
		}
	}
	ix.reput(d)
	if !ix.bulk && ix.dead > 64 && ix.dead > len(ix.docs)/4 {
		ix.compactLocked()
	}
}

func (ix *areaIndex) posting(w string) *posting {
	p, ok := ix.post[w]
	if !ok {
		p = &posting{}
		ix.post[w] = p
		if ix.bulk {
			ix.vocab = append(ix.vocab, w)
		} else {
			i, _ := slices.BinarySearch(ix.vocab, w)
			ix.vocab = slices.Insert(ix.vocab, i, w)
		}
	}
	return p
}

// remove tombstones a course.
func (ix *areaIndex) remove(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n, ok := ix.byID[id]; ok {
		ix.live.clear(n)
		delete(ix.byID, id)
		ix.dead++
	}
}

// compact renumbers the live documents from scratch and ends bulk mode.
func (ix *areaIndex) compact() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.compactLocked()
}

func (ix *areaIndex) compactLocked() {
	if ix.dead > 0 {
		old := ix.docs
		live := ix.live
		ix.docs, ix.live, ix.online, ix.dead = nil, nil, nil, 0
		ix.byID = make(map[string]uint32, len(old))
		ix.post = map[string]*posting{}
		ix.grid = map[cell][]uint32{}
		ix.vocab = nil
		ix.bulk = true
		for i, d := range old {
			if live.has(uint32(i)) {
				ix.reput(d)
			}
		}
	}
	slices.Sort(ix.vocab)
	ix.bulk = false
}

// reput adds a document whose fields are already worked out.
func (ix *areaIndex) reput(d doc) {
	n := uint32(len(ix.docs))
	ix.docs = append(ix.docs, d)
	ix.live.grow(len(ix.docs))
	ix.online.grow(len(ix.docs))
	ix.live.set(n)
	ix.byID[d.course.ID] = n
	if d.course.Delivery == DeliveryOnline {
		ix.online.set(n)
	}
	if d.located {
		k := cellOf(d.lat, d.long)
		ix.grid[k] = append(ix.grid[k], n)
	}
	for _, w := range uniqueWords(d.course.Title) {
		ix.posting(w).title = append(ix.posting(w).title, n)
	}
	for _, w := range uniqueWords(d.course.Description) {
		ix.posting(w).desc = append(ix.posting(w).desc, n)
	}
}

func uniqueWords(s string) []string {
	ws := words(s)
	slices.Sort(ws)
	return slices.Compact(ws)
}

// sectorCode packs a sector subject area code ("5.2", "15", "1.10") as tier 1 * 100 + tier 2;
// 0 for anything else.
func sectorCode(s string) uint16 {
	if !sectorRE.MatchString(s) {
		return 0
	}
	t1, t2, _ := strings.Cut(s, ".")
	a, _ := strconv.Atoi(t1)
	b, _ := strconv.Atoi(t2)
	return uint16(a*100 + b)
}

// unitVector returns the point at lat, long (degrees) on the unit sphere.
func unitVector(lat, long float64) (x, y, z float64) {
	const rad = math.Pi / 180
	cl := math.Cos(lat * rad)
	return cl * math.Cos(long*rad), cl * math.Sin(long*rad), math.Sin(lat * rad)
}

// chordMiles converts the squared chord between two points of the unit sphere to the
// great-circle distance in miles: the haversine formula, since the haversine of the angle
// is a quarter of the squared chord.
func chordMiles(chord2 float64) float64 {
	return 2 * postcode.EarthRadiusMiles * math.Asin(math.Sqrt(min(chord2/4, 1)))
}

// milesChord2 is the inverse of chordMiles.
func milesChord2(miles float64) float64 {
	c := 2 * math.Sin(min(miles/(2*postcode.EarthRadiusMiles), math.Pi/2))
	return c * c
}

func (ix *areaIndex) setProviderName(ukprn, name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.provNames[ukprn] = name
}

func (ix *areaIndex) deleteProviderName(ukprn string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.provNames, ukprn)
}

// course returns the indexed course with id, if any.
func (ix *areaIndex) course(id string) (*Course, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return ix.docs[n].course, true
}

func (ix *areaIndex) providerName(ukprn string) string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.provNames[ukprn]
}

// len returns the number of live courses.
func (ix *areaIndex) len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// prefixSets returns the documents with a title word and a description word starting
// with term. Callers hold the read lock.
func (ix *areaIndex) prefixSets(term string) (title, desc bitset) {
	title, desc = newBitset(len(ix.docs)), newBitset(len(ix.docs))
	i, _ := slices.BinarySearch(ix.vocab, term)
	for ; i < len(ix.vocab) && strings.HasPrefix(ix.vocab[i], term); i++ {
		p := ix.post[ix.vocab[i]]
		for _, n := range p.title {
			title.set(n)
		}
		for _, n := range p.desc {
			desc.set(n)
		}
	}
	return title, desc
}

// near fills out (empty, sized for the documents) with the online documents and the located documents in the cells under the
// bounding box of the circle of radius miles around origin. Callers hold the read lock.
func (ix *areaIndex) near(out bitset, origin postcode.LatLong, miles float64) bitset {
	out.or(ix.online)
	dLat := miles / 69.0
	cos := math.Cos(origin.Lat * math.Pi / 180)
	dLong := 180.0
	if cos > 0.01 {
		dLong = min(miles/(69.17*cos), 180)
	}
	lo, hi := cellOf(origin.Lat-dLat, origin.Long-dLong), cellOf(origin.Lat+dLat, origin.Long+dLong)
	if int(hi.lat-lo.lat+1)*int(hi.long-lo.long+1) > len(ix.grid) {
		// A huge circle: walk the grid instead of the box.
		for k, ns := range ix.grid {
			if k.lat >= lo.lat && k.lat <= hi.lat && k.long >= lo.long && k.long <= hi.long {
				for _, n := range ns {
					out.set(n)
				}
			}
		}
		return out
	}
	for la := lo.lat; la <= hi.lat; la++ {
		for lg := lo.long; lg <= hi.long; lg++ {
			for _, n := range ix.grid[cell{la, lg}] {
				out.set(n)
			}
		}
	}
	return out
}
