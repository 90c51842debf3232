// Package courses is the courses service of retrain: the discounted-course catalogues of
// the pilot areas (LEPs and Combined Authorities) with their pilot rules, bulk import and
// export, and a fast search for the public service.
//
// main wires it: New with a Config and its dependencies, Register on a gRPC server, and
// Close when the server has stopped.
package courses

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"github.com/nrs-pilots/retrain/services/courses/internal/demo"
	"github.com/nrs-pilots/retrain/services/courses/internal/grpcapi"
	"github.com/nrs-pilots/retrain/services/courses/internal/pgstore"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// ServiceName is the full gRPC name of the service.
const ServiceName = "retrain.courses.v1.CoursesService"

// startTimeout bounds the work New does before serving: building the index and seeding.
const startTimeout = 2 * time.Minute

// Config configures the courses service.
type Config struct {
	// AreasFile, when set, is a JSON file of areas and pilot rules replacing the built-in one.
	AreasFile string
	// DemoData seeds the demonstration catalogue when the store is empty.
	DemoData bool
	// ImportMaxBytes bounds the CSV of one import.
	ImportMaxBytes int64
	// ImportMaxRows bounds the rows of one import.
	ImportMaxRows int
	// StorePollInterval is how often a replica on a PostgreSQL store reads the other
	// replicas' writes into its search index.
	StorePollInterval time.Duration
}

// RegisterFlags registers the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.AreasFile, "courses-areas-file", "", "JSON file of pilot areas, discounts and pilot rules replacing the built-in ones")
	fs.BoolVar(&c.DemoData, "courses-demo-data", true, "seed a demonstration course catalogue (flagged demo) when the courses store is empty")
	fs.Int64Var(&c.ImportMaxBytes, "courses-import-max-bytes", 64<<20, "largest CSV accepted by one course import, in bytes")
	fs.IntVar(&c.ImportMaxRows, "courses-import-max-rows", 200_000, "most rows accepted by one course import")
	fs.DurationVar(&c.StorePollInterval, "courses-store-poll-interval", 500*time.Millisecond, "with a PostgreSQL store, how often each replica reads other replicas' course changes into its search index")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.AreasFile != "" {
		if _, err := os.Stat(c.AreasFile); err != nil {
			errs = append(errs, fmt.Errorf("courses-areas-file: %w", err))
		}
	}
	if c.ImportMaxBytes <= 0 {
		errs = append(errs, errors.New("courses-import-max-bytes must be positive"))
	}
	if c.ImportMaxRows <= 0 {
		errs = append(errs, errors.New("courses-import-max-rows must be positive"))
	}
	if c.StorePollInterval < 10*time.Millisecond || c.StorePollInterval > time.Minute {
		errs = append(errs, errors.New("courses-store-poll-interval must be between 10ms and 1m"))
	}
	return errors.Join(errs...)
}

// Deps are what the service is given by main.
type Deps struct {
	// Log is the process logger; the service names its own.
	Log *zap.Logger
	// DataDir holds courses.db when StoreURL is empty.
	DataDir string
	// StoreURL selects the store: empty keeps it in courses.db in DataDir (one process);
	// postgres://... or postgresql://... keeps it in that database's schema "courses",
	// shared by every replica, each of which follows the others' writes.
	StoreURL string
	// Postcodes locates learners and venues and tells which areas cover them.
	Postcodes *postcode.Directory
	// Now is the clock (time.Now in production).
	Now func() time.Time
}

// Service is a running courses service.
type Service struct {
	store store
	api   *grpcapi.Server
	// stopFollowing ends the goroutine that keeps the index in step with other
	// replicas' writes, which closes followed when it has returned.
	stopFollowing context.CancelFunc
	followed      chan struct{}
}

// Schema is the service's schema in a PostgreSQL store.
const Schema = pgstore.Schema

// IsPostgresURL reports whether url selects the PostgreSQL store.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// errStoreURL is the error for a store URL that is neither empty nor PostgreSQL's. The URL
// may hold a password, so it is not repeated.
var errStoreURL = errors.New("courses: the store must be empty (bbolt in the data directory) or a postgres:// or postgresql:// URL")

// Migrate brings the service's schema in the PostgreSQL database at storeURL up to date,
// as New does at start: for a migration step run before a rollout.
func Migrate(ctx context.Context, storeURL string) error {
	if !IsPostgresURL(storeURL) {
		return errStoreURL
	}
	store, err := pgstore.Open(ctx, storeURL, pgstore.Options{MaxConns: 2})
	if err != nil {
		return fmt.Errorf("courses: %w", err)
	}
	return store.Close()
}

