// Package baseline holds the fastest servers our stack can build, measured beside the real
// services in the same run: a bare grpc-go server that answers the eligibility check with
// a canned response (no interceptors, no work), a bare net/http JSON echo, the gateway in
// front of the bare gRPC server, and raw bbolt writes.
package baseline

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"

	"github.com/nrs-pilots/retrain/gateway"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// GRPCEcho answers CheckEligibility with a fixed response and does nothing else.
type GRPCEcho struct {
	eligibilityv1.UnimplementedEligibilityServiceServer
	// Response is returned to every call.
	Response *eligibilityv1.CheckEligibilityResponse
}

// CheckEligibility returns the canned response.
func (e *GRPCEcho) CheckEligibility(context.Context, *eligibilityv1.CheckEligibilityRequest) (*eligibilityv1.CheckEligibilityResponse, error) {
	return e.Response, nil
}

// NewGRPCServer returns a bare grpc.Server (default options) serving the echo.
func NewGRPCServer(resp *eligibilityv1.CheckEligibilityResponse) *grpc.Server {
	s := grpc.NewServer()
	eligibilityv1.RegisterEligibilityServiceServer(s, &GRPCEcho{Response: resp})
	return s
}

// HTTPEcho is a bare net/http handler that decodes a JSON body and answers with a fixed
// JSON body of the same size as the real service's answer.
func HTTPEcho(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(data, &v)
		}
		if err != nil {
			http.Error(w, `{"message":"bad json"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// GatewayOverEcho is our gateway, reaching a bare gRPC echo server in memory the way the
// all-in-one binary reaches its services: the gateway's own cost, with no service behind it.
func GatewayOverEcho(ctx context.Context, resp *eligibilityv1.CheckEligibilityResponse) (http.Handler, func(), error) {
	srv := NewGRPCServer(resp)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///echo",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	cfg := gateway.Config{MaxBodyBytes: 1 << 20, ReadyTimeout: 1e9}
	h, err := gateway.New(ctx, cfg, zap.NewNop(), prometheus.NewRegistry(), gateway.Backends{eligibilityv1.EligibilityService_ServiceDesc.ServiceName: conn})
	if err != nil {
		conn.Close()
		srv.Stop()
		return nil, nil, err
	}
	return h, func() { conn.Close(); srv.Stop() }, nil
}
