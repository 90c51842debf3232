package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/eligibility/outreachsink"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// inMemoryConn is a client connection to this process's own gRPC server.
func (a *App) inMemoryConn() (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return a.memLis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
}

// outreachSink returns where the eligibility service's outbox delivers conversions: the
// outreach service in this process, or at --outreach-addr; nil when neither (the outbox
// is then off and journey ids are ignored).
func (a *App) outreachSink(targets []string) (eligibility.ConversionSink, error) {
	if !slices.Contains(targets, TargetEligibility) {
		return nil, nil
	}
	var conn *grpc.ClientConn
	var err error
	switch {
	case slices.Contains(targets, TargetOutreach):
		conn, err = a.inMemoryConn()
	case a.cfg.OutreachAddr != "":
		conn, err = grpc.NewClient(a.cfg.OutreachAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outreach client: %w", err)
	}
	a.closers = append(a.closers, conn.Close)
	tokens, err := newServiceTokens(a.cfg)
	if err != nil {
		return nil, err
	}
	return outreachsink.New(conn, tokens.token), nil
}

// serviceTokens gives the bearer token of this process's own identity (role service) for
// its calls to other services: read from --service-token-file on every call (a sidecar or
// the platform refreshes it), or, in development, minted with the development key.
type serviceTokens struct {
	file string
	key  jose.JSONWebKey

	mu      sync.Mutex
	cached  string
	expires time.Time
}

func newServiceTokens(cfg Config) (*serviceTokens, error) {
	if cfg.ServiceTokenFile != "" {
		return &serviceTokens{file: cfg.ServiceTokenFile}, nil
	}
	if cfg.Auth.Environment != auth.EnvDevelopment {
		return nil, errors.New("service-token-file is required in production for calls between services")
	}
	key, err := auth.LoadOrCreateDevKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return &serviceTokens{key: key}, nil
}

func (s *serviceTokens) token(context.Context) (string, error) {
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return "", fmt.Errorf("service token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.cached == "" || now.After(s.expires.Add(-5*time.Minute)) {
		const ttl = time.Hour
		tok, err := auth.Mint(s.key, auth.DevIssuer, auth.DevAudience, authn.Principal{Subject: "retrain-eligibility", Role: authn.RoleService}, now, ttl)
		if err != nil {
			return "", err
		}
		s.cached, s.expires = tok, now.Add(ttl)
	}
	return s.cached, nil
}
