// Package attribution keeps every event of the outreach service in a compact in-memory
// index and computes funnels and attribution reports over it: rule-based models (first
// touch, last touch, last non-direct, linear, position-based, time decay) and
// data-driven ones (Markov removal effect, Shapley value).
//
// The index is built for speed over millions of events: events are 24-byte rows in one
// slice sorted by (journey, time, event id), every string (journey key, area, touch
// source, event id) is interned to a small integer, and a journey is a sub-slice of the
// rows. New events wait in a pending slice and are merged in, in one sorted pass, by the
// next report.
package attribution

import (
	"cmp"
	"slices"
	"sync"

	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
)

// Source is what a touch came from: a campaign, or a channel and messenger without one,
// or a direct visit. Campaign touches take their channel and messenger from the
// campaign at report time, so a corrected campaign corrects every report.
type Source struct {
	Area      string
	Campaign  string
	Channel   domain.Channel
	Messenger domain.Messenger
	Direct    bool
}

// row is one event. kind is 0 for a touch, else the conversion stage.
type row struct {
	t       int64  // corrected time, unix milliseconds
	id      uint32 // index into ids
	journey uint32 // interned journey key
	src     uint32 // interned Source, for touches
	area    uint16 // interned area
	kind    uint8
	outcome uint8
}

// Index is the in-memory copy of every event. It is safe for concurrent use.
type Index struct {
	mu       sync.Mutex
	journeys map[domain.JourneyKey]uint32
	srcIDs   map[Source]uint32
	sources  []Source
	areaIDs  map[string]uint16
	areas    []string
	ids      []string
	pending  []row
	snap     *snapshot
}

// snapshot is an immutable, sorted view of the index.
type snapshot struct {
	rows    []row
	starts  []uint32 // rows of journey j are rows[starts[j]:starts[j+1]]; journeys without rows are empty
	ids     []string
	sources []Source
	areas   []string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		journeys: map[domain.JourneyKey]uint32{},
		srcIDs:   map[Source]uint32{},
		areaIDs:  map[string]uint16{},
		snap:     &snapshot{starts: []uint32{0}},
	}
}

// Add implements domain.Sink: it takes events that are now durable. Each event must be
// added once (the store deduplicates).
func (x *Index) Add(events []domain.Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range events {
		x.pending = append(x.pending, x.rowOf(e))
	}
}

// Len is the number of events in the index.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.ids)
}

func (x *Index) rowOf(e domain.Event) row {
	j, ok := x.journeys[e.Journey]
	if !ok {
		j = uint32(len(x.journeys))
		x.journeys[e.Journey] = j
	}
	a, ok := x.areaIDs[e.Area]
	if !ok {
		a = uint16(len(x.areas))
		x.areaIDs[e.Area] = a
		x.areas = append(x.areas, e.Area)
	}
	r := row{t: e.Time.UnixMilli(), id: uint32(len(x.ids)), journey: j, area: a}
	x.ids = append(x.ids, e.ID)
	switch e.Kind {
	case domain.KindTouch:
		s := Source{Area: e.Area, Campaign: e.Campaign, Direct: e.Direct()}
		if e.Campaign == "" {
			s.Channel, s.Messenger = e.Channel, e.Messenger
		}
		id, ok := x.srcIDs[s]
		if !ok {
			id = uint32(len(x.sources))
			x.srcIDs[s] = id
			x.sources = append(x.sources, s)
		}
		r.src = id
	case domain.KindConversion:
		r.kind = uint8(e.Stage)
		r.outcome = uint8(e.Outcome)
	}
	return r
}

// Prepare sorts the pending events into the snapshot now, so that the first report
// after a start does not pay for it.
func (x *Index) Prepare() { x.snapshot() }

// snapshot merges pending events into a new sorted snapshot and returns it.
func (x *Index) snapshot() *snapshot {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.snap
	if len(x.pending) == 0 && len(old.sources) == len(x.sources) {
		return old
	}
	ids := x.ids
	less := func(a, b row) int {
		if c := cmp.Compare(a.journey, b.journey); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(ids[a.id], ids[b.id])
	}
	slices.SortFunc(x.pending, less)
	merged := make([]row, 0, len(old.rows)+len(x.pending))
	i, k := 0, 0
	for i < len(old.rows) && k < len(x.pending) {
		if less(old.rows[i], x.pending[k]) <= 0 {
			merged = append(merged, old.rows[i])
			i++
		} else {
			merged = append(merged, x.pending[k])
			k++
		}
	}
	merged = append(merged, old.rows[i:]...)
	merged = append(merged, x.pending[k:]...)
	starts := make([]uint32, len(x.journeys)+1)
	for _, r := range merged {
		starts[r.journey+1]++
	}
	for j := 1; j < len(starts); j++ {
		starts[j] += starts[j-1]
	}
	x.pending = nil
	x.snap = &snapshot{
		rows:    merged,
		starts:  starts,
		ids:     ids[:len(ids):len(ids)],
		sources: x.sources[:len(x.sources):len(x.sources)],
		areas:   x.areas[:len(x.areas):len(x.areas)],
	}
	return x.snap
}
