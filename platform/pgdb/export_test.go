package pgdb

import (
	"context"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
)

// MigrateWithoutLock is Migrate as it runs on an engine without advisory locks.
func MigrateWithoutLock(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) ([]Migration, error) {
	return migrate(ctx, pool, schema, fsys, false)
}
