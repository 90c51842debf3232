// Package gateway is the REST front door of retrain: a grpc-gateway mux that proxies JSON
// requests to the gRPC services over a client connection (so every request passes the
// services' interceptors), plus /healthz, /readyz, /metrics and the OpenAPI document.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/nrs-pilots/retrain/platform/grpcserver"
	"github.com/nrs-pilots/retrain/platform/metrics"
	"github.com/nrs-pilots/retrain/proto/openapi"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Config is the gateway's configuration.
type Config struct {
	// MaxBodyBytes caps request bodies; larger ones are refused with 413 before decoding.
	MaxBodyBytes int64
	// ReadyTimeout bounds the backend health checks behind /readyz.
	ReadyTimeout time.Duration
	// CORSOrigins is a comma list of origins allowed to call the API from a browser.
	CORSOrigins string
}

// RegisterFlags registers the gateway flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.MaxBodyBytes, "http-max-body-bytes", 1<<20, "largest HTTP request body accepted, in bytes")
	fs.DurationVar(&c.ReadyTimeout, "http-ready-timeout", 2*time.Second, "deadline of the backend health checks behind /readyz")
	fs.StringVar(&c.CORSOrigins, "http-cors-origins", "", "comma list of browser origins allowed to call the API (the front end's), e.g. https://get-help-to-retrain.service.gov.uk")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("http-max-body-bytes must be positive"))
	}
	if c.ReadyTimeout <= 0 {
		errs = append(errs, errors.New("http-ready-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Backends are the gRPC services the gateway proxies to: a client connection per full
// service name. In the all-in-one binary every entry is the same in-memory connection to
// the process's own gRPC server; otherwise each service's address (several names may
// share a connection). Their health decides /readyz.
type Backends map[string]*grpc.ClientConn

// names returns the service names in a fixed order.
func (b Backends) names() []string {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// registrations maps each service's full name to the function that mounts its REST routes.
var registrations = map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
	eligibilityv1.EligibilityService_ServiceDesc.ServiceName: eligibilityv1.RegisterEligibilityServiceHandler,
	coursesv1.CoursesService_ServiceDesc.ServiceName:         coursesv1.RegisterCoursesServiceHandler,
	outreachv1.OutreachService_ServiceDesc.ServiceName:       outreachv1.RegisterOutreachServiceHandler,
}

// New returns the gateway's HTTP handler.
func New(ctx context.Context, cfg Config, log *zap.Logger, reg *prometheus.Registry, b Backends) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	httpMetrics, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithMiddlewares(httpMetrics.middleware),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
	)
	for _, name := range b.names() {
		register, ok := registrations[name]
		if !ok {
			return nil, fmt.Errorf("gateway: no REST routes for service %s", name)
		}
		if err := register(ctx, gw, b[name]); err != nil {
			return nil, fmt.Errorf("gateway: register %s: %w", name, err)
		}
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	root.Handle("GET /readyz", readiness{backends: b, timeout: cfg.ReadyTimeout, log: log})
	root.Handle("GET /metrics", metrics.Handler(reg))
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document())
	})
	root.Handle("/", gw)
	return securityHeaders(cors(splitOrigins(cfg.CORSOrigins), limitBody(cfg.MaxBodyBytes, root))), nil
}

// incomingHeader forwards the request id and the usual grpc-gateway permanent headers.
func incomingHeader(key string) (string, bool) {
	if http.CanonicalHeaderKey(key) == http.CanonicalHeaderKey(grpcserver.RequestIDHeader) {
		return grpcserver.RequestIDHeader, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// outgoingHeader returns the request id as a plain header and drops other gRPC metadata.
func outgoingHeader(key string) (string, bool) {
	if key == grpcserver.RequestIDHeader {
		return "X-Request-Id", true
	}
	return "", false
}

// limitBody refuses bodies over max with 413 before anything decodes them. A declared
// length is checked up front; a body without one (chunked) is read up to max+1 bytes, so
// the process never holds more than max of it, whatever the client sends.
func limitBody(max int64, next http.Handler) http.Handler {
	tooLarge := []byte(`{"code":3,"message":"request body too large (limit ` + strconv.FormatInt(max, 10) + ` bytes)","details":[]}`)
	refuse := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = w.Write(tooLarge)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.ContentLength > max:
			refuse(w)
			return
		case r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody:
			data, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"code":3,"message":"could not read the request body","details":[]}`))
				return
			}
			if int64(len(data)) > max {
				refuse(w)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
			r.ContentLength = int64(len(data))
		case r.Body != nil:
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// readiness answers /readyz: 200 only when every backend service reports SERVING.
type readiness struct {
	backends Backends
	timeout  time.Duration
	log      *zap.Logger
}

func (rd readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), rd.timeout)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	for _, svc := range rd.backends.names() {
		resp, err := healthpb.NewHealthClient(rd.backends[svc]).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, `{"status":"not ready","service":%q}`, svc)
			return
		}
	}
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

// httpMetrics counts gateway requests by route pattern (never the raw path, which could
// hold identifiers) and status code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "REST requests handled by the gateway, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer a REST request through the gateway.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush passes flushes through, so streamed responses (server-streaming RPCs over REST)
// reach the client row by row.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (m *httpMetrics) middleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next(rec, r, params)
		route := "unmatched"
		if pat, ok := runtime.HTTPPattern(r.Context()); ok {
			route = pat.String()
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	}
}
