package catalog

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
)

// Order is the order of search results. The numbers match the API's enum.
type Order uint8

// The orders.
const (
	OrderUnset Order = iota
	OrderRelevance
	OrderDistance
	OrderLearnerCost
	OrderStartDate
	numOrders
)

// Search limits.
const (
	DefaultPageSize  = 20
	MaxPageSize      = 100
	MaxDistanceMiles = 500
	maxKeyword       = 200
	maxTerms         = 10
)

// SearchRequest is a learner's search as received, before validation.
type SearchRequest struct {
	Postcode       string
	DistanceMiles  float64
	Keyword        string
	Levels         []string
	Sector         string
	Delivery       []DeliveryMode
	Study          []StudyMode
	Attendance     []AttendancePattern
	ModularOnly    bool
	MaxLearnerCost *int64
	StartFrom      string
	StartTo        string
	Order          Order
	PageSize       int32
	PageToken      string
}

// Found is one search result.
type Found struct {
	Course       Course
	ProviderName string
	// DistanceMiles is set when HasDistance (the course has a venue).
	DistanceMiles float64
	HasDistance   bool
}

// Facets count the matching courses by level, delivery mode, study mode and sector (tier 1),
// each with its own filter left out.
type Facets struct {
	Levels   [numLevels]int
	Delivery [numDelivery]int
	Study    [numStudy]int
	Sectors  map[string]int
}

// SearchResult is a page of results.
type SearchResult struct {
	// Area is the ONS code of the learner's area; empty when the postcode is in no pilot
	// area, and then there are no results.
	Area string
	// Precision says how exactly the postcode was located ("postcode" or "district").
	Precision     string
	Results       []Found
	NextPageToken string
	Total         int
	Facets        Facets
}

// query is a validated SearchRequest.
type query struct {
	origin      postcode.LatLong
	miles       float64
	terms       []string
	levels      [numLevels]bool
	anyLevel    bool
	sector      string
	delivery    [numDelivery]bool
	anyDelivery bool
	study       [numStudy]bool
	anyStudy    bool
	attendance  [numAttendance]bool
	anyAttend   bool
	modularOnly bool
	maxCost     int64
	from, to    int32
	order       Order
	pageSize    int
	after       *sortKey
	fingerprint uint64
}

// sortKey places a result in the total order of a search: the sort value, then the id.
type sortKey struct {
	score   int32
	hasDist bool
	dist    float64
	cost    int64
	start   int32
	id      string
}

