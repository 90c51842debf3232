package app

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/nrs-pilots/retrain/gateway"
	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/config"
	"github.com/nrs-pilots/retrain/platform/grpcserver"
	"github.com/nrs-pilots/retrain/platform/logging"
	"github.com/nrs-pilots/retrain/platform/tlsconfig"
	"github.com/nrs-pilots/retrain/services/courses"
	"github.com/nrs-pilots/retrain/services/eligibility"
	"github.com/nrs-pilots/retrain/services/outreach"
)

// Targets the binary can run. "all" means every one of them.
const (
	TargetCourses     = "courses"
	TargetEligibility = "eligibility"
	TargetGateway     = "gateway"
	TargetOutreach    = "outreach"
	TargetAll         = "all"
)

var knownTargets = []string{TargetCourses, TargetEligibility, TargetGateway, TargetOutreach}

// Config is the whole binary's configuration: its own flags and each component's.
type Config struct {
	// GRPCAddr is where the gRPC services listen.
	GRPCAddr string
	// HTTPAddr is where the REST gateway listens.
	HTTPAddr string
	// DataDir holds one bbolt file per service.
	DataDir string
	// Target is "all" or a comma list of components to run.
	Target string
	// BackendAddr is the gRPC address the gateway dials when the services do not run in
	// this process.
	BackendAddr string
	// PostcodeFile is an ONS Postcode Directory or NSPL CSV; empty uses the built-in
	// district table of the pilot areas.
	PostcodeFile string

	// OutreachAddr is the gRPC address of the outreach service, for the eligibility
	// outbox and the gateway when outreach does not run in this process.
	OutreachAddr string
	// EligibilityAddr and CoursesAddr are those services' gRPC addresses, for a gateway
	// they do not run beside; --backend-addr is the fallback for all three.
	EligibilityAddr, CoursesAddr string
	// Store is where the services keep their state: empty for a bbolt file per service
	// in DataDir, or a postgres:// URL (one schema per service in that database).
	Store string
	// ServiceTokenFile holds this process's own bearer token for calls to other services.
	ServiceTokenFile string

	TLS         tlsconfig.Config
	Auth        auth.Config
	Log         logging.Config
	GRPC        grpcserver.Config
	Gateway     gateway.Config
	Eligibility eligibility.Config
	Courses     courses.Config
	Outreach    outreach.Config
}

// RegisterFlags registers every flag of the binary on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "127.0.0.1:9090", "address the gRPC services listen on")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "address the REST gateway listens on")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of the bbolt files, one per service")
	fs.StringVar(&c.Target, "target", TargetAll, "components to run: all, or a comma list of "+strings.Join(knownTargets, ", "))
	fs.StringVar(&c.BackendAddr, "backend-addr", "", "gRPC address the gateway dials when the services run elsewhere (empty: in this process)")
	fs.StringVar(&c.PostcodeFile, "postcode-file", "", "ONS Postcode Directory or NSPL CSV for exact postcode lookups (empty: built-in district table)")
	fs.StringVar(&c.OutreachAddr, "outreach-addr", "", "gRPC address of the outreach service when it runs elsewhere, for the gateway and the eligibility outbox (empty: in this process, --backend-addr, or off)")
	fs.StringVar(&c.EligibilityAddr, "eligibility-addr", "", "gRPC address of the eligibility service for a gateway it does not run beside (empty: --backend-addr)")
	fs.StringVar(&c.CoursesAddr, "courses-addr", "", "gRPC address of the courses service for a gateway it does not run beside (empty: --backend-addr)")
	fs.StringVar(&c.Store, "store", "", "postgres://... to keep every service's state in PostgreSQL (a schema each); empty: a bbolt file per service in --data-dir")
	fs.StringVar(&c.ServiceTokenFile, "service-token-file", "", "file holding this process's bearer token (role service) for calls to other services; development mints one")
	c.TLS.RegisterFlags(fs)
	c.Auth.RegisterFlags(fs)
	c.Log.RegisterFlags(fs)
	c.GRPC.RegisterFlags(fs)
	c.Gateway.RegisterFlags(fs)
	c.Eligibility.RegisterFlags(fs)
	c.Courses.RegisterFlags(fs)
	c.Outreach.RegisterFlags(fs)
}

// serviceAddr is where a gateway reaches target's service when it does not run here.
func (c *Config) serviceAddr(target string) string {
	own := map[string]string{TargetEligibility: c.EligibilityAddr, TargetCourses: c.CoursesAddr, TargetOutreach: c.OutreachAddr}[target]
	if own != "" {
		return own
	}
	return c.BackendAddr
}

// Targets returns the components to run, in a fixed order.
func (c *Config) Targets() ([]string, error) {
	var out []string
	for _, t := range strings.Split(c.Target, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == TargetAll:
			out = append(out, knownTargets...)
		case slices.Contains(knownTargets, t):
			out = append(out, t)
		default:
			return nil, fmt.Errorf("target: %q is not one of all, %s", t, strings.Join(knownTargets, ", "))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Validate checks the whole configuration before anything listens.
func (c *Config) Validate() error {
	var errs []error
	targets, err := c.Targets()
	if err != nil {
		errs = append(errs, err)
	}
	services := slices.ContainsFunc(targets, func(t string) bool { return t != TargetGateway })
	if services && c.GRPCAddr == "" {
		errs = append(errs, errors.New("grpc-addr is required to run services"))
	}
	if slices.Contains(targets, TargetGateway) {
		if c.HTTPAddr == "" {
			errs = append(errs, errors.New("http-addr is required to run the gateway"))
		}
		if !services && c.BackendAddr == "" && c.EligibilityAddr == "" && c.CoursesAddr == "" && c.OutreachAddr == "" {
			errs = append(errs, errors.New("backend-addr (or a service's own address flag) is required when the gateway runs without services"))
		}
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		// The URL may hold a password: name the flag, not the value.
		errs = append(errs, errors.New("store: must be empty (bbolt) or a postgres:// URL"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir is required"))
	}
	if err := config.ValidateAll(&c.TLS, &c.Auth, &c.Log, &c.GRPC, &c.Gateway, &c.Eligibility, &c.Courses, &c.Outreach); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
