package pgstore_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/pgdb"

	"github.com/nrs-pilots/retrain/platform/pgtest"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/pgstore"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/storetest"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a store on the database at url, closed when the test ends.
func open(t testing.TB, url string, o pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		return open(t, pgtest.URL(t), pgstore.Options{})
	})
}

func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (domain.Store, domain.Store) {
		url := pgtest.URL(t)
		return open(t, url, pgstore.Options{}), open(t, url, pgstore.Options{})
	})
}

// TestRelayLeaseExpires: a holder that stops calling loses the outbox to another store
// once its lease runs out, and does not get it back while the other renews.
func TestRelayLeaseExpires(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	const lease = 300 * time.Millisecond
	a := open(t, url, pgstore.Options{RelayLease: lease})
	b := open(t, url, pgstore.Options{RelayLease: lease})
	if err := a.AppendConversion(ctx, domain.Conversion{EventID: "e1", JourneyID: "j", Outcome: rules.OutcomeEligible, Areas: []string{"E37000022"}, RulesetVersion: "v1", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pending := func(s *pgstore.Store) int {
		t.Helper()
		es, err := s.PendingConversions(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if pending(a) != 1 || pending(b) != 0 {
		t.Fatal("want the first caller to hold the lease and the second to get nothing")
	}
	// a stops calling: b takes over once the lease has run out.
	deadline := time.Now().Add(10 * time.Second)
	for pending(b) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("b never took over an expired lease")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := pending(a); n != 0 {
		t.Errorf("the former holder got %d entries while the new holder renews, want none", n)
	}
}

// TestEraseLeavesNoRows: after erasure no row of any table of the schema holds the
// learner's reference or sealed data, while another learner's rows are untouched.
func TestEraseLeavesNoRows(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.URL(t), pgstore.Options{})
	const victim = "Victim-Ref-7f3a9c"
	marker := []byte("SEALED-PAYLOAD-OF-THE-VICTIM")
	fill(t, s, victim, marker)
	rowsHolding := func(needle string) map[string]int {
		t.Helper()
		found := map[string]int{}
		rows, err := s.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, pgstore.DefaultSchema)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			var n int
			// A row's text form shows bytea as \x and hex digits.
			q := fmt.Sprintf(`SELECT count(*) FROM %s r WHERE strpos(r::text, $1) > 0`, pgx.Identifier{table}.Sanitize())
			if err := s.Pool().QueryRow(ctx, q, needle).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				found[table] = n
			}
		}
		return found
	}
	sealedHex := hex.EncodeToString(marker)
	if got := rowsHolding(victim); got["assessments"] == 0 || got["audit"] == 0 {
		t.Fatalf("before erasure rows holding the learner = %v, want assessments and audit (else the scan proves nothing)", got)
	}
	if got := rowsHolding(sealedHex); got["assessments"] == 0 {
		t.Fatalf("before erasure rows holding the sealed data = %v, want assessments", got)
	}
	n, err := s.EraseLearner(ctx, victim, domain.AuditRecord{Time: time.Now(), Actor: "admin", Action: domain.ActionLearnerErased, RPC: "/x"})
	if err != nil || n != 20 {
		t.Fatalf("EraseLearner = %d, %v, want 20", n, err)
	}
	if got := rowsHolding(victim); len(got) != 0 {
		t.Errorf("after erasure rows holding the learner: %v, want none", got)
	}
	if got := rowsHolding(sealedHex); len(got) != 0 {
		t.Errorf("after erasure rows holding the sealed data: %v, want none", got)
	}
	if got := rowsHolding("other-013"); got["assessments"] != 1 {
		t.Errorf("another learner's rows after erasure: %v, want their assessment kept", got)
	}
}

