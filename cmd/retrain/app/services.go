package app

import (
	"context"
	"fmt"
	"time"

	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/postcode"
	"github.com/nrs-pilots/retrain/services/courses"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/outreach"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// serviceEnv is what every service is built from.
type serviceEnv struct {
	log       *zap.Logger
	dataDir   string
	postcodes *postcode.Directory
	now       func() time.Time
	// sink receives the eligibility service's conversions; nil disables its outbox.
	sink eligibility.ConversionSink
	// storeURL is --store: empty for bbolt in dataDir, else PostgreSQL.
	storeURL string
}

// service is a built service ready to register on the gRPC server.
type service struct {
	name     string
	policies auth.Policies
	Register func(grpc.ServiceRegistrar)
	Close    func() error
}

// buildService builds the service of one target. Adding a service means a target
// constant, an entry in knownTargets, a case here (with the service's policies), an entry
// in allServices and an address flag.
func buildService(ctx context.Context, target string, cfg Config, env serviceEnv) (service, error) {
	switch target {
	case TargetEligibility:
		svc, err := eligibility.New(cfg.Eligibility, eligibility.Deps{Log: env.log, DataDir: env.dataDir, Postcodes: env.postcodes, Now: env.now, Sink: env.sink, StoreURL: env.storeURL})
		if err != nil {
			return service{}, err
		}
		return service{name: eligibility.ServiceName, policies: eligibility.Policies(), Register: svc.Register, Close: svc.Close}, nil
	case TargetCourses:
		svc, err := courses.New(cfg.Courses, courses.Deps{Log: env.log, DataDir: env.dataDir, Postcodes: env.postcodes, Now: env.now, StoreURL: env.storeURL})
		if err != nil {
			return service{}, err
		}
		return service{name: courses.ServiceName, policies: courses.Policies(), Register: svc.Register, Close: svc.Close}, nil
	case TargetOutreach:
		svc, err := outreach.New(ctx, cfg.Outreach, outreach.Deps{Log: env.log, DataDir: env.dataDir, Now: env.now, StoreURL: env.storeURL})
		if err != nil {
			return service{}, err
		}
		return service{name: outreach.ServiceName, policies: outreach.Policies(), Register: svc.Register, Close: svc.Close}, nil
	}
	return service{}, fmt.Errorf("no service for target %q", target)
}

// migrate applies the PostgreSQL migrations of every service target at storeURL.
func migrate(ctx context.Context, targets []string, storeURL string) error {
	for _, t := range targets {
		var err error
		switch t {
		case TargetEligibility:
			err = eligibility.Migrate(ctx, storeURL)
		case TargetCourses:
			err = courses.Migrate(ctx, storeURL)
		case TargetOutreach:
			err = outreach.Migrate(ctx, storeURL)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("migrate %s: %w", t, err)
		}
	}
	return nil
}

// allServices lists every service target with its gRPC service name.
func allServices() []struct{ target, name string } {
	return []struct{ target, name string }{
		{TargetCourses, courses.ServiceName},
		{TargetEligibility, eligibility.ServiceName},
		{TargetOutreach, outreach.ServiceName},
	}
}
