package pgstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

// recorder is a domain.Sink that keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) Add(events []domain.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		r.ids = append(r.ids, e.ID)
	}
}

func (r *recorder) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.ids))
}

func openStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2020, 9, 1, 10, 0, 0, 0, time.UTC)

func put(t *testing.T, s *Store, ids ...string) {
	t.Helper()
	events := make([]domain.Event, len(ids))
	for i, id := range ids {
		events[i] = storetest.Event(id, id[len(id)-1], t0) // one id, one content
	}
	if _, err := s.PutEvents(context.Background(), events); err != nil {
		t.Fatal(err)
	}
}

func catchUp(t *testing.T, f *Follower, want int) {
	t.Helper()
	n, err := f.CatchUp(context.Background())
	if err != nil || n != want {
		t.Fatalf("CatchUp() = %d, %v, want %d events", n, err, want)
	}
}

// TestFollowerDeliversEveryReplicasEventsOnce: events stored through two replicas reach
// a third's sink once each, duplicates included, over several pages.
func TestFollowerDeliversEveryReplicasEventsOnce(t *testing.T) {
	url := pgtest.URL(t)
	a, b, c := openStore(t, url), openStore(t, url), openStore(t, url)
	sink := &recorder{}
	f := NewFollower(c, sink, FollowerOptions{PageSize: 2})
	catchUp(t, f, 0)
	put(t, a, "a1", "a2", "a3")
	put(t, b, "a2", "b1") // a2 is a duplicate of a's
	catchUp(t, f, 4)
	catchUp(t, f, 0)
	put(t, a, "b1", "a4")
	catchUp(t, f, 1)
	if got, want := sink.sorted(), []string{"a1", "a2", "a3", "a4", "b1"}; !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
	if f.Gaps() != 0 {
		t.Errorf("Gaps() = %d, want 0: duplicates must not use up seq numbers", f.Gaps())
	}
}

// holdInsert inserts an event in a transaction it leaves open, so that its seq number
// is drawn but not visible, as an insert in flight on another replica.
func holdInsert(t *testing.T, s *Store, id string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	a := newEventArrays([]domain.Event{storetest.Event(id, 9, t0)})
	rows, err := tx.Query(ctx, insertEvents, a.ids, a.fingerprints, a.journeys, a.areas, a.occur, a.receive,
		a.kind, a.source, a.channel, a.messenger, a.stage, a.outcome, a.reason, a.campaigns)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestFollowerGaps: an insert that commits after a later seq was seen is still
// delivered; one that rolled back is given up after the gap timeout, by the database's
// measure of how long ago the seq was drawn.
func TestFollowerGaps(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		commit bool
	}{{"commits late", true}, {"rolls back", false}} {
		t.Run(tt.name, func(t *testing.T) {
			url := pgtest.URL(t)
			a, b := openStore(t, url), openStore(t, url)
			sink := &recorder{}
			f := NewFollower(b, sink, FollowerOptions{GapTimeout: time.Hour})
			now := time.Now()
			f.now = func() time.Time { return now }
			put(t, a, "first")
			tx := holdInsert(t, a, "slow")
			put(t, a, "after")
			catchUp(t, f, 2)
			if f.Gaps() != 1 {
				t.Fatalf("Gaps() = %d, want 1 (the slow insert's seq)", f.Gaps())
			}
			catchUp(t, f, 0)
			want := []string{"after", "first"}
			if tt.commit {
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				want = []string{"after", "first", "slow"}
				catchUp(t, f, 1)
			} else {
				if err := tx.Rollback(ctx); err != nil {
					t.Fatal(err)
				}
				catchUp(t, f, 0)
				if f.Gaps() != 1 {
					t.Errorf("Gaps() = %d before the timeout, want 1", f.Gaps())
				}
				now = now.Add(time.Hour + time.Second)
				catchUp(t, f, 0)
			}
			if f.Gaps() != 0 {
				t.Errorf("Gaps() = %d, want 0", f.Gaps())
			}
			if got := sink.sorted(); !slices.Equal(got, want) {
				t.Errorf("sink got %v, want %v", got, want)
			}
		})
	}
}

// TestFollowerIgnoresOldGaps: seq numbers skipped longer ago than the gap timeout (a
// rollback last week, found when a replica starts) are not looked for.
func TestFollowerIgnoresOldGaps(t *testing.T) {
	url := pgtest.URL(t)
	s := openStore(t, url)
	put(t, s, "first")
	tx := holdInsert(t, s, "rolled-back")
	put(t, s, "after")
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Any row is older than a microsecond by the time the follower reads it.
	f := NewFollower(s, &recorder{}, FollowerOptions{GapTimeout: time.Microsecond})
	catchUp(t, f, 2)
	if f.Gaps() != 0 {
		t.Errorf("Gaps() = %d, want 0", f.Gaps())
	}
}

// TestFollowerRun: Run polls until its context ends.
func TestFollowerRun(t *testing.T) {
	url := pgtest.URL(t)
	a, b := openStore(t, url), openStore(t, url)
	sink := &recorder{}
	f := NewFollower(b, sink, FollowerOptions{Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	for i := range 3 {
		put(t, a, fmt.Sprintf("e%d", i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.sorted()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := sink.sorted(); !slices.Equal(got, []string{"e0", "e1", "e2"}) {
		t.Errorf("sink got %v after polling, want e0 e1 e2", got)
	}
}
