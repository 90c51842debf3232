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
	"github.com/nrs-pilots/retrain/gateway"
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/eligibility/outreachsink"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// inMemoryConn is a client connection to this process's own gRPC server.
func (a *App) inMemoryConn() (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return a.memLis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
}

// gatewayBackends connects the gateway to each service: in memory when it runs in this
// process, else at its own address flag or --backend-addr; a service with neither is not
// mounted.
func (a *App) gatewayBackends() (gateway.Backends, error) {
	b := gateway.Backends{}
	byAddr := map[string]*grpc.ClientConn{}
	for _, svc := range allServices() {
		addr := a.cfg.serviceAddr(svc.target)
		if slices.Contains(a.services, svc.name) {
			addr = "in-process"
		}
		if addr == "" {
			continue
		}
		conn, ok := byAddr[addr]
		if !ok {
			var err error
			if addr == "in-process" {
				conn, err = a.inMemoryConn()
			} else {
				conn, err = a.peerConn(addr)
			}
			if err != nil {
				return nil, err
			}
			byAddr[addr] = conn
			a.closers = append(a.closers, conn.Close)
		}
		b[svc.name] = conn
	}
	if len(b) == 0 {
		return nil, errors.New("the gateway has no backend: run services here or give their addresses")
	}
	return b, nil
}

// peerConn connects to another component's gRPC address, over TLS when --peer-tls.
func (a *App) peerConn(addr string) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	tlsCfg, err := a.cfg.TLS.Client()
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	return grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
}

// listen opens a TCP listener on addr, wrapped in TLS when a certificate is configured
// (requiring client certificates on the gRPC port when --tls-client-ca-file is set).
func (a *App) listen(addr string, requireClient bool, protos ...string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	tlsLis, err := a.cfg.TLS.Listener(lis, requireClient, protos...)
	if err != nil {
		lis.Close()
		return nil, err
	}
	return tlsLis, nil
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
		conn, err = a.peerConn(a.cfg.OutreachAddr)
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
