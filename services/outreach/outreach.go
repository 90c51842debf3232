// Package outreach is the outreach service of retrain: the pilot areas' outreach
// campaigns, ingestion of the touches and conversions of visitors' journeys (durable,
// deduplicated by event id), and attribution reports that say which outreach approaches
// brought adults to check their eligibility, enquire, enrol and complete.
//
// main wires it: New with a Config and its dependencies, Register on a gRPC server, and
// Close when the server has stopped.
package outreach

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/grpcapi"
	"github.com/nrs-pilots/retrain/services/outreach/internal/pgstore"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// ServiceName is the full gRPC name of the service.
const ServiceName = "retrain.outreach.v1.OutreachService"

// secretFile is where the journey secret generated for a demo is kept in the data dir.
const secretFile = "outreach-journey.key"

// Config configures the outreach service.
type Config struct {
	// JourneySecret keys the hash of journey ids (at least 32 bytes). Empty: a secret is
	// generated once and kept in the data directory (the single-node demo on bbolt);
	// production sets it, the same on every replica, from a secret store. With a
	// PostgreSQL store it is required, and a replica whose secret differs from the one
	// the database's events were hashed with refuses to start.
	JourneySecret string
	// MaxFuture is how far in the future (after skew correction) an event may be.
	MaxFuture time.Duration
	// LateHorizon is how old an event may be when it arrives.
	LateHorizon time.Duration
	// MaxBatch is the most events in one request or stream message.
	MaxBatch int
	// SuppressionThreshold: exported counts below it (and above 0) are suppressed.
	SuppressionThreshold int
}

// RegisterFlags registers the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.JourneySecret, "outreach-journey-secret", "", "secret (at least 32 bytes) keying the hash of journey ids; empty: generated once into the data directory")
	fs.DurationVar(&c.MaxFuture, "outreach-max-future", 5*time.Minute, "refuse events that happened further than this in the future, after clock-skew correction")
	fs.DurationVar(&c.LateHorizon, "outreach-late-horizon", 400*24*time.Hour, "accept events that happened up to this long before they arrive")
	fs.IntVar(&c.MaxBatch, "outreach-max-batch", 500, "most events in one batch")
	fs.IntVar(&c.SuppressionThreshold, "outreach-suppression-threshold", 10, "in exports, counts from 1 to this minus one are suppressed")
}

// Validate checks the configuration. Messages never echo the secret.
func (c *Config) Validate() error {
	var errs []error
	if c.JourneySecret != "" && len(c.JourneySecret) < domain.MinSecretLen {
		errs = append(errs, fmt.Errorf("outreach-journey-secret must be at least %d bytes", domain.MinSecretLen))
	}
	if c.MaxFuture < 0 {
		errs = append(errs, errors.New("outreach-max-future must not be negative"))
	}
	if c.LateHorizon <= 0 {
		errs = append(errs, errors.New("outreach-late-horizon must be positive"))
	}
	if c.MaxBatch < 1 || c.MaxBatch > 10000 {
		errs = append(errs, errors.New("outreach-max-batch must be from 1 to 10000"))
	}
	if c.SuppressionThreshold < 1 {
		errs = append(errs, errors.New("outreach-suppression-threshold must be at least 1"))
	}
	return errors.Join(errs...)
}

// Deps are what the service is given by main.
type Deps struct {
	// Log is the process logger; the service names its own.
	Log *zap.Logger
	// DataDir holds outreach.db (and the generated journey secret, if any).
	DataDir string
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// StoreURL selects the store: empty for bbolt in DataDir, or a postgres:// (or
	// postgresql://) URL for PostgreSQL, shared by replicas, in the schema "outreach".
	StoreURL string
}

// secretCheckSetting names the journey secret's check value in a shared database.
const secretCheckSetting = "journey_secret_check"

// Service is a running outreach service.
type Service struct {
	closeStore func() error
	// stopFollow stops following other replicas' events (PostgreSQL only).
	stopFollow context.CancelFunc
	following  sync.WaitGroup
	index      *attribution.Index
	api        *grpcapi.Server
}

// IsPostgresURL reports whether a store URL selects PostgreSQL.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Migrate brings the service's schema in the PostgreSQL database at storeURL up to date,
// as New does at start: for a migration step run before a rollout.
func Migrate(ctx context.Context, storeURL string) error {
	if !IsPostgresURL(storeURL) {
		return errors.New("outreach: migrate needs a postgres:// store URL")
	}
	if err := pgstore.Migrate(ctx, storeURL); err != nil {
		return fmt.Errorf("outreach: %w", err)
	}
	return nil
}

