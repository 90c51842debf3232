package grpcserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/platform/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RequestIDHeader is the metadata key (and, through the gateway, HTTP header) that carries
// the request id. A caller's id is kept if it looks sane; otherwise one is generated.
const RequestIDHeader = "x-request-id"

type requestIDKey struct{}

// RequestID returns the request id of ctx, or "" outside an RPC.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts short ids made of URL-safe characters, so a caller cannot inject
// log content through it.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func requestIDFrom(ctx context.Context) context.Context {
	id := ""
	// ValueFromIncomingContext reads one key without copying the whole metadata map.
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) > 0 && validRequestID(v[0]) {
		id = v[0]
	}
	if id == "" {
		id = newRequestID()
	}
	// The id goes back to the caller in the response header; the error of SetHeader only
	// says headers were already sent, which cannot be the case before the handler runs.
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return context.WithValue(ctx, requestIDKey{}, id)
}

// splitMethod splits "/pkg.Service/Method" into service and method.
func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndex(full, "/"); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// rpcObserver logs and measures each RPC. It records only the method, the code, the duration
// and the request id: never request or response content.
type rpcObserver struct {
	log     *zap.Logger
	metrics *metrics.GRPCServer
	// byMethod caches each method's metric children (*methodMetrics by full method name),
	// so the hot path does not hash label values on every call. Methods are a fixed set.
	byMethod *sync.Map
}

// methodMetrics are one method's metric children, one counter per status code.
type methodMetrics struct {
	handled  [maxCode + 1]prometheus.Counter
	duration prometheus.Observer
}

const maxCode = codes.Unauthenticated

func (o rpcObserver) forMethod(fullMethod string) *methodMetrics {
	if mm, ok := o.byMethod.Load(fullMethod); ok {
		return mm.(*methodMetrics)
	}
	svc, m := splitMethod(fullMethod)
	mm := &methodMetrics{duration: o.metrics.Duration.WithLabelValues(svc, m)}
	for c := codes.OK; c <= maxCode; c++ {
		mm.handled[c] = o.metrics.Handled.WithLabelValues(svc, m, c.String())
	}
	actual, _ := o.byMethod.LoadOrStore(fullMethod, mm)
	return actual.(*methodMetrics)
}

func (o rpcObserver) done(ctx context.Context, fullMethod string, start time.Time, err error) {
	d := time.Since(start)
	code := status.Code(err)
	mm := o.forMethod(fullMethod)
	if code <= maxCode {
		mm.handled[code].Inc()
	} else {
		svc, m := splitMethod(fullMethod)
		o.metrics.Handled.WithLabelValues(svc, m, code.String()).Inc()
	}
	mm.duration.Observe(d.Seconds())
	lvl := zap.InfoLevel
	switch code {
	case codes.OK, codes.Canceled:
		lvl = zap.DebugLevel
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		lvl = zap.ErrorLevel
	}
	if ce := o.log.Check(lvl, "rpc"); ce != nil {
		ce.Write(
			zap.String("method", fullMethod),
			zap.String("code", code.String()),
			zap.Duration("duration", d),
			zap.String("request_id", RequestID(ctx)),
		)
	}
}

func (o rpcObserver) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	ctx = requestIDFrom(ctx)
	o.metrics.InFlight.Inc()
	defer o.metrics.InFlight.Dec()
	resp, err := handler(ctx, req)
	o.done(ctx, info.FullMethod, start, err)
	return resp, err
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w wrappedStream) Context() context.Context { return w.ctx }

func (o rpcObserver) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	ctx := requestIDFrom(ss.Context())
	o.metrics.InFlight.Inc()
	defer o.metrics.InFlight.Dec()
	err := handler(srv, wrappedStream{ServerStream: ss, ctx: ctx})
	o.done(ctx, info.FullMethod, start, err)
	return err
}

// recovered turns a panic into INTERNAL. The panic value is logged only when it is a
// runtime error (whose text is about the program, not the data); other values could carry
// request content, so only their type is logged.
func recovered(log *zap.Logger, ctx context.Context, method string, r any) error {
	detail := fmt.Sprintf("%T", r)
	if re, ok := r.(runtime.Error); ok {
		detail = re.Error()
	}
	log.Error("panic in handler",
		zap.String("method", method),
		zap.String("panic", detail),
		zap.String("request_id", RequestID(ctx)),
		zap.StackSkip("stack", 3),
	)
	return status.Error(codes.Internal, "internal error")
}

func recoveryUnary(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				resp, err = nil, recovered(log, ctx, info.FullMethod, r)
			}
		}()
		return handler(ctx, req)
	}
}

func recoveryStream(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(log, ss.Context(), info.FullMethod, r)
			}
		}()
		return handler(srv, ss)
	}
}

// defaultDeadline gives unary RPCs without a deadline the configured one, so no request
// can hold resources forever. Streams are long-lived by design and keep the caller's.
func defaultDeadline(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}
