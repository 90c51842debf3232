// Package grpcserver builds the gRPC server every retrain service runs on: interceptors
// for request ids, access logs and metrics, panic recovery and default deadlines; the
// standard health service; server reflection; keepalive enforcement; message-size and
// stream limits; and a graceful shutdown with a bound.
package grpcserver

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/platform/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// Server is a gRPC server with the shared plumbing installed. Register services on
// Server.GRPC, call MarkServing, then Serve on one or more listeners.
type Server struct {
	// GRPC is the underlying server; services register on it.
	GRPC *grpc.Server
	// Health is the grpc.health.v1 service. Serve status follows MarkServing and Shutdown.
	Health *DrainingHealth
	log    *zap.Logger
	cfg    Config
}

// New returns a server configured by cfg. Extra options (for example interceptors that
// must run inside the shared ones, such as authentication) are appended.
func New(cfg Config, log *zap.Logger, reg prometheus.Registerer, extra ...grpc.ServerOption) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := metrics.NewGRPCServer(reg)
	if err != nil {
		return nil, err
	}
	obs := rpcObserver{log: log, metrics: m, byMethod: &sync.Map{}}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(obs.unary, recoveryUnary(log), defaultDeadline(cfg.DefaultTimeout)),
		grpc.ChainStreamInterceptor(obs.stream, recoveryStream(log)),
		grpc.MaxRecvMsgSize(cfg.MaxRecvBytes),
		grpc.MaxSendMsgSize(cfg.MaxSendBytes),
		grpc.MaxConcurrentStreams(uint32(min(cfg.MaxConcurrentStreams, 1<<31))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             cfg.KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: cfg.MaxConnectionIdle,
			Time:              2 * time.Minute,
			Timeout:           20 * time.Second,
		}),
	}
	s := &Server{
		GRPC:   grpc.NewServer(append(opts, extra...)...),
		Health: newDrainingHealth(),
		log:    log,
		cfg:    cfg,
	}
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	reflection.Register(s.GRPC)
	// Nothing is served until MarkServing says the services are ready.
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// MarkServing sets the health status of every registered service, and of the server as a
// whole (the empty service name), to SERVING.
func (s *Server) MarkServing() {
	for name := range s.GRPC.GetServiceInfo() {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
}

// Serve accepts connections on lis until Shutdown. It returns nil after a shutdown.
func (s *Server) Serve(lis net.Listener) error {
	err := s.GRPC.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown turns health to NOT_SERVING (so load balancers stop sending), then drains
// in-flight RPCs for at most the configured shutdown timeout or until ctx ends, and then
// closes whatever is left.
func (s *Server) Shutdown(ctx context.Context) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.GRPC.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(s.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.log.Warn("graceful stop timed out; closing connections", zap.Duration("timeout", s.cfg.ShutdownTimeout))
		s.GRPC.Stop()
		<-done
	case <-ctx.Done():
		s.GRPC.Stop()
		<-done
	}
}
