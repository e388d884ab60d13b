package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// TokenPrefix starts every API token, so that secret scanners and people
// can recognise one.
const TokenPrefix = "cheeseshop-"

// NewToken returns a new random API token (130 bits of entropy) and the
// hash to store. The token itself is shown once and never stored.
func NewToken() (token, hash string) {
	token = TokenPrefix + rand.Text()
	return token, HashToken(token)
}

// HashToken returns the stored form of a token: of an API token, and
// likewise of a session id or the secret of an emailed link. Tokens are
// random and long, so a fast hash is enough: nobody can brute-force 130
// bits.
// Looking a token up by its hash also means the secret is never compared
// byte by byte.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LooksLikeToken reports whether s has the shape of one of our tokens.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefix) && len(s) == len(TokenPrefix)+26
}

// DisplayPrefix is the part of a token kept to help its owner tell tokens apart.
func DisplayPrefix(token string) string {
	n := len(TokenPrefix) + 4
	if len(token) < n {
		return token
	}
	return token[:n]
}
