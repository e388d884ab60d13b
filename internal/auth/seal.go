package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// MinSecretKeyLength is the shortest server secret accepted, in bytes.
const MinSecretKeyLength = 32

// Sealer encrypts small secrets at rest (such as TOTP secrets) with
// AES-256-GCM under a key derived by HKDF-SHA256 from the server's secret
// key, which is kept out of the database.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives a key for purpose from the server's secret key.
func NewSealer(secretKey []byte, purpose string) (*Sealer, error) {
	if len(secretKey) < MinSecretKeyLength {
		return nil, fmt.Errorf("auth: the secret key must be at least %d bytes", MinSecretKeyLength)
	}
	key, err := hkdf.Key(sha256.New, secretKey, nil, "cheeseshop "+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("auth: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext, bound to context (e.g. the user's id: a sealed
// value copied to another row does not open).
func (s *Sealer) Seal(plaintext, context []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, context))
}

// ErrUnseal is returned for a sealed value that does not open: damaged,
// sealed under another key, or bound to another context.
var ErrUnseal = errors.New("auth: sealed value does not open")

// Open decrypts a value made by Seal with the same context.
func (s *Sealer) Open(sealed string, context []byte) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, ErrUnseal
	}
	n := s.aead.NonceSize()
	out, err := s.aead.Open(nil, b[:n], b[n:], context)
	if err != nil {
		return nil, ErrUnseal
	}
	return out, nil
}
