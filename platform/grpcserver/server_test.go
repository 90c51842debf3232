package grpcserver

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// start runs a server on an in-memory listener and returns a client connection to it.
func start(t *testing.T, cfg Config) (*Server, *grpc.ClientConn, *observer.ObservedLogs, *prometheus.Registry) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	reg := prometheus.NewRegistry()
	s, err := New(cfg, zap.New(core), reg)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	conn, err := grpc.NewClient("passthrough:///test",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn, logs, reg
}

func TestHealthFollowsLifecycle(t *testing.T) {
	s, conn, _, _ := start(t, DefaultConfig())
	hc := healthpb.NewHealthClient(conn)
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	if got := check(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("before MarkServing: %v, want NOT_SERVING", got)
	}
	s.MarkServing()
	if got := check(); got != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("after MarkServing: %v, want SERVING", got)
	}
	// Every registered service (here the health service itself) has a status too.
	resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "grpc.health.v1.Health"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of grpc.health.v1.Health = %v, %v, want SERVING", resp.GetStatus(), err)
	}
	s.Health.Shutdown()
	if got := check(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("after Health.Shutdown: %v, want NOT_SERVING", got)
	}
}

func TestRequestIDAccessLogAndMetrics(t *testing.T) {
	s, conn, logs, reg := start(t, DefaultConfig())
	s.MarkServing()
	hc := healthpb.NewHealthClient(conn)
	tests := []struct {
		name   string
		sent   string
		wantID func(string) bool
	}{
		{"caller id kept", "abc-123", func(id string) bool { return id == "abc-123" }},
		{"bad id replaced", "has spaces; and=odd chars", func(id string) bool { return len(id) == 24 }},
		{"none generated", "", func(id string) bool { return len(id) == 24 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.sent != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, tt.sent)
			}
			var hdr metadata.MD
			if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr)); err != nil {
				t.Fatal(err)
			}
			got := hdr.Get(RequestIDHeader)
			if len(got) != 1 || !tt.wantID(got[0]) {
				t.Errorf("response %s = %v", RequestIDHeader, got)
			}
		})
	}
	entries := logs.FilterMessage("rpc").All()
	if len(entries) != len(tests) {
		t.Fatalf("access log lines = %d, want %d", len(entries), len(tests))
	}
	for _, e := range entries {
		f := e.ContextMap()
		if f["method"] != "/grpc.health.v1.Health/Check" || f["code"] != "OK" || f["request_id"] == "" {
			t.Errorf("access log fields = %v, want method, code OK and a request id", f)
		}
		if _, ok := f["duration"]; !ok {
			t.Errorf("access log fields = %v, want a duration", f)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var okCount float64 = -1
	series := 0
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_code" && l.GetValue() == "OK" {
					okCount = m.GetCounter().GetValue()
				}
			}
		}
	}
	if okCount != 3 {
		t.Errorf("grpc_server_handled_total{grpc_code=OK} = %v, want 3", okCount)
	}
	if series != 17 {
		t.Errorf("grpc_server_handled_total has %d series, want 17 (every code initialised at zero)", series)
	}
}

func TestRecoveryHidesPanic(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	info := &grpc.UnaryServerInfo{FullMethod: "/x.v1.S/M"}
	tests := []struct {
		name      string
		panicWith any
		wantLog   string
	}{
		{"runtime error", nil, "runtime error"},
		{"value", "date_of_birth 1990-01-01 is secret", "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := recoveryUnary(zap.New(core))(context.Background(), nil, info, func(ctx context.Context, req any) (any, error) {
				if tt.panicWith == nil {
					var xs []int
					_ = xs[len(tt.name)] // index out of range: a runtime error
				}
				panic(tt.panicWith)
			})
			st := status.Convert(err)
			if st.Code() != codes.Internal || st.Message() != "internal error" {
				t.Errorf("after panic: %v %q, want INTERNAL \"internal error\"", st.Code(), st.Message())
			}
			last := logs.All()[logs.Len()-1]
			if p, _ := last.ContextMap()["panic"].(string); !strings.Contains(p, tt.wantLog) || strings.Contains(p, "1990") {
				t.Errorf("panic log = %q, want it to contain %q and no request data", p, tt.wantLog)
			}
		})
	}
}

func TestDefaultDeadline(t *testing.T) {
	icpt := defaultDeadline(3 * time.Second)
	info := &grpc.UnaryServerInfo{FullMethod: "/x.v1.S/M"}
	remaining := func(ctx context.Context) time.Duration {
		var got time.Duration
		_, _ = icpt(ctx, nil, info, func(ctx context.Context, _ any) (any, error) {
			dl, ok := ctx.Deadline()
			if ok {
				got = time.Until(dl)
			}
			return nil, nil
		})
		return got
	}
	if got := remaining(context.Background()); got <= 2*time.Second || got > 3*time.Second {
		t.Errorf("no caller deadline: remaining %v, want about 3s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got := remaining(ctx); got < 50*time.Second {
		t.Errorf("caller deadline 1m: remaining %v, want the caller's kept", got)
	}
}

func TestShutdownBoundedByTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShutdownTimeout = 200 * time.Millisecond
	s, conn, _, _ := start(t, cfg)
	s.MarkServing()
	// A reflection stream stays open until the client closes it, so GracefulStop alone
	// would wait forever.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { s.Shutdown(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after its timeout with a stream open")
	}
	if took := time.Since(start); took < cfg.ShutdownTimeout {
		t.Errorf("Shutdown returned after %v with a stream open, want it to wait for the %v drain", took, cfg.ShutdownTimeout)
	}
}

func TestShutdownEndsHealthWatchAfterNotServing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ShutdownTimeout = time.Minute
	s, conn, _, _ := start(t, cfg)
	s.MarkServing()
	watch, err := healthpb.NewHealthClient(conn).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first watch = %v, %v, want SERVING", r.GetStatus(), err)
	}
	done := make(chan struct{})
	go func() { s.Shutdown(context.Background()); close(done) }()
	r, err := watch.Recv()
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch after shutdown = %v, %v, want NOT_SERVING", r.GetStatus(), err)
	}
	if _, err := watch.Recv(); err == nil {
		t.Error("watch stream still open after NOT_SERVING during shutdown")
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown waited on a health watcher instead of ending its stream")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := DefaultConfig()
	bad.MaxRecvBytes = 0
	bad.ShutdownTimeout = 0
	if err := bad.Validate(); err == nil {
		t.Error("Validate() of zero limits = nil, want error")
	}
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Errorf("Validate() of defaults = %v", err)
	}
}
