// Package oidc verifies the OpenID Connect ID tokens that CI systems
// (GitHub Actions, GitLab CI, Google Cloud, or an issuer the operator
// trusts) hand their jobs, the first step of trusted publishing: a job
// proves who it is with such a token and the index exchanges it for a
// short-lived upload token.
//
// A Verifier knows the trusted issuers and this index's audience. Verify
// picks the issuer by the token's unverified "iss", fetches (and caches)
// that issuer's discovery document and keys, and checks the signature,
// the audience and the token's times, as PyPI does. What the claims allow
// (which publisher, which projects) is for the caller to decide.
//
// Refusals are *problem.Error values whose cause is an *Error carrying
// PyPI's mint-token code and description. The package fetches over HTTP
// but serves none.
package oidc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"cheeseshop/internal/problem"
)

// Kind is the family of an issuer: it says which publisher model matches
// its claims.
type Kind string

// The kinds.
const (
	GitHub  Kind = "github"
	GitLab  Kind = "gitlab"
	Google  Kind = "google"
	Generic Kind = "generic"
)

// Issuer is an OIDC issuer this index trusts.
type Issuer struct {
	// Name names the issuer in settings, errors and events ("github",
	// "corp-gitlab"): lower-case letters, digits and dashes.
	Name string
	// URL is the issuer identifier: the "iss" of its tokens, and the base
	// of its discovery document.
	URL string
	// Kind says which publisher model matches its claims: a self-managed
	// GitLab is of Kind GitLab.
	Kind Kind
}

// The built-in issuers' URLs.
const (
	GitHubIssuerURL = "https://token.actions.githubusercontent.com"
	GitLabIssuerURL = "https://gitlab.com"
	GoogleIssuerURL = "https://accounts.google.com"
)

// BuiltinIssuers returns the issuers PyPI trusts: GitHub Actions,
// gitlab.com and Google.
func BuiltinIssuers() []Issuer {
	return []Issuer{
		{Name: "github", URL: GitHubIssuerURL, Kind: GitHub},
		{Name: "gitlab", URL: GitLabIssuerURL, Kind: GitLab},
		{Name: "google", URL: GoogleIssuerURL, Kind: Google},
	}
}

// SelectBuiltinIssuers returns the built-in issuers named in names
// ("github", "gitlab", "google"), in that order, so that an operator can
// trust only the CI services its projects use (--oidc-providers). An
// unknown name is an error that lists the known ones.
func SelectBuiltinIssuers(names []string) ([]Issuer, error) {
	builtin := BuiltinIssuers()
	want := make(map[string]bool, len(names))
	for _, n := range names {
		if !slices.ContainsFunc(builtin, func(iss Issuer) bool { return iss.Name == n }) {
			return nil, fmt.Errorf("unknown provider %q: the built-in providers are github, gitlab and google", n)
		}
		want[n] = true
	}
	return slices.DeleteFunc(builtin, func(iss Issuer) bool { return !want[iss.Name] }), nil
}

var issuerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ParseIssuerFlag parses an operator's issuer, the value of
// --oidc-issuer: NAME=URL for an issuer matched by the generic publisher
// (a Forgejo, any OIDC issuer), or KIND:NAME=URL with KIND github, gitlab
// or google for a self-managed instance of those ("gitlab:corp=https://
// gitlab.corp.example"). The URL must be https (http only on a loopback
// address, for tests).
func ParseIssuerFlag(s string) (Issuer, error) {
	left, u, ok := strings.Cut(s, "=")
	if !ok {
		return Issuer{}, fmt.Errorf("oidc issuer %q: want NAME=URL or KIND:NAME=URL", s)
	}
	iss := Issuer{Name: left, URL: u, Kind: Generic}
	if k, name, ok := strings.Cut(left, ":"); ok {
		iss.Kind, iss.Name = Kind(k), name
	}
	if err := iss.validate(); err != nil {
		return Issuer{}, err
	}
	return iss, nil
}

// validate checks the name, kind and URL.
func (iss Issuer) validate() error {
	if !issuerName.MatchString(iss.Name) {
		return fmt.Errorf("oidc issuer %q: the name must be lower-case letters, digits and dashes", iss.Name)
	}
	switch iss.Kind {
	case GitHub, GitLab, Google, Generic:
	default:
		return fmt.Errorf("oidc issuer %q: unknown kind %q (want github, gitlab, google or generic)", iss.Name, iss.Kind)
	}
	if err := checkURL(iss.URL); err != nil {
		return fmt.Errorf("oidc issuer %q: %w", iss.Name, err)
	}
	return nil
}

