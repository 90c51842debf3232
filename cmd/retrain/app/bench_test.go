package app

import (
	"context"
	"flag"
	"testing"

	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkCheckGRPC measures the eligibility check through the real server stack over
// loopback TCP, client included (for profiles: -cpuprofile).
func BenchmarkCheckGRPC(b *testing.B) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-data-dir", b.TempDir(), "-target", "eligibility"}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = a.Run(ctx) }()
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := eligibilityv1.NewEligibilityServiceClient(conn)
	salary := int64(2500000)
	req := &eligibilityv1.CheckEligibilityRequest{DateOfBirth: "1990-05-17", HighestQualification: eligibilityv1.RqfLevel_RQF_LEVEL_3, AnnualSalaryPence: &salary, Postcode: "L1 8JQ"}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.CheckEligibility(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
