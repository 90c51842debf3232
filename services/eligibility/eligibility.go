// Package eligibility is the eligibility service of retrain: it answers whether an adult
// is eligible for the National Retraining Scheme under dated, published rules, explains
// why and what to do next; records advisers' assessments of learners with an audit trail;
// meets the data-protection duties (retention, erasure, subject access); screens cohorts
// for LEP systems; and relays "eligibility checked" conversions to outreach.
//
// main wires it: New with a Config and its dependencies, Register on a gRPC server, and
// Close when the server has stopped.
package eligibility

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/postcode"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/domain"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/grpcapi"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/pgstore"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// ServiceName is the full gRPC name of the service.
const ServiceName = "retrain.eligibility.v1.EligibilityService"

// DevKeyFile is the file in the data directory holding the development data key that is
// generated when no key is configured.
const DevKeyFile = "eligibility-dev.key"

// ConversionSink receives "eligibility checked" conversions from the outbox relay. Send
// returns nil when every conversion was acknowledged (duplicates included: receivers
// deduplicate by event id), a *DeliveryError with one result per conversion when only
// some were, and any other error when none was.
type ConversionSink = domain.ConversionSink

// Conversion is an "eligibility checked" event.
type Conversion = domain.Conversion

// DeliveryError reports per-event results of ConversionSink.Send.
type DeliveryError = domain.DeliveryError

// ErrConversionRejected marks a per-event result that must never be retried; the relay
// moves such an event to a dead-letter bucket.
var ErrConversionRejected = domain.ErrConversionRejected

// Config configures the eligibility service.
type Config struct {
	// RulesetFile, when set, is a JSON ruleset that replaces the built-in one.
	RulesetFile string
	// NextStepsFile, when set, is a JSON next-steps file replacing the built-in one.
	NextStepsFile string
	// DataKeys are the AES-256 keys that seal personal data, "id=base64,..."; the first
	// seals new records. Empty: a development key is generated in the data directory.
	DataKeys string
	// Retention is how long assessments are kept; 0 keeps them for ever.
	Retention time.Duration
	// SweepInterval is how often the retention sweep runs.
	SweepInterval time.Duration
}

// RegisterFlags registers the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.RulesetFile, "eligibility-ruleset-file", "", "JSON ruleset replacing the built-in eligibility rules")
	fs.StringVar(&c.NextStepsFile, "eligibility-next-steps-file", "", "JSON next steps per outcome and area, replacing the built-in ones")
	fs.StringVar(&c.DataKeys, "eligibility-data-keys", "", "AES-256 keys sealing learners' personal data, id=base64 comma-separated, the first for new records (empty: generate a development key in the data dir)")
	fs.DurationVar(&c.Retention, "eligibility-retention", 3*365*24*time.Hour, "how long assessments are kept before the retention sweep deletes them (0: for ever)")
	fs.DurationVar(&c.SweepInterval, "eligibility-retention-sweep-interval", time.Hour, "how often the retention sweep runs")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	for flagName, path := range map[string]string{"eligibility-ruleset-file": c.RulesetFile, "eligibility-next-steps-file": c.NextStepsFile} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flagName, err))
		}
	}
	if c.DataKeys != "" {
		if _, err := domain.ParseKeys(c.DataKeys); err != nil {
			errs = append(errs, fmt.Errorf("eligibility-data-keys: %w", err))
		}
	}
	if c.Retention < 0 {
		errs = append(errs, errors.New("eligibility-retention must not be negative"))
	}
	if c.SweepInterval <= 0 {
		errs = append(errs, errors.New("eligibility-retention-sweep-interval must be positive"))
	}
	return errors.Join(errs...)
}

// Deps are what the service is given by main.
type Deps struct {
	// Log is the process logger; the service names its own.
	Log *zap.Logger
	// DataDir holds eligibility.db (when StoreURL is empty) and the development key.
	DataDir string
	// StoreURL selects the store: empty keeps it in eligibility.db in DataDir (one
	// process); postgres://... or postgresql://... keeps it in that database's schema
	// "eligibility", shared by every replica (see IsPostgresURL).
	StoreURL string
	// Postcodes resolves a postcode to its areas.
	Postcodes *postcode.Directory
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// Sink, when set, receives the conversions of checks that carry a journey id; nil
	// disables the outbox and journey ids are ignored.
	Sink ConversionSink
}

// Schema is the service's schema in a PostgreSQL store.
const Schema = pgstore.DefaultSchema

// RulesetRefresh is how soon a replica sharing a PostgreSQL store applies a ruleset
// another replica published.
const RulesetRefresh = time.Second

// IsPostgresURL reports whether a store URL names a PostgreSQL database.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Migrate brings the service's schema in the PostgreSQL database at storeURL up to date,
// as New does at start: for a migration step run before a rollout.
func Migrate(ctx context.Context, storeURL string) error {
	if !IsPostgresURL(storeURL) {
		return errors.New("eligibility: migrate needs a postgres:// store URL")
	}
	if err := pgstore.Migrate(ctx, storeURL, Schema); err != nil {
		return fmt.Errorf("eligibility: %w", err)
	}
	return nil
}

// Service is a running eligibility service.
type Service struct {
	store domain.Store
	app   *domain.Service
	api   *grpcapi.Server
}

