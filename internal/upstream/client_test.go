package upstream_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/upstream"
)

// server is an httptest upstream whose handler a test sets, counting
// and keeping the requests it gets.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	handler  http.HandlerFunc
	requests []*http.Request
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{handler: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Clone(context.Background()))
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *server) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

// host is the server's host:port.
func (s *server) host() string { return strings.TrimPrefix(s.URL, "http://") }

// newClient returns a client of an upstream rooted at root + "/simple/".
func newClient(t *testing.T, root string, cfg upstream.Config, fileHosts ...string) *upstream.Client {
	t.Helper()
	up, err := upstream.ParseUpstream(root+"/simple/", fileHosts...)
	if err != nil {
		t.Fatal(err)
	}
	c := upstream.NewClient(up, cfg)
	t.Cleanup(c.Close)
	return c
}

// jsonPageOf is a PEP 691 page of holygrail with one file at fileURL.
func jsonPageOf(fileURL string) string {
	return `{"meta":{"api-version":"1.1"},"name":"HolyGrail","files":[{"filename":"holygrail-1.0.tar.gz","url":"` + fileURL +
		`","hashes":{"sha256":"` + digest("a") + `"},"size":1,"upload-time":"2025-01-01T00:00:00Z"}]}`
}

func serveJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, body)
	}
}

func TestFetchPage(t *testing.T) {
	s := newServer(t, serveJSON(jsonPageOf("../../packages/holygrail-1.0.tar.gz")))
	c := newClient(t, s.URL, upstream.Config{UserAgent: "cheeseshop/test (+https://index.example)"})
	ctx := context.Background()
	page, err := c.FetchPage(ctx, "holygrail", upstream.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Name != "HolyGrail" || page.Format != "json" || page.ETag != `"v1"` || page.URL != s.URL+"/simple/holygrail/" ||
		len(page.Files) != 1 || page.Files[0].URL != s.URL+"/packages/holygrail-1.0.tar.gz" {
		t.Fatalf("page %+v", page)
	}
	r := s.last()
	if r.URL.Path != "/simple/holygrail/" || !strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") ||
		r.Header.Get("User-Agent") != "cheeseshop/test (+https://index.example)" {
		t.Errorf("request %s %v", r.URL, r.Header)
	}
	// Nothing but these goes to the upstream: no credentials (it has none),
	// no cookies, no forwarding headers.
	for k := range r.Header {
		switch k {
		case "Accept", "User-Agent", "Accept-Encoding":
		default:
			t.Errorf("header %s sent", k)
		}
	}
	_, err = c.FetchPage(ctx, "holygrail", upstream.Validators{ETag: page.ETag})
	if !errors.Is(err, upstream.ErrNotModified) || s.last().Header.Get("If-None-Match") != `"v1"` {
		t.Fatalf("conditional fetch: %v", err)
	}
}

func TestFetchPageHTML(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Last-Modified", "Mon, 01 Dec 2025 00:00:00 GMT")
		fmt.Fprintf(w, `<a href="/packages/holygrail-1.0.tar.gz#sha256=%s" data-requires-python="&gt;=3.8">holygrail-1.0.tar.gz</a>`, digest("a"))
	})
	c := newClient(t, s.URL, upstream.Config{})
	page, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Format != "html" || page.LastModified != "Mon, 01 Dec 2025 00:00:00 GMT" || len(page.Files) != 1 || page.Files[0].RequiresPython != ">=3.8" {
		t.Fatalf("page %+v", page)
	}
	_, err = c.FetchPage(context.Background(), "holygrail", upstream.Validators{LastModified: page.LastModified})
	if err != nil || s.last().Header.Get("If-Modified-Since") != page.LastModified {
		t.Fatalf("conditional fetch: %v, %v", err, s.last().Header)
	}
}