// Search finds courses for a learner. Errors: *ValidationError for a malformed request,
// ErrUnknownPostcode for a postcode the directory does not know.
func (c *Catalog) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	if err := ctx.Err(); err != nil {
		return SearchResult{}, err
	}
	var vs violations
	q := query{maxCost: math.MaxInt64, from: math.MinInt32, to: math.MaxInt32, order: req.Order}
	var place postcode.Place
	pc, err := postcode.Parse(req.Postcode)
	if err != nil {
		vs.add("postcode", err.Error())
	} else {
		// Not found leaves place at PrecisionNone: ErrUnknownPostcode once the rest is valid.
		place, _ = c.dir.Lookup(pc)
		q.origin = place.LatLong()
	}
	if math.IsNaN(req.DistanceMiles) || req.DistanceMiles < 0 || req.DistanceMiles > MaxDistanceMiles {
		vs.add("distance_miles", fmt.Sprintf("must be 0 (no limit) to %d", MaxDistanceMiles))
	}
	q.miles = req.DistanceMiles
	if len(req.Keyword) > maxKeyword {
		vs.add("keyword", fmt.Sprintf("must be at most %d characters", maxKeyword))
	}
	for _, w := range words(req.Keyword) {
		if !stopWords[w] && !slices.Contains(q.terms, w) {
			q.terms = append(q.terms, w)
		}
	}
	if len(q.terms) > maxTerms {
		vs.add("keyword", fmt.Sprintf("must have at most %d words", maxTerms))
	}
	for i, s := range req.Levels {
		l, ok := ParseLevel(s)
		if !ok {
			vs.add(fmt.Sprintf("levels[%d]", i), "must be E or 1 to 8")
			continue
		}
		q.levels[l], q.anyLevel = true, true
	}
	q.sector = strings.TrimSpace(req.Sector)
	if q.sector != "" && !sectorRE.MatchString(q.sector) {
		vs.add("sector_subject_area", "must be a LARS sector subject area code such as 5 or 5.2")
	}
	for i, m := range req.Delivery {
		if !m.Valid() {
			vs.add(fmt.Sprintf("delivery_modes[%d]", i), "is not a delivery mode")
			continue
		}
		q.delivery[m], q.anyDelivery = true, true
	}
	for i, m := range req.Study {
		if !m.Valid() {
			vs.add(fmt.Sprintf("study_modes[%d]", i), "is not a study mode")
			continue
		}
		q.study[m], q.anyStudy = true, true
	}
	for i, a := range req.Attendance {
		if !a.Valid() {
			vs.add(fmt.Sprintf("attendance_patterns[%d]", i), "is not an attendance pattern")
			continue
		}
		q.attendance[a], q.anyAttend = true, true
	}
	q.modularOnly = req.ModularOnly
	if req.MaxLearnerCost != nil {
		if *req.MaxLearnerCost < 0 {
			vs.add("max_learner_cost_pence", "must not be negative")
		}
		q.maxCost = *req.MaxLearnerCost
	}
	parseDay := func(field, s string, into *int32) {
		if s == "" {
			return
		}
		d, err := civil.Parse(s)
		if err != nil {
			vs.add(field, err.Error())
			return
		}
		*into = int32(civil.DaysBetween(epoch, d))
	}
	parseDay("start_date_from", req.StartFrom, &q.from)
	parseDay("start_date_to", req.StartTo, &q.to)
	if q.from != math.MinInt32 && q.to != math.MaxInt32 && q.from > q.to {
		vs.add("start_date_to", "must not be before start_date_from")
	}
	if q.order >= numOrders {
		vs.add("order_by", "is not a search order")
	}
	if q.order == OrderUnset {
		q.order = OrderRelevance
	}
	switch {
	case req.PageSize < 0:
		vs.add("page_size", "must not be negative")
	case req.PageSize == 0:
		q.pageSize = DefaultPageSize
	default:
		q.pageSize = min(int(req.PageSize), MaxPageSize)
	}
	if len(vs) > 0 {
		return SearchResult{}, invalid(vs)
	}
	if place.Precision == postcode.PrecisionNone {
		return SearchResult{}, ErrUnknownPostcode
	}
	res := SearchResult{Precision: place.Precision.String()}
	for _, a := range place.Areas {
		if _, ok := c.areas[a]; ok {
			res.Area = a
			break
		}
	}
	q.fingerprint = q.hash(res.Area)
	if req.PageToken != "" {
		k, err := decodeToken(req.PageToken, q.fingerprint)
		if err != nil {
			return SearchResult{}, invalid(violations{{Field: "page_token", Description: err.Error()}})
		}
		q.after = &k
	}
	if res.Area == "" {
		return res, nil
	}
	c.index(res.Area).search(&q, &res)
	return res, nil
}

