package gateway

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorHandler writes errors as JSON google.rpc.Status (grpc-gateway's default) and adds
// the headers HTTP clients act on: Retry-After for rate limits (from RetryInfo) and
// WWW-Authenticate for missing or bad tokens.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.ResourceExhausted:
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				secs := int(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			}
		}
	case codes.Unauthenticated:
		// The default handler puts the status message in WWW-Authenticate; RFC 6750 wants
		// the scheme, so it is set last, just before the header is written.
		w = &headerOnWrite{ResponseWriter: w, key: "WWW-Authenticate", value: `Bearer realm="retrain"`}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// headerOnWrite sets one header just before the status line is written.
type headerOnWrite struct {
	http.ResponseWriter
	key, value string
}

func (h *headerOnWrite) WriteHeader(code int) {
	h.ResponseWriter.Header().Set(h.key, h.value)
	h.ResponseWriter.WriteHeader(code)
}

// securityHeaders sets the headers every API response should carry: no sniffing, no
// framing, no caching of personal data, no referrer, and a CSP that allows nothing (the
// API serves JSON, never pages).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Resource-Policy", "same-site")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers cross-origin requests from the allow-listed origins only (the Get Help to
// Retrain front end). Other origins get no CORS headers, so browsers block them.
func cors(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !slices.Contains(origins, origin) {
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// splitOrigins parses a comma list of origins.
func splitOrigins(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, strings.TrimSuffix(o, "/"))
		}
	}
	return out
}

// routingErrorHandler answers a known path with the wrong method as 405 (grpc-gateway's
// default says 501, which tells clients the server is broken rather than their request).
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusMethodNotAllowed {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"code":12,"message":"method not allowed on this path","details":[]}`))
		return
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}