// TestFetchPageErrors: each answer falls in its class.
func TestFetchPageErrors(t *testing.T) {
	gzipped := func(body []byte) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		return b.Bytes()
	}
	bomb := gzipped(bytes.Repeat([]byte(" "), 1<<20))
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, upstream.ErrNotFound},
		{"410", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }, upstream.ErrNotFound},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, upstream.ErrUnavailable},
		{"503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, upstream.ErrUnavailable},
		{"429", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, upstream.ErrUnavailable},
		{"401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, upstream.ErrUnavailable},
		{"unconditional 304", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) }, upstream.ErrHostile},
		{"204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }, upstream.ErrHostile},
		{"another content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprint(w, jsonPageOf("/x"))
		}, upstream.ErrHostile},
		{"another project", serveJSON(`{"meta":{"api-version":"1.0"},"name":"acme-private","files":[]}`), upstream.ErrHostile},
		{"not JSON", serveJSON(`<html>`), upstream.ErrHostile},
		{"announced too big", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			w.Header().Set("Content-Length", "100000")
			w.Write(make([]byte, 100000))
		}, upstream.ErrHostile},
		{"too big, chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			for range 100 {
				w.Write(make([]byte, 1000))
				w.(http.Flusher).Flush()
			}
		}, upstream.ErrHostile},
		{"gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				t.Error("no gzip accepted")
			}
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}, upstream.ErrHostile},
		{"headers too big", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("x", upstream.MaxHeaderBytes))
			serveJSON(jsonPageOf("/x"))(w, r)
		}, upstream.ErrUnavailable},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			w.Header().Set("Content-Length", "100")
			w.Write([]byte(`{"meta":`))
		}, upstream.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.handler)
			c := newClient(t, s.URL, upstream.Config{MaxPageSize: 64 << 10})
			_, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if e, ok := errors.AsType[*upstream.Error](err); !ok || e.Upstream != s.URL+"/simple/" {
				t.Fatalf("err = %#v", err)
			}
		})
	}
	t.Run("gzip within bounds", func(t *testing.T) {
		body := gzipped([]byte(jsonPageOf("/packages/holygrail-1.0.tar.gz")))
		s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(body)
		})
		c := newClient(t, s.URL, upstream.Config{MaxPageSize: 64 << 10})
		if page, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{}); err != nil || len(page.Files) != 1 {
			t.Fatalf("page %+v, %v", page, err)
		}
	})
	t.Run("not a normalized name", func(t *testing.T) {
		s := newServer(t, serveJSON(jsonPageOf("/x")))
		c := newClient(t, s.URL, upstream.Config{})
		for _, name := range []string{"../admin", "HolyGrail", "holy_grail", "", "a/b", "%2e%2e"} {
			if _, err := c.FetchPage(context.Background(), name, upstream.Validators{}); !errors.Is(err, upstream.ErrNotFound) {
				t.Errorf("%q: %v", name, err)
			}
		}
		if s.count() != 0 {
			t.Errorf("%d requests", s.count())
		}
	})
}

