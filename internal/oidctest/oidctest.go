// Package oidctest runs a real OpenID Connect issuer for tests: an
// httptest.Server serving a discovery document and a JWKS, with RS256 and
// ES256 keys that rotate, minting ID tokens with whatever claims a test
// wants, and the claim sets GitHub Actions and GitLab CI put in theirs.
//
// A running cheeseshop trusts it by its URL (http on a loopback address
// is allowed for that): a test lists oidc.Issuer{Name: "test", URL:
// is.URL(), Kind: oidc.GitHub} among the trusted issuers, asks the index
// for its audience, and hands it the tokens of Mint(GitHubClaims(...)).
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Alg is a signature algorithm of the issuer's keys.
type Alg string

// The algorithms.
const (
	RS256 Alg = "RS256"
	ES256 Alg = "ES256"
)

// Issuer is a running OIDC issuer. It is safe for concurrent use.
type Issuer struct {
	srv *httptest.Server
	now func() time.Time

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey // every key made, retired or not, by id
	active  []string                   // the ids in the JWKS, oldest first
	signing string                     // the id Mint signs with
	n       int                        // keys made so far
	down    bool
	held    chan struct{} // while not nil, requests wait for it to close
	waiting chan struct{} // a request that waits sends on it
	issuer  string        // the discovery document's issuer; "" is URL()

	jwksFetches atomic.Int64
}

// New starts an issuer with one RS256 key; now is its clock for the times
// of tokens (nil: the wall clock). The server stops when the test ends.
func New(t testing.TB, now func() time.Time) *Issuer {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	is := &Issuer{now: now, keys: map[string]jose.JSONWebKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks", is.serveJWKS)
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.AddKey(t, RS256)
	return is
}

// URL returns the issuer identifier: the "iss" of its tokens.
func (is *Issuer) URL() string { return is.srv.URL }

// JWKSFetches returns how many times the key set was fetched.
func (is *Issuer) JWKSFetches() int { return int(is.jwksFetches.Load()) }

// AddKey makes a key of the algorithm, publishes it and signs with it
// from now on (the first half of a rotation); it returns its id, "key-N".
func (is *Issuer) AddKey(t testing.TB, alg Alg) string {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("oidctest: unknown algorithm %q", alg)
	}
	if err != nil {
		t.Fatalf("oidctest: generate a key: %v", err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.n++
	kid := fmt.Sprintf("key-%d", is.n)
	is.keys[kid] = jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg), Use: "sig"}
	is.active = append(is.active, kid)
	is.signing = kid
	return kid
}

// RetireKey removes the key from the JWKS (the second half of a
// rotation); MintWith can still sign with it, as a leaked key would.
func (is *Issuer) RetireKey(kid string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for i, id := range is.active {
		if id == kid {
			is.active = append(is.active[:i], is.active[i+1:]...)
			return
		}
	}
}

// SetDown makes the discovery document and the JWKS answer 503 (down) or
// not.
func (is *Issuer) SetDown(down bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.down = down
}

// Hold makes requests for the discovery document and the JWKS wait until
// release is called (at the latest when the test ends), as a slow issuer
// would; each request that waits sends on waiting first, so that a test
// knows a fetch is in flight.
func (is *Issuer) Hold(t testing.TB) (waiting <-chan struct{}, release func()) {
	is.mu.Lock()
	defer is.mu.Unlock()
	held, w := make(chan struct{}), make(chan struct{}, 16)
	is.held, is.waiting = held, w
	var once sync.Once
	release = func() {
		once.Do(func() {
			is.mu.Lock()
			is.held, is.waiting = nil, nil
			is.mu.Unlock()
			close(held)
		})
	}
	t.Cleanup(release)
	return w, release
}

// wait blocks while requests are held.
func (is *Issuer) wait(r *http.Request) {
	is.mu.Lock()
	held, waiting := is.held, is.waiting
	is.mu.Unlock()
	if held == nil {
		return
	}
	select {
	case waiting <- struct{}{}:
	default:
	}
	select {
	case <-held:
	case <-r.Context().Done():
	}
}

// SetDiscoveryIssuer makes the discovery document name another issuer
// ("" restores URL()), as a misconfigured or hostile server would.
func (is *Issuer) SetDiscoveryIssuer(iss string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.issuer = iss
}

// Mint returns an ID token with the claims, signed with the newest key.
// It fills what a real issuer always sets, unless claims has it: iss
// (URL()), iat and nbf (now), exp (now + 5 minutes) and jti (random).
// aud is the caller's: pass the index's audience. A nil value leaves
// the claim out.
func (is *Issuer) Mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	is.mu.Lock()
	kid := is.signing
	is.mu.Unlock()
	return is.MintWith(t, kid, claims)
}

// MintWith is Mint signing with the key of that id, retired or not.
func (is *Issuer) MintWith(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	is.mu.Lock()
	key, ok := is.keys[kid]
	is.mu.Unlock()
	if !ok {
		t.Fatalf("oidctest: no key %q", kid)
	}
	now := is.now()
	full := map[string]any{
		"iss": is.URL(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
		"jti": rand.Text(),
	}
	for k, v := range claims {
		if v == nil {
			delete(full, k)
		} else {
			full[k] = v
		}
	}
	payload, err := json.Marshal(full)
	if err != nil {
		t.Fatalf("oidctest: claims: %v", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("oidctest: signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("oidctest: sign: %v", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("oidctest: serialize: %v", err)
	}
	return raw
}

// PublicKey returns the public key of that id (to forge tokens with it,
// as an attacker who knows it would).
func (is *Issuer) PublicKey(kid string) crypto.PublicKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	k := is.keys[kid]
	return k.Public().Key
}

func (is *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	is.wait(r)
	is.mu.Lock()
	down, iss := is.down, is.issuer
	is.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if iss == "" {
		iss = is.URL()
	}
	writeJSON(w, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              is.URL() + "/.well-known/jwks",
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{string(RS256), string(ES256)},
		"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf"},
	})
}

func (is *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	is.wait(r)
	is.jwksFetches.Add(1)
	is.mu.Lock()
	down := is.down
	var set jose.JSONWebKeySet
	for _, kid := range is.active {
		k := is.keys[kid]
		set.Keys = append(set.Keys, k.Public())
	}
	is.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, set)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
