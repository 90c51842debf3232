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
	"time"

	"github.com/nrs-pilots/retrain/platform/civil"
	"github.com/nrs-pilots/retrain/platform/postcode"
	coursesv1 "github.com/nrs-pilots/retrain/proto/retrain/courses/v1"
	"github.com/nrs-pilots/retrain/services/courses/internal/boltstore"
	"github.com/nrs-pilots/retrain/services/courses/internal/catalog"
	"github.com/nrs-pilots/retrain/services/courses/internal/demo"
	"github.com/nrs-pilots/retrain/services/courses/internal/grpcapi"
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
}

// RegisterFlags registers the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.AreasFile, "courses-areas-file", "", "JSON file of pilot areas, discounts and pilot rules replacing the built-in ones")
	fs.BoolVar(&c.DemoData, "courses-demo-data", true, "seed a demonstration course catalogue (flagged demo) when the courses store is empty")
	fs.Int64Var(&c.ImportMaxBytes, "courses-import-max-bytes", 64<<20, "largest CSV accepted by one course import, in bytes")
	fs.IntVar(&c.ImportMaxRows, "courses-import-max-rows", 200_000, "most rows accepted by one course import")
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
	return errors.Join(errs...)
}

// Deps are what the service is given by main.
type Deps struct {
	// Log is the process logger; the service names its own.
	Log *zap.Logger
	// DataDir holds courses.db.
	DataDir string
	// Postcodes locates learners and venues and tells which areas cover them.
	Postcodes *postcode.Directory
	// Now is the clock (time.Now in production).
	Now func() time.Time
}

// Service is a running courses service.
type Service struct {
	store *boltstore.Store
	api   *grpcapi.Server
}

// New opens the store, builds the search index from it and, when configured and the store
// is empty, seeds the demonstration catalogue.
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
	store, err := boltstore.Open(filepath.Join(deps.DataDir, "courses.db"), boltstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("courses: %w", err)
	}
	defer func() {
		if err != nil {
			_ = store.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
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
	log.Info("course catalogues loaded", zap.Int("areas", len(areas)))
	return &Service{
		store: store,
		api: grpcapi.New(grpcapi.Deps{
			Log:            log,
			Catalog:        cat,
			ImportMaxBytes: cfg.ImportMaxBytes,
			ImportMaxRows:  cfg.ImportMaxRows,
		}),
	}, nil
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

// Close releases the store. Call it after the gRPC server has stopped.
func (s *Service) Close() error {
	return s.store.Close()
}
