package pgstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"go.uber.org/zap"
)

// FollowerOptions configure a Follower. Zero values take the defaults.
type FollowerOptions struct {
	// Interval is how often Run polls (default 500ms): another replica's event reaches
	// this replica's index within about that long, and a report catches up first anyway.
	Interval time.Duration
	// PageSize is how many events one query reads (default 10,000).
	PageSize int
	// GapTimeout is how long after a seq number is skipped over the follower keeps
	// looking for it (default four times the store's statement timeout: 2 minutes). A
	// seq is skipped while the insert that drew it has not committed, and forever when it
	// rolled back or lost a race to a duplicate; it must exceed the longest an insert can
	// run (the statement timeout) and commit, or a slow insert's events would be missed
	// until the next start.
	GapTimeout time.Duration
	// MaxGaps bounds the seq numbers tracked at once (default 100,000); a jump past it
	// (a sequence reset by hand) is not tracked.
	MaxGaps int
	// Log reports polls that fail (default: none).
	Log *zap.Logger
}

// Follower feeds a domain.Sink every event of the store exactly once, whichever replica
// stored it, by polling the events table in seq order (WHERE seq > last).
//
// seq numbers are drawn when a row is inserted but become visible when its transaction
// commits, so a poll can see seq 11 before seq 10: the follower then remembers 10 as a
// gap and asks for it by number on every poll until it appears or until GapTimeout after
// it was drawn, when the insert that drew it has certainly ended (rolled back, or lost to
// a duplicate). Times are the database's, so replicas' clocks do not matter.
type Follower struct {
	store *Store
	sink  domain.Sink
	opts  FollowerOptions
	log   *zap.Logger

	mu   sync.Mutex
	last int64 // the highest seq seen
	// gaps are seqs below last not seen yet, with the local (monotonic) time after which
	// they are given up.
	gaps map[int64]time.Time
	now  func() time.Time
}

// NewFollower returns a follower that will feed sink from store, starting from an empty
// table position: its first CatchUp delivers every stored event.
func NewFollower(store *Store, sink domain.Sink, opts FollowerOptions) *Follower {
	if opts.Interval <= 0 {
		opts.Interval = 500 * time.Millisecond
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 10_000
	}
	if opts.GapTimeout <= 0 {
		opts.GapTimeout = 4 * store.statementTimeout
	}
	if opts.MaxGaps <= 0 {
		opts.MaxGaps = 100_000
	}
	log := opts.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &Follower{store: store, sink: sink, opts: opts, log: log, gaps: map[int64]time.Time{}, now: time.Now}
}

// CatchUp delivers to the sink every event committed before it was called that it has
// not delivered yet, and returns how many it delivered. Calls are serialised.
func (f *Follower) CatchUp(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if len(f.gaps) > 0 {
		seqs := make([]int64, 0, len(f.gaps))
		for seq := range f.gaps {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		found, err := f.store.EventsAt(ctx, seqs)
		if err != nil {
			return n, err
		}
		f.deliver(found)
		n += len(found)
		for _, c := range found {
			delete(f.gaps, c.Seq)
		}
		// Given up only after a query made past the deadline found nothing.
		now := f.now()
		for seq, deadline := range f.gaps {
			if now.After(deadline) {
				delete(f.gaps, seq)
			}
		}
	}
	for {
		page, err := f.store.EventsAfter(ctx, f.last, f.opts.PageSize)
		if err != nil {
			return n, err
		}
		now := f.now()
		for _, c := range page {
			f.skipped(f.last+1, c.Seq, c.Age, now)
			f.last = c.Seq
		}
		f.deliver(page)
		n += len(page)
		if len(page) < f.opts.PageSize {
			return n, nil
		}
	}
}

// skipped records the seqs from..to-1, skipped over by a row whose seq was drawn age ago.
func (f *Follower) skipped(from, to int64, age time.Duration, now time.Time) {
	if to <= from {
		return
	}
	// The inserts holding them drew their seqs before this row drew its own.
	left := f.opts.GapTimeout - age
	if left <= 0 {
		return // long over: they rolled back or lost to a duplicate
	}
	if to-from > int64(f.opts.MaxGaps-len(f.gaps)) {
		f.log.Warn("event seq jumped too far to track the numbers skipped", zap.Int64("from", from), zap.Int64("to", to))
		return
	}
	deadline := now.Add(left)
	for seq := from; seq < to; seq++ {
		f.gaps[seq] = deadline
	}
}

func (f *Follower) deliver(changes []Change) {
	if len(changes) == 0 {
		return
	}
	events := make([]domain.Event, len(changes))
	for i, c := range changes {
		events[i] = c.Event
	}
	f.sink.Add(events)
}

// Gaps returns how many skipped seq numbers the follower is still looking for.
func (f *Follower) Gaps() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.gaps)
}

// Run calls CatchUp every Interval until ctx ends. A failing poll is logged (once until
// polls succeed again) and retried at the next tick.
func (f *Follower) Run(ctx context.Context) {
	t := time.NewTicker(f.opts.Interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := f.CatchUp(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			f.log.Warn("following other replicas' events failed; retrying", zap.Error(err))
		case err == nil && failing:
			failing = false
			f.log.Info("following other replicas' events again")
		}
	}
}
