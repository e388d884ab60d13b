package oidc_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/oidctest"
	"cheeseshop/internal/problem"
)

const audience = "cheeseshop.test"

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// fixture is a test issuer and a Verifier that trusts it, on one clock.
type fixture struct {
	clk *clocktest.Clock
	is  *oidctest.Issuer
	v   *oidc.Verifier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := clocktest.New(t0)
	is := oidctest.New(t, clk.Now)
	v, err := oidc.New(oidc.Config{
		Issuers:  []oidc.Issuer{{Name: "test", URL: is.URL(), Kind: oidc.GitHub}},
		Audience: audience,
		Now:      clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clk: clk, is: is, v: v}
}

// verify checks that the token is refused with the code and kind, or
// accepted when code is "".
func (f *fixture) verify(t *testing.T, raw string, code oidc.Code, kind problem.Kind) *oidc.Token {
	t.Helper()
	tok, err := f.v.Verify(context.Background(), raw)
	if code == "" {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return tok
	}
	e, ok := errors.AsType[*oidc.Error](err)
	if !ok {
		t.Fatalf("Verify = %v, %v; want a refusal %s", tok, err, code)
	}
	if e.Code != code || problem.KindOf(err) != kind || problem.MessageOf(err) != e.Description {
		t.Fatalf("Verify refused with %v (kind %v), want %s (kind %v)", e, problem.KindOf(err), code, kind)
	}
	return nil
}

// forge builds a compact JWS by hand, for the tokens no honest signer makes.
func forge(header, claims map[string]any, sign func(input []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

// with returns claims with the changes (a nil value: Mint leaves the
// claim out, forge writes null).
func with(claims map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range changes {
		out[k] = v
	}
	return out
}

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	es := f.is.AddKey(t, oidctest.ES256)
	rs := "key-1"
	now := t0.Unix()
	gh := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience, Environment: "pypi"})
	gl := oidctest.GitLabClaims(oidctest.GitLabJob{Audience: audience})
	tests := []struct {
		name   string
		kid    string
		claims map[string]any
	}{
		{"RS256 GitHub", rs, gh},
		{"ES256 GitHub", es, gh},
		{"ES256 GitLab", es, gl},
		{"audience as a list of one", rs, with(gh, map[string]any{"aud": []string{audience}})},
		{"expired within the leeway", rs, with(gh, map[string]any{"exp": now - 29})},
		{"not before within the leeway", rs, with(gh, map[string]any{"nbf": now + 29})},
		{"issued within the leeway", rs, with(gh, map[string]any{"iat": now + 29})},
		{"no nbf", rs, with(gh, map[string]any{"nbf": nil})},
		{"no jti", rs, with(gh, map[string]any{"jti": nil})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := f.is.MintWith(t, tc.kid, tc.claims)
			tok := f.verify(t, raw, "", 0)
			if tok.Issuer.Name != "test" || tok.Issuer.URL != f.is.URL() || tok.Issuer.Kind != oidc.GitHub {
				t.Errorf("Issuer = %+v", tok.Issuer)
			}
			if tok.Subject != tc.claims["sub"] {
				t.Errorf("Subject = %q, want %q", tok.Subject, tc.claims["sub"])
			}
			if _, omitted := tc.claims["jti"]; (tok.JTI == "") != omitted {
				t.Errorf("JTI = %q", tok.JTI)
			}
			if want := time.Unix(now+5*60, 0); tc.claims["exp"] == nil && !tok.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v", tok.Expires, want)
			}
			for _, name := range []string{"repository", "repository_owner_id", "project_path", "ci_config_ref_uri"} {
				if want, ok := tc.claims[name]; ok {
					if got, _ := tok.Claim(name); got != want {
						t.Errorf("Claim(%q) = %q, want %q", name, got, want)
					}
				}
			}
		})
	}
}

