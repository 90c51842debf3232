package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/nrs-pilots/retrain/platform/authn"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// keys returns a development-style Ed25519 key and the verifier trusting it.
func testVerifier(t *testing.T) (jose.JSONWebKey, *Verifier) {
	t.Helper()
	k, err := LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}}, DevIssuer, DevAudience, 30*time.Second, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	return k, v
}

func mint(t *testing.T, k jose.JSONWebKey, mutate func(*jwt.Claims, *claims)) string {
	t.Helper()
	std := jwt.Claims{Issuer: DevIssuer, Subject: "lep-system", Audience: jwt.Audience{DevAudience},
		IssuedAt: jwt.NewNumericDate(t0), NotBefore: jwt.NewNumericDate(t0), Expiry: jwt.NewNumericDate(t0.Add(time.Hour))}
	extra := claims{Role: "lep", Area: "E37000022"}
	if mutate != nil {
		mutate(&std, &extra)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	k, v := testVerifier(t)
	good := mint(t, k, nil)
	parts := strings.Split(good, ".")
	other, err := LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pubJSON, _ := json.Marshal(k.Public())

	// HMAC-signed with the public key's bytes as the secret: the classic key confusion.
	hmacSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubJSON}, (&jose.SignerOptions{}).WithHeader("kid", k.KeyID))
	if err != nil {
		t.Fatal(err)
	}
	hmacTok, err := jwt.Signed(hmacSigner).Claims(jwt.Claims{Issuer: DevIssuer, Subject: "x", Audience: jwt.Audience{DevAudience}, Expiry: jwt.NewNumericDate(t0.Add(time.Hour))}).Claims(claims{Role: "admin"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	noneTok := b64(map[string]string{"alg": "none", "typ": "JWT", "kid": k.KeyID}) + "." + b64(map[string]any{"iss": DevIssuer, "sub": "x", "aud": DevAudience, "exp": t0.Add(time.Hour).Unix(), "role": "admin"}) + "."
	var payload map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(raw, &payload)
	payload["role"] = "admin"
	tampered := parts[0] + "." + b64(payload) + "." + parts[2]

	tests := []struct {
		name  string
		token string
	}{
		{"expired", mint(t, k, func(c *jwt.Claims, _ *claims) { c.Expiry = jwt.NewNumericDate(t0.Add(-time.Hour)) })},
		{"not yet valid", mint(t, k, func(c *jwt.Claims, _ *claims) { c.NotBefore = jwt.NewNumericDate(t0.Add(time.Hour)) })},
		{"wrong issuer", mint(t, k, func(c *jwt.Claims, _ *claims) { c.Issuer = "https://evil.example" })},
		{"wrong audience", mint(t, k, func(c *jwt.Claims, _ *claims) { c.Audience = jwt.Audience{"someone-else"} })},
		{"no expiry", mint(t, k, func(c *jwt.Claims, _ *claims) { c.Expiry = nil })},
		{"no subject", mint(t, k, func(c *jwt.Claims, _ *claims) { c.Subject = "" })},
		{"unknown role", mint(t, k, func(_ *jwt.Claims, x *claims) { x.Role = "superuser" })},
		{"lep without area", mint(t, k, func(_ *jwt.Claims, x *claims) { x.Area = "" })},
		{"alg none", noneTok},
		{"HMAC with the public key", hmacTok},
		{"tampered payload", tampered},
		{"unknown key id", mint(t, other, nil)},
		{"garbage", "not-a-token"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := v.Verify(tt.token); err == nil {
				t.Errorf("Verify(%s) = %v, want refusal", tt.name, p)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		p, err := v.Verify(good)
		want := authn.Principal{Subject: "lep-system", Role: authn.RoleLEP, Area: "E37000022"}
		if err != nil || p != want {
			t.Errorf("Verify(good) = %v, %v, want %v", p, err, want)
		}
	})
	t.Run("within leeway", func(t *testing.T) {
		tok := mint(t, k, func(c *jwt.Claims, _ *claims) { c.Expiry = jwt.NewNumericDate(t0.Add(-10 * time.Second)) })
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("Verify(expired 10s ago, 30s leeway) = %v, want accepted", err)
		}
	})
}

func TestVerifyRSAAndECKeysFromJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privs := []jose.JSONWebKey{
		{Key: rsaKey, KeyID: "rsa-1", Algorithm: string(jose.RS256), Use: "sig"},
		{Key: ecKey, KeyID: "ec-1", Algorithm: string(jose.ES256), Use: "sig"},
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{privs[0].Public(), privs[1].Public(), {Key: []byte("shared-secret"), KeyID: "hmac", Algorithm: "HS256"}}}
	data, _ := json.Marshal(set)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeySet(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(ks, "https://idp.example", "retrain", 0, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.keys.Load().Keys); n != 2 {
		t.Errorf("verifier kept %d keys, want 2 (the symmetric key dropped)", n)
	}
	for _, k := range privs {
		tok, err := Mint(k, "https://idp.example", "retrain", authn.Principal{Subject: "adviser-7", Role: authn.RoleAdviser}, t0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := v.Verify(tok); err != nil || p.Role != authn.RoleAdviser {
			t.Errorf("Verify(%s token) = %v, %v, want adviser", k.Algorithm, p, err)
		}
	}
}

func TestDevKeyPersists(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyID != b.KeyID || a.KeyID == "" {
		t.Errorf("key ids %q and %q, want the same non-empty id", a.KeyID, b.KeyID)
	}
	fi, err := os.Stat(filepath.Join(dir, DevKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dev key file mode = %v, %v, want 0600", fi.Mode().Perm(), err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		ok   bool
	}{
		{"development defaults", Config{Environment: EnvDevelopment, Audience: "retrain", Rates: DefaultRates}, true},
		{"production without JWKS", Config{Environment: EnvProduction, Issuer: "https://idp", Audience: "retrain"}, false},
		{"production with the dev issuer", Config{Environment: EnvProduction, JWKS: "k.json", Issuer: DevIssuer, Audience: "retrain"}, false},
		{"production", Config{Environment: EnvProduction, JWKS: "k.json", Issuer: "https://idp", Audience: "retrain"}, true},
		{"unknown environment", Config{Environment: "staging", Audience: "retrain"}, false},
		{"bad rates", Config{Environment: EnvDevelopment, Audience: "retrain", Rates: "frontend=fast"}, false},
	}
	for _, tt := range tests {
		if err := tt.c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestProductionRefusesDevKey(t *testing.T) {
	dir := t.TempDir()
	dev, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	idp, err := LoadOrCreateDevKey(t.TempDir()) // stands in for the provider's key
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{idp.Public()}})
	jwks := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwks, set, 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{Environment: EnvProduction, JWKS: jwks, Issuer: "https://idp", Audience: "retrain", Rates: DefaultRates}
	v, _, err := c.Build(context.Background(), dir, fixedNow, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	devTok, _ := Mint(dev, "https://idp", "retrain", authn.Principal{Subject: "s", Role: authn.RoleAdmin}, t0, time.Hour)
	if _, err := v.Verify(devTok); err == nil {
		t.Error("production verifier accepted a token signed with the development key")
	}
	idpTok, _ := Mint(idp, "https://idp", "retrain", authn.Principal{Subject: "s", Role: authn.RoleAdmin}, t0, time.Hour)
	if _, err := v.Verify(idpTok); err != nil {
		t.Errorf("production verifier refused the provider's token: %v", err)
	}
}

func TestGuard(t *testing.T) {
	k, v := testVerifier(t)
	policies, err := Merge(PublicPolicies(), Policies{
		"/x.v1.S/Open":   {Roles: AllRoles()},
		"/x.v1.S/Advise": {Roles: []authn.Role{authn.RoleAdviser}},
		"/x.v1.S/Write":  {Roles: []authn.Role{authn.RoleLEP, authn.RoleAdmin}, AreaBound: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := NewGuard(policies, v, nil, zap.NewNop())
	token := func(role, area string) string {
		return mint(t, k, func(c *jwt.Claims, x *claims) { c.Subject = role + "-1"; x.Role = role; x.Area = area })
	}
	named := func(name string) proto.Message { return &descriptorpb.FieldDescriptorProto{Name: proto.String(name)} }
	tests := []struct {
		name   string
		method string
		token  string
		req    proto.Message
		want   codes.Code
	}{
		{"public without token", "/grpc.health.v1.Health/Check", "", nil, codes.OK},
		{"no policy", "/x.v1.S/Forgotten", token("admin", ""), nil, codes.PermissionDenied},
		{"no token", "/x.v1.S/Open", "", nil, codes.Unauthenticated},
		{"bad token", "/x.v1.S/Open", "garbage", nil, codes.Unauthenticated},
		{"any role", "/x.v1.S/Open", token("frontend", ""), nil, codes.OK},
		{"wrong role", "/x.v1.S/Advise", token("frontend", ""), nil, codes.PermissionDenied},
		{"right role", "/x.v1.S/Advise", token("adviser", ""), nil, codes.OK},
		{"lep own area", "/x.v1.S/Write", token("lep", "E37000022"), named("areas/E37000022/courses/c1"), codes.OK},
		{"lep other area", "/x.v1.S/Write", token("lep", "E37000016"), named("areas/E37000022/courses/c1"), codes.PermissionDenied},
		{"lep names no area", "/x.v1.S/Write", token("lep", "E37000022"), named("courses/c1"), codes.PermissionDenied},
		{"admin any area", "/x.v1.S/Write", token("admin", ""), named("areas/E37000022/courses/c1"), codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.token != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tt.token))
			}
			var seen authn.Principal
			req := any(tt.req)
			if tt.req == nil {
				req = &descriptorpb.FieldDescriptorProto{}
			}
			_, err := g.unary(ctx, req, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(ctx context.Context, _ any) (any, error) {
				seen, _ = authn.FromContext(ctx)
				return nil, nil
			})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("%s with %s: code %v (%v), want %v", tt.method, tt.name, got, err, tt.want)
			}
			if tt.want == codes.OK && tt.token != "" && seen.Subject == "" {
				t.Error("handler saw no principal")
			}
		})
	}
}

func TestGuardRateLimit(t *testing.T) {
	k, v := testVerifier(t)
	now := t0
	lim := NewLimiter(map[authn.Role]Rate{authn.RoleFrontend: {PerSecond: 1, Burst: 2}}, func() time.Time { return now })
	g := NewGuard(Policies{"/x.v1.S/Open": {Roles: AllRoles()}}, v, lim, zap.NewNop())
	tok := mint(t, k, func(_ *jwt.Claims, x *claims) { x.Role = "frontend"; x.Area = "" })
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	call := func() error {
		_, err := g.unary(ctx, &descriptorpb.FieldDescriptorProto{}, &grpc.UnaryServerInfo{FullMethod: "/x.v1.S/Open"}, func(context.Context, any) (any, error) { return nil, nil })
		return err
	}
	for i := 0; i < 2; i++ {
		if err := call(); err != nil {
			t.Fatalf("call %d within burst: %v", i, err)
		}
	}
	err := call()
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("third call: %v, want RESOURCE_EXHAUSTED", err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("refusal details %v, want a positive RetryInfo", st.Details())
	}
	now = now.Add(time.Second) // one token refilled
	if err := call(); err != nil {
		t.Errorf("after a second: %v, want the limit recovered", err)
	}
}

func TestParseRates(t *testing.T) {
	got, err := ParseRates(DefaultRates)
	if err != nil || got[authn.RoleLEP].Burst != 400 {
		t.Errorf("ParseRates(default) = %v, %v", got, err)
	}
	for _, bad := range []string{"frontend", "frontend=1", "frontend=0:1", "frontend=1:0", "nobody=1:1", "frontend=x:1"} {
		if _, err := ParseRates(bad); err == nil {
			t.Errorf("ParseRates(%q) = nil error, want one", bad)
		}
	}
}

func TestLimiterForgetsIdleCallers(t *testing.T) {
	now := t0
	lim := NewLimiter(map[authn.Role]Rate{authn.RoleFrontend: {PerSecond: 10, Burst: 10}}, func() time.Time { return now })
	for i := 0; i < 100; i++ {
		lim.Allow(string(rune('a'+i%26))+strings.Repeat("x", i), authn.RoleFrontend)
	}
	now = now.Add(2 * time.Minute)
	lim.Allow("fresh", authn.RoleFrontend)
	if n := lim.Len(); n != 1 {
		t.Errorf("buckets after idle sweep = %d, want 1", n)
	}
}

func TestPoliciesMissing(t *testing.T) {
	s := grpc.NewServer()
	defer s.Stop()
	healthpb.RegisterHealthServer(s, health.NewServer())
	if m := PublicPolicies().Missing(s); len(m) != 0 {
		t.Errorf("Missing with every health method declared = %v", m)
	}
	partial := PublicPolicies()
	delete(partial, "/grpc.health.v1.Health/Watch")
	if m := partial.Missing(s); len(m) != 1 || m[0] != "/grpc.health.v1.Health/Watch" {
		t.Errorf("Missing without Watch's policy = %v, want [/grpc.health.v1.Health/Watch]", m)
	}
	if _, err := Merge(PublicPolicies(), PublicPolicies()); err == nil {
		t.Error("Merge of duplicate policies = nil error")
	}
}

// fakeStream feeds messages to a guarded stream.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []string
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) RecvMsg(m any) error {
	if len(f.msgs) == 0 {
		return context.Canceled
	}
	m.(*descriptorpb.FieldDescriptorProto).Name = proto.String(f.msgs[0])
	f.msgs = f.msgs[1:]
	return nil
}

func TestGuardedStreamAreas(t *testing.T) {
	ctx := authn.NewContext(context.Background(), authn.Principal{Subject: "s", Role: authn.RoleLEP, Area: "E37000022"})
	pol := Policy{Roles: []authn.Role{authn.RoleLEP}, AreaBound: true}
	tests := []struct {
		name    string
		msgs    []string
		wantErr []bool
	}{
		{"first names own area, later silent", []string{"areas/E37000022", "", ""}, []bool{false, false, false}},
		{"first silent", []string{""}, []bool{true}},
		{"later names another area", []string{"areas/E37000022", "areas/E37000016"}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs := &guardedStream{ServerStream: &fakeStream{ctx: ctx, msgs: tt.msgs}, ctx: ctx, pol: pol}
			for i, want := range tt.wantErr {
				err := gs.RecvMsg(&descriptorpb.FieldDescriptorProto{})
				if (err != nil) != want {
					t.Errorf("message %d (%q): err %v, want error=%v", i, tt.msgs[i], err, want)
				}
			}
		})
	}
}

