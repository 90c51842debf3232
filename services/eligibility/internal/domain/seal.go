package domain

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a data key in bytes: AES-256.
const KeySize = 32

// Key is one AES-256 data key and the id stored beside every record it seals.
type Key struct {
	// ID names the key in stored records: 1 to 32 letters, digits, '_' or '-'.
	ID string
	// Secret is the 32-byte key.
	Secret []byte
}

// ParseKeys reads keys written as "id=base64,id=base64" (standard or URL-safe base64, with
// or without padding). The first key is the active one: new records are sealed with it,
// and records sealed with any listed key can still be opened, so a key is rotated by
// putting a new key first and keeping the old ones until no record uses them. Errors name
// the position of a bad key, never its value.
func ParseKeys(spec string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, "=")
		if !ok || !validKeyID(id) {
			return nil, fmt.Errorf("key %d: want id=base64 with an id of 1 to 32 letters, digits, '_' or '-'", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("key %d: id %s is listed twice", i+1, id)
		}
		seen[id] = true
		secret, err := decodeKey(b64)
		if err != nil || len(secret) != KeySize {
			return nil, fmt.Errorf("key %s: want %d bytes of base64", id, KeySize)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// FormatKey writes a key in the form ParseKeys reads.
func FormatKey(k Key) string { return k.ID + "=" + base64.StdEncoding.EncodeToString(k.Secret) }

// NewKey makes a random key with the given id.
func NewKey(id string) Key {
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret)
	return Key{ID: id, Secret: secret}
}

func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Keyring seals personal data with AES-256-GCM under the active key and opens data sealed
// under any of its keys. It is safe for concurrent use.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
}

// NewKeyring returns a keyring whose active key is keys[0].
func NewKeyring(keys []Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys")
	}
	kr := &Keyring{active: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if !validKeyID(k.ID) || len(k.Secret) != KeySize {
			return nil, fmt.Errorf("keyring: key %q must have a valid id and %d bytes", k.ID, KeySize)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %s: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %s: %w", k.ID, err)
		}
		kr.aeads[k.ID] = aead
	}
	return kr, nil
}

// ActiveKeyID is the id of the key new records are sealed with.
func (k *Keyring) ActiveKeyID() string { return k.active }

// Seal encrypts plaintext under the active key with a random nonce. aad binds the
// ciphertext to its record (its resource name), so a sealed blob moved to another record
// does not open.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte) {
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return k.active, aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts what Seal produced. It returns ErrUndecryptable when the key id is unknown
// or the data or aad do not match.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %s is not configured", ErrUndecryptable, keyID)
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrUndecryptable)
	}
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrUndecryptable)
	}
	return out, nil
}