// fill records 100 assessments, every fifth of learner victim with sealed data marker,
// and exports the victim's data (one more audit record naming them).
func fill(t *testing.T, s domain.Store, victim string, marker []byte) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		learner, sealed := fmt.Sprintf("other-%03d", i), bytes.Repeat([]byte("o"), 200)
		if i%5 == 0 {
			learner, sealed = victim, marker
		}
		id := fmt.Sprintf("%032x", i)
		a := domain.StoredAssessment{Learner: learner, ID: id, CreateTime: t0.Add(time.Duration(i) * time.Second), RecordedBy: "adviser",
			RulesetVersion: "v1", Outcome: rules.OutcomeEligible, KeyID: "k", Sealed: sealed}
		if err := s.CreateAssessment(ctx, a, domain.AuditRecord{Time: t0, Actor: "adviser", Action: domain.ActionAssessmentCreated, Learner: learner, Assessment: id, RPC: "/x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ExportLearner(ctx, victim, domain.AuditRecord{Time: t0, Actor: "adviser", Action: domain.ActionLearnerExported, Learner: victim, RPC: "/x"}); err != nil {
		t.Fatal(err)
	}
}

// TestEraseOnDisk shows what PostgreSQL keeps in its files after erasure deleted the
// rows: the old row versions stay in the table and index files until VACUUM, and VACUUM
// FULL (which rewrites the tables) leaves none. It reads the server's files, so it runs
// only where the test can (the throwaway server pgtest starts on this machine).
func TestEraseOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the server's files; skipped in -short")
	}
	ctx := context.Background()
	s := open(t, pgtest.URL(t), pgstore.Options{})
	const victim = "Victim-Ref-7f3a9c"
	marker := []byte("SEALED-PAYLOAD-OF-THE-VICTIM")
	fill(t, s, victim, marker)
	exec := func(sql string) {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var dataDir string
	if err := s.Pool().QueryRow(ctx, `SHOW data_directory`).Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	// scan reports which of the schema's table, index and TOAST files hold the learner's
	// reference or sealed data, after a checkpoint writes the buffers out.
	scan := func() []string {
		t.Helper()
		exec(`CHECKPOINT`)
		rows, err := s.Pool().Query(ctx, `
SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c
WHERE c.oid IN (
	SELECT t.oid FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1
	UNION SELECT t.reltoastrelid FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1 AND t.reltoastrelid <> 0
	UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.reltoastrelid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1)
AND pg_relation_filepath(c.oid) IS NOT NULL`, pgstore.DefaultSchema)
		if err != nil {
			t.Fatal(err)
		}
		type rel struct{ name, path string }
		rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rel, error) {
			var x rel
			return x, r.Scan(&x.name, &x.path)
		})
		if err != nil {
			t.Fatal(err)
		}
		var holding []string
		for _, r := range rels {
			raw, err := os.ReadFile(filepath.Join(dataDir, r.path))
			if errors.Is(err, os.ErrPermission) {
				t.Skipf("cannot read the server's files: %v", err)
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(victim)) || bytes.Contains(raw, marker) {
				holding = append(holding, r.name)
			}
		}
		slices.Sort(holding)
		return holding
	}
	if got := scan(); !slices.Contains(got, "assessments") || !slices.Contains(got, "audit") {
		t.Fatalf("before erasure the files holding the learner's data are %v, want assessments and audit among them (else the scan proves nothing)", got)
	}
	if _, err := s.EraseLearner(ctx, victim, domain.AuditRecord{Time: time.Now(), Actor: "admin", Action: domain.ActionLearnerErased, RPC: "/x"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("after erasure, files still holding the learner's data: %v", scan())
	exec(`VACUUM assessments, audit`)
	t.Logf("after VACUUM: %v", scan())
	exec(`VACUUM FULL assessments, audit`)
	if got := scan(); len(got) != 0 {
		t.Errorf("after VACUUM FULL the files %v still hold the learner's data, want none", got)
	}
}

// BenchEnv names a PostgreSQL URL for the benchmarks. The throwaway server of the tests
// runs with fsync off, so durable-write figures need a server with the production
// settings (fsync, synchronous_commit, full_page_writes on):
//
//	RETRAIN_BENCH_POSTGRES_URL=postgres://... go test -run '^$' -bench RecordAssessment -benchtime 3s ./services/eligibility/internal/pgstore/
//
// Each benchmark uses a schema of its own there and drops it afterwards.
const BenchEnv = "RETRAIN_BENCH_POSTGRES_URL"

var benchSchemas atomic.Int64

// benchStore opens a store for a benchmark: in a fresh schema of $RETRAIN_BENCH_POSTGRES_URL,
// or else in a database of the tests' throwaway server (not durable: fsync is off).
func benchStore(b *testing.B) *pgstore.Store {
	b.Helper()
	url := os.Getenv(BenchEnv)
	if url == "" {
		b.Logf("%s not set: the throwaway test server runs with fsync off, so these are not durable-write figures", BenchEnv)
		return open(b, pgtest.URL(b), pgstore.Options{})
	}
	schema := fmt.Sprintf("eligibility_bench_%d_%d", os.Getpid(), benchSchemas.Add(1))
	// Registered first, so it runs after the store is closed.
	b.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Errorf("drop benchmark schema: %v", err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			b.Errorf("drop benchmark schema: %v", err)
		}
	})
	return open(b, url, pgstore.Options{Schema: schema, Pool: pgdb.Options{MaxConns: 32}})
}

