package auth

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/nrs-pilots/retrain/platform/authn"
)

// Environments a process runs in.
const (
	// EnvDevelopment accepts tokens signed with the development key in the data directory.
	EnvDevelopment = "development"
	// EnvProduction requires a JWKS and refuses the development key.
	EnvProduction = "production"
)

// Config configures authentication and rate limits.
type Config struct {
	// Environment is development or production.
	Environment string
	// JWKS is a file path or URL of the identity provider's public keys.
	JWKS string
	// Issuer and Audience are the expected iss and aud claims.
	Issuer, Audience string
	// Leeway is the clock skew tolerated on exp and nbf.
	Leeway time.Duration
	// Rates are the per-role rate limits, "role=perSecond:burst,...".
	Rates string
	// JWKSRefresh is how often JWKS is reloaded (0: only at start).
	JWKSRefresh time.Duration
}

// DefaultRates are the per-caller limits unless configured otherwise: the front end is one
// caller carrying the public's traffic; people and LEP systems are far slower.
const DefaultRates = "frontend=2000:4000,adviser=20:60,lep=100:400,evaluator=20:60,admin=20:60"

// RegisterFlags registers the flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Environment, "environment", EnvDevelopment, "development (accepts the development signing key in the data directory) or production (requires --auth-jwks)")
	fs.StringVar(&c.JWKS, "auth-jwks", "", "file path or URL of the OpenID Connect provider's JWKS")
	fs.StringVar(&c.Issuer, "auth-issuer", "", "expected token issuer (development default: "+DevIssuer+")")
	fs.StringVar(&c.Audience, "auth-audience", DevAudience, "expected token audience")
	fs.DurationVar(&c.Leeway, "auth-leeway", 30*time.Second, "clock skew tolerated on token expiry and not-before")
	fs.DurationVar(&c.JWKSRefresh, "auth-jwks-refresh", 10*time.Minute, "how often --auth-jwks is reloaded, for the provider's key rotation (0: only at start)")
	fs.StringVar(&c.Rates, "rate-limits", DefaultRates, "per-caller rate limits by role: role=perSecond:burst,...")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	switch c.Environment {
	case EnvDevelopment:
	case EnvProduction:
		if c.JWKS == "" {
			errs = append(errs, errors.New("auth-jwks is required in production"))
		}
		if c.Issuer == "" || c.Issuer == DevIssuer {
			errs = append(errs, fmt.Errorf("auth-issuer must name the identity provider in production (not %q)", DevIssuer))
		}
	default:
		errs = append(errs, fmt.Errorf("environment: %q is not development or production", c.Environment))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("auth-audience is required"))
	}
	if c.JWKSRefresh < 0 {
		errs = append(errs, errors.New("auth-jwks-refresh must not be negative"))
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		errs = append(errs, errors.New("auth-leeway must be between 0 and 5m"))
	}
	if _, err := ParseRates(c.Rates); err != nil {
		errs = append(errs, fmt.Errorf("rate-limits: %w", err))
	}
	return errors.Join(errs...)
}

// Build returns the verifier and limiter the configuration describes. In development
// the development key in dataDir is created if needed and trusted, beside any JWKS. With
// a JWKS and a refresh interval, the keys are reloaded in the background until ctx ends;
// failed reloads go to onErr.
func (c *Config) Build(ctx context.Context, dataDir string, now func() time.Time, onErr func(error)) (*Verifier, *Limiter, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	var keys jose.JSONWebKeySet
	var extra []jose.JSONWebKey
	if c.JWKS != "" {
		ks, err := LoadKeySet(ctx, c.JWKS)
		if err != nil {
			return nil, nil, err
		}
		keys.Keys = append(keys.Keys, ks.Keys...)
	}
	issuer := c.Issuer
	if c.Environment == EnvDevelopment {
		dev, err := LoadOrCreateDevKey(dataDir)
		if err != nil {
			return nil, nil, err
		}
		extra = append(extra, dev.Public())
		keys.Keys = append(keys.Keys, extra...)
		if issuer == "" {
			issuer = DevIssuer
		}
	}
	v, err := NewVerifier(keys, issuer, c.Audience, c.Leeway, now)
	if err != nil {
		return nil, nil, err
	}
	if c.JWKS != "" && c.JWKSRefresh > 0 {
		go v.Refresh(ctx, c.JWKS, c.JWKSRefresh, extra, onErr)
	}
	rates, _ := ParseRates(c.Rates)
	return v, NewLimiter(rates, now), nil
}

// AllRoles lists every role, for policies open to any authenticated caller.
func AllRoles() []authn.Role {
	return []authn.Role{authn.RoleFrontend, authn.RoleAdviser, authn.RoleLEP, authn.RoleEvaluator, authn.RoleAdmin}
}
