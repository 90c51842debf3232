// Package tlsconfig configures TLS for retrain's listeners (the public gRPC and HTTP
// ports, optionally requiring client certificates: mutual TLS) and for its outbound
// connections between components (the gateway to the services, the eligibility outbox to
// outreach). In-process connections never leave memory and stay plaintext.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
)

// Config names the certificate files.
type Config struct {
	// CertFile and KeyFile are the listeners' certificate and key (PEM). Empty: plaintext.
	CertFile, KeyFile string
	// ClientCAFile, when set, makes the gRPC listener require client certificates signed
	// by these CAs (mutual TLS between components).
	ClientCAFile string
	// PeerCAFile verifies the servers this process connects to; empty uses the system pool.
	PeerCAFile string
	// PeerCertFile and PeerKeyFile are this process's client certificate for mutual TLS.
	PeerCertFile, PeerKeyFile string
	// PeerTLS turns TLS on for outbound connections to other components.
	PeerTLS bool
}

// RegisterFlags registers the TLS flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.CertFile, "tls-cert-file", "", "PEM certificate for the gRPC and HTTP listeners (empty: plaintext)")
	fs.StringVar(&c.KeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	fs.StringVar(&c.ClientCAFile, "tls-client-ca-file", "", "PEM CAs whose client certificates the gRPC listener requires (mutual TLS)")
	fs.BoolVar(&c.PeerTLS, "peer-tls", false, "use TLS for connections to other components (--backend-addr, --outreach-addr)")
	fs.StringVar(&c.PeerCAFile, "peer-tls-ca-file", "", "PEM CAs that sign the other components' certificates (empty: system roots)")
	fs.StringVar(&c.PeerCertFile, "peer-tls-cert-file", "", "PEM client certificate presented to other components (mutual TLS)")
	fs.StringVar(&c.PeerKeyFile, "peer-tls-key-file", "", "PEM private key of --peer-tls-cert-file")
}

// Validate checks that files come in pairs and exist.
func (c *Config) Validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("tls-cert-file and tls-key-file go together"))
	}
	if c.ClientCAFile != "" && c.CertFile == "" {
		errs = append(errs, errors.New("tls-client-ca-file needs tls-cert-file (mutual TLS is TLS)"))
	}
	if (c.PeerCertFile == "") != (c.PeerKeyFile == "") {
		errs = append(errs, errors.New("peer-tls-cert-file and peer-tls-key-file go together"))
	}
	if !c.PeerTLS && (c.PeerCAFile != "" || c.PeerCertFile != "") {
		errs = append(errs, errors.New("peer-tls-* files need --peer-tls"))
	}
	for _, f := range []string{c.CertFile, c.KeyFile, c.ClientCAFile, c.PeerCAFile, c.PeerCertFile, c.PeerKeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("tls: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Listener wraps lis in TLS when a certificate is configured; requireClient adds the
// client-certificate requirement of ClientCAFile (used for gRPC, not for the public HTTP
// port browsers reach). protos are the ALPN protocols offered ("h2" for gRPC).
func (c *Config) Listener(lis net.Listener, requireClient bool, protos ...string) (net.Listener, error) {
	if c.CertFile == "" {
		return lis, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: protos}
	if requireClient && c.ClientCAFile != "" {
		pool, err := loadPool(c.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tls.NewListener(lis, cfg), nil
}

// Client returns the TLS configuration for connections to other components, or nil when
// --peer-tls is off.
func (c *Config) Client() (*tls.Config, error) {
	if !c.PeerTLS {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.PeerCAFile != "" {
		pool, err := loadPool(c.PeerCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if c.PeerCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.PeerCertFile, c.PeerKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls: no certificates in %s", path)
	}
	return pool, nil
}