// checkURL accepts an absolute https URL with no query, fragment or user,
// or an http URL on a loopback address (a test issuer).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", s, err)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("URL %q is not absolute", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("URL %q has a user, query or fragment", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("URL %q is not https", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultAudience returns the audience for an index served at baseURL:
// its host (with the port, if any), lower-cased. Tokens for it cannot be
// replayed at PyPI, whose audience is "pypi", nor at another index.
func DefaultAudience(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("oidc audience from base URL: %w", err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("oidc audience from base URL %q: no host", baseURL)
	}
	return strings.ToLower(u.Host), nil
}

// Defaults of Config.
const (
	// DefaultLeeway is PyPI's allowance for clocks that differ.
	DefaultLeeway = 30 * time.Second
	// DefaultMaxTokenSize bounds the JWT read: real ID tokens are 1-3 KiB.
	DefaultMaxTokenSize = 16 << 10
	// DefaultKeysTTL is how long fetched keys are used before they are
	// fetched again (which is when a retired key stops being accepted).
	DefaultKeysTTL = 15 * time.Minute
	// DefaultRefetchInterval is the least time between two fetches from an
	// issuer, whatever the tokens say: a stream of tokens with unknown key
	// ids cannot make us hammer it.
	DefaultRefetchInterval = 10 * time.Second
	// DefaultMaxStale is how long keys fetched last are still used while
	// the issuer cannot be reached.
	DefaultMaxStale = 24 * time.Hour
	// DefaultFetchTimeout bounds one fetch (discovery document and keys).
	DefaultFetchTimeout = 10 * time.Second
	// maxResponse bounds a discovery document or key set read.
	maxResponse = 1 << 20
)

// Config configures a Verifier. Zero durations and sizes take the
// defaults above.
type Config struct {
	// Issuers are the trusted issuers, e.g. BuiltinIssuers() and the
	// operator's ParseIssuerFlag ones; names and URLs are unique.
	Issuers []Issuer
	// Audience is this index's audience (DefaultAudience of the base
	// URL); never "pypi".
	Audience string
	// Client fetches discovery documents and keys; nil: a client that
	// does not follow redirects. Every fetch is bounded by FetchTimeout.
	Client *http.Client
	// Now is the clock; nil: the wall clock.
	Now func() time.Time
	// Log receives fetch failures; nil: discarded.
	Log *slog.Logger

	// The limits and cache times: zero takes the Default of the same
	// name.
	Leeway          time.Duration
	MaxTokenSize    int
	KeysTTL         time.Duration
	RefetchInterval time.Duration
	MaxStale        time.Duration
	FetchTimeout    time.Duration
}

// Verifier verifies ID tokens of the trusted issuers. It is safe for
// concurrent use; it caches each issuer's keys.
type Verifier struct {
	cfg   Config
	byURL map[string]*remote
}