func TestVerifyCachesUntilExpiry(t *testing.T) {
	k, _ := testVerifier(t)
	now := t0
	v, err := NewVerifier(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}}, DevIssuer, DevAudience, 0, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(t, k, func(c *jwt.Claims, _ *claims) { c.Expiry = jwt.NewNumericDate(t0.Add(time.Minute)) })
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("Verify #%d = %v", i, err)
		}
	}
	now = t0.Add(2 * time.Minute)
	if _, err := v.Verify(tok); err == nil {
		t.Error("a remembered token was accepted after its expiry")
	}
	// Rotating keys forgets remembered tokens.
	now = t0
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	other, _ := LoadOrCreateDevKey(t.TempDir())
	if err := v.SetKeys(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{other.Public()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); err == nil {
		t.Error("a token of a removed key was accepted from the cache")
	}
}

func BenchmarkVerify(b *testing.B) {
	k, err := LoadOrCreateDevKey(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	v, _ := NewVerifier(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}}, DevIssuer, DevAudience, 0, time.Now)
	tok, _ := Mint(k, DevIssuer, DevAudience, authn.Principal{Subject: "s", Role: authn.RoleFrontend}, time.Now(), time.Hour)
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := v.verify(tok, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestRefreshPicksUpRotation(t *testing.T) {
	oldKey, _ := LoadOrCreateDevKey(t.TempDir())
	newKey, _ := LoadOrCreateDevKey(t.TempDir())
	var mu sync.Mutex
	current := []jose.JSONWebKey{oldKey.Public()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: current})
	}))
	defer srv.Close()
	ks, err := LoadKeySet(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(ks, "https://idp", "retrain", 0, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Refresh(ctx, srv.URL, 10*time.Millisecond, nil, func(err error) { t.Error(err) })

	tok, _ := Mint(newKey, "https://idp", "retrain", authn.Principal{Subject: "s", Role: authn.RoleAdmin}, time.Now(), time.Hour)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("a token of a key the provider has not published yet was accepted")
	}
	mu.Lock()
	current = []jose.JSONWebKey{newKey.Public()} // the provider rotates
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := v.Verify(tok); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rotated key was never picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
