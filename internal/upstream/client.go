package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cheeseshop/internal/pep"
)

// Defaults of Config.
const (
	DefaultDialTimeout     = 5 * time.Second
	DefaultTLSTimeout      = 10 * time.Second
	DefaultHeaderTimeout   = 10 * time.Second
	DefaultPageTimeout     = 30 * time.Second
	DefaultMaxPageSize     = 64 << 20
	DefaultMaxFileSize     = 4 << 30
	DefaultMinRateBytes    = 64 << 10
	DefaultMinRateWindow   = 30 * time.Second
	DefaultBreakerCooldown = 30 * time.Second
	// MaxMetadataSize bounds a core metadata file (PEP 658), as a local
	// one.
	MaxMetadataSize = 2 << 20
	// MaxHeaderBytes bounds the headers of an answer.
	MaxHeaderBytes = 64 << 10
	// MaxRedirects is the most redirects one fetch follows.
	MaxRedirects = 3
	// maxValidator bounds an ETag or Last-Modified kept for the next
	// conditional fetch.
	maxValidator = 1 << 10
)

// pageAccept asks for PEP 691 JSON first, PEP 503 HTML else.
const pageAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

// Config configures a Client. Zero values take the Default of the same
// name.
type Config struct {
	// UserAgent is sent with every request: "cheeseshop/<version>
	// (+<base-url>)"; "" sends "cheeseshop".
	UserAgent string
	// Proxy picks an HTTP proxy for a request; nil connects directly (the
	// environment's HTTPS_PROXY is used only if the operator passes
	// http.ProxyFromEnvironment here).
	Proxy func(*http.Request) (*url.URL, error)
	// TLSConfig is the TLS client configuration; nil: the system's roots.
	TLSConfig *tls.Config
	// DialTimeout, TLSTimeout and HeaderTimeout bound the connection, the
	// TLS handshake and the wait for an answer's headers.
	DialTimeout, TLSTimeout, HeaderTimeout time.Duration
	// PageTimeout bounds a whole page fetch, body included.
	PageTimeout time.Duration
	// MaxPageSize and MaxFileSize bound a page (decompressed) and a file
	// whose size the page does not give.
	MaxPageSize, MaxFileSize int64
	// MinRate is the slowest transfer of a file accepted: at least Bytes
	// in every Window (after the headers), else the fetch fails as
	// unavailable. It also bounds a whole transfer to about
	// size/Bytes·Window.
	MinRate MinRate
	// BreakerCooldown is how long FetchPage fails fast after the upstream
	// was unavailable.
	BreakerCooldown time.Duration
	// Now is the clock; nil: the wall clock.
	Now func() time.Time
	// Log receives what was dropped from pages; nil: discarded. It never
	// sees credentials.
	Log *slog.Logger
}

// MinRate is a minimum transfer rate: Bytes in every Window.
type MinRate struct {
	Bytes  int64
	Window time.Duration
}

// Validators are an answer's ETag and Last-Modified, sent back in a
// conditional fetch.
type Validators struct {
	ETag, LastModified string
}

// Client fetches from one upstream. It is safe for concurrent use.
type Client struct {
	up        *Upstream
	cfg       Config
	transport *http.Transport
	http      *http.Client
	breaker   *Breaker
}

// NewClient returns a client of the upstream: one http.Client with no
// cookie jar and no proxy unless configured, following at most
// MaxRedirects redirects, each to an allowed URL (Upstream.Allowed).
func NewClient(up *Upstream, cfg Config) *Client {
	defaults := []struct {
		v *time.Duration
		d time.Duration
	}{{&cfg.DialTimeout, DefaultDialTimeout}, {&cfg.TLSTimeout, DefaultTLSTimeout},
		{&cfg.HeaderTimeout, DefaultHeaderTimeout}, {&cfg.PageTimeout, DefaultPageTimeout},
		{&cfg.MinRate.Window, DefaultMinRateWindow}, {&cfg.BreakerCooldown, DefaultBreakerCooldown}}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = DefaultMaxPageSize
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.MinRate.Bytes <= 0 {
		cfg.MinRate.Bytes = DefaultMinRateBytes
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cheeseshop"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	c := &Client{up: up, cfg: cfg, breaker: NewBreaker(cfg.BreakerCooldown, cfg.Now)}
	c.transport = &http.Transport{
		Proxy:                  cfg.Proxy,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        cfg.TLSConfig,
		TLSHandshakeTimeout:    cfg.TLSTimeout,
		ResponseHeaderTimeout:  cfg.HeaderTimeout,
		MaxResponseHeaderBytes: MaxHeaderBytes,
		ForceAttemptHTTP2:      true,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
	}
	c.http = &http.Client{Transport: c.transport, CheckRedirect: c.checkRedirect}
	return c
}

// Upstream returns the client's upstream.
func (c *Client) Upstream() *Upstream { return c.up }

// Breaker returns the breaker FetchPage goes through (for a status page).
func (c *Client) Breaker() *Breaker { return c.breaker }

// Close closes the idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// errRedirect is a redirect refused by checkRedirect: the answer is
// hostile.
type errRedirect struct{ msg string }

func (e *errRedirect) Error() string { return e.msg }

// checkRedirect follows a redirect only to an allowed URL and at most
// MaxRedirects times; the upstream's credentials go only to its own host,
// and never again once a hop left it. Nothing else is carried over (no
// Referer).
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &errRedirect{fmt.Sprintf("more than %d redirects", MaxRedirects)}
	}
	if !c.up.Allowed(req.URL) {
		return &errRedirect{"redirect to " + redact(req.URL) + ", not an allowed URL"}
	}
	req.Header.Del("Referer")
	own := c.up.ownHost(req.URL)
	for _, r := range via {
		own = own && c.up.ownHost(r.URL)
	}
	if !own {
		req.Header.Del("Authorization")
	}
	return nil
}

