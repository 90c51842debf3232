package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nrs-pilots/retrain/platform/pgdb"
	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/pgstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a store on url, closed when the test ends.
func open(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawPool is a pool on url's outreach schema for statements the store does not make.
func rawPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), url, pgdb.Options{Schema: pgstore.Schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store { return open(t, pgtest.URL(t)) })
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			s, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("replicas opening at once: %v", err)
	}
	versions, err := pgdb.AppliedVersions(context.Background(), rawPool(t, url), pgstore.Schema)
	if err != nil || !slices.Equal(versions, []int64{1}) {
		t.Errorf("applied versions = %v, %v, want [1]", versions, err)
	}
	if err := pgstore.Migrate(context.Background(), url); err != nil {
		t.Errorf("Migrate() on a migrated schema = %v", err)
	}
}

func TestMigrateBeforeOpen(t *testing.T) {
	url := pgtest.URL(t)
	if err := pgstore.Migrate(context.Background(), url); err != nil {
		t.Fatalf("Migrate() = %v", err)
	}
	versions, err := pgdb.AppliedVersions(context.Background(), rawPool(t, url), pgstore.Schema)
	if err != nil || !slices.Equal(versions, []int64{1}) {
		t.Errorf("applied versions = %v, %v, want [1]", versions, err)
	}
	open(t, url) // and a replica then starts on it
}

