// Package config holds helpers shared by every component's configuration: each component
// declares a config struct with RegisterFlags and Validate, and main binds the flags to
// RETRAIN_* environment variables with ApplyEnv before calling Validate.
package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// EnvPrefix is the prefix of the environment variable that sets each flag.
const EnvPrefix = "RETRAIN_"

// EnvName returns the environment variable that sets the flag name: "grpc-addr" is
// RETRAIN_GRPC_ADDR.
func EnvName(flagName string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return EnvPrefix + strings.ToUpper(r.Replace(flagName))
}

// ApplyEnv sets every flag of fs that was not given on the command line from its
// environment variable (see EnvName), if that variable is set. lookup is os.LookupEnv in
// production and a map in tests. A command-line flag always wins over the environment.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			// The value is configuration, not personal data, but secrets can be set this
			// way too, so the message names the variable and not its value.
			errs = append(errs, fmt.Errorf("environment variable %s: invalid value for -%s", name, f.Name))
		}
	})
	return errors.Join(errs...)
}

// Validator is a configuration that can check itself before anything listens.
type Validator interface {
	Validate() error
}

// ValidateAll runs Validate on each configuration and joins the errors.
func ValidateAll(vs ...Validator) error {
	var errs []error
	for _, v := range vs {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
