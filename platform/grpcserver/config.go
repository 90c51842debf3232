package grpcserver

import (
	"errors"
	"flag"
	"time"
)

// Config bounds what a client may ask of the gRPC server.
type Config struct {
	// MaxRecvBytes is the largest request message accepted.
	MaxRecvBytes int
	// MaxSendBytes is the largest response message sent.
	MaxSendBytes int
	// MaxConcurrentStreams caps the RPCs in flight on one connection.
	MaxConcurrentStreams uint
	// DefaultTimeout is the deadline given to a unary RPC whose caller set none.
	DefaultTimeout time.Duration
	// ShutdownTimeout bounds the graceful drain; after it, connections are closed.
	ShutdownTimeout time.Duration
	// KeepaliveMinTime is the shortest client ping interval tolerated; faster pings close
	// the connection (keepalive enforcement).
	KeepaliveMinTime time.Duration
	// MaxConnectionIdle closes connections with no RPCs for this long.
	MaxConnectionIdle time.Duration
}

// RegisterFlags registers the server flags on fs with production defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxRecvBytes, "grpc-max-recv-bytes", 4<<20, "largest gRPC request message accepted, in bytes")
	fs.IntVar(&c.MaxSendBytes, "grpc-max-send-bytes", 16<<20, "largest gRPC response message sent, in bytes")
	fs.UintVar(&c.MaxConcurrentStreams, "grpc-max-concurrent-streams", 256, "most concurrent RPCs on one gRPC connection")
	fs.DurationVar(&c.DefaultTimeout, "grpc-default-timeout", 10*time.Second, "deadline for unary RPCs whose caller sets none")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to drain in-flight requests on shutdown before closing connections")
	fs.DurationVar(&c.KeepaliveMinTime, "grpc-keepalive-min-time", 10*time.Second, "shortest keepalive ping interval a client may use")
	fs.DurationVar(&c.MaxConnectionIdle, "grpc-max-connection-idle", 5*time.Minute, "close gRPC connections idle for this long")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxRecvBytes <= 0 || c.MaxSendBytes <= 0 {
		errs = append(errs, errors.New("grpc-max-recv-bytes and grpc-max-send-bytes must be positive"))
	}
	if c.MaxConcurrentStreams == 0 {
		errs = append(errs, errors.New("grpc-max-concurrent-streams must be positive"))
	}
	if c.DefaultTimeout <= 0 {
		errs = append(errs, errors.New("grpc-default-timeout must be positive"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown-timeout must be positive"))
	}
	if c.KeepaliveMinTime <= 0 || c.MaxConnectionIdle <= 0 {
		errs = append(errs, errors.New("grpc-keepalive-min-time and grpc-max-connection-idle must be positive"))
	}
	return errors.Join(errs...)
}

// DefaultConfig returns the defaults RegisterFlags would set, for tests and embedding.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return c
}
