// Package app runs retrain: any subset of the services and the gateway in one process,
// each service on one gRPC server, the gateway reaching them in memory (through the same
// interceptors as a remote caller) or at a backend address.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/gateway"
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/grpcserver"
	"github.com/nrs-pilots/retrain/platform/metrics"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"go.uber.org/zap"
	"google.golang.org/grpc/test/bufconn"
)

// App is a configured process with its listeners open, ready to Run.
type App struct {
	cfg     Config
	log     *zap.Logger
	targets []string

	grpcLis net.Listener
	memLis  *bufconn.Listener
	httpLis net.Listener

	server   *grpcserver.Server
	closers  []func() error
	httpSrv  *http.Server
	services []string
}

// New validates cfg, builds every component and opens the listeners, so that addresses are
// known (and port conflicts reported) before Run.
func New(ctx context.Context, cfg Config, log *zap.Logger) (a *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	targets, _ := cfg.Targets()
	a = &App{cfg: cfg, log: log, targets: targets}
	built := a // a is nil once an error is returned
	defer func() {
		if err != nil {
			built.closeAll()
		}
	}()
	reg := metrics.NewRegistry()
	runServices := slices.ContainsFunc(targets, func(t string) bool { return t != TargetGateway })

	if runServices {
		dir, err := loadPostcodes(cfg.PostcodeFile)
		if err != nil {
			return nil, err
		}
		authLog := log.Named("auth")
		verifier, limiter, err := cfg.Auth.Build(ctx, cfg.DataDir, time.Now, func(err error) {
			authLog.Warn("JWKS reload failed; keeping the current keys", zap.Error(err))
		})
		if err != nil {
			return nil, err
		}
		// The in-memory listener serves the gateway and the services' calls to each
		// other (the eligibility outbox to outreach) without a TCP hop, through every
		// interceptor, authentication included.
		a.memLis = bufconn.Listen(1 << 20)
		env := serviceEnv{log: log, dataDir: cfg.DataDir, postcodes: dir, now: time.Now, storeURL: cfg.Store}
		if env.sink, err = a.outreachSink(targets); err != nil {
			return nil, err
		}
		var built []service
		for _, t := range targets {
			if t == TargetGateway {
				continue
			}
			svc, err := buildService(ctx, t, cfg, env)
			if err != nil {
				return nil, err
			}
			built = append(built, svc)
			a.closers = append(a.closers, svc.Close)
			a.services = append(a.services, svc.name)
		}
		policies := auth.PublicPolicies()
		for _, svc := range built {
			if policies, err = auth.Merge(policies, svc.policies); err != nil {
				return nil, err
			}
		}
		guard := auth.NewGuard(policies, verifier, limiter, authLog)
		a.server, err = grpcserver.New(cfg.GRPC, log.Named("grpc"), reg, guard.ServerOptions()...)
		if err != nil {
			return nil, err
		}
		for _, svc := range built {
			svc.Register(a.server.GRPC)
		}
		// Deny by default is enforced by the guard; refusing to start as well makes a
		// method without a policy a start-up error instead of a runtime surprise.
		if missing := policies.Missing(a.server.GRPC); len(missing) > 0 {
			return nil, fmt.Errorf("methods without an access policy: %v", missing)
		}
		if a.grpcLis, err = a.listen(cfg.GRPCAddr, true, "h2"); err != nil {
			return nil, fmt.Errorf("grpc listener: %w", err)
		}
	}

	if slices.Contains(targets, TargetGateway) {
		backends, err := a.gatewayBackends()
		if err != nil {
			return nil, fmt.Errorf("gateway client: %w", err)
		}
		h, err := gateway.New(ctx, cfg.Gateway, log.Named("gateway"), reg, backends)
		if err != nil {
			return nil, err
		}
		a.httpSrv = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          zap.NewStdLog(log.Named("http")),
		}
		if a.httpLis, err = a.listen(cfg.HTTPAddr, false, "h2", "http/1.1"); err != nil {
			return nil, fmt.Errorf("http listener: %w", err)
		}
	}
	return a, nil
}

func loadPostcodes(path string) (*postcode.Directory, error) {
	if path == "" {
		return postcode.Builtin()
	}
	d, err := postcode.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("postcode-file: %w", err)
	}
	return d, nil
}

// GRPCAddr is the address the gRPC services listen on, or "" when none run.
func (a *App) GRPCAddr() string {
	if a.grpcLis == nil {
		return ""
	}
	return a.grpcLis.Addr().String()
}

// HTTPAddr is the address the gateway listens on, or "" when it does not run.
func (a *App) HTTPAddr() string {
	if a.httpLis == nil {
		return ""
	}
	return a.httpLis.Addr().String()
}

// Run serves until ctx is cancelled, then drains within the shutdown timeout and returns
// nil; or returns the first listener error.
func (a *App) Run(ctx context.Context) error {
	defer a.closeAll()
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	serve := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if a.server != nil {
		a.server.MarkServing()
		serve("grpc", func() error { return a.server.Serve(a.grpcLis) })
		if a.memLis != nil {
			serve("grpc in-memory", func() error { return a.server.Serve(a.memLis) })
		}
	}
	if a.httpSrv != nil {
		serve("http", func() error {
			if err := a.httpSrv.Serve(a.httpLis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	a.log.Info("retrain listening",
		zap.Strings("targets", a.targets),
		zap.String("grpc_addr", a.GRPCAddr()),
		zap.String("http_addr", a.HTTPAddr()),
	)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("shutting down", zap.Duration("drain_timeout", a.cfg.GRPC.ShutdownTimeout))
	a.shutdown()
	wg.Wait()
	a.log.Info("stopped")
	return runErr
}

// shutdown stops taking new work, lets in-flight requests finish within the drain
// timeout, and then closes what is left: HTTP first (its requests are in-flight RPCs),
// then gRPC (health turns NOT_SERVING before draining).
func (a *App) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.GRPC.ShutdownTimeout)
	defer cancel()
	if a.server != nil {
		// NOT_SERVING first, so readiness turns before connections close.
		a.server.Health.Shutdown()
	}
	if a.httpSrv != nil {
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			a.log.Warn("http drain incomplete", zap.Error(err))
			_ = a.httpSrv.Close()
		}
	}
	if a.server != nil {
		a.server.Shutdown(ctx)
	}
}

// closeAll releases connections and stores; safe to call more than once.
func (a *App) closeAll() {
	for _, c := range a.closers {
		if err := c(); err != nil {
			a.log.Warn("close", zap.Error(err))
		}
	}
	a.closers = nil
	for _, l := range []net.Listener{a.grpcLis, a.httpLis} {
		if l != nil {
			_ = l.Close()
		}
	}
}
