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
		svc, err := eligibility.New(cfg.Eligibility, eligibility.Deps{Log: env.log, DataDir: env.dataDir, Postcodes: env.postcodes, Now: env.now, Sink: env.sink})
		if err != nil {
			return service{}, err
		}
		return service{name: eligibility.ServiceName, policies: eligibility.Policies(), Register: svc.Register, Close: svc.Close}, nil
	case TargetCourses:
		svc, err := courses.New(cfg.Courses, courses.Deps{Log: env.log, DataDir: env.dataDir, Postcodes: env.postcodes, Now: env.now})
		if err != nil {
			return service{}, err
		}
		return service{name: courses.ServiceName, policies: courses.Policies(), Register: svc.Register, Close: svc.Close}, nil
	case TargetOutreach:
		svc, err := outreach.New(ctx, cfg.Outreach, outreach.Deps{Log: env.log, DataDir: env.dataDir, Now: env.now})
		if err != nil {
			return service{}, err
		}
		return service{name: outreach.ServiceName, policies: outreach.Policies(), Register: svc.Register, Close: svc.Close}, nil
	}
	return service{}, fmt.Errorf("no service for target %q", target)
}

// allServices lists every service target with its gRPC service name.
func allServices() []struct{ target, name string } {
	return []struct{ target, name string }{
		{TargetCourses, courses.ServiceName},
		{TargetEligibility, eligibility.ServiceName},
		{TargetOutreach, outreach.ServiceName},
	}
}
