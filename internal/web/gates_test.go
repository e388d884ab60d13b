package web

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// wildcard matches a path wildcard of a route pattern.
var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// routePath makes a request path of a route pattern's path, with values
// for its wildcards (vals by name; anything else "1").
func routePath(path string, vals map[string]string) string {
	return wildcard.ReplaceAllStringFunc(path, func(w string) string {
		name := strings.Trim(w, "{}.")
		if name == "$" {
			return ""
		}
		if v, ok := vals[name]; ok {
			return v
		}
		return "1"
	})
}

// answer is what a client can tell of a response.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

func answerOf(t *testing.T, client *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h := resp.Header.Clone()
	h.Del("Date")
	return answer{resp.StatusCode, h, string(b)}
}

// TestAdminRoutesHiddenFromStrangers asks every administrators' route,
// with every method, as people who are not administrators — visitors,
// cross-site forms, a signed-in user with and without the form token —
// and wants exactly the answer of a path under /admin/ that does not
// exist: no 403 of a form-token or cross-origin check, no 405, no
// redirect tells that a route is there.
func TestAdminRoutesHiddenFromStrangers(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		const pw = "a long enough password"
		s.userWithPassword("mallory", pw)
		user := s.browser(t)
		user.login("mallory", pw)
		user.get("/manage/account/") // for its form token
		if user.csrf == "" {
			t.Fatal("no form token on the account page")
		}

		var paths []string
		for _, p := range s.srv.patterns {
			_, path, _ := strings.Cut(p, " ")
			if isAdminPath(path) {
				full := routePath(path, nil)
				paths = append(paths, full, strings.TrimSuffix(full, "/"), full+"x/")
			}
		}
		if len(paths) < 4*3 {
			t.Fatalf("admin routes: %v", paths)
		}
		paths = append(paths, "/admin", "/admin/")
		slices.Sort(paths)
		paths = slices.Compact(paths)

		type visitor struct {
			name   string
			client *http.Client
			set    func(*http.Request)
		}
		anon := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		visitors := []visitor{
			{"visitor", anon, func(*http.Request) {}},
			{"cross-site form", anon, func(r *http.Request) {
				r.Header.Set("Origin", "https://evil.example")
				r.Header.Set("Sec-Fetch-Site", "cross-site")
			}},
			{"user without form token", user.client, func(r *http.Request) {
				r.Header.Set("Origin", s.URL)
				r.Header.Set("Sec-Fetch-Site", "same-origin")
			}},
			{"user with form token", user.client, func(r *http.Request) {
				r.Header.Set("Origin", s.URL)
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				r.Header.Set(headerToken, user.csrf)
			}},
		}
		methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
		ask := func(v visitor, method, path string) answer {
			var body io.Reader
			if method != "GET" && method != "HEAD" {
				body = strings.NewReader(url.Values{"csrf_token": {user.csrf}, "note": {"x"}}.Encode())
			}
			req, _ := http.NewRequest(method, s.URL+path, body)
			if body != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			v.set(req)
			return answerOf(t, v.client, req)
		}
		// An unknown path answers 404, under /admin/ as elsewhere.
		want := map[string]answer{}
		for _, m := range methods {
			want[m] = ask(visitors[0], m, "/admin/no-such-page/")
			if want[m].Status != http.StatusNotFound {
				t.Fatalf("%s of an unknown admin path: %d", m, want[m].Status)
			}
		}
		if other := ask(visitors[0], "GET", "/no-such-page/"); !equalAnswers(other, want["GET"]) {
			t.Errorf("an unknown path under /admin/ answers %+v, elsewhere %+v", want["GET"], other)
		}
		for _, v := range visitors {
			for _, path := range paths {
				for _, m := range methods {
					if got := ask(v, m, path); !equalAnswers(got, want[m]) {
						t.Errorf("%s: %s %s answered %d %v %q, want as an unknown path: %d %v %q",
							v.name, m, path, got.Status, got.Header, got.Body, want[m].Status, want[m].Header, want[m].Body)
					}
				}
			}
		}
	})
}

func equalAnswers(a, b answer) bool {
	if a.Status != b.Status || a.Body != b.Body || len(a.Header) != len(b.Header) {
		return false
	}
	for k, v := range a.Header {
		if !slices.Equal(v, b.Header[k]) {
			return false
		}
	}
	return true
}

