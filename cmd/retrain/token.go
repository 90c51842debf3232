package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nrs-pilots/retrain/platform/auth"
	"github.com/nrs-pilots/retrain/platform/authn"
	"github.com/nrs-pilots/retrain/platform/config"
)

// runToken prints a development token signed with the key in the data directory:
//
//	retrain token --role lep --area E37000022 --ttl 1h
//
// Only a server started with --environment=development (the default) trusts it.
func runToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("retrain token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "./data", "data directory of the server that will trust the token")
	role := fs.String("role", "", "frontend, adviser, lep, evaluator or admin")
	area := fs.String("area", "", "ONS code of the area, required for the lep role (e.g. E37000022)")
	subject := fs.String("subject", "", "token subject (default: dev-<role>)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	audience := fs.String("audience", auth.DevAudience, "token audience")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := config.ApplyEnv(fs, os.LookupEnv); err != nil {
		return err
	}
	p := authn.Principal{Subject: *subject, Role: authn.Role(*role), Area: *area}
	switch p.Role {
	case authn.RoleFrontend, authn.RoleAdviser, authn.RoleEvaluator, authn.RoleAdmin:
		if p.Area != "" {
			return fmt.Errorf("--area is only for the lep role")
		}
	case authn.RoleLEP:
		if p.Area == "" {
			return errors.New("--area is required for the lep role")
		}
	default:
		return fmt.Errorf("--role must be one of frontend, adviser, lep, evaluator, admin")
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		return errors.New("--ttl must be between 1s and 720h")
	}
	if p.Subject == "" {
		p.Subject = "dev-" + string(p.Role)
	}
	key, err := auth.LoadOrCreateDevKey(*dataDir)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(key, auth.DevIssuer, *audience, p, time.Now(), *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
