package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/nrs-pilots/retrain/platform/authn"
)

// Development identity: tokens minted by `retrain token` for a local installation. A
// production configuration refuses them.
const (
	// DevIssuer is the issuer of development tokens.
	DevIssuer = "retrain-dev"
	// DevAudience is the audience of development tokens and the default audience.
	DevAudience = "retrain"
	// DevKeyFile is the development signing key's file name in the data directory.
	DevKeyFile = "dev-signing-key.jwk"
)

// LoadOrCreateDevKey returns the development signing key kept in dataDir, creating it
// (Ed25519, file mode 0600) on first use.
func LoadOrCreateDevKey(dataDir string) (jose.JSONWebKey, error) {
	path := filepath.Join(dataDir, DevKeyFile)
	data, err := os.ReadFile(path)
	if err == nil {
		var k jose.JSONWebKey
		if err := json.Unmarshal(data, &k); err != nil {
			return k, fmt.Errorf("auth: development key %s: %w", DevKeyFile, err)
		}
		if k.IsPublic() {
			return k, fmt.Errorf("auth: development key %s holds no private key", DevKeyFile)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return jose.JSONWebKey{}, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	k := jose.JSONWebKey{Key: priv, Algorithm: string(jose.EdDSA), Use: "sig"}
	thumb, err := k.Thumbprint(cryptoSHA256)
	if err != nil {
		return k, err
	}
	k.KeyID = fmt.Sprintf("dev-%x", thumb[:8])
	data, err = json.Marshal(k)
	if err != nil {
		return k, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return k, err
	}
	// O_EXCL: two processes starting at once do not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateDevKey(dataDir)
	}
	if err != nil {
		return k, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return k, err
	}
	return k, f.Close()
}

// Mint signs a token for p with key, valid from now for ttl.
func Mint(key jose.JSONWebKey, issuer, audience string, p authn.Principal, now time.Time, ttl time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	std := jwt.Claims{
		Issuer:    issuer,
		Subject:   p.Subject,
		Audience:  jwt.Audience{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(ttl)),
	}
	extra := claims{Role: string(p.Role), Area: p.Area}
	return jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
}