// store is a catalog.Store the service opens and closes.
type store interface {
	catalog.Store
	Close() error
}

// openStore opens the store deps select.
func openStore(ctx context.Context, deps Deps) (store, error) {
	if IsPostgresURL(deps.StoreURL) {
		return pgstore.Open(ctx, deps.StoreURL, pgstore.Options{})
	}
	return boltstore.Open(filepath.Join(deps.DataDir, "courses.db"), boltstore.Options{})
}

// New opens the store, builds the search index from it and, when configured and the store
// is empty, seeds the demonstration catalogue. With a PostgreSQL store it also starts
// following the other replicas' writes, every cfg.StorePollInterval, until Close.
func New(cfg Config, deps Deps) (_ *Service, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Log == nil || deps.Postcodes == nil || deps.Now == nil {
		return nil, errors.New("courses: Log, Postcodes and Now are required")
	}
	areas, err := loadAreas(cfg.AreasFile)
	if err != nil {
		return nil, err
	}
	london, err := civil.London()
	if err != nil {
		return nil, fmt.Errorf("courses: %w", err)
	}
	if deps.StoreURL != "" && !IsPostgresURL(deps.StoreURL) {
		return nil, errStoreURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	store, err := openStore(ctx, deps)
	if err != nil {
		return nil, fmt.Errorf("courses: %w", err)
	}
	defer func() {
		if err != nil {
			_ = store.Close()
		}
	}()
	log := deps.Log.Named("courses")
	cat, err := catalog.New(ctx, store, deps.Postcodes, areas, deps.Now)
	if err != nil {
		return nil, fmt.Errorf("courses: %w", err)
	}
	if cfg.DemoData {
		ps, cs, err := demo.Seed(ctx, cat, civil.Of(deps.Now(), london))
		if err != nil {
			return nil, fmt.Errorf("courses: seed demo data: %w", err)
		}
		if cs > 0 {
			log.Info("demo course catalogue seeded", zap.Int("providers", ps), zap.Int("courses", cs))
		}
	}
	// Other replicas may have written since the index was built (seeding the same demo
	// catalogue, say): start current rather than a poll behind.
	if _, err := cat.Sync(ctx); err != nil {
		return nil, fmt.Errorf("courses: %w", err)
	}
	log.Info("course catalogues loaded", zap.Int("areas", len(areas)), zap.Bool("shared_store", cat.Following()))
	s := &Service{
		store: store,
		api: grpcapi.New(grpcapi.Deps{
			Log:            log,
			Catalog:        cat,
			ImportMaxBytes: cfg.ImportMaxBytes,
			ImportMaxRows:  cfg.ImportMaxRows,
		}),
	}
	if cat.Following() {
		var followCtx context.Context
		followCtx, s.stopFollowing = context.WithCancel(context.Background())
		s.followed = make(chan struct{})
		go s.follow(followCtx, cat, cfg.StorePollInterval, log)
	}
	return s, nil
}

// maxFollowBackoff bounds the wait between attempts while the store cannot be read.
const maxFollowBackoff = 30 * time.Second

// follow applies the other replicas' writes to cat's index every interval until ctx
// ends, backing off while the store fails.
func (s *Service) follow(ctx context.Context, cat *catalog.Catalog, every time.Duration, log *zap.Logger) {
	defer close(s.followed)
	timer := time.NewTimer(every)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := every
		n, err := cat.Sync(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			wait = min(every<<min(failures, 10), maxFollowBackoff)
			log.Warn("course search index cannot read other replicas' changes; searches may miss them until it can", zap.Error(err), zap.Int("failures", failures), zap.Duration("retry_in", wait))
		default:
			if failures > 0 {
				log.Info("course search index follows other replicas' changes again", zap.Int("failures", failures))
			}
			failures = 0
			if n > 0 {
				log.Debug("course search index took other replicas' changes", zap.Int("changes", n))
			}
		}
		timer.Reset(wait)
	}
}

func loadAreas(path string) ([]catalog.Area, error) {
	if path == "" {
		return catalog.BuiltinAreas()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("courses: read areas: %w", err)
	}
	areas, err := catalog.ParseAreas(data)
	if err != nil {
		return nil, fmt.Errorf("courses: %s: %w", filepath.Base(path), err)
	}
	return areas, nil
}

// Register mounts the service's gRPC API on r.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	coursesv1.RegisterCoursesServiceServer(r, s.api)
}

// Close stops following other replicas and releases the store. Call it after the gRPC
// server has stopped.
func (s *Service) Close() error {
	if s.stopFollowing != nil {
		s.stopFollowing()
		<-s.followed
	}
	return s.store.Close()
}