// New opens the service's store, loads its rules and starts its background work.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil || deps.Postcodes == nil || deps.Now == nil {
		return nil, errors.New("eligibility: Log, Postcodes and Now are required")
	}
	shared := deps.StoreURL != ""
	if shared && !IsPostgresURL(deps.StoreURL) {
		// The URL may hold a password: name only what was expected.
		return nil, errors.New("eligibility: the store must be empty (bbolt in the data directory) or a postgres:// or postgresql:// URL")
	}
	if shared && cfg.DataKeys == "" {
		return nil, errors.New("eligibility: eligibility-data-keys is required with a PostgreSQL store: replicas share the assessments, so they must share the keys that seal them (a development key is per data directory)")
	}
	log := deps.Log.Named("eligibility")
	rs, source, err := loadRuleset(cfg.RulesetFile)
	if err != nil {
		return nil, err
	}
	steps, err := loadNextSteps(cfg.NextStepsFile)
	if err != nil {
		return nil, err
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return nil, fmt.Errorf("eligibility: load Europe/London: %w", err)
	}
	keys, err := dataKeys(cfg.DataKeys, deps.DataDir, log)
	if err != nil {
		return nil, err
	}
	keyring, err := domain.NewKeyring(keys)
	if err != nil {
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	var store domain.Store
	var refresh time.Duration
	if shared {
		store, err = pgstore.Open(context.Background(), deps.StoreURL, pgstore.Options{Schema: Schema})
		refresh = RulesetRefresh
	} else {
		store, err = boltstore.Open(filepath.Join(deps.DataDir, "eligibility.db"), boltstore.Options{})
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	app, err := domain.New(context.Background(), domain.Options{
		Store: store, Keyring: keyring, Places: deps.Postcodes, NextSteps: steps,
		Configured: rs, ConfiguredSource: source,
		Now: deps.Now, Location: london,
		Retention: cfg.Retention, SweepInterval: cfg.SweepInterval,
		Sink: deps.Sink, RulesetRefresh: refresh, Log: log,
	})
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	app.Start()
	log.Info("eligibility service ready",
		zap.String("configured_ruleset", rs.Version),
		zap.String("active_data_key", keyring.ActiveKeyID()),
		zap.Bool("outbox", deps.Sink != nil),
		zap.String("store", storeKind(shared)),
		zap.Duration("retention", cfg.Retention))
	return &Service{store: store, app: app, api: grpcapi.New(grpcapi.Deps{Log: log, App: app})}, nil
}

func storeKind(shared bool) string {
	if shared {
		return "postgres"
	}
	return "bbolt"
}

func loadRuleset(path string) (rules.Ruleset, string, error) {
	if path == "" {
		rs, err := rules.Builtin()
		return rs, domain.SourceBuiltin, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return rules.Ruleset{}, "", fmt.Errorf("eligibility: read ruleset: %w", err)
	}
	rs, err := rules.ParseRuleset(data)
	if err != nil {
		return rules.Ruleset{}, "", fmt.Errorf("eligibility: ruleset %s: %w", filepath.Base(path), err)
	}
	return rs, domain.SourceFile, nil
}

func loadNextSteps(path string) (domain.NextSteps, error) {
	if path == "" {
		return domain.BuiltinNextSteps()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return domain.NextSteps{}, fmt.Errorf("eligibility: read next steps: %w", err)
	}
	ns, err := domain.ParseNextSteps(data)
	if err != nil {
		return domain.NextSteps{}, fmt.Errorf("eligibility: next steps %s: %w", filepath.Base(path), err)
	}
	return ns, nil
}

// dataKeys returns the configured keys, or the development key in dataDir, generating it
// (mode 0600) the first time.
func dataKeys(spec, dataDir string, log *zap.Logger) ([]domain.Key, error) {
	if spec != "" {
		return domain.ParseKeys(spec)
	}
	path := filepath.Join(dataDir, DevKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("eligibility: data directory: %w", err)
		}
		k := domain.NewKey("dev-" + time.Now().UTC().Format("20060102"))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("eligibility: create development key: %w", err)
		}
		_, werr := f.WriteString(domain.FormatKey(k) + "\n")
		serr := f.Sync()
		if cerr := f.Close(); werr == nil && serr == nil {
			werr = cerr
		}
		if werr != nil || serr != nil {
			return nil, fmt.Errorf("eligibility: write development key: %w", errors.Join(werr, serr))
		}
		log.Warn("no eligibility-data-keys configured: generated a development data key; configure real keys in production", zap.String("key_id", k.ID), zap.String("file", DevKeyFile))
		return []domain.Key{k}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eligibility: read development key: %w", err)
	}
	keys, err := domain.ParseKeys(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("eligibility: development key %s: %w", DevKeyFile, err)
	}
	log.Warn("no eligibility-data-keys configured: using the development data key from the data directory; configure real keys in production", zap.String("key_id", keys[0].ID))
	return keys, nil
}

// Register mounts the service's gRPC API on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	eligibilityv1.RegisterEligibilityServiceServer(r, s.api)
}

// Close stops the background work (retention sweep, outbox relay, ruleset refresh) and
// releases the store: the bbolt file, or the PostgreSQL pool and the relay lease, so
// another replica takes over the outbox at once. Call it after the gRPC server has
// stopped.
func (s *Service) Close() error {
	s.app.Close()
	return s.store.Close()
}