// syncBuffer is a log sink for a server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMetricsOnPrivateIndex: with authenticated reads and no metrics
// token, /metrics on the index's address wants a reader's API token (one
// that reads every project); with public reads it stays public.
func TestMetricsOnPrivateIndex(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, s *testServer, user, pass string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	t.Run("authenticated", func(t *testing.T) {
		t.Parallel()
		p := newPrivateIndex(t, store.SQLite, index.ReadAuthenticated)
		read, _ := p.readToken(p.owner, time.Time{})
		scoped, _ := p.readToken(p.owner, time.Time{}, "alpha")
		for _, c := range []struct{ name, user, pass string }{
			{"anonymous", "", ""},
			{"a wrong token", "__token__", "pypi-wrong"},
			{"a password", "olive", "correct horse battery"},
			{"a scoped token", "__token__", scoped},
		} {
			code, body, h := get(t, p.testServer, c.user, c.pass)
			if code != http.StatusUnauthorized || strings.Contains(body, "cheeseshop_") || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %d, Cache-Control %q, %.120s; want a 401 without figures", c.name, code, h.Get("Cache-Control"), body)
			}
		}
		for _, tok := range []string{read, p.uploadToken} {
			code, body, h := get(t, p.testServer, "__token__", tok)
			if code != http.StatusOK || !strings.Contains(body, "cheeseshop_users") || h.Get("Cache-Control") != "no-store" {
				t.Errorf("a reader's token: %d, Cache-Control %q, %.120s", code, h.Get("Cache-Control"), body)
			}
		}
	})
	t.Run("public", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, store.SQLite)
		if code, body, _ := get(t, s, "", ""); code != http.StatusOK || !strings.Contains(body, "cheeseshop_users") {
			t.Errorf("public index, anonymous: %d %.120s", code, body)
		}
	})
}

// TestMetricsToken: with --metrics-token, /metrics wants it as a bearer
// token; with --metrics-addr it is served only on its own listener.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "metrics-token-0123456789"
	metrics := func(t *testing.T, base, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: Bearer")
		}
		return resp.StatusCode, string(b)
	}
	check := func(t *testing.T, base string) {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + token[:len(token)-1], "Bearer " + token + "x", "Basic " + token, token} {
			if code, body := metrics(t, base, auth); code != http.StatusUnauthorized || strings.Contains(body, "cheeseshop_") {
				t.Errorf("/metrics with Authorization %q: %d, want 401", auth, code)
			}
		}
		for _, auth := range []string{"Bearer " + token, "bearer " + token} {
			if code, body := metrics(t, base, auth); code != http.StatusOK || !strings.Contains(body, "cheeseshop_http_requests_total") {
				t.Errorf("/metrics with the token: %d %.200s", code, body)
			}
		}
	}
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		s := newTestServerWith(t, store.SQLite, serverConfig{Options: func(o *Options) { o.MetricsToken = token }})
		check(t, s.URL)
		if code, _ := s.getText("/stats/2fa.json"); code != http.StatusOK {
			t.Errorf("the public figures: %d", code)
		}
	})
	t.Run("own address", func(t *testing.T) {
		t.Parallel()
		s := newTestServerWith(t, store.SQLite, serverConfig{Options: func(o *Options) { o.MetricsToken, o.MetricsElsewhere = token, true }})
		if code, body := metrics(t, s.URL, "Bearer "+token); code != http.StatusNotFound {
			t.Errorf("/metrics on the main address: %d %.100s, want 404", code, body)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		storetest.Must(t, err)
		ms := NewHTTPServer(s.srv.MetricsHandler(), DefaultLimits())
		go ms.Serve(ln)
		t.Cleanup(func() { ms.Close() })
		base := "http://" + ln.Addr().String()
		check(t, base)
		resp, err := http.Get(base + "/simple/")
		storetest.Must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("the metrics address serves /simple/: %d", resp.StatusCode)
		}
	})
}

// TestStaticNoListing: /static/ serves its files, never a listing of them.
func TestStaticNoListing(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	if code, body := s.getText("/static/style.css"); code != http.StatusOK || body == "" {
		t.Errorf("/static/style.css: %d", code)
	}
	// The other spellings of the folder are sent to /static/ first.
	for _, path := range []string{"/static/", "/static/./", "/static//"} {
		code, body := s.getText(path)
		if (code != http.StatusNotFound && code != http.StatusTemporaryRedirect) || strings.Contains(body, "style.css") {
			t.Errorf("%s: %d %.100s; want a 404 (or a redirect to /static/) that lists nothing", path, code, body)
		}
	}
}
