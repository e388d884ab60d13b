package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// remote is one trusted issuer and its cached keys.
type remote struct {
	issuer Issuer
	cfg    *Config

	// fetching is held during a fetch, so that verifications needing
	// one wait for it instead of each making their own; mu guards the
	// cache, never during a fetch, so that cached keys keep serving.
	fetching  sync.Mutex
	mu        sync.Mutex
	keys      map[string]jose.JSONWebKey // by key id
	fetchedAt time.Time                  // of keys; zero: never fetched
	triedAt   time.Time                  // the last fetch, failed or not
	err       error                      // of the last fetch
}

// key returns the issuer's public key with the id. Keys are fetched when
// none are cached, when they are older than KeysTTL, and when the id is
// unknown (the issuer may have rotated its keys), but never twice within
// RefetchInterval. Keys that could not be refreshed are used for up to
// MaxStale; past that, or with no keys at all, the issuer is unavailable.
func (r *remote) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	if k, ok := r.cached(kid); ok {
		return k, nil
	}
	r.fetching.Lock()
	defer r.fetching.Unlock()
	// Another verification may have fetched while this one waited.
	if k, ok := r.cached(kid); ok {
		return k, nil
	}
	r.mu.Lock()
	now := r.cfg.Now()
	due := r.triedAt.IsZero() || now.Sub(r.triedAt) >= r.cfg.RefetchInterval || now.Before(r.triedAt)
	if due {
		r.triedAt = now
	}
	r.mu.Unlock()
	if due {
		keys, err := r.fetch(ctx)
		r.mu.Lock()
		if err != nil {
			r.err = err
			r.cfg.Log.Warn("oidc: cannot fetch an issuer's keys", "issuer", r.issuer.Name, "url", r.issuer.URL,
				"err", err)
		} else {
			r.keys, r.fetchedAt, r.err = keys, now, nil
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k, known := r.keys[kid]
	switch {
	case r.err != nil && (r.fetchedAt.IsZero() || now.Sub(r.fetchedAt) >= r.cfg.MaxStale || !known):
		// The key may be one we cannot see: the issuer, not the token,
		// is at fault.
		return nil, unavailable(r.err, r.issuer.Name, r.triedAt.Add(r.cfg.RefetchInterval).Sub(now))
	case !known:
		return nil, invalidToken("unknown signing key")
	}
	return &k, nil
}

// cached returns the key with the id if it is cached and fresh.
func (r *remote) cached(kid string) (*jose.JSONWebKey, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.keys[kid]
	if !ok || r.cfg.Now().Sub(r.fetchedAt) >= r.cfg.KeysTTL {
		return nil, false
	}
	return &k, true
}

// discovery is the part of an OpenID Provider Configuration Document we
// read.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetch reads the issuer's discovery document, whose issuer must be the
// one configured, then the key set it points to, and returns its public
// signing keys by id. It is bounded by FetchTimeout even when ctx is not,
// and not cut short by ctx's cancellation: the keys serve every request.
func (r *remote) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.FetchTimeout)
	defer cancel()
	var doc discovery
	if err := r.getJSON(ctx, strings.TrimSuffix(r.issuer.URL, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	if doc.Issuer != r.issuer.URL {
		return nil, fmt.Errorf("discovery document names issuer %q, not %q", doc.Issuer, r.issuer.URL)
	}
	if err := checkURL(doc.JWKSURI); err != nil {
		return nil, fmt.Errorf("discovery document's jwks_uri: %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := r.getJSON(ctx, doc.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, raw := range set.Keys {
		// A key of a type or use we do not know is skipped, not fatal:
		// an issuer may publish more than we need.
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || k.KeyID == "" || (k.Use != "" && k.Use != "sig") || !k.Valid() {
			continue
		}
		keys[k.KeyID] = k.Public()
	}
	if len(keys) == 0 {
		// An empty set is likely a passing fault of the issuer; keep the
		// keys we have.
		return nil, errors.New("key set: no usable signing keys")
	}
	return keys, nil
}

// getJSON GETs a JSON document of at most maxResponse bytes into v.
func (r *remote) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxResponse {
		return fmt.Errorf("GET %s: larger than %d bytes", u, maxResponse)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