func TestTokenClaim(t *testing.T) {
	t.Parallel()
	tok := &oidc.Token{Claims: map[string]any{"s": "x", "n": json.Number("12"), "b": true, "l": []any{"x"}}}
	for name, want := range map[string]string{"s": "x", "n": "12", "b": "true", "l": "", "absent": ""} {
		if got, ok := tok.Claim(name); got != want || ok != (want != "") {
			t.Errorf("Claim(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := t0.Unix()
	gh := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})
	// Another issuer, not trusted, whose first key has the same id as the
	// trusted one's.
	other := oidctest.New(t, f.clk.Now)
	pub, err := x509.MarshalPKIXPublicKey(f.is.PublicKey("key-1"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  func(t *testing.T) string
		code oidc.Code
	}{
		{"wrong audience", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"aud": "other.example"}))
		}, oidc.InvalidToken},
		{"audience pypi", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"aud": "pypi"}))
		}, oidc.InvalidToken},
		{"two audiences", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"aud": []string{audience, "pypi"}}))
		}, oidc.InvalidToken},
		{"no audience", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"aud": nil}))
		}, oidc.InvalidToken},
		{"expired", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"iat": now - 600, "nbf": now - 600, "exp": now - 30}))
		}, oidc.InvalidToken},
		{"not yet valid", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"nbf": now + 31, "exp": now + 600}))
		}, oidc.InvalidToken},
		{"issued in the future", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"iat": now + 31, "exp": now + 600}))
		}, oidc.InvalidToken},
		{"no exp", func(t *testing.T) string { return f.is.Mint(t, with(gh, map[string]any{"exp": nil})) }, oidc.InvalidToken},
		{"no iat", func(t *testing.T) string { return f.is.Mint(t, with(gh, map[string]any{"iat": nil})) }, oidc.InvalidToken},
		{"exp not a number", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"exp": "tomorrow"}))
		}, oidc.InvalidToken},
		{"exp out of range", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"exp": 1e300}))
		}, oidc.InvalidToken},
		{"sub not a string", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"sub": 7}))
		}, oidc.InvalidToken},
		{"unknown issuer", func(t *testing.T) string { return other.Mint(t, gh) }, oidc.InvalidPayload},
		{"known iss signed by another issuer's key", func(t *testing.T) string {
			return other.Mint(t, with(gh, map[string]any{"iss": f.is.URL()}))
		}, oidc.InvalidToken},
		{"unknown key id", func(t *testing.T) string {
			return forge(map[string]any{"alg": "RS256", "kid": "nope"}, with(gh, map[string]any{"iss": f.is.URL()}),
				func([]byte) []byte { return []byte("sig") })
		}, oidc.InvalidToken},
		{"no key id", func(t *testing.T) string {
			return forge(map[string]any{"alg": "RS256"}, with(gh, map[string]any{"iss": f.is.URL()}),
				func([]byte) []byte { return []byte("sig") })
		}, oidc.InvalidToken},
		{"alg none", func(t *testing.T) string {
			return forge(map[string]any{"alg": "none", "kid": "key-1"}, with(gh, map[string]any{"iss": f.is.URL()}),
				func([]byte) []byte { return nil })
		}, oidc.InvalidToken},
		{"HS256 with the public key as secret", func(t *testing.T) string {
			return forge(map[string]any{"alg": "HS256", "kid": "key-1"}, with(gh, map[string]any{"iss": f.is.URL()}),
				func(in []byte) []byte {
					m := hmac.New(sha256.New, pub)
					m.Write(in)
					return m.Sum(nil)
				})
		}, oidc.InvalidToken},
		{"ES256 header on an RSA key", func(t *testing.T) string {
			return forge(map[string]any{"alg": "ES256", "kid": "key-1"}, with(gh, map[string]any{"iss": f.is.URL()}),
				func([]byte) []byte { return make([]byte, 64) })
		}, oidc.InvalidToken},
		{"tampered payload", func(t *testing.T) string {
			parts := strings.Split(f.is.Mint(t, gh), ".")
			c, _ := json.Marshal(with(gh, map[string]any{"iss": f.is.URL(), "repository": "evil/repo"}))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(c) + "." + parts[2]
		}, oidc.InvalidToken},
		{"empty", func(*testing.T) string { return "" }, oidc.InvalidPayload},
		{"not a JWT", func(*testing.T) string { return "not a token" }, oidc.InvalidPayload},
		{"four parts", func(t *testing.T) string { return f.is.Mint(t, gh) + ".x" }, oidc.InvalidPayload},
		{"payload not base64", func(*testing.T) string { return "e30.!!!.e30" }, oidc.InvalidPayload},
		{"payload not JSON", func(*testing.T) string { return "e30.bm90IGpzb24.e30" }, oidc.InvalidPayload},
		{"no iss", func(t *testing.T) string {
			return forge(map[string]any{"alg": "RS256", "kid": "key-1"}, with(gh, map[string]any{"iss": nil}),
				func([]byte) []byte { return []byte("sig") })
		}, oidc.InvalidPayload},
		{"iss not a string", func(t *testing.T) string {
			return forge(map[string]any{"alg": "RS256", "kid": "key-1"}, with(gh, map[string]any{"iss": 1}),
				func([]byte) []byte { return []byte("sig") })
		}, oidc.InvalidPayload},
		{"oversize", func(t *testing.T) string {
			return f.is.Mint(t, with(gh, map[string]any{"padding": strings.Repeat("x", oidc.DefaultMaxTokenSize)}))
		}, oidc.InvalidPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f.verify(t, tc.raw(t), tc.code, problem.Invalid)
		})
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	claims := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})
	old := f.is.Mint(t, claims)
	f.verify(t, old, "", 0)
	if n := f.is.JWKSFetches(); n != 1 {
		t.Fatalf("%d key set fetches after the first token, want 1", n)
	}

	// Later the issuer rotates: a new key signs, the old one is retired.
	// A token of the new key makes the verifier fetch the keys again, once.
	f.clk.Add(time.Minute)
	kid := f.is.AddKey(t, oidctest.ES256)
	f.is.RetireKey("key-1")
	f.verify(t, f.is.Mint(t, claims), "", 0)
	f.verify(t, f.is.Mint(t, claims), "", 0)
	if n := f.is.JWKSFetches(); n != 2 {
		t.Fatalf("%d key set fetches after the rotation, want 2", n)
	}

	// The retired key is gone from the refreshed set.
	f.verify(t, f.is.MintWith(t, "key-1", claims), oidc.InvalidToken, problem.Invalid)

	// Tokens with unknown key ids do not make the verifier fetch again
	// within the refetch interval, however many come.
	for range 5 {
		f.verify(t, f.is.MintWith(t, "key-1", claims), oidc.InvalidToken, problem.Invalid)
	}
	if n := f.is.JWKSFetches(); n != 2 {
		t.Fatalf("%d key set fetches after unknown key ids, want 2", n)
	}
	f.clk.Add(oidc.DefaultRefetchInterval)
	f.verify(t, f.is.MintWith(t, "key-1", claims), oidc.InvalidToken, problem.Invalid)
	f.verify(t, f.is.MintWith(t, kid, claims), "", 0)
	if n := f.is.JWKSFetches(); n != 3 {
		t.Fatalf("%d key set fetches after the interval, want 3", n)
	}
}

