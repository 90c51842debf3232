package tlsconfig_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/nrs-pilots/retrain/platform/tlsconfig"
	"github.com/nrs-pilots/retrain/platform/tlsconfig/tlstest"
)

func TestMutualTLS(t *testing.T) {
	pki := tlstest.New(t, t.TempDir())
	server := tlsconfig.Config{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CA}
	if err := server.Validate(); err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis, err := server.Listener(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.WriteString(c, "hello"); c.Close() }()
		}
	}()
	dial := func(c tlsconfig.Config) error {
		cfg, err := c.Client()
		if err != nil {
			return err
		}
		conn, err := tls.Dial("tcp", lis.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = io.ReadAll(conn)
		return err
	}
	tests := []struct {
		name   string
		client tlsconfig.Config
		ok     bool
	}{
		{"trusted CA and client certificate", tlsconfig.Config{PeerTLS: true, PeerCAFile: pki.CA, PeerCertFile: pki.ClientCert, PeerKeyFile: pki.ClientKey}, true},
		{"no client certificate", tlsconfig.Config{PeerTLS: true, PeerCAFile: pki.CA}, false},
		{"unknown server CA", tlsconfig.Config{PeerTLS: true, PeerCertFile: pki.ClientCert, PeerKeyFile: pki.ClientKey}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := dial(tt.client); (err == nil) != tt.ok {
				t.Errorf("dial = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []tlsconfig.Config{
		{CertFile: "a.crt"},
		{ClientCAFile: "ca.crt"},
		{PeerCAFile: "ca.crt"},
		{PeerTLS: true, PeerCertFile: "c.crt"},
		{CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	var none tlsconfig.Config
	if err := none.Validate(); err != nil {
		t.Errorf("Validate(no TLS) = %v", err)
	}
}
