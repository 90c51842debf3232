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
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	outreachv1 "github.com/nrs-pilots/retrain/proto/retrain/outreach/v1"
	"github.com/nrs-pilots/retrain/services/outreach/internal/attribution"
	"github.com/nrs-pilots/retrain/services/outreach/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/outreach/internal/domain"
	"github.com/nrs-pilots/retrain/services/outreach/internal/grpcapi"
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
	// generated once and kept in the data directory (a single-node demo); production sets
	// it, the same on every replica, from a secret store.
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
}

// Service is a running outreach service.
type Service struct {
	store *boltstore.Store
	api   *grpcapi.Server
}

// New opens the store, loads every event into the attribution index and builds the API.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil || deps.Now == nil || deps.DataDir == "" {
		return nil, errors.New("outreach: Log, Now and DataDir are required")
	}
	log := deps.Log.Named("outreach")
	secret, err := journeySecret(cfg.JourneySecret, deps.DataDir, log)
	if err != nil {
		return nil, err
	}
	london, err := civil.London()
	if err != nil {
		return nil, fmt.Errorf("outreach: %w", err)
	}
	store, err := boltstore.Open(filepath.Join(deps.DataDir, "outreach.db"), boltstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("outreach: %w", err)
	}
	idx := attribution.NewIndex()
	start := time.Now()
	if err := loadIndex(ctx, store, idx); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("outreach: load events: %w", err)
	}
	idx.Prepare()
	log.Info("events loaded", zap.Int("events", idx.Len()), zap.Duration("took", time.Since(start)))
	svc := domain.NewService(domain.Options{
		Store:    store,
		Sink:     idx,
		Hasher:   domain.NewJourneyHasher(secret),
		Policy:   domain.TimePolicy{MaxFuture: cfg.MaxFuture, LateHorizon: cfg.LateHorizon},
		Now:      deps.Now,
		MaxBatch: cfg.MaxBatch,
	})
	return &Service{
		store: store,
		api: grpcapi.New(grpcapi.Deps{
			Log: log, Service: svc, Index: idx, Now: deps.Now, Location: london,
			SuppressionThreshold: cfg.SuppressionThreshold,
		}),
	}, nil
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

// Close releases the store. Call it after the gRPC server has stopped.
func (s *Service) Close() error {
	return s.store.Close()
}
