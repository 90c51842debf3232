package pgstore

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nrs-pilots/retrain/platform/pgtest"
)

// TestCommitterIsolatesFailures: statements that fail in a group fail alone, the others
// of their group still commit with their own results, and statements do share groups.
func TestCommitterIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.pool.Exec(ctx, `CREATE TABLE probe (n INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const n = 200
	got := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sql := `INSERT INTO probe (n) VALUES ($1) RETURNING n`
			if i%50 == 3 {
				sql = `INSERT INTO probe (n) VALUES ($1 / 0) RETURNING n` // division by zero
			}
			errs[i] = s.group.do(ctx, sql, func(rows pgx.Rows) error {
				var err error
				got[i], err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
				return err
			}, i)
		}()
	}
	wg.Wait()
	for i := range n {
		var pgErr *pgconn.PgError
		switch {
		case i%50 == 3:
			if !errors.As(errs[i], &pgErr) || pgErr.Code != "22012" {
				t.Errorf("statement %d = %v, want its own division by zero", i, errs[i])
			}
		case errs[i] != nil || got[i] != i:
			t.Errorf("statement %d = %d, %v; want %d, committed", i, got[i], errs[i], i)
		}
	}
	var stored int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM probe`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := n - n/50; stored != want {
		t.Errorf("%d rows committed, want %d", stored, want)
	}
	if largest := s.group.largest.Load(); largest < 2 {
		t.Errorf("the largest group committed %d statements: %d concurrent statements never shared a commit", largest, n)
	} else {
		t.Logf("largest group: %d statements", largest)
	}
}