// TestFetchPageTimeouts: an upstream that never sends its headers, or
// stalls in its body, fails within the configured time.
func TestFetchPageTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(release chan struct{}) http.HandlerFunc
	}{
		{"headers never come", func(release chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { <-release }
		}},
		{"body stalls", func(release chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
				w.Write([]byte(`{"meta":`))
				w.(http.Flusher).Flush()
				<-release
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			s := newServer(t, tc.handler(release))
			t.Cleanup(func() { close(release) }) // before the server closes
			c := newClient(t, s.URL, upstream.Config{HeaderTimeout: 100 * time.Millisecond, PageTimeout: 300 * time.Millisecond})
			start := time.Now()
			_, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{})
			if !errors.Is(err, upstream.ErrUnavailable) {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

// TestBreaker: after an unavailable upstream, FetchPage fails fast for
// the cooldown, then asks again; a hostile answer does not open it.
func TestBreaker(t *testing.T) {
	var status atomic.Int32
	status.Store(503)
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if code := int(status.Load()); code != 200 {
			w.WriteHeader(code)
			return
		}
		serveJSON(jsonPageOf("/p/holygrail-1.0.tar.gz"))(w, r)
	})
	clock := clocktest.New(now)
	c := newClient(t, s.URL, upstream.Config{Now: clock.Now, BreakerCooldown: 30 * time.Second})
	ctx := context.Background()
	if _, err := c.FetchPage(ctx, "holygrail", upstream.Validators{}); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatal(err)
	}
	status.Store(200)
	clock.Add(29 * time.Second)
	if _, err := c.FetchPage(ctx, "holygrail", upstream.Validators{}); !errors.Is(err, upstream.ErrUnavailable) || s.count() != 1 {
		t.Fatalf("breaker closed: %v, %d requests", err, s.count())
	}
	if c.Breaker().OpenUntil().IsZero() {
		t.Error("OpenUntil zero while open")
	}
	clock.Add(time.Second)
	if _, err := c.FetchPage(ctx, "holygrail", upstream.Validators{}); err != nil || s.count() != 2 {
		t.Fatalf("after the cooldown: %v, %d requests", err, s.count())
	}
	status.Store(400)
	for range 2 {
		if _, err := c.FetchPage(ctx, "holygrail", upstream.Validators{}); !errors.Is(err, upstream.ErrHostile) {
			t.Fatal(err)
		}
	}
	if s.count() != 4 {
		t.Fatalf("a hostile answer opened the breaker: %d requests", s.count())
	}
	// A caller that gives up does not open it.
	status.Store(200)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	c.FetchPage(cctx, "holygrail", upstream.Validators{})
	if !c.Breaker().OpenUntil().IsZero() {
		t.Fatal("a cancelled caller opened the breaker")
	}
}

// namedPage serves an empty page of the project named in the path.
func namedPage(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
	serveJSON(`{"meta":{"api-version":"1.0"},"name":"`+name+`","files":[]}`)(w, r)
}

// TestRedirects: redirects are followed only to allowed URLs, at most
// MaxRedirects times; the upstream's credentials go to its own host
// only, never to a file host nor after a hop through one; nothing of the
// redirecting request (Referer) is passed on.
func TestRedirects(t *testing.T) {
	evil := newServer(t, namedPage)
	var files *server
	var s *server
	files = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/simple/back/" {
			http.Redirect(w, r, s.URL+"/simple/back/?again=1", http.StatusFound)
			return
		}
		namedPage(w, r)
	})
	var hops atomic.Int32
	s = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/evil/":
			http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusFound)
		case "/simple/userinfo/":
			http.Redirect(w, r, "http://u:p@"+files.host()+r.URL.Path, http.StatusFound)
		case "/simple/other-port/":
			http.Redirect(w, r, "http://127.0.0.1:1"+r.URL.Path, http.StatusFound)
		case "/simple/scheme/":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/simple/loop/":
			hops.Add(1)
			http.Redirect(w, r, r.URL.Path+"?n="+fmt.Sprint(hops.Load()), http.StatusFound)
		case "/simple/own/":
			if r.URL.Query().Get("again") == "" {
				http.Redirect(w, r, r.URL.Path+"?again=1", http.StatusFound)
				return
			}
			namedPage(w, r)
		case "/simple/files/", "/simple/back/":
			if r.URL.Query().Get("again") == "" {
				http.Redirect(w, r, files.URL+r.URL.Path, http.StatusMovedPermanently)
				return
			}
			namedPage(w, r)
		}
	})
	up, err := upstream.ParseUpstream("http://__token__:s3cret@"+s.host()+"/simple/", files.host())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	c := upstream.NewClient(up, upstream.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(c.Close)
	for _, tc := range []struct {
		project  string
		want     error
		auth     *server // whose last request is checked
		wantAuth bool
	}{
		{"evil", upstream.ErrHostile, nil, false},
		{"userinfo", upstream.ErrHostile, nil, false},
		{"other-port", upstream.ErrHostile, nil, false},
		{"scheme", upstream.ErrHostile, nil, false},
		{"loop", upstream.ErrHostile, nil, false},
		{"own", nil, s, true},
		{"files", nil, files, false},
		{"back", nil, s, false},
	} {
		t.Run(tc.project, func(t *testing.T) {
			_, err := c.FetchPage(context.Background(), tc.project, upstream.Validators{})
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) && tc.want != nil {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("credentials in %v", err)
			}
			if tc.auth == nil {
				return
			}
			r := tc.auth.last()
			user, password, ok := r.BasicAuth()
			if got := ok && user == "__token__" && password == "s3cret"; got != tc.wantAuth {
				t.Errorf("%s: credentials sent %v (%q), want %v", r.URL, got, r.Header.Get("Authorization"), tc.wantAuth)
			}
			if r.Header.Get("Referer") != "" || r.Header.Get("Cookie") != "" {
				t.Errorf("%s: headers %v", r.URL, r.Header)
			}
		})
	}
	if evil.count() != 0 {
		t.Errorf("the evil host got %d requests", evil.count())
	}
	if n := hops.Load(); n != upstream.MaxRedirects+1 {
		t.Errorf("%d hops of the loop, want %d", n, upstream.MaxRedirects+1)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("credentials logged: %s", logs.String())
	}
}

