package pgdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nrs-pilots/retrain/platform/pgdb"
	"github.com/nrs-pilots/retrain/platform/pgtest"
)

func file(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int64
		wantErr error
	}{
		{
			name: "sorted by version, other files ignored",
			fsys: fstest.MapFS{
				"0010_add_index.sql":    file("CREATE INDEX a ON t (x);"),
				"0002_second.sql":       file("SELECT 2;"),
				"0001_init.sql":         file("CREATE TABLE t (x int);"),
				"README.md":             file("how to write migrations"),
				"old/0003_archived.sql": file("SELECT 3;"),
			},
			want: []int64{1, 2, 10},
		},
		{name: "none", fsys: fstest.MapFS{}, want: nil},
		{name: "name without version", fsys: fstest.MapFS{"init.sql": file("SELECT 1;")}, wantErr: pgdb.ErrBadMigration},
		{name: "short version", fsys: fstest.MapFS{"1_init.sql": file("SELECT 1;")}, wantErr: pgdb.ErrBadMigration},
		{name: "upper case", fsys: fstest.MapFS{"0001_Init.sql": file("SELECT 1;")}, wantErr: pgdb.ErrBadMigration},
		{name: "version zero", fsys: fstest.MapFS{"0000_init.sql": file("SELECT 1;")}, wantErr: pgdb.ErrBadMigration},
		{name: "empty file", fsys: fstest.MapFS{"0001_init.sql": file(" \n\t")}, wantErr: pgdb.ErrBadMigration},
		{name: "duplicate version", fsys: fstest.MapFS{"0001_init.sql": file("SELECT 1;"), "00001_again.sql": file("SELECT 1;")}, wantErr: pgdb.ErrBadMigration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pgdb.LoadMigrations(tt.fsys)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadMigrations() error = %v, want %v", err, tt.wantErr)
			}
			var versions []int64
			for _, m := range got {
				versions = append(versions, m.Version)
				if len(m.Checksum) != 64 {
					t.Errorf("%s: checksum %q is not hex SHA-256", m.Name, m.Checksum)
				}
			}
			if !slices.Equal(versions, tt.want) {
				t.Errorf("LoadMigrations() versions = %v, want %v", versions, tt.want)
			}
		})
	}
}

// openTest opens a pool on a fresh database for schema.
func openTest(t *testing.T, url, schema string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), url, pgdb.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func versions(ms []pgdb.Migration) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