// Verifications that start together on a cold cache share one fetch, and
// a burst of unknown key ids makes at most one more.
func TestConcurrentVerificationsFetchOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	claims := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})
	good := f.is.Mint(t, claims)
	unknown := forge(map[string]any{"alg": "RS256", "kid": "unknown"}, with(claims, map[string]any{"iss": f.is.URL()}),
		func([]byte) []byte { return []byte("sig") })
	for _, raw := range []string{good, unknown} {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				_, err := f.v.Verify(context.Background(), raw)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if (err == nil) != (raw == good) {
				t.Fatalf("Verify = %v", err)
			}
		}
		f.clk.Add(time.Minute)
	}
	if n := f.is.JWKSFetches(); n != 2 {
		t.Errorf("%d key set fetches, want 2", n)
	}
}

// While a fetch for an unknown key id waits on a slow issuer, the cached
// keys keep verifying tokens.
func TestCachedKeysServeDuringAFetch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	claims := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})
	f.verify(t, f.is.Mint(t, claims), "", 0)
	waiting, release := f.is.Hold(t)
	f.clk.Add(oidc.DefaultRefetchInterval)
	unknown := forge(map[string]any{"alg": "RS256", "kid": "unknown"}, with(claims, map[string]any{"iss": f.is.URL()}),
		func([]byte) []byte { return []byte("sig") })
	done := make(chan error, 1)
	go func() {
		_, err := f.v.Verify(context.Background(), unknown)
		done <- err
	}()
	<-waiting
	f.verify(t, f.is.Mint(t, claims), "", 0)
	release()
	if err := <-done; problem.MessageOf(err) != "malformed or invalid token (unknown signing key)" {
		t.Fatalf("Verify with an unknown key id = %v", err)
	}
}

func TestRetiredKeyExpiresFromCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	claims := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})
	f.verify(t, f.is.Mint(t, claims), "", 0)
	f.is.AddKey(t, oidctest.RS256)
	f.is.RetireKey("key-1")
	// Cached keys are trusted until they are due for a refresh.
	f.verify(t, f.is.MintWith(t, "key-1", claims), "", 0)
	f.clk.Add(oidc.DefaultKeysTTL)
	f.verify(t, f.is.MintWith(t, "key-1", claims), oidc.InvalidToken, problem.Invalid)
}

func TestIssuerUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	claims := oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})
	f.is.SetDown(true)
	_, err := f.v.Verify(context.Background(), f.is.Mint(t, claims))
	if e, ok := problem.As(err); !ok || e.Kind != problem.Unavailable || e.RetryAfter != oidc.DefaultRefetchInterval {
		t.Fatalf("Verify with the issuer down = %#v", err)
	}
	if e, ok := errors.AsType[*oidc.Error](err); !ok || e.Code != oidc.IssuerUnavailable ||
		!strings.Contains(err.(*problem.Error).Err.Error(), "503") {
		t.Fatalf("Verify with the issuer down = %v", err)
	}
	// Back up, but the failure is remembered for the refetch interval.
	f.is.SetDown(false)
	f.clk.Add(time.Second)
	f.verify(t, f.is.Mint(t, claims), oidc.IssuerUnavailable, problem.Unavailable)
	f.clk.Add(oidc.DefaultRefetchInterval)
	f.verify(t, f.is.Mint(t, claims), "", 0)

	// Down again once the keys are due for a refresh: the stale keys serve
	// on, up to MaxStale; a key id they lack is the issuer's fault.
	f.is.SetDown(true)
	f.clk.Add(oidc.DefaultKeysTTL)
	f.verify(t, f.is.Mint(t, claims), "", 0)
	f.verify(t, forge(map[string]any{"alg": "RS256", "kid": "new"}, with(claims, map[string]any{"iss": f.is.URL()}),
		func([]byte) []byte { return []byte("sig") }), oidc.IssuerUnavailable, problem.Unavailable)
	f.clk.Add(oidc.DefaultMaxStale)
	f.verify(t, f.is.Mint(t, with(claims, map[string]any{"exp": f.clk.Now().Unix() + 60})),
		oidc.IssuerUnavailable, problem.Unavailable)
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.is.SetDiscoveryIssuer("https://token.actions.githubusercontent.com")
	raw := f.is.Mint(t, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience}))
	_, err := f.v.Verify(context.Background(), raw)
	if !problem.Is(err, problem.Unavailable) || !strings.Contains(err.(*problem.Error).Err.Error(), "names issuer") {
		t.Fatalf("Verify = %v", err)
	}
	if n := f.is.JWKSFetches(); n != 0 {
		t.Errorf("%d key set fetches, want 0", n)
	}
}

func TestParseIssuerFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want oidc.Issuer
		ok   bool
	}{
		{"forgejo=https://code.example.org", oidc.Issuer{Name: "forgejo", URL: "https://code.example.org", Kind: oidc.Generic}, true},
		{"gitlab:corp=https://gitlab.corp.example/", oidc.Issuer{Name: "corp", URL: "https://gitlab.corp.example/", Kind: oidc.GitLab}, true},
		{"test=http://127.0.0.1:8080", oidc.Issuer{Name: "test", URL: "http://127.0.0.1:8080", Kind: oidc.Generic}, true},
		{"test=http://[::1]:8080", oidc.Issuer{Name: "test", URL: "http://[::1]:8080", Kind: oidc.Generic}, true},
		{"test=http://localhost", oidc.Issuer{Name: "test", URL: "http://localhost", Kind: oidc.Generic}, true},
		{"plain=http://gitlab.corp.example", oidc.Issuer{}, false},
		{"noequals", oidc.Issuer{}, false},
		{"=https://x.example", oidc.Issuer{}, false},
		{"Upper=https://x.example", oidc.Issuer{}, false},
		{"jenkins:x=https://x.example", oidc.Issuer{}, false},
		{"x=https://x.example?a=b", oidc.Issuer{}, false},
		{"x=https://u@x.example", oidc.Issuer{}, false},
		{"x=https://x.example#f", oidc.Issuer{}, false},
		{"x=/relative", oidc.Issuer{}, false},
		{"x=ftp://x.example", oidc.Issuer{}, false},
	}
	for _, tc := range tests {
		got, err := oidc.ParseIssuerFlag(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseIssuerFlag(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestDefaultAudience(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"https://pypi.corp.example":        "pypi.corp.example",
		"https://Index.Example:8443/base/": "index.example:8443",
		"http://localhost:8080":            "localhost:8080",
		"/relative":                        "",
		"::":                               "",
	}
	for in, want := range tests {
		got, err := oidc.DefaultAudience(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("DefaultAudience(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	gh := oidc.BuiltinIssuers()
	tests := map[string]oidc.Config{
		"no audience":    {Issuers: gh},
		"pypi audience":  {Issuers: gh, Audience: "PyPI"},
		"duplicate name": {Issuers: append(oidc.BuiltinIssuers(), oidc.Issuer{Name: "github", URL: "https://x.example", Kind: oidc.Generic}), Audience: audience},
		"duplicate URL":  {Issuers: append(oidc.BuiltinIssuers(), oidc.Issuer{Name: "gh2", URL: oidc.GitHubIssuerURL, Kind: oidc.GitHub}), Audience: audience},
		"http issuer":    {Issuers: []oidc.Issuer{{Name: "x", URL: "http://x.example", Kind: oidc.Generic}}, Audience: audience},
		"no kind":        {Issuers: []oidc.Issuer{{Name: "x", URL: "https://x.example"}}, Audience: audience},
	}
	for name, cfg := range tests {
		if _, err := oidc.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	v, err := oidc.New(oidc.Config{Issuers: gh, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if v.Audience() != audience || len(v.Issuers()) != 3 || v.Issuers()[0].URL != oidc.GitHubIssuerURL {
		t.Errorf("Audience %q, Issuers %+v", v.Audience(), v.Issuers())
	}
}

func TestRefusalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err         error
		code        oidc.Code
		kind        problem.Kind
		description string
	}{
		{oidc.InvalidPayloadError("token: field required"), oidc.InvalidPayload, problem.Invalid, "token: field required"},
		{oidc.NotEnabledError("GitLab"), oidc.NotEnabled, problem.Forbidden, "GitLab trusted publishing functionality not enabled"},
		{oidc.NotEnabledError(""), oidc.NotEnabled, problem.Forbidden, "Trusted publishing functionality not enabled"},
	}
	for _, tc := range tests {
		e, ok := errors.AsType[*oidc.Error](tc.err)
		if !ok || e.Code != tc.code || e.Description != tc.description || problem.KindOf(tc.err) != tc.kind ||
			problem.MessageOf(tc.err) != tc.description {
			t.Errorf("%v: want %s %q (kind %v)", tc.err, tc.code, tc.description, tc.kind)
		}
	}
}