// TestEventRaceAcrossReplicas: two stores (two replicas' pools) on one database receive
// the same event ids at once, in opposite orders; some ids with different content. Each
// id is stored exactly once, the loser of each race hears duplicate or conflict
// correctly, and no batch fails (opposite orders would deadlock if inserts took their
// index entries in batch order).
func TestEventRaceAcrossReplicas(t *testing.T) {
	url := pgtest.URL(t)
	stores := []*pgstore.Store{open(t, url), open(t, url)}
	ctx := context.Background()
	defer func() {
		// Retries hide deadlocks from the outcomes, so count them.
		if n := deadlocks(t, url, stores...); n != 0 {
			t.Errorf("the database resolved %d deadlocks between the replicas' inserts, want none", n)
		}
	}()
	t0 := time.Date(2020, 9, 1, 10, 0, 0, 0, time.UTC)
	const ids, rounds = 200, 4
	version := func(replica, i int) domain.Event {
		e := storetest.Event(fmt.Sprintf("e%04d", i), byte(i), t0.Add(time.Duration(i)*time.Second))
		if i%10 == 0 {
			e.Fingerprint[15] = byte(replica + 1) // every tenth id differs between replicas
		}
		return e
	}
	type result struct {
		replica  int
		outcomes []domain.PutOutcome
		batch    []domain.Event
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for replica, s := range stores {
		for round := range rounds {
			wg.Go(func() {
				batch := make([]domain.Event, ids)
				for i := range batch {
					batch[i] = version(replica, i)
				}
				if (replica+round)%2 == 1 {
					slices.Reverse(batch)
				}
				out, err := s.PutEvents(ctx, batch)
				if err != nil {
					t.Errorf("replica %d: PutEvents = %v", replica, err)
					return
				}
				mu.Lock()
				results = append(results, result{replica, out, batch})
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	winner := map[string]int{} // id -> replica that stored it
	for _, r := range results {
		for k, o := range r.outcomes {
			if o == domain.PutStored {
				id := r.batch[k].ID
				if w, ok := winner[id]; ok {
					t.Fatalf("%s stored twice (replicas %d and %d)", id, w, r.replica)
				}
				winner[id] = r.replica
			}
		}
	}
	if len(winner) != ids {
		t.Fatalf("%d ids stored, want %d", len(winner), ids)
	}
	for _, r := range results {
		for k, o := range r.outcomes {
			e := r.batch[k]
			want := domain.PutDuplicate
			switch w := winner[e.ID]; {
			case o == domain.PutStored:
				continue
			case e.Fingerprint != version(w, indexOf(e.ID)).Fingerprint:
				want = domain.PutConflict
			}
			if o != want {
				t.Errorf("replica %d, %s: outcome %v, want %v", r.replica, e.ID, o, want)
			}
		}
	}
	n := 0
	err := stores[1].ScanEvents(ctx, func(e domain.Event) error {
		n++
		if want := version(winner[e.ID], indexOf(e.ID)); e.Fingerprint != want.Fingerprint {
			t.Errorf("%s: stored fingerprint is not the winner's", e.ID)
		}
		return nil
	})
	if err != nil || n != ids {
		t.Errorf("ScanEvents saw %d events (%v), want %d", n, err, ids)
	}
}

// deadlocks closes stores and returns the deadlocks the database has counted, once
// their sessions have ended (a session reports its statistics when it ends at the latest).
func deadlocks(t *testing.T, url string, stores ...*pgstore.Store) int64 {
	t.Helper()
	for _, s := range stores {
		s.Close()
	}
	pool := rawPool(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var others int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&others)
		if err != nil {
			t.Fatalf("waiting for the stores' sessions to end: %v", err)
		}
		if others == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int64
	if _, err := pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func indexOf(id string) int {
	var i int
	_, _ = fmt.Sscanf(id, "e%04d", &i)
	return i
}

// TestCampaignRacesAcrossReplicas: creates of one id, claims of one code and updates of
// one revision, through two replicas at once: exactly one of each wins.
func TestCampaignRacesAcrossReplicas(t *testing.T) {
	url := pgtest.URL(t)
	stores := []domain.Store{open(t, url), open(t, url)}
	ctx := context.Background()
	const area = "E37000022"
	race := func(name string, fn func(replica int, s domain.Store) error, loser error) {
		t.Helper()
		for round := range 5 {
			errs := make([]error, len(stores))
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() { errs[i] = fn(round*len(stores)+i, s) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, loser):
					t.Errorf("%s: %v, want nil or %v", name, err, loser)
				}
			}
			if won != 1 {
				t.Errorf("%s round %d: %d winners (%v), want 1", name, round, won, errs)
			}
		}
	}
	race("create same id", func(n int, s domain.Store) error {
		return s.CreateCampaign(ctx, storetest.Campaign(area, fmt.Sprintf("same-%d", n/2)))
	}, domain.ErrAlreadyExists)
	race("create with same code", func(n int, s domain.Store) error {
		return s.CreateCampaign(ctx, storetest.Campaign(area, fmt.Sprintf("code-%d", n), fmt.Sprintf("LEAF-%d", n/2)))
	}, domain.ErrAlreadyExists)
	for round := range 5 {
		if err := stores[0].CreateCampaign(ctx, storetest.Campaign(area, fmt.Sprintf("upd-%d", round))); err != nil {
			t.Fatal(err)
		}
	}
	race("update same revision", func(n int, s domain.Store) error {
		c, err := s.GetCampaign(ctx, area, fmt.Sprintf("upd-%d", n/2))
		if err != nil {
			return err
		}
		// Both replicas read revision 1 (the other has not written yet, or this one
		// loses anyway): each proposes revision 2 with a code of its own.
		c.Revision = 2
		c.Codes = []string{fmt.Sprintf("UPD-%d", n)}
		return s.UpdateCampaign(ctx, c)
	}, domain.ErrEtagMismatch)
	for round := range 5 {
		c, err := stores[1].GetCampaign(ctx, area, fmt.Sprintf("upd-%d", round))
		if err != nil || c.Revision != 2 || len(c.Codes) != 1 {
			t.Fatalf("after the update race: %+v, %v", c, err)
		}
		// The winner's code resolves; the loser's was never taken.
		for n := 2 * round; n < 2*round+2; n++ {
			code := fmt.Sprintf("UPD-%d", n)
			id, ok, err := stores[0].CampaignByCode(ctx, area, code)
			if want := code == c.Codes[0]; err != nil || ok != want || want && id != c.ID {
				t.Errorf("CampaignByCode(%s) = %q, %v, %v; winner's code is %s", code, id, ok, err, c.Codes[0])
			}
		}
	}
}

func TestEnsureSetting(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	ctx := context.Background()
	got, err := a.EnsureSetting(ctx, "k", []byte("first"))
	if err != nil || string(got) != "first" {
		t.Fatalf("EnsureSetting(first) = %q, %v", got, err)
	}
	got, err = b.EnsureSetting(ctx, "k", []byte("second"))
	if err != nil || string(got) != "first" {
		t.Errorf("EnsureSetting(second) through another replica = %q, %v, want the first value", got, err)
	}
}
