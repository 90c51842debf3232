// Package eligibility is the eligibility service of retrain: it answers whether an adult
// is eligible for the National Retraining Scheme under dated rules, and explains why.
//
// main wires it: New with a Config and its dependencies, Register on a gRPC server, and
// Close when the server has stopped.
package eligibility

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nrs-pilots/retrain/platform/boltdb"
	"github.com/nrs-pilots/retrain/platform/postcode"
	eligibilityv1 "github.com/nrs-pilots/retrain/proto/retrain/eligibility/v1"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/grpcapi"
	"github.com/nrs-pilots/retrain/services/eligibility/internal/rules"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// ServiceName is the full gRPC name of the service.
const ServiceName = "retrain.eligibility.v1.EligibilityService"

// schemaVersion is the layout of eligibility.db this binary reads and writes.
const schemaVersion = 1

// Config configures the eligibility service.
type Config struct {
	// RulesetFile, when set, is a JSON ruleset that replaces the built-in one.
	RulesetFile string
}

// RegisterFlags registers the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.RulesetFile, "eligibility-ruleset-file", "", "JSON ruleset replacing the built-in eligibility rules")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.RulesetFile == "" {
		return nil
	}
	if _, err := os.Stat(c.RulesetFile); err != nil {
		return fmt.Errorf("eligibility-ruleset-file: %w", err)
	}
	return nil
}

// Deps are what the service is given by main.
type Deps struct {
	// Log is the process logger; the service names its own.
	Log *zap.Logger
	// DataDir holds eligibility.db.
	DataDir string
	// Postcodes resolves a postcode to its areas.
	Postcodes *postcode.Directory
	// Now is the clock (time.Now in production).
	Now func() time.Time
}

// Service is a running eligibility service.
type Service struct {
	db  *bolt.DB
	api *grpcapi.Server
}

// New opens the service's store and loads its rules.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil || deps.Postcodes == nil || deps.Now == nil {
		return nil, errors.New("eligibility: Log, Postcodes and Now are required")
	}
	rs, err := loadRuleset(cfg.RulesetFile)
	if err != nil {
		return nil, err
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return nil, fmt.Errorf("eligibility: load Europe/London: %w", err)
	}
	db, err := boltdb.Open(filepath.Join(deps.DataDir, "eligibility.db"), boltdb.Options{SchemaVersion: schemaVersion})
	if err != nil {
		return nil, fmt.Errorf("eligibility: %w", err)
	}
	log := deps.Log.Named("eligibility")
	log.Info("rules loaded", zap.String("ruleset_version", rs.Version))
	return &Service{
		db: db,
		api: grpcapi.New(grpcapi.Deps{
			Log:       log,
			Rulesets:  fixedRuleset{rs},
			Postcodes: deps.Postcodes,
			Now:       deps.Now,
			Location:  london,
		}),
	}, nil
}

func loadRuleset(path string) (rules.Ruleset, error) {
	if path == "" {
		return rules.Builtin()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return rules.Ruleset{}, fmt.Errorf("eligibility: read ruleset: %w", err)
	}
	rs, err := rules.ParseRuleset(data)
	if err != nil {
		return rules.Ruleset{}, fmt.Errorf("eligibility: ruleset %s: %w", filepath.Base(path), err)
	}
	return rs, nil
}

// fixedRuleset serves one ruleset loaded at start.
type fixedRuleset struct{ rs rules.Ruleset }

func (f fixedRuleset) Current() rules.Ruleset { return f.rs }

// Register mounts the service's gRPC API on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	eligibilityv1.RegisterEligibilityServiceServer(r, s.api)
}

// Close releases the store. Call it after the gRPC server has stopped.
func (s *Service) Close() error {
	return s.db.Close()
}
