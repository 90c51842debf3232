// Package metrics builds the Prometheus registry of a process and the gRPC server metrics
// every service exports. Labels carry method names and codes only, never request data.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process collectors. One registry
// is built per process in main and passed to every component; there is no global one.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves the registry in the Prometheus exposition format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// GRPCServer holds the RED metrics of a gRPC server.
type GRPCServer struct {
	// Handled counts finished RPCs by service, method and status code.
	Handled *prometheus.CounterVec
	// Duration observes the handling time of finished RPCs in seconds.
	Duration *prometheus.HistogramVec
	// InFlight is the number of RPCs being handled now.
	InFlight prometheus.Gauge
}

// NewGRPCServer creates the gRPC server metrics and registers them with reg.
func NewGRPCServer(reg prometheus.Registerer) (*GRPCServer, error) {
	m := &GRPCServer{
		Handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "RPCs completed on the server, by service, method and code.",
		}, []string{"grpc_service", "grpc_method", "grpc_code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Time to handle an RPC on the server.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"grpc_service", "grpc_method"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "grpc_server_in_flight",
			Help: "RPCs being handled now.",
		}),
	}
	for _, c := range []prometheus.Collector{m.Handled, m.Duration, m.InFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