// newRequest builds a request of u (GET or HEAD) with the User-Agent,
// and the upstream's credentials when u is on its own host. Nothing else
// is sent.
func (c *Client) newRequest(ctx context.Context, method string, u *url.URL) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.up.user != nil && c.up.ownHost(u) {
		password, _ := c.up.user.Password()
		req.SetBasicAuth(c.up.user.Username(), password)
	}
	return req, nil
}

// fail builds an *Error about u.
func (c *Client) fail(u *url.URL, kind, err error) *Error {
	return &Error{Upstream: c.up.String(), URL: redact(u), Kind: kind, Err: err}
}

// do sends req and classifies a failure to get an answer: a refused
// redirect is hostile, anything else (network, timeouts) unavailable.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err == nil {
		return resp, nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the URL, which the *Error has
	}
	if _, ok := errors.AsType[*errRedirect](err); ok {
		return nil, c.fail(req.URL, ErrHostile, err)
	}
	return nil, c.fail(req.URL, ErrUnavailable, err)
}

// statusError classifies an answer other than 200.
func (c *Client) statusError(resp *http.Response) error {
	u := resp.Request.URL
	err := fmt.Errorf("answered %s", resp.Status)
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound || code == http.StatusGone:
		return c.fail(u, ErrNotFound, nil)
	case code >= 500, code == http.StatusTooManyRequests, code == http.StatusUnauthorized,
		code == http.StatusForbidden, code == http.StatusProxyAuthRequired, code == http.StatusRequestTimeout:
		return c.fail(u, ErrUnavailable, err)
	}
	return c.fail(u, ErrHostile, err)
}

// FetchPage fetches a project's page (normalized: its PEP 503 normalized
// name) and parses it (ParseJSON or ParseHTML, by the answer's
// Content-Type). With validators of an earlier answer it asks
// conditionally, and a 304 is ErrNotModified. Errors: ErrNotFound (404,
// 410), ErrUnavailable (no answer in time, 5xx, 429, refused credentials,
// or the breaker open), ErrHostile (too big, unparsable, another
// project, a redirect off the allowed hosts). The whole fetch is bounded
// by Config.PageTimeout.
func (c *Client) FetchPage(ctx context.Context, normalized string, prev Validators) (*Page, error) {
	u := c.up.ProjectURL(normalized)
	if !pep.ValidProjectName(normalized) || pep.NormalizeName(normalized) != normalized {
		return nil, c.fail(u, ErrNotFound, errors.New("not a normalized project name"))
	}
	if err := c.breaker.Allow(); err != nil {
		return nil, c.fail(u, ErrUnavailable, err)
	}
	page, err := c.fetchPage(ctx, u, normalized, prev)
	switch {
	case errors.Is(err, ErrUnavailable):
		if ctx.Err() == nil { // not the caller giving up
			c.breaker.Failure()
		}
	case err == nil, errors.Is(err, ErrNotModified), errors.Is(err, ErrNotFound):
		c.breaker.Success()
	}
	if page != nil && page.Dropped > 0 {
		c.cfg.Log.Warn("upstream page entries dropped", "upstream", c.up.String(), "project", normalized,
			"dropped", page.Dropped, "kept", len(page.Files), "why", page.Warnings)
	}
	return page, err
}

func (c *Client) fetchPage(ctx context.Context, u *url.URL, normalized string, prev Validators) (*Page, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.PageTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return nil, c.fail(u, ErrUnavailable, err)
	}
	req.Header.Set("Accept", pageAccept)
	conditional := prev.ETag != "" || prev.LastModified != ""
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode == http.StatusNotModified && conditional {
		return nil, c.fail(final, ErrNotModified, nil)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp)
	}
	parse, format := pageParser(resp.Header.Get("Content-Type"))
	if parse == nil {
		return nil, c.fail(final, ErrHostile, fmt.Errorf("unexpected content type %q", cut(format, 100)))
	}
	if resp.ContentLength > c.cfg.MaxPageSize {
		return nil, c.fail(final, ErrHostile, fmt.Errorf("page of %d bytes, more than %d", resp.ContentLength, c.cfg.MaxPageSize))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxPageSize+1))
	if err != nil {
		return nil, c.fail(final, ErrUnavailable, fmt.Errorf("read the page: %w", err))
	}
	if int64(len(body)) > c.cfg.MaxPageSize {
		return nil, c.fail(final, ErrHostile, fmt.Errorf("page larger than %d bytes", c.cfg.MaxPageSize))
	}
	page, err := parse(body, ParseOptions{Project: normalized, PageURL: final, Allowed: c.up.Allowed, Now: c.cfg.Now()})
	if err != nil {
		return nil, c.fail(final, ErrHostile, err)
	}
	page.URL = redact(final)
	page.ETag = validator(resp.Header.Get("ETag"))
	page.LastModified = validator(resp.Header.Get("Last-Modified"))
	return page, nil
}

// pageParser picks the parser of a page by its Content-Type.
func pageParser(contentType string) (func([]byte, ParseOptions) (*Page, error), string) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, contentType
	}
	switch mt {
	case "application/vnd.pypi.simple.v1+json":
		return ParseJSON, mt
	case "application/vnd.pypi.simple.v1+html", "text/html":
		return ParseHTML, mt
	}
	return nil, mt
}

// validator keeps a header value for a conditional fetch if it is short
// and one line.
func validator(v string) string {
	if len(v) > maxValidator || strings.ContainsAny(v, "\r\n") {
		return ""
	}
	return v
}
