package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/platform/rpcerr"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Policy says who may call one RPC.
type Policy struct {
	// Public RPCs need no token (health, reflection).
	Public bool
	// Roles may call the RPC. Empty means nobody (a policy that only documents a method).
	Roles []authn.Role
	// AreaBound RPCs act on one area's resources: a lep caller may only name its own area.
	// The area is read from the request's resource name (a name, parent or area field of
	// the form "areas/{code}/..." or a bare code in an area field), on every message of a
	// stream. A lep call that names no area is refused: it would reach other areas' data.
	AreaBound bool
}

// Policies are the declared policies of a server's RPCs, by full method name
// ("/pkg.Service/Method").
type Policies map[string]Policy

// PublicPolicies covers the infrastructure services every server registers.
func PublicPolicies() Policies {
	p := Policies{}
	for _, m := range []string{
		"/grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/List",
		"/grpc.health.v1.Health/Watch",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	} {
		p[m] = Policy{Public: true}
	}
	return p
}

// Merge returns the union of ps; a method declared twice is an error.
func Merge(ps ...Policies) (Policies, error) {
	out := Policies{}
	for _, p := range ps {
		for m, pol := range p {
			if _, dup := out[m]; dup {
				return nil, fmt.Errorf("auth: two policies for %s", m)
			}
			out[m] = pol
		}
	}
	return out, nil
}

// Missing returns the methods of the server's registered services that have no policy.
func (ps Policies) Missing(s interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}) []string {
	var missing []string
	for svc, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			full := "/" + svc + "/" + m.Name
			if _, ok := ps[full]; !ok {
				missing = append(missing, full)
			}
		}
	}
	slices.Sort(missing)
	return missing
}

// TokenVerifier verifies bearer tokens.
type TokenVerifier interface {
	Verify(token string) (authn.Principal, error)
}

// Guard is the one authentication and authorisation interceptor of a server.
type Guard struct {
	policies Policies
	verifier TokenVerifier
	limiter  *Limiter
	log      *zap.Logger
}

// NewGuard returns the guard. limiter may be nil (no rate limits).
func NewGuard(policies Policies, verifier TokenVerifier, limiter *Limiter, log *zap.Logger) *Guard {
	return &Guard{policies: policies, verifier: verifier, limiter: limiter, log: log}
}

// ServerOptions returns the interceptors to pass to the gRPC server.
func (g *Guard) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(g.unary), grpc.ChainStreamInterceptor(g.stream)}
}

var (
	errNoPolicy  = status.Error(codes.PermissionDenied, "this method has no access policy")
	errForbidden = status.Error(codes.PermissionDenied, "the caller may not call this method")
	errWrongArea = status.Error(codes.PermissionDenied, "the caller may not act on this area")
	errNoArea    = status.Error(codes.PermissionDenied, "the request must name the caller's area")
)

// admit authenticates the call and checks the role; it returns the context carrying the
// principal and the policy.
func (g *Guard) admit(ctx context.Context, method string) (context.Context, Policy, error) {
	pol, ok := g.policies[method]
	if !ok {
		// Deny by default: a method added without a policy is refused, loudly.
		g.log.Error("method without an access policy refused", zap.String("method", method))
		return ctx, pol, errNoPolicy
	}
	if pol.Public {
		return ctx, pol, nil
	}
	token, ok := bearer(ctx)
	if !ok {
		return ctx, pol, rpcerr.New(codes.Unauthenticated, ErrUnauthenticated.Error(), "UNAUTHENTICATED")
	}
	p, err := g.verifier.Verify(token)
	if err != nil {
		g.log.Debug("token refused", zap.String("method", method), zap.String("reason", strings.TrimPrefix(err.Error(), ErrUnauthenticated.Error()+": ")))
		return ctx, pol, rpcerr.New(codes.Unauthenticated, ErrUnauthenticated.Error(), "UNAUTHENTICATED")
	}
	if !slices.Contains(pol.Roles, p.Role) {
		return ctx, pol, errForbidden
	}
	if g.limiter != nil {
		if wait, ok := g.limiter.Allow(p.Subject, p.Role); !ok {
			return ctx, pol, rateLimited(wait)
		}
	}
	return authn.NewContext(ctx, p), pol, nil
}

func rateLimited(wait time.Duration) error {
	st := status.New(codes.ResourceExhausted, "rate limit exceeded; retry later")
	st, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: rpcerr.Domain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)},
	)
	if err != nil {
		return status.Error(codes.ResourceExhausted, "rate limit exceeded; retry later")
	}
	return st.Err()
}

// checkArea applies the object-level area rule to one request message.
func checkArea(ctx context.Context, pol Policy, req any) error {
	if !pol.AreaBound {
		return nil
	}
	p, ok := authn.FromContext(ctx)
	if !ok || p.Role != authn.RoleLEP {
		return nil
	}
	m, ok := req.(proto.Message)
	if !ok {
		return errNoArea
	}
	area, named := AreaOf(m)
	if !named {
		return errNoArea
	}
	if area != p.Area {
		return errWrongArea
	}
	return nil
}

// AreaOf reads the area a request acts on from its resource name fields: "name",
// "parent" ("areas/{code}/...") or "area" (a code or "areas/{code}"), or, for an update
// request, the "name" of the resource message it carries. It reports false when the
// message names no area.
func AreaOf(m proto.Message) (string, bool) {
	r := m.ProtoReflect()
	if area, ok := areaOfFields(r); ok {
		return area, true
	}
	// Update requests carry the resource (for example course) with its name inside.
	fields := r.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() || !r.Has(fd) {
			continue
		}
		if area, ok := areaOfFields(r.Get(fd).Message()); ok {
			return area, true
		}
	}
	return "", false
}

func areaOfFields(r protoreflect.Message) (string, bool) {
	fields := r.Descriptor().Fields()
	for _, name := range []protoreflect.Name{"name", "parent", "area"} {
		fd := fields.ByName(name)
		if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
			continue
		}
		v := r.Get(fd).String()
		if v == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(v, "areas/"); ok {
			code, _, _ := strings.Cut(rest, "/")
			return code, code != ""
		}
		if name == "area" {
			return v, true
		}
	}
	return "", false
}

func bearer(ctx context.Context) (string, bool) {
	v := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(v) == 0 {
		return "", false
	}
	scheme, token, ok := strings.Cut(v[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func (g *Guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, pol, err := g.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	if err := checkArea(ctx, pol, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (g *Guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, pol, err := g.admit(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &guardedStream{ServerStream: ss, ctx: ctx, pol: pol})
}

// guardedStream carries the principal and checks the area of received messages: the
// first must name the caller's area; a later one that names an area must name the same.
type guardedStream struct {
	grpc.ServerStream
	ctx      context.Context
	pol      Policy
	received bool
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	first := !s.received
	s.received = true
	if !first {
		if pm, ok := m.(proto.Message); ok {
			if _, named := AreaOf(pm); !named {
				return nil
			}
		}
	}
	return checkArea(s.ctx, s.pol, m)
}
