package app

import (
	"net/http"
	"testing"

	"github.com/nrs-pilots/retrain/platform/tlsconfig/tlstest"
)

// TestMutualTLSBetweenGatewayAndServices runs the services with TLS that requires client
// certificates, and two gateways in front of them: the one presenting a certificate from
// the trusted CA serves checks; the one without is refused by the services.
func TestMutualTLSBetweenGatewayAndServices(t *testing.T) {
	pki := tlstest.New(t, t.TempDir())
	backend := startSystem(t, "-target", "courses,eligibility,outreach",
		"-tls-cert-file", pki.ServerCert, "-tls-key-file", pki.ServerKey, "-tls-client-ca-file", pki.CA)

	good := startSystem(t, "-target", "gateway", "-backend-addr", backend.grpcAddr,
		"-peer-tls", "-peer-tls-ca-file", pki.CA, "-peer-tls-cert-file", pki.ClientCert, "-peer-tls-key-file", pki.ClientKey)
	good.http = backend.http // tokens of the backend's key
	if code, body := good.post(t, "/v1/eligibility:check", `{"highest_qualification":"RQF_LEVEL_2"}`); code != http.StatusOK {
		t.Errorf("check through the mutual-TLS gateway = %d %v, want 200", code, body)
	}

	noCert := startSystem(t, "-target", "gateway", "-backend-addr", backend.grpcAddr, "-http-ready-timeout", "500ms",
		"-peer-tls", "-peer-tls-ca-file", pki.CA)
	noCert.http = backend.http
	if code, _ := noCert.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz of a gateway without a client certificate = %d, want 503", code)
	}
	if code, _ := noCert.post(t, "/v1/eligibility:check", `{}`); code < 500 {
		t.Errorf("check through a gateway the services refuse = %d, want a 5xx (backend unavailable)", code)
	}
}