// hash fingerprints everything of q but the page, so a token is only used with the search
// that made it.
func (q *query) hash(area string) uint64 {
	h := fnv.New64a()
	var b []byte
	b = append(b, area...)
	b = binary.AppendUvarint(b, math.Float64bits(q.origin.Lat))
	b = binary.AppendUvarint(b, math.Float64bits(q.origin.Long))
	b = binary.AppendUvarint(b, math.Float64bits(q.miles))
	for _, t := range q.terms {
		b = append(append(b, t...), 0)
	}
	for _, set := range [][]bool{q.levels[:], q.delivery[:], q.study[:], q.attendance[:]} {
		for _, v := range set {
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	b = append(append(b, q.sector...), 0)
	if q.modularOnly {
		b = append(b, 1)
	}
	b = binary.AppendVarint(b, q.maxCost)
	b = binary.AppendVarint(b, int64(q.from))
	b = binary.AppendVarint(b, int64(q.to))
	b = append(b, byte(q.order))
	_, _ = h.Write(b)
	return h.Sum64()
}

var errBadToken = errors.New("is not a page token of this search: repeat the search without it")

// encodeToken makes an opaque page token holding the last result's sort key.
func encodeToken(fp uint64, k sortKey) string {
	b := binary.BigEndian.AppendUint64(nil, fp)
	b = binary.AppendVarint(b, int64(k.score))
	if k.hasDist {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(k.dist))
	b = binary.AppendVarint(b, k.cost)
	b = binary.AppendVarint(b, int64(k.start))
	b = append(b, k.id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, fp uint64) (sortKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 8 || binary.BigEndian.Uint64(b) != fp {
		return sortKey{}, errBadToken
	}
	b = b[8:]
	var k sortKey
	next := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			err = errBadToken
			return 0
		}
		b = b[n:]
		return v
	}
	k.score = int32(next())
	if err != nil || len(b) < 9 {
		return sortKey{}, errBadToken
	}
	k.hasDist = b[0] == 1
	k.dist = math.Float64frombits(binary.BigEndian.Uint64(b[1:9]))
	b = b[9:]
	k.cost = next()
	k.start = int32(next())
	if err != nil || !ValidCourseID(string(b)) {
		return sortKey{}, errBadToken
	}
	k.id = string(b)
	return k, nil
}

// compare orders two results under order: negative when a comes first.
func compare(order Order, a, b *sortKey) int {
	byDist := func() int {
		switch {
		case a.hasDist != b.hasDist:
			if a.hasDist {
				return -1
			}
			return 1
		case a.dist < b.dist:
			return -1
		case a.dist > b.dist:
			return 1
		}
		return 0
	}
	var r int
	switch order {
	case OrderDistance:
		r = byDist()
	case OrderLearnerCost:
		r = cmpInt(a.cost, b.cost)
		if r == 0 {
			r = byDist()
		}
	case OrderStartDate:
		r = cmpInt(int64(a.start), int64(b.start))
		if r == 0 {
			r = byDist()
		}
	default:
		r = cmpInt(int64(b.score), int64(a.score))
		if r == 0 {
			r = byDist()
		}
	}
	if r == 0 {
		r = strings.Compare(a.id, b.id)
	}
	return r
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scratch holds the bitsets of one search, reused through a pool so searches do not
// allocate them.
type scratch struct{ cand, title, desc, near bitset }

// search runs q over the index and fills res.
func (ix *areaIndex) search(q *query, res *SearchResult) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	sc, _ := ix.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer ix.scratch.Put(sc)
	cand := resize(&sc.cand, len(ix.docs))
	copy(cand, ix.live)
	titleSets := make([]bitset, len(q.terms))
	for i, t := range q.terms {
		title, desc := ix.prefixSets(t)
		titleSets[i] = title
		desc.or(title)
		cand.and(desc)
	}
	var maxChord2 float64
	var ox, oy, oz float64
	ox, oy, oz = unitVector(q.origin.Lat, q.origin.Long)
	if q.miles > 0 {
		cand.and(ix.near(resize(&sc.near, len(ix.docs)), q.origin, q.miles))
		maxChord2 = milesChord2(q.miles)
	}
	var sectorCounts [100]int
	var wantSector, wantTier1 uint16
	if q.sector != "" {
		wantSector = sectorCode(q.sector)
		if !strings.Contains(q.sector, ".") {
			wantTier1 = wantSector / 100
			wantSector = 0
		}
	}
	top := make([]sortKey, 0, q.pageSize+1)
	cand.each(func(n uint32) {
		d := &ix.docs[n]
		var chord2 float64
		if d.located {
			dx, dy, dz := d.x-ox, d.y-oy, d.z-oz
			chord2 = dx*dx + dy*dy + dz*dz
			if q.miles > 0 && chord2 > maxChord2 {
				return
			}
		} else if q.miles > 0 && d.delivery != DeliveryOnline {
			return // a venue that cannot be located cannot be shown as near
		}
		if q.modularOnly && !d.modular ||
			d.cost > q.maxCost ||
			d.startDay != math.MinInt32 && (d.startDay < q.from || d.startDay > q.to) ||
			q.anyAttend && !q.attendance[d.attendance] {
			return
		}
		okLevel := !q.anyLevel || q.levels[d.level]
		okDelivery := !q.anyDelivery || q.delivery[d.delivery]
		okStudy := !q.anyStudy || q.study[d.study]
		okSector := q.sector == "" || wantSector != 0 && d.sector == wantSector || wantTier1 != 0 && d.sector/100 == wantTier1
		if okDelivery && okStudy && okSector {
			res.Facets.Levels[d.level]++
		}
		if okLevel && okStudy && okSector {
			res.Facets.Delivery[d.delivery]++
		}
		if okLevel && okDelivery && okSector {
			res.Facets.Study[d.study]++
		}
		if okLevel && okDelivery && okStudy && d.sector != 0 {
			sectorCounts[d.sector/100]++
		}
		if !(okLevel && okDelivery && okStudy && okSector) {
			return
		}
		res.Total++
		k := sortKey{cost: d.cost, start: d.startDay}
		if d.located {
			k.hasDist, k.dist = true, chordMiles(chord2)
		}
		for _, ts := range titleSets {
			if ts.has(n) {
				k.score += 3
			} else {
				k.score++
			}
		}
		// Cheap rejections before the id (and so the course) is read.
		if len(top) == q.pageSize+1 && q.after == nil && compareNoID(q.order, &k, &top[len(top)-1]) > 0 {
			return
		}
		k.id = d.course.ID
		if q.after != nil && compare(q.order, q.after, &k) >= 0 {
			return
		}
		// Keep the page plus one, in order: enough to know whether another page follows.
		if len(top) == q.pageSize+1 && compare(q.order, &k, &top[len(top)-1]) >= 0 {
			return
		}
		i, _ := slices.BinarySearchFunc(top, k, func(e, t sortKey) int { return compare(q.order, &e, &t) })
		if len(top) == q.pageSize+1 {
			top = top[:len(top)-1]
		}
		top = slices.Insert(top, i, k)
	})
	res.Facets.Sectors = map[string]int{}
	for t1, n := range sectorCounts {
		if n > 0 {
			res.Facets.Sectors[strconv.Itoa(t1)] = n
		}
	}
	if len(top) > q.pageSize {
		top = top[:q.pageSize]
		res.NextPageToken = encodeToken(q.fingerprint, top[len(top)-1])
	}
	res.Results = make([]Found, 0, len(top))
	for _, k := range top {
		d := &ix.docs[ix.byID[k.id]]
		res.Results = append(res.Results, Found{
			Course:        *d.course,
			ProviderName:  ix.provNames[d.course.ProviderUKPRN],
			DistanceMiles: k.dist,
			HasDistance:   k.hasDist,
		})
	}
}

// resize returns *b with room for n members and no members, reusing its array.
func resize(b *bitset, n int) bitset {
	words := (n + 63) / 64
	if cap(*b) < words {
		*b = make(bitset, words)
	}
	*b = (*b)[:words]
	clear(*b)
	return *b
}

// compareNoID is compare without the final tie-break on the id.
func compareNoID(order Order, a, b *sortKey) int {
	x, y := *a, *b
	x.id, y.id = "", ""
	return compare(order, &x, &y)
}
