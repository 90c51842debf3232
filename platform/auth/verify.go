// Package auth authenticates and authorises every RPC: bearer JWTs verified against
// configured public keys (a JWKS file or URL, or the development key of a local
// installation), one declared policy per RPC checked by one interceptor (deny by default),
// object-level area checks, and per-caller rate limits.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/nrs-pilots/retrain/platform/authn"
)

// ErrUnauthenticated is wrapped by every token refusal. Its text is what callers see; the
// wrapped reason is for logs at debug level only.
var ErrUnauthenticated = errors.New("missing or invalid bearer token")

// allowedAlgorithms are the asymmetric signature algorithms accepted. HMAC (a shared
// secret, and the classic confusion with a public key) and "none" are never accepted.
var allowedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// claims are the token claims retrain reads beyond the registered ones.
type claims struct {
	Role string `json:"role"`
	Area string `json:"area"`
}

// Verifier checks bearer tokens against a key set, an issuer and an audience. Verified
// tokens are remembered until they expire, so a caller reusing its token (the front end
// does, for every request) pays for the signature check once, not per request.
type Verifier struct {
	keys     atomic.Pointer[jose.JSONWebKeySet]
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time

	mu    sync.RWMutex
	cache map[string]verified
}

// verified is a remembered good token.
type verified struct {
	p   authn.Principal
	exp time.Time
}

// maxCached bounds the remembered tokens; past it the cache starts again empty.
const maxCached = 10_000

// NewVerifier returns a verifier over keys (public keys only are used).
func NewVerifier(keys jose.JSONWebKeySet, issuer, audience string, leeway time.Duration, now func() time.Time) (*Verifier, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("auth: issuer and audience are required")
	}
	v := &Verifier{issuer: issuer, audience: audience, leeway: leeway, now: now}
	if err := v.SetKeys(keys); err != nil {
		return nil, err
	}
	return v, nil
}

// SetKeys replaces the key set (for rotation); only public, asymmetric signing keys are kept.
func (v *Verifier) SetKeys(keys jose.JSONWebKeySet) error {
	var pub jose.JSONWebKeySet
	for _, k := range keys.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		p := k.Public()
		if !p.Valid() || !p.IsPublic() {
			continue // symmetric keys have no public half and are refused
		}
		pub.Keys = append(pub.Keys, p)
	}
	if len(pub.Keys) == 0 {
		return errors.New("auth: the key set has no public signing keys")
	}
	v.keys.Store(&pub)
	v.mu.Lock()
	v.cache = map[string]verified{} // keys changed: every token is checked again
	v.mu.Unlock()
	return nil
}

// Verify checks a compact JWT and returns its principal. Every refusal wraps
// ErrUnauthenticated.
func (v *Verifier) Verify(token string) (authn.Principal, error) {
	now := v.now()
	v.mu.RLock()
	e, ok := v.cache[token]
	v.mu.RUnlock()
	if ok && now.Add(-v.leeway).Before(e.exp) {
		return e.p, nil
	}
	p, exp, err := v.verify(token, now)
	if err != nil {
		return p, err
	}
	v.mu.Lock()
	if len(v.cache) >= maxCached {
		v.cache = map[string]verified{}
	}
	v.cache[token] = verified{p: p, exp: exp}
	v.mu.Unlock()
	return p, nil
}

func (v *Verifier) verify(token string, now time.Time) (authn.Principal, time.Time, error) {
	fail := func(reason string) (authn.Principal, time.Time, error) {
		return authn.Principal{}, time.Time{}, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	tok, err := jwt.ParseSigned(token, allowedAlgorithms)
	if err != nil {
		return fail("not a signed JWT with an allowed algorithm")
	}
	if len(tok.Headers) != 1 {
		return fail("exactly one signature required")
	}
	keys := v.keys.Load()
	var key *jose.JSONWebKey
	kid := tok.Headers[0].KeyID
	switch {
	case kid != "":
		if found := keys.Key(kid); len(found) > 0 {
			key = &found[0]
		}
	case len(keys.Keys) == 1:
		key = &keys.Keys[0]
	}
	if key == nil {
		return fail("unknown key id")
	}
	if key.Algorithm != "" && key.Algorithm != tok.Headers[0].Algorithm {
		return fail("algorithm does not match the key")
	}
	var std jwt.Claims
	var extra claims
	if err := tok.Claims(key.Key, &std, &extra); err != nil {
		return fail("bad signature")
	}
	if std.Expiry == nil {
		return fail("no expiry")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{
		Issuer:      v.issuer,
		AnyAudience: jwt.Audience{v.audience},
		Time:        now,
	}, v.leeway); err != nil {
		return fail(err.Error())
	}
	if std.Subject == "" {
		return fail("no subject")
	}
	p := authn.Principal{Subject: std.Subject, Role: authn.Role(extra.Role), Area: extra.Area}
	switch p.Role {
	case authn.RoleFrontend, authn.RoleAdviser, authn.RoleEvaluator, authn.RoleAdmin, authn.RoleService:
	case authn.RoleLEP:
		if p.Area == "" {
			return fail("lep token without an area")
		}
	default:
		return fail("unknown role")
	}
	return p, std.Expiry.Time(), nil
}

// Refresh reloads the key set from source (a JWKS URL or file) every interval until ctx
// ends, keeping extra keys (the development key) beside it, so an identity provider's key
// rotation is picked up without a restart. A failed reload keeps the current keys and is
// reported to onErr.
func (v *Verifier) Refresh(ctx context.Context, source string, interval time.Duration, extra []jose.JSONWebKey, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ks, err := LoadKeySet(ctx, source)
		if err == nil {
			ks.Keys = append(ks.Keys, extra...)
			err = v.SetKeys(ks)
		}
		if err != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
}

// ParseKeySet decodes a JWKS document.
func ParseKeySet(data []byte) (jose.JSONWebKeySet, error) {
	var ks jose.JSONWebKeySet
	if err := json.Unmarshal(data, &ks); err != nil {
		return ks, fmt.Errorf("auth: JWKS: %w", err)
	}
	return ks, nil
}

// LoadKeySet reads a JWKS from a file path or an http(s) URL, with a deadline.
func LoadKeySet(ctx context.Context, source string) (jose.JSONWebKeySet, error) {
	if !strings.HasPrefix(source, "https://") && !strings.HasPrefix(source, "http://") {
		data, err := os.ReadFile(source)
		if err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("auth: JWKS file: %w", err)
		}
		return ParseKeySet(data)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("auth: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("auth: fetch JWKS: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return ParseKeySet(data)
}
