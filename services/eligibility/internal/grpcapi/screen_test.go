package grpcapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// client serves the API on an in-memory connection for the life of the test.
func client(tb testing.TB) eligibilityv1.EligibilityServiceClient {
	tb.Helper()
	store, err := boltstore.Open(filepath.Join(tb.TempDir(), "eligibility.db"), boltstore.Options{NoSync: true})
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
	kr, err := domain.NewKeyring([]domain.Key{domain.NewKey("k")})
	if err != nil {
		tb.Fatal(err)
	}
	app, err := domain.New(context.Background(), domain.Options{
		Store: store, Keyring: kr, Places: places, NextSteps: steps, Configured: rs, ConfiguredSource: domain.SourceBuiltin,
		Now: time.Now, Location: london, Log: zap.NewNop(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer()
	eligibilityv1.RegisterEligibilityServiceServer(srv, New(Deps{Log: zap.NewNop(), App: app}))
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		app.Close()
		_ = store.Close()
	})
	return eligibilityv1.NewEligibilityServiceClient(conn)
}

func TestScreenCohort(t *testing.T) {
	c := client(t)
	pence := func(p int64) *int64 { return &p }
	rows := []struct {
		req         *eligibilityv1.ScreenCohortRequest
		wantOutcome eligibilityv1.EligibilityOutcome
		wantFields  []string
	}{
		{&eligibilityv1.ScreenCohortRequest{RowId: "a", DateOfBirth: "1990-01-01", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_3, AnnualSalaryPence: pence(2000000), Postcode: "L1 8JQ", AsOf: "2024-01-01"}, eligibilityv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_ELIGIBLE, nil},
		{&eligibilityv1.ScreenCohortRequest{RowId: "bad", DateOfBirth: "1990-02-30", Postcode: "??", AnnualSalaryPence: pence(-5)}, 0, []string{"date_of_birth", "annual_salary_pence", "postcode"}},
		{&eligibilityv1.ScreenCohortRequest{RowId: "c", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_7, AsOf: "2024-01-01"}, eligibilityv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_NOT_ELIGIBLE, nil},
		{&eligibilityv1.ScreenCohortRequest{RowId: string(make([]byte, 200))}, 0, []string{"row_id"}},
		{&eligibilityv1.ScreenCohortRequest{HighestQualification: 99}, 0, []string{"highest_qualification"}},
		{&eligibilityv1.ScreenCohortRequest{RowId: "last"}, eligibilityv1.EligibilityOutcome_ELIGIBILITY_OUTCOME_UNDETERMINED, nil},
	}
	stream, err := c.ScreenCohort(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := stream.Send(r.req); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if resp.GetRow() != int64(i) {
			t.Errorf("response %d numbered %d", i, resp.GetRow())
		}
		if len(r.req.GetRowId()) <= maxRowIDLen && resp.GetRowId() != r.req.GetRowId() {
			t.Errorf("row %d: row_id %q, want %q", i, resp.GetRowId(), r.req.GetRowId())
		}
		if r.wantFields != nil {
			var fields []string
			for _, v := range resp.GetError().GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
			if !slices.Equal(fields, r.wantFields) || resp.GetError().GetMessage() == "" {
				t.Errorf("row %d: error %v, want violations %v", i, resp.GetError(), r.wantFields)
			}
			continue
		}
		if got := resp.GetResult().GetOutcome(); got != r.wantOutcome {
			t.Errorf("row %d: outcome %v, want %v (error %v)", i, got, r.wantOutcome, resp.GetError())
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("after the last row Recv = %v, want EOF", err)
	}
}

// BenchmarkScreenCohort streams a cohort through the API over an in-memory gRPC
// connection, sending and receiving concurrently as a LEP client would. Run with
//
//	go test -run '^$' -bench ScreenCohort ./services/eligibility/internal/grpcapi/
func BenchmarkScreenCohort(b *testing.B) {
	c := client(b)
	reqs := make([]*eligibilityv1.ScreenCohortRequest, 1000)
	postcodes := []string{"L1 8JQ", "B1 1AA", "LN1 1AA", "ST1 1AA", "LS1 1AA", "EX1 1AA", "SW1A 1AA"}
	for i := range reqs {
		p := int64(1500000 + i*5000)
		reqs[i] = &eligibilityv1.ScreenCohortRequest{
			RowId:                fmt.Sprintf("row-%d", i),
			DateOfBirth:          fmt.Sprintf("%04d-%02d-%02d", 1960+i%45, 1+i%12, 1+i%28),
			HighestQualification: eligibilityv1.RqfLevel(1 + i%10),
			AnnualSalaryPence:    &p,
			Postcode:             postcodes[i%len(postcodes)],
			AsOf:                 "2024-06-01",
		}
	}
	stream, err := c.ScreenCohort(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	errc := make(chan error, 1)
	go func() {
		for i := range b.N {
			if err := stream.Send(reqs[i%len(reqs)]); err != nil {
				errc <- err
				return
			}
		}
		errc <- stream.CloseSend()
	}()
	for i := range b.N {
		resp, err := stream.Recv()
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetRow() != int64(i) || resp.GetResult() == nil {
			b.Fatalf("row %d: %v", i, resp)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
