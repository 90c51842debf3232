package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// QueryRowForTest runs a query on the store's pool, for tests that look at the server.
func (s *Store) QueryRowForTest(ctx context.Context, sql string, args ...any) pgx.Row {
	return s.pool.QueryRow(ctx, sql, args...)
}