// New opens the store, loads every event into the attribution index and builds the API.
// With PostgreSQL it also starts following the events other replicas store; Close stops
// it.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil || deps.Now == nil || deps.DataDir == "" {
		return nil, errors.New("outreach: Log, Now and DataDir are required")
	}
	shared := deps.StoreURL != ""
	switch {
	case shared && !IsPostgresURL(deps.StoreURL):
		// The URL is not echoed: it may hold a password.
		return nil, errors.New("outreach: the store URL must be empty (bbolt) or start with postgres:// or postgresql://")
	case shared && cfg.JourneySecret == "":
		return nil, errors.New("outreach: outreach-journey-secret is required with a PostgreSQL store, the same on every replica; a secret generated per replica would split journeys")
	}
	log := deps.Log.Named("outreach")
	secret, err := journeySecret(cfg.JourneySecret, deps.DataDir, log)
	if err != nil {
		return nil, err
	}
	hasher := domain.NewJourneyHasher(secret)
	london, err := civil.London()
	if err != nil {
		return nil, fmt.Errorf("outreach: %w", err)
	}
	idx := attribution.NewIndex()
	s := &Service{index: idx}
	start := time.Now()
	var (
		store   domain.Store
		sink    domain.Sink
		refresh func(context.Context) error
		// codeTTL: with a shared store, other replicas update campaigns too, so which
		// campaign a code names is read again at least this often.
		codeTTL time.Duration
	)
	if shared {
		pg, err := pgstore.Open(ctx, deps.StoreURL, pgstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("outreach: %w", err)
		}
		follower, err := startShared(ctx, pg, hasher, idx, log)
		if err != nil {
			_ = pg.Close()
			return nil, err
		}
		// Every replica's events, this one's included, reach the index through the
		// follower, once each; a report catches up first, so it sees every event
		// committed before it started.
		store, s.closeStore, codeTTL = pg, pg.Close, sharedCodeCacheTTL
		refresh = func(ctx context.Context) error {
			_, err := follower.CatchUp(ctx)
			return err
		}
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopFollow = cancel
		s.following.Go(func() { follower.Run(runCtx) })
	} else {
		bolt, err := boltstore.Open(filepath.Join(deps.DataDir, "outreach.db"), boltstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("outreach: %w", err)
		}
		if err := loadIndex(ctx, bolt, idx); err != nil {
			_ = bolt.Close()
			return nil, fmt.Errorf("outreach: load events: %w", err)
		}
		store, sink, s.closeStore = bolt, idx, bolt.Close
	}
	idx.Prepare()
	log.Info("events loaded", zap.Int("events", idx.Len()), zap.Duration("took", time.Since(start)), zap.Bool("postgres", shared))
	svc := domain.NewService(domain.Options{
		Store:    store,
		Sink:     sink,
		Hasher:   hasher,
		Policy:   domain.TimePolicy{MaxFuture: cfg.MaxFuture, LateHorizon: cfg.LateHorizon},
		Now:      deps.Now,
		MaxBatch: cfg.MaxBatch,

		CodeCacheTTL: codeTTL,
	})
	s.api = grpcapi.New(grpcapi.Deps{
		Log: log, Service: svc, Index: idx, Refresh: refresh, Now: deps.Now, Location: london,
		SuppressionThreshold: cfg.SuppressionThreshold,
	})
	return s, nil
}

// sharedCodeCacheTTL is how long a replica sharing the PostgreSQL store trusts a code's
// campaign before reading it again: an update on another replica that moves a code is
// seen by this one within that time.
const sharedCodeCacheTTL = time.Second

// startShared checks that this replica hashes journeys with the secret the shared
// database's events were hashed with (recording it on first use), and loads every stored
// event into idx through a follower, which it returns.
func startShared(ctx context.Context, store *pgstore.Store, hasher domain.JourneyHasher, idx *attribution.Index, log *zap.Logger) (*pgstore.Follower, error) {
	check := hasher.SecretCheck()
	stored, err := store.EnsureSetting(ctx, secretCheckSetting, check)
	if err != nil {
		return nil, fmt.Errorf("outreach: %w", err)
	}
	if subtle.ConstantTimeCompare(stored, check) != 1 {
		return nil, errors.New("outreach: outreach-journey-secret differs from the secret this database's journeys were hashed with; every replica must use the same one")
	}
	follower := pgstore.NewFollower(store, idx, pgstore.FollowerOptions{PageSize: 50_000, Log: log})
	if _, err := follower.CatchUp(ctx); err != nil {
		return nil, fmt.Errorf("outreach: load events: %w", err)
	}
	return follower, nil
}

func loadIndex(ctx context.Context, store domain.Store, idx *attribution.Index) error {
	batch := make([]domain.Event, 0, 65536)
	err := store.ScanEvents(ctx, func(e domain.Event) error {
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			idx.Add(batch)
			batch = batch[:0]
		}
		return nil
	})
	idx.Add(batch)
	return err
}

// journeySecret returns the configured secret or, when none is, the one kept in the data
// directory, generating it on first use.
func journeySecret(configured, dataDir string, log *zap.Logger) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	path := filepath.Join(dataDir, secretFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		s := strings.TrimSpace(string(b))
		if len(s) < domain.MinSecretLen {
			return nil, fmt.Errorf("outreach: %s holds a secret shorter than %d bytes", secretFile, domain.MinSecretLen)
		}
		return []byte(s), nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("outreach: read journey secret: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (Go 1.24+).
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("outreach: create data directory: %w", err)
	}
	// O_EXCL: two processes starting together cannot both write a different secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return journeySecret("", dataDir, log)
		}
		return nil, fmt.Errorf("outreach: write journey secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("outreach: write journey secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("outreach: write journey secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("outreach: write journey secret: %w", err)
	}
	log.Warn("generated a journey secret in the data directory; set outreach-journey-secret in production", zap.String("file", secretFile))
	return []byte(s), nil
}

// Register mounts the service's gRPC API on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	outreachv1.RegisterOutreachServiceServer(r, s.api)
}

// Close stops following other replicas and releases the store (the connection pool).
// Call it after the gRPC server has stopped.
func (s *Service) Close() error {
	if s.stopFollow != nil {
		s.stopFollow()
		s.following.Wait()
	}
	return s.closeStore()
}