// TestProxySetting: the environment's proxy is not used unless the
// configuration says so.
func TestProxySetting(t *testing.T) {
	proxy := newServer(t, namedPage) // answers the absolute-form requests a proxy gets
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	c := newClient(t, "http://upstream.invalid", upstream.Config{})
	if _, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{}); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("direct: %v", err)
	}
	if proxy.count() != 0 {
		t.Fatalf("the environment's proxy got %d requests", proxy.count())
	}
	// A proxy given in the configuration is used. (Not ProxyFromEnvironment:
	// it reads the environment once per process, so that a second run of
	// this test, -count=2, would get the first run's closed proxy.)
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	c = newClient(t, "http://upstream.invalid", upstream.Config{Proxy: http.ProxyURL(proxyURL)})
	if _, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{}); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if proxy.count() != 1 || proxy.last().Host != "upstream.invalid" {
		t.Fatalf("the proxy got %d requests", proxy.count())
	}
}

// TestTLS fetches a page and a file over HTTPS with HTTP/2, the file from
// a file host that gets no credentials.
func TestTLS(t *testing.T) {
	var files *httptest.Server
	var protos sync.Map
	files = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store("file", r.Proto)
		if r.Header.Get("Authorization") != "" {
			t.Error("credentials sent to the file host")
		}
		w.Write([]byte("a"))
	}))
	files.EnableHTTP2 = true
	files.StartTLS()
	t.Cleanup(files.Close)
	page := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store("page", r.Proto)
		if _, password, _ := r.BasicAuth(); password != "s3cret" {
			t.Error("no credentials sent to the upstream")
		}
		serveJSON(jsonPageOf(files.URL+"/packages/holygrail-1.0.tar.gz"))(w, r)
	}))
	page.EnableHTTP2 = true
	page.StartTLS()
	t.Cleanup(page.Close)
	up, err := upstream.ParseUpstream("https://__token__:s3cret@"+strings.TrimPrefix(page.URL, "https://")+"/simple/",
		strings.TrimPrefix(files.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	// Both test servers share one certificate authority.
	c := upstream.NewClient(up, upstream.Config{TLSConfig: page.Client().Transport.(*http.Transport).TLSClientConfig})
	t.Cleanup(c.Close)
	p, err := c.FetchPage(context.Background(), "holygrail", upstream.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	var dst bytes.Buffer
	if _, err := c.FetchFile(context.Background(), p.Files[0], &dst); err != nil || dst.String() != "a" {
		t.Fatalf("FetchFile: %v", err)
	}
	for _, k := range []string{"page", "file"} {
		if proto, _ := protos.Load(k); proto != "HTTP/2.0" {
			t.Errorf("%s fetched over %v", k, proto)
		}
	}
}