// New returns a Verifier, or an error when the configuration is wrong
// (an issuer's name, kind or URL, a duplicate, the audience).
func New(cfg Config) (*Verifier, error) {
	switch strings.ToLower(cfg.Audience) {
	case "":
		return nil, errors.New("oidc: no audience")
	case "pypi":
		return nil, errors.New(`oidc: the audience must not be "pypi": tokens minted for PyPI would be accepted here`)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	defaults := []struct {
		v *time.Duration
		d time.Duration
	}{{&cfg.Leeway, DefaultLeeway}, {&cfg.KeysTTL, DefaultKeysTTL}, {&cfg.RefetchInterval, DefaultRefetchInterval},
		{&cfg.MaxStale, DefaultMaxStale}, {&cfg.FetchTimeout, DefaultFetchTimeout}}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if cfg.MaxTokenSize <= 0 {
		cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	cfg.Issuers = slices.Clone(cfg.Issuers)
	v := &Verifier{cfg: cfg, byURL: make(map[string]*remote, len(cfg.Issuers))}
	names := make(map[string]bool, len(cfg.Issuers))
	for _, iss := range cfg.Issuers {
		if err := iss.validate(); err != nil {
			return nil, err
		}
		if names[iss.Name] || v.byURL[iss.URL] != nil {
			return nil, fmt.Errorf("oidc issuer %q (%s) is listed twice", iss.Name, iss.URL)
		}
		names[iss.Name] = true
		v.byURL[iss.URL] = &remote{issuer: iss, cfg: &v.cfg}
	}
	return v, nil
}

// Audience returns this index's audience, for GET /_/oidc/audience.
func (v *Verifier) Audience() string { return v.cfg.Audience }

// Issuers returns the trusted issuers.
func (v *Verifier) Issuers() []Issuer {
	return slices.Clone(v.cfg.Issuers)
}

// Token is a verified ID token.
type Token struct {
	// Issuer is the trusted issuer that signed it.
	Issuer Issuer
	// Subject, JTI (may be empty: the caller decides whether it needs
	// one), IssuedAt and Expires are its standard claims.
	Subject  string
	JTI      string
	IssuedAt time.Time
	Expires  time.Time
	// Claims holds every claim as JSON decodes it, numbers as json.Number.
	Claims map[string]any
}

// Claim returns the claim as a string: a JSON string, or a number's or
// boolean's text; "" and false when it is absent or of another type.
func (t *Token) Claim(name string) (string, bool) {
	switch c := t.Claims[name].(type) {
	case string:
		return c, true
	case json.Number:
		return c.String(), true
	case bool:
		if c {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// algorithms are the signature algorithms accepted: asymmetric only, so
// a public key can never serve as an HMAC secret, and never "none".
var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// Verify verifies a raw ID token (a compact JWS) and returns it. It
// refuses with InvalidPayload a string that is not a JWT or names an
// untrusted issuer, with InvalidToken a token that does not verify, and
// with IssuerUnavailable (a problem.Unavailable) when the issuer's keys
// cannot be fetched.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	if len(raw) > v.cfg.MaxTokenSize {
		return nil, malformed(fmt.Sprintf("longer than %d bytes", v.cfg.MaxTokenSize))
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return nil, malformed(err.Error())
	}
	r := v.byURL[iss]
	if r == nil {
		return nil, refuse(problem.Invalid, InvalidPayload, "unknown trusted publishing issuer")
	}
	jws, err := jose.ParseSigned(raw, algorithms)
	if err != nil {
		return nil, invalidToken("not a JWS signed with an accepted algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalidToken("not exactly one signature")
	}
	header := jws.Signatures[0].Header
	if header.KeyID == "" {
		return nil, invalidToken("no key id")
	}
	key, err := r.key(ctx, header.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != header.Algorithm {
		return nil, invalidToken("signed with " + header.Algorithm + ", the key is for " + key.Algorithm)
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, invalidToken("bad signature")
	}
	return v.checkClaims(r.issuer, payload)
}

// unverifiedIssuer reads the "iss" of a compact JWS without verifying it,
// to pick the issuer whose keys verify it.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("payload is not base64url")
	}
	var c struct {
		Iss *string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", errors.New("payload is not a JSON object")
	}
	if c.Iss == nil {
		return "", errors.New("no iss claim")
	}
	return *c.Iss, nil
}

// checkClaims checks the verified payload's issuer, audience and times,
// as PyPI does: iss, aud, iat and exp required; aud exactly this index's
// audience; exp, nbf and iat within the leeway.
func (v *Verifier) checkClaims(iss Issuer, payload []byte) (*Token, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, invalidToken("claims are not a JSON object")
	}
	if s, _ := claims["iss"].(string); s != iss.URL {
		return nil, invalidToken("wrong issuer")
	}
	if !audienceIs(claims["aud"], v.cfg.Audience) {
		return nil, invalidToken("wrong audience: this index's is " + v.cfg.Audience)
	}
	t := &Token{Issuer: iss, Claims: claims}
	var ok bool
	if t.Subject, ok = optionalString(claims, "sub"); !ok {
		return nil, invalidToken("sub is not a string")
	}
	if t.JTI, ok = optionalString(claims, "jti"); !ok {
		return nil, invalidToken("jti is not a string")
	}
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	exp, err := date(claims, "exp", true)
	if err != nil {
		return nil, err
	}
	if !now.Before(exp.Add(leeway)) {
		return nil, invalidToken("expired")
	}
	iat, err := date(claims, "iat", true)
	if err != nil {
		return nil, err
	}
	if iat.After(now.Add(leeway)) {
		return nil, invalidToken("issued in the future")
	}
	nbf, err := date(claims, "nbf", false)
	if err != nil {
		return nil, err
	}
	if nbf.After(now.Add(leeway)) {
		return nil, invalidToken("not yet valid")
	}
	t.IssuedAt, t.Expires = iat, exp
	return t, nil
}

// audienceIs reports whether aud is exactly want: a string, or a list of
// that one string. A token for several audiences could be replayed at the
// others; PyPI refuses it too.
func audienceIs(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return len(a) == 1 && a[0] == want
	}
	return false
}

// optionalString returns a string claim; ok is false when it is present
// but not a string.
func optionalString(claims map[string]any, name string) (s string, ok bool) {
	c, present := claims[name]
	if !present {
		return "", true
	}
	s, ok = c.(string)
	return s, ok
}

// date returns a NumericDate claim (seconds since the epoch, possibly
// fractional); the zero time when an optional one is absent.
func date(claims map[string]any, name string, required bool) (time.Time, error) {
	c, present := claims[name]
	if !present {
		if required {
			return time.Time{}, invalidToken("no " + name + " claim")
		}
		return time.Time{}, nil
	}
	n, ok := c.(json.Number)
	if !ok {
		return time.Time{}, invalidToken(name + " is not a number")
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, invalidToken(name + " is out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
