package grpcserver

import (
	"context"
	"sync"

	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// DrainingHealth is the standard health service, except that Watch streams end once they
// have told their client NOT_SERVING during shutdown. Without this, every client that
// watches health (grpc-go's client-side health checking does) keeps GracefulStop waiting
// for the whole drain timeout.
type DrainingHealth struct {
	*health.Server
	stopping chan struct{}
	once     sync.Once
}

func newDrainingHealth() *DrainingHealth {
	return &DrainingHealth{Server: health.NewServer(), stopping: make(chan struct{})}
}

// Shutdown sets every status to NOT_SERVING and lets watch streams end after sending it.
func (h *DrainingHealth) Shutdown() {
	h.Server.Shutdown()
	h.once.Do(func() { close(h.stopping) })
}

// Watch serves the standard Watch, ending the stream (with OK) once NOT_SERVING has been
// sent during shutdown.
func (h *DrainingHealth) Watch(in *healthpb.HealthCheckRequest, stream healthgrpc.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	ws := &watchStream{Health_WatchServer: stream, ctx: ctx, notServing: make(chan struct{})}
	go func() {
		select {
		case <-h.stopping:
		case <-ctx.Done():
			return
		}
		select {
		case <-ws.notServing:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := h.Server.Watch(in, ws)
	select {
	case <-h.stopping:
		// The stream ended because we are draining: the client has its NOT_SERVING.
		return nil
	default:
		return err
	}
}

type watchStream struct {
	healthgrpc.Health_WatchServer
	ctx        context.Context
	notServing chan struct{}
	once       sync.Once
}

func (w *watchStream) Context() context.Context { return w.ctx }

func (w *watchStream) Send(r *healthpb.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(r)
	if err == nil && r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		w.once.Do(func() { close(w.notServing) })
	}
	return err
}
