// Package upstream is the network side of cheeseshop's proxy of an
// upstream index (PyPI, or another PEP 503/691 index): it fetches a
// project's simple page and its files from an upstream that it treats as
// hostile, and hands back only what it could check.
//
// An Upstream is one configured simple API root (ParseUpstream). A Client
// fetches from it over one http.Client with bounds on every step (dial,
// TLS, headers, body size, redirects, transfer rate), sends the
// upstream's credentials to its own host only, and forwards nothing of a
// client's request. FetchPage returns a normalized Page parsed from PEP
// 691 JSON (ParseJSON) or PEP 503 HTML (ParseHTML), where every file is a
// distribution of the requested project at an allowed URL with a SHA-256;
// FetchFile and FetchMetadata stream a file into a writer, verifying its
// digest and size. Visible applies a minimum release age; Flight and
// Breaker are the single flight and the per-upstream circuit breaker of
// the proxy above.
//
// Failures are *Error values that match (errors.Is) one of ErrNotFound,
// ErrUnavailable (callers serve what they have cached), ErrHostile or
// ErrMismatch (the upstream sent something refused), or ErrNotModified.
//
// Proxy, above the clients, is the index's proxy (index.Upstream, built
// by internal/app from --upstream): it keeps what the upstreams answered
// in the upstream_projects and upstream_files rows (through the store),
// renders pages with the index's renderer (index.RenderSimpleHTML/JSON,
// so nothing of an upstream's markup is echoed), pins each name to the
// first upstream listing it, applies the administrators' rules, the
// minimum release age and local quarantines, and fetches each file once
// into the blob store, verified. The package serves no HTTP: the web
// layer reaches the proxy through index.Upstream.
package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Upstream is one configured upstream index: the root of its simple API,
// its credentials (sent to its own host only) and the other hosts its
// pages may link files on.
type Upstream struct {
	root      *url.URL // no userinfo; path ends in "/"
	user      *url.Userinfo
	fileHosts []hostPort
}

// hostPort is a host (lower-case, IPv6 without brackets) and a port;
// port "" means the default port of the URL's scheme.
type hostPort struct{ host, port string }

func (h hostPort) String() string {
	if h.port == "" {
		return h.host
	}
	return net.JoinHostPort(h.host, h.port)
}

// impliedFileHosts are the file hosts of well-known upstreams, added to
// their own: PyPI's pages link files on another host.
var impliedFileHosts = map[string]string{
	"pypi.org":      "files.pythonhosted.org",
	"test.pypi.org": "test-files.pythonhosted.org",
}

// ParseUpstream parses the value of --upstream, the URL of a simple API
// root such as "https://pypi.org/simple/", with the extra hosts file URLs
// may use (--upstream-file-host, "host" or "host:port"). The URL must be
// absolute http or https, without query or fragment; a missing final "/"
// is added. Userinfo ("https://user:secret@host/simple/") is kept as the
// upstream's credentials and never shown by String. For pypi.org and
// test.pypi.org the files host of PyPI is added (FileHosts lists it, for a
// log line).
func ParseUpstream(raw string, extraFileHosts ...string) (*Upstream, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", redactRaw(raw), redactErr(err))
	}
	shown := redact(u)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("upstream %s: the URL must be http or https", shown)
	case u.Opaque != "" || u.Host == "":
		return nil, fmt.Errorf("upstream %s: the URL must be absolute (https://host/simple/)", shown)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("upstream %s: the URL must have no query or fragment", shown)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	up := &Upstream{user: u.User}
	u.User = nil
	u.Host = strings.ToLower(u.Host)
	up.root = u
	if implied, ok := impliedFileHosts[u.Hostname()]; ok && u.Port() == "" {
		up.fileHosts = append(up.fileHosts, hostPort{host: implied})
	}
	for _, h := range extraFileHosts {
		hp, err := parseHostPort(h)
		if err != nil {
			return nil, fmt.Errorf("upstream file host %q: %w", h, err)
		}
		if !slices.Contains(up.fileHosts, hp) {
			up.fileHosts = append(up.fileHosts, hp)
		}
	}
	return up, nil
}

// parseHostPort parses "host" or "host:port" (an IPv6 address in
// brackets).
func parseHostPort(s string) (hostPort, error) {
	u, err := url.Parse("http://" + s)
	if err != nil || u.Host != s || u.Hostname() == "" || u.User != nil || u.Path != "" {
		return hostPort{}, errors.New("want host or host:port")
	}
	return hostPort{host: strings.ToLower(u.Hostname()), port: u.Port()}, nil
}

// String returns the root URL without credentials, for logs, pages and
// the pinned upstream of a project.
func (u *Upstream) String() string { return u.root.String() }

// Root returns a copy of the root URL, without credentials.
func (u *Upstream) Root() *url.URL {
	r := *u.root
	return &r
}

// FileHosts returns the hosts other than the upstream's own that its
// file URLs may use, as "host" or "host:port".
func (u *Upstream) FileHosts() []string {
	hosts := make([]string, len(u.fileHosts))
	for i, h := range u.fileHosts {
		hosts[i] = h.String()
	}
	return hosts
}

// HasCredentials reports whether the upstream's URL carried userinfo.
func (u *Upstream) HasCredentials() bool { return u.user != nil }

// ProjectURL returns the URL of a project's page: the root joined with the
// normalized name and a final "/".
func (u *Upstream) ProjectURL(normalized string) *url.URL {
	return u.root.JoinPath(normalized, "/")
}

// Allowed reports whether the upstream's pages may send us to target: its
// scheme is https, or http when the upstream itself is http; it has no
// userinfo; its host and port are the upstream's or those of one of its
// file hosts (a file host without a port takes the scheme's default).
// Everything fetched, redirects included, passes it.
func (u *Upstream) Allowed(target *url.URL) bool {
	if target == nil || target.User != nil || target.Opaque != "" || target.Host == "" {
		return false
	}
	switch target.Scheme {
	case "https":
	case "http":
		if u.root.Scheme != "http" {
			return false
		}
	default:
		return false
	}
	host, port := strings.ToLower(target.Hostname()), effectivePort(target)
	if port == "" || strings.ContainsAny(host, "%@/\\ ") {
		return false
	}
	if host == u.root.Hostname() && port == effectivePort(u.root) {
		return true
	}
	for _, h := range u.fileHosts {
		want := h.port
		if want == "" {
			want = defaultPort(target.Scheme)
		}
		if host == h.host && port == want {
			return true
		}
	}
	return false
}

// ownHost reports whether target is on the upstream's own scheme, host and
// port: the only place its credentials go.
func (u *Upstream) ownHost(target *url.URL) bool {
	return target.Scheme == u.root.Scheme && strings.EqualFold(target.Hostname(), u.root.Hostname()) &&
		effectivePort(target) == effectivePort(u.root)
}

// effectivePort returns the URL's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

func defaultPort(scheme string) string {
	switch scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// redact returns u as a string with any password replaced.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("xxxxx")
	return c.String()
}

// redactRaw hides what may be userinfo in a URL that does not parse.
func redactRaw(raw string) string {
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx" + raw[i:]
		}
		return "xxxxx" + raw[i:]
	}
	return raw
}

// redactErr drops the text of a url.Error, which repeats the raw URL.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