// BenchmarkRecordAssessment is the PostgreSQL twin of the domain package's benchmark of
// the same name (bbolt): many parallel writers record assessments through the service
// (validation, postcode lookup, evaluation, sealing) and each returns once its
// assessment and audit record are committed.
func BenchmarkRecordAssessment(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			svc := newService(b, benchStore(b))
			ctx := context.Background()
			caller := domain.Caller{Actor: "adviser-7", RPC: "/bench"}
			salary := int64(2500000)
			raw := rules.RawRequest{DateOfBirth: "1985-04-12", Qualification: int32(rules.Level3), SalaryPence: &salary, AsOf: "2024-05-01"}
			var n atomic.Int64
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := svc.CreateAssessment(ctx, caller, fmt.Sprintf("learners/bench-%d", i%1000), raw, "L1 8JQ"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assessments/s")
		})
	}
}

// ackSink acknowledges every conversion at once.
type ackSink struct{}

func (ackSink) Send(context.Context, []domain.Conversion) error { return nil }

// BenchmarkCheckWithJourney is the PostgreSQL twin of the domain package's benchmark of
// the same name (bbolt): parallel callers make checks that each return once their
// conversion is committed to the outbox, while the relay drains it.
func BenchmarkCheckWithJourney(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			svc := newService(b, benchStore(b), func(o *domain.Options) { o.Sink = ackSink{} })
			ctx := context.Background()
			salary := int64(2500000)
			raw := rules.RawRequest{DateOfBirth: "1985-04-12", Qualification: int32(rules.Level3), SalaryPence: &salary, AsOf: "2024-05-01"}
			var n atomic.Int64
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := domain.CheckRequest{Raw: raw, Postcode: "L1 8JQ", JourneyID: fmt.Sprintf("journey-%d", n.Add(1))}
					if _, err := svc.Check(ctx, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// newService builds the domain service over store, as the eligibility service does.
func newService(tb testing.TB, store domain.Store, opts ...func(*domain.Options)) *domain.Service {
	tb.Helper()
	kr, err := domain.NewKeyring([]domain.Key{domain.NewKey("k1")})
	if err != nil {
		tb.Fatal(err)
	}
	places, err := postcode.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	steps, err := domain.BuiltinNextSteps()
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := rules.Builtin()
	if err != nil {
		tb.Fatal(err)
	}
	london, err := civil.London()
	if err != nil {
		tb.Fatal(err)
	}
	o := domain.Options{
		Store: store, Keyring: kr, Places: places, NextSteps: steps,
		Configured: rs, ConfiguredSource: domain.SourceBuiltin,
		Now: time.Now, Location: london, Log: zap.NewNop(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	svc, err := domain.New(context.Background(), o)
	if err != nil {
		tb.Fatal(err)
	}
	svc.Start()
	tb.Cleanup(svc.Close)
	return svc
}
