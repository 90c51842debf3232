// Package authn carries the authenticated caller of an RPC through its context. The
// authentication interceptor puts a Principal in; services read it to record who did what
// (audit trails, "recorded by") and to check object-level access.
package authn

import "context"

// Role is what a caller is allowed to be.
type Role string

// The roles of retrain's callers.
const (
	// RoleFrontend is the Get Help to Retrain digital service.
	RoleFrontend Role = "frontend"
	// RoleAdviser is a careers adviser.
	RoleAdviser Role = "adviser"
	// RoleLEP is a LEP or Combined Authority system, bound to one area.
	RoleLEP Role = "lep"
	// RoleEvaluator is the Department or its evaluation partner, across areas.
	RoleEvaluator Role = "evaluator"
	// RoleAdmin operates the service.
	RoleAdmin Role = "admin"
	// RoleService is another retrain service acting for itself (the eligibility
	// service's outbox recording conversions with outreach), never a person.
	RoleService Role = "service"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the caller's stable identifier (the token's sub claim).
	Subject string
	// Role is the caller's role.
	Role Role
	// Area is the ONS code of the caller's area, for the lep role.
	Area string
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, and false when the call was not authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
