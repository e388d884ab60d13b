package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// TestRedirectToKeepsEachQuery checks that a redirect keeps the query of
// its own request only: an earlier request's query must not stick to the
// target.
func TestRedirectToKeepsEachQuery(t *testing.T) {
	h := redirectTo("/search/")
	for _, tc := range []struct{ url, want string }{
		{"/search?q=one", "/search/?q=one"},
		{"/search?q=two", "/search/?q=two"},
		{"/search", "/search/"},
	} {
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodGet, tc.url, nil))
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != tc.want {
			t.Errorf("GET %s: %d to %q, want 301 to %q", tc.url, w.Code, w.Header().Get("Location"), tc.want)
		}
	}
}

// readRoutes lists every route that reads the index or shows it, by its
// pattern as registered, with how readGate treats it under authenticated
// reads and a path that exercises it. A route added without a row here,
// and outside readExemptPrefixes, fails TestEveryReadRouteGated.
func readRoutes() map[string]struct {
	kind readKind
	path string
} {
	type row = struct {
		kind readKind
		path string
	}
	return map[string]row{
		"GET /simple/{$}":                        {readProtocol, "/simple/"},
		"GET /simple":                            {readProtocol, "/simple"}, // no redirect before the decision
		"GET /simple/{project}/{$}":              {readProtocol, "/simple/alpha/"},
		"GET /simple/{project}":                  {readProtocol, "/simple/Alpha"},
		"GET /pypi/{project}/json":               {readProtocol, "/pypi/alpha/json"},
		"GET /pypi/{project}/json/{$}":           {readProtocol, "/pypi/alpha/json/"},
		"GET /pypi/{project}/{version}/json":     {readProtocol, "/pypi/alpha/1.0/json"},
		"GET /pypi/{project}/{version}/json/{$}": {readProtocol, "/pypi/alpha/1.0/json/"},
		"GET /files/{sha256}/{filename}":         {readProtocol, "/files/00/alpha-1.0-py3-none-any.whl"},
		"GET /stats/2fa.json":                    {readProtocol, "/stats/2fa.json"},
		"GET /{$}":                               {readPage, "/"},
		"GET /help/{$}":                          {readPage, "/help/"},
		"GET /project/{project}/{$}":             {readPage, "/project/alpha/"},
		"GET /project/{project}/{version}/{$}":   {readPage, "/project/alpha/1.0/"},
		"GET /project/{project}/report/{$}":      {readPage, "/project/alpha/report/"},
		"POST /project/{project}/report/{$}":     {readPage, "/project/alpha/report/"},
		"GET /project/{project}":                 {readPage, "/project/alpha"},
		"GET /project/{project}/{version}":       {readPage, "/project/alpha/1.0"},
		"GET /user/{username}/{$}":               {readPage, "/user/olive/"},
		"GET /user/{username}":                   {readPage, "/user/olive"},
		"GET /search/{$}":                        {readPage, "/search/?q=alpha"},
		"GET /search":                            {readPage, "/search?q=alpha"},
		"GET /stats/2fa":                         {readPage, "/stats/2fa"},
	}
}

// readExemptPrefixes are the routes readGate lets through, and why.
var readExemptPrefixes = map[string]string{
	"/legacy":   "uploads authenticate with their own token (twine unchanged)",
	"/_/oidc/":  "trusted publishing: a CI's ID token, its own authentication",
	"/healthz":  "operations: probes",
	"/readyz":   "operations: probes",
	"/metrics":  "operations: its own bearer token (--metrics-token)",
	"/static/":  "the sign-in page's style and scripts",
	"/account/": "signing in and what it needs: second factor, password reset, recovery, email verification, registration",
	"/manage/":  "needs a signed-in session already",
	"/api/":     "needs an API token with the management scope, or a session",
	"/admin/":   "hidden from all but signed-in administrators (adminOnly)",
}

// TestEveryReadRouteGated: every route is either a read that readGate
// guards (401 to installers, the sign-in page to people) or exempt for a
// stated reason; and, on an index with authenticated reads, an anonymous
// request of every read route is refused before its handler.
func TestEveryReadRouteGated(t *testing.T) {
	t.Parallel()
	s := newTestServerWith(t, store.SQLite, serverConfig{ReadAccess: index.ReadAuthenticated})
	rows := readRoutes()
	for _, p := range s.srv.patterns {
		_, path, _ := strings.Cut(p, " ")
		row, ok := rows[p]
		if !ok {
			exempt := false
			for prefix, why := range readExemptPrefixes {
				exempt = exempt || (why != "" && strings.HasPrefix(path, prefix))
			}
			if !exempt {
				t.Errorf("route %q is neither in readRoutes nor exempt: add it to readRoutes (readGate must guard it) or to readExemptPrefixes with the reason", p)
			} else if k := readKindOf(strings.NewReplacer("{$}", "", "{", "", "}", "").Replace(path)); k != readExempt {
				t.Errorf("exempt route %q: readKindOf says %d", p, k)
			}
			continue
		}
		delete(rows, p)
		if k := readKindOf(strings.Split(row.path, "?")[0]); k != row.kind {
			t.Errorf("route %q (%s): readKindOf says %d, want %d", p, row.path, k, row.kind)
		}
		method, _, _ := strings.Cut(p, " ")
		req, _ := http.NewRequest(method, s.URL+row.path, nil)
		resp, body := s.do(req)
		switch row.kind {
		case readProtocol:
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("anonymous %s %s: %d %q, want 401 with a Basic challenge\n%s", method, row.path, resp.StatusCode,
					resp.Header.Get("WWW-Authenticate"), body)
			}
		case readPage:
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/?next=") {
				t.Errorf("anonymous %s %s: %d to %q, want 303 to the sign-in page", method, row.path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	for p := range rows {
		t.Errorf("readRoutes lists %q, which is not registered", p)
	}
	// An exempt page answers anonymous as before.
	if resp, body := s.get("/account/login/"); resp.StatusCode != http.StatusOK {
		t.Errorf("sign-in page: %d\n%s", resp.StatusCode, body)
	}
}