var baseMigrations = fstest.MapFS{
	"0001_init.sql": file(`
CREATE TABLE course (id TEXT PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE event (id TEXT PRIMARY KEY, at TIMESTAMPTZ NOT NULL);`),
	"0002_course_area.sql": file(`ALTER TABLE course ADD COLUMN area TEXT NOT NULL DEFAULT '';`),
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	pool := openTest(t, url, "courses")

	applied, err := pgdb.Migrate(ctx, pool, "courses", baseMigrations)
	if err != nil {
		t.Fatalf("Migrate() error = %v", err)
	}
	if got := versions(applied); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("first Migrate() applied %v, want [1 2]", got)
	}
	// The tables are in the service's schema, reached unqualified through search_path,
	// and not in public.
	if _, err := pool.Exec(ctx, "INSERT INTO course (id, title, area) VALUES ('c1', 'Welding', 'E47000004')"); err != nil {
		t.Fatalf("insert into migrated table: %v", err)
	}
	var inSchema, inPublic int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE table_schema = 'courses'), count(*) FILTER (WHERE table_schema = 'public')
		FROM information_schema.tables WHERE table_name IN ('course', 'event', 'schema_migrations')`).Scan(&inSchema, &inPublic); err != nil {
		t.Fatal(err)
	}
	if inSchema != 3 || inPublic != 0 {
		t.Errorf("tables: %d in schema courses, %d in public; want 3 and 0", inSchema, inPublic)
	}

	t.Run("second run applies nothing", func(t *testing.T) {
		applied, err := pgdb.Migrate(ctx, pool, "courses", baseMigrations)
		if err != nil || len(applied) != 0 {
			t.Errorf("Migrate() again = %v, %v; want nothing applied", versions(applied), err)
		}
	})

	t.Run("a new version is applied alone", func(t *testing.T) {
		next := fstest.MapFS{"0003_event_kind.sql": file("ALTER TABLE event ADD COLUMN kind TEXT;")}
		for k, v := range baseMigrations {
			next[k] = v
		}
		applied, err := pgdb.Migrate(ctx, pool, "courses", next)
		if err != nil || !slices.Equal(versions(applied), []int64{3}) {
			t.Fatalf("Migrate() = %v, %v; want [3]", versions(applied), err)
		}
		got, err := pgdb.AppliedVersions(ctx, pool, "courses")
		if err != nil || !slices.Equal(got, []int64{1, 2, 3}) {
			t.Errorf("AppliedVersions() = %v, %v; want [1 2 3]", got, err)
		}
	})

	t.Run("an older binary runs against a newer schema", func(t *testing.T) {
		applied, err := pgdb.Migrate(ctx, pool, "courses", baseMigrations)
		if err != nil || len(applied) != 0 {
			t.Errorf("Migrate() with versions 1-2 on a schema at 3 = %v, %v; want nothing applied, no error", versions(applied), err)
		}
	})

	t.Run("an applied migration edited", func(t *testing.T) {
		edited := fstest.MapFS{
			"0001_init.sql":        file("CREATE TABLE course (id TEXT PRIMARY KEY);"),
			"0002_course_area.sql": baseMigrations["0002_course_area.sql"],
		}
		_, err := pgdb.Migrate(ctx, pool, "courses", edited)
		if !errors.Is(err, pgdb.ErrModified) || !strings.Contains(err.Error(), "0001_init.sql") {
			t.Errorf("Migrate() with an edited 0001 = %v, want ErrModified naming the file", err)
		}
	})

	t.Run("a failing migration rolls back the whole run", func(t *testing.T) {
		url := pgtest.URL(t)
		pool := openTest(t, url, "outreach")
		broken := fstest.MapFS{
			"0001_init.sql":   file("CREATE TABLE campaign (id TEXT PRIMARY KEY);"),
			"0002_broken.sql": file("ALTER TABLE no_such_table ADD COLUMN x INT;"),
		}
		_, err := pgdb.Migrate(ctx, pool, "outreach", broken)
		if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
			t.Fatalf("Migrate() = %v, want an error naming 0002_broken.sql", err)
		}
		var tables int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'outreach'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("%d tables left in schema outreach after a failed run, want 0 (0001 rolled back too)", tables)
		}
		got, err := pgdb.AppliedVersions(ctx, pool, "outreach")
		if err != nil || len(got) != 0 {
			t.Errorf("AppliedVersions() = %v, %v; want none", got, err)
		}
	})

	t.Run("schemas are independent", func(t *testing.T) {
		other := openTest(t, url, "eligibility")
		applied, err := pgdb.Migrate(ctx, other, "eligibility", baseMigrations)
		if err != nil || !slices.Equal(versions(applied), []int64{1, 2}) {
			t.Fatalf("Migrate(eligibility) = %v, %v; want [1 2] though courses has them", versions(applied), err)
		}
		var n int
		if err := other.QueryRow(ctx, "SELECT count(*) FROM course").Scan(&n); err != nil || n != 0 {
			t.Errorf("eligibility sees %d courses (err %v), want its own empty table", n, err)
		}
	})
}

// concurrentMigrations record each run of each version in a table without a unique
// constraint, so a version applied twice shows as two rows; pg_sleep widens the window in
// which a second replica would otherwise slip in.
var concurrentMigrations = fstest.MapFS{
	"0001_init.sql":   file("CREATE TABLE applied_log (version INT NOT NULL); INSERT INTO applied_log VALUES (1);"),
	"0002_slow.sql":   file("SELECT pg_sleep(0.05); INSERT INTO applied_log VALUES (2);"),
	"0003_second.sql": file("CREATE TABLE other (id INT); INSERT INTO applied_log VALUES (3);"),
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	const replicas = 6
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.URL(t)
	// Each replica has its own pool, as separate processes would.
	pools := make([]*pgxpool.Pool, replicas)
	for i := range pools {
		pools[i] = openTest(t, url, "outreach")
	}
	var wg sync.WaitGroup
	results := make([][]pgdb.Migration, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			results[i], errs[i] = pgdb.Migrate(ctx, pools[i], "outreach", concurrentMigrations)
		})
	}
	close(start)
	wg.Wait()

	total := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: Migrate() error = %v", i, errs[i])
		}
		total += len(results[i])
	}
	if total != 3 {
		t.Errorf("replicas applied %d migrations between them, want 3", total)
	}
	checkAppliedOnce(t, pools[0])
}

func checkAppliedOnce(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT version, count(*) FROM applied_log GROUP BY version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v, n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%d", v, n))
	}
	if want := []string{"1:1", "2:1", "3:1"}; !slices.Equal(got, want) {
		t.Errorf("runs per version = %v, want %v (each exactly once)", got, want)
	}
}

// Engines without advisory locks (CockroachDB) rely on serializable transactions and
// retries instead; PostgreSQL exercises that path here.
func TestMigrateConcurrentWithoutLock(t *testing.T) {
	const replicas = 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	counts := make([]int, replicas)
	pools := make([]*pgxpool.Pool, replicas)
	for i := range pools {
		pools[i] = openTest(t, url, "courses")
	}
	start := make(chan struct{})
	for i := range replicas {
		wg.Go(func() {
			<-start
			var applied []pgdb.Migration
			applied, errs[i] = pgdb.MigrateWithoutLock(ctx, pools[i], "courses", concurrentMigrations)
			counts[i] = len(applied)
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: error = %v", i, errs[i])
		}
		total += counts[i]
	}
	if total != 3 {
		t.Errorf("replicas applied %d migrations between them, want 3", total)
	}
	checkAppliedOnce(t, pools[0])
}
