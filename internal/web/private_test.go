package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// readToken creates a read-only token for u (scoped to the given
// projects, if any; expiring at expires unless zero), directly in the
// database, and returns its secret and row.
func (s *testServer) readToken(u *store.User, expires time.Time, projects ...string) (string, *store.Token) {
	s.t.Helper()
	ctx := context.Background()
	secret, hash := auth.NewToken()
	t := &store.Token{UserID: u.ID, Name: "read", Prefix: auth.DisplayPrefix(secret), Hash: hash, Scoped: len(projects) > 0,
		ReadOnly: true, ExpiresAt: expires, CreatedAt: time.Now()}
	for _, p := range projects {
		proj, err := s.st.ProjectByName(ctx, p)
		if err != nil {
			s.t.Fatal(err)
		}
		t.ProjectIDs = append(t.ProjectIDs, proj.ID)
	}
	if err := s.st.CreateToken(ctx, t); err != nil {
		s.t.Fatal(err)
	}
	return secret, t
}

// privateIndex is an index with authenticated reads (or not) holding two
// projects of one owner, alpha and beta.
type privateIndex struct {
	*testServer
	owner       *store.User
	uploadToken string
	alpha, beta disttest.Dist
}

func newPrivateIndex(t *testing.T, d store.Dialect, mode index.ReadAccess) *privateIndex {
	s := newTestServerWith(t, d, serverConfig{ReadAccess: mode, RegistrationClosed: mode == index.ReadAuthenticated})
	p := &privateIndex{testServer: s, alpha: disttest.Dist{Name: "alpha", Version: "1.0"}, beta: disttest.Dist{Name: "beta", Version: "1.0"}}
	p.owner = s.userWithPassword("olive", "correct horse battery")
	p.uploadToken = s.token(p.owner)
	s.uploadDist(p.uploadToken, p.alpha, false)
	s.uploadDist(p.uploadToken, p.beta, false)
	return p
}

// readRoute is one read of TestPrivateReads.
type readRoute struct {
	name, method, path string
	accept             string
	page               bool   // a page of the web UI (else the PyPI protocol)
	project            string // "alpha", "beta", or "" for the project list (or a page about no project)
}

func privateRoutes() []readRoute {
	a, b := disttest.Dist{Name: "alpha", Version: "1.0"}, disttest.Dist{Name: "beta", Version: "1.0"}
	return []readRoute{
		{name: "root html", method: "GET", path: "/simple/"},
		{name: "root json", method: "GET", path: "/simple/", accept: mediaJSON},
		{name: "root gzip", method: "GET", path: "/simple/", accept: "gzip"},
		{name: "simple alpha", method: "GET", path: "/simple/alpha/", project: "alpha"},
		{name: "simple alpha json", method: "GET", path: "/simple/alpha/", accept: mediaJSON, project: "alpha"},
		{name: "simple alpha head", method: "HEAD", path: "/simple/alpha/", project: "alpha"},
		{name: "simple beta", method: "GET", path: "/simple/beta/", project: "beta"},
		{name: "json alpha", method: "GET", path: "/pypi/alpha/json", project: "alpha"},
		{name: "json alpha release", method: "GET", path: "/pypi/alpha/1.0/json", project: "alpha"},
		{name: "json beta", method: "GET", path: "/pypi/beta/json", project: "beta"},
		{name: "file alpha", method: "GET", path: fileURL(a), project: "alpha"},
		{name: "metadata alpha", method: "GET", path: fileURL(a) + ".metadata", project: "alpha"},
		{name: "file beta", method: "GET", path: fileURL(b), project: "beta"},
		{name: "home", method: "GET", path: "/", page: true},
		{name: "project page", method: "GET", path: "/project/alpha/", page: true, project: "alpha"},
		{name: "search", method: "GET", path: "/search/?q=alpha", page: true},
		{name: "help", method: "GET", path: "/help/", page: true},
	}
}

// privateReader is one reader of TestPrivateReads and what it may read:
// "all", "alpha" (a scope), "login" (nobody: 401 or the sign-in page) or
// "refused" (wrong credentials: 401 everywhere).
type privateReader struct {
	name   string
	may    string
	header string // Authorization
	client *http.Client
}

// TestPrivateReads is the gate table of an index with authenticated
// reads: every reader (anonymous, a session, upload and read-only tokens,
// scoped or not, and wrong credentials of every kind) on every kind of
// read, in both orders (a reader who may read warms the caches before one
// who may not, and the reverse): the status, whether the answer lists or
// shows the other project, and the caching headers, which never let a
// shared cache keep an answer.
func TestPrivateReads(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newPrivateIndex(t, d, index.ReadAuthenticated)
		ctx := context.Background()
		basic := func(user, pass string) string {
			req, _ := http.NewRequest("GET", "/", nil)
			req.SetBasicAuth(user, pass)
			return req.Header.Get("Authorization")
		}
		tok := func(secret string) string { return basic("__token__", secret) }

		b := s.browser(t)
		b.login("olive", "correct horse battery")
		readAll, _ := s.readToken(s.owner, time.Time{})
		readAlpha, _ := s.readToken(s.owner, time.Time{}, "alpha")
		expired, _ := s.readToken(s.owner, time.Now().Add(-time.Minute))
		revoked, revokedRow := s.readToken(s.owner, time.Time{})
		if err := s.idx.RevokeToken(ctx, &index.Principal{User: s.owner}, audit.Meta{}, revokedRow.ID); err != nil {
			t.Fatal(err)
		}
		dan, danToken := s.user("dan")
		if _, err := s.acct.SetDisabled(ctx, nil, dan.Username, true, audit.Meta{}); err != nil {
			t.Fatal(err)
		}
		readers := []privateReader{
			{name: "anonymous", may: "login"},
			{name: "session", may: "all", client: b.client},
			{name: "upload token", may: "all", header: tok(s.uploadToken)},
			{name: "upload token scoped", may: "alpha", header: tok(s.token(s.owner, "alpha"))},
			{name: "read token", may: "all", header: tok(readAll)},
			{name: "read token scoped", may: "alpha", header: tok(readAlpha)},
			{name: "bearer read token", may: "all", header: "Bearer " + readAll},
			{name: "expired token", may: "refused", header: tok(expired)},
			{name: "revoked token", may: "refused", header: tok(revoked)},
			{name: "disabled user's token", may: "refused", header: tok(danToken)},
			{name: "unknown token", may: "refused", header: tok("pypi-not-a-token")},
			{name: "password", may: "refused", header: basic("olive", "correct horse battery")},
		}
		check := func(t *testing.T, rd privateReader, rt readRoute) {
			t.Helper()
			req, _ := http.NewRequest(rt.method, s.URL+rt.path, nil)
			switch rt.accept {
			case "":
			case "gzip":
				req.Header.Set("Accept-Encoding", "gzip")
			default:
				req.Header.Set("Accept", rt.accept)
			}
			if rd.header != "" {
				req.Header.Set("Authorization", rd.header)
			}
			client := s.client
			if rd.client != nil {
				client = rd.client
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)
			want := http.StatusOK
			switch {
			case rd.may == "refused", rd.may == "login" && !rt.page:
				want = http.StatusUnauthorized
			case rd.may == "login":
				want = http.StatusSeeOther
			case rd.may == "alpha" && rt.page:
				want = http.StatusNotFound // a scope is read through the PyPI API only
			case rd.may == "alpha" && rt.project == "beta":
				want = http.StatusNotFound
			}
			if resp.StatusCode != want {
				t.Fatalf("%s %s as %s: %d, want %d\n%s", rt.method, rt.path, rd.name, resp.StatusCode, want, body)
			}
			h := resp.Header
			cc := h.Get("Cache-Control")
			if strings.Contains(cc, "public") || strings.Contains(cc, "s-maxage") {
				t.Errorf("%s %s as %s: Cache-Control %q is shareable", rt.method, rt.path, rd.name, cc)
			}
			switch want {
			case http.StatusUnauthorized:
				if got := h.Get("WWW-Authenticate"); got != `Basic realm="127.0.0.1", charset="UTF-8"` {
					t.Errorf("%s as %s: WWW-Authenticate %q", rt.path, rd.name, got)
				}
				if cc != "no-store" {
					t.Errorf("%s as %s: 401 with Cache-Control %q", rt.path, rd.name, cc)
				}
				if rt.method != "HEAD" && !strings.Contains(body, "__token__") || strings.Contains(body, "alpha-1.0") {
					t.Errorf("%s as %s: 401 body %q", rt.path, rd.name, body)
				}
			case http.StatusSeeOther:
				if loc := h.Get("Location"); !strings.HasPrefix(loc, "/account/login/?next=") {
					t.Errorf("%s as %s: redirected to %q", rt.path, rd.name, loc)
				}
			case http.StatusNotFound:
				if cc != "no-store" {
					t.Errorf("%s as %s: 404 with Cache-Control %q", rt.path, rd.name, cc)
				}
				if strings.Contains(body, "beta-1.0") || strings.Contains(body, "beta_1.0") {
					t.Errorf("%s as %s: 404 tells of beta's files: %q", rt.path, rd.name, body)
				}
			case http.StatusOK:
				if rt.page {
					break
				}
				if !strings.HasPrefix(cc, "private") {
					t.Errorf("%s as %s: Cache-Control %q, want private", rt.path, rd.name, cc)
				}
				if vary := h.Get("Vary"); !strings.Contains(vary, "Authorization") || !strings.Contains(vary, "Cookie") {
					t.Errorf("%s as %s: Vary %q", rt.path, rd.name, vary)
				}
				if h.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("%s as %s: CORS on a private answer", rt.path, rd.name)
				}
				if rt.project == "" && rt.accept != "gzip" {
					if !strings.Contains(body, "alpha") || strings.Contains(body, "beta") != (rd.may == "all") {
						t.Errorf("%s as %s (may read %s): project list %q", rt.path, rd.name, rd.may, body)
					}
				}
			}
		}
		for _, order := range []string{"allowed first", "refused first"} {
			rs := slices.Clone(readers)
			if order == "refused first" {
				slices.Reverse(rs)
			}
			for _, rt := range privateRoutes() {
				for _, rd := range rs {
					check(t, rd, rt)
				}
			}
		}

		// Validators never answer before the decision: the ETag of a
		// page read by its reader gets nothing out of the others.
		req, _ := http.NewRequest("GET", s.URL+"/simple/beta/", nil)
		req.Header.Set("Authorization", tok(readAll))
		resp, body := s.do(req)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || etag == "" {
			t.Fatalf("beta as read token: %d %q %s", resp.StatusCode, etag, body)
		}
		for _, h := range []string{"", tok(readAlpha)} {
			req, _ := http.NewRequest("GET", s.URL+"/simple/beta/", nil)
			req.Header.Set("If-None-Match", etag)
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			if resp, _ := s.do(req); resp.StatusCode == http.StatusNotModified || resp.StatusCode == http.StatusOK {
				t.Errorf("If-None-Match of beta's page with %q: %d", h, resp.StatusCode)
			}
		}

		// A revoked token stops reading at once, though its reader was
		// cached a moment ago.
		secret, row := s.readToken(s.owner, time.Time{})
		get := func(path, secret string) int {
			req, _ := http.NewRequest("GET", s.URL+path, nil)
			req.SetBasicAuth("__token__", secret)
			resp, _ := s.do(req)
			return resp.StatusCode
		}
		if got := get("/simple/alpha/", secret); got != http.StatusOK {
			t.Fatalf("fresh read token: %d", got)
		}
		if err := s.idx.RevokeToken(ctx, &index.Principal{User: s.owner}, audit.Meta{}, row.ID); err != nil {
			t.Fatal(err)
		}
		if got := get("/simple/alpha/", secret); got != http.StatusUnauthorized {
			t.Errorf("revoked read token: %d, want 401", got)
		}
		// So does the token of an account disabled by an administrator
		// (the web page tells the index at once).
		secret, _ = s.readToken(s.owner, time.Time{})
		if got := get("/simple/alpha/", secret); got != http.StatusOK {
			t.Fatalf("fresh read token: %d", got)
		}
		if _, err := s.acct.SetDisabled(ctx, nil, s.owner.Username, true, audit.Meta{}); err != nil {
			t.Fatal(err)
		}
		s.idx.AccessChanged()
		if got := get("/simple/alpha/", secret); got != http.StatusUnauthorized {
			t.Errorf("read token of a disabled account: %d, want 401", got)
		}
	})
}

// readBody reads and closes a response's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPublicReadsWithCredentials: with public reads, anonymous reads
// everything with shareable answers, as before; a token adds nothing and
// takes nothing away (a scoped token in .netrc still reads the whole
// index), but a wrong one is refused loudly rather than read as
// anonymous; credentials that are not a __token__ (a reverse proxy's own
// Basic authentication, an OAuth proxy's bearer token) are not looked at.
func TestPublicReadsWithCredentials(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newPrivateIndex(t, d, index.ReadPublic)
		readAlpha, _ := s.readToken(s.owner, time.Time{}, "alpha")
		// Registration is open on a public index: the pages link to it.
		for _, path := range []string{"/account/login/", "/help/"} {
			if _, page := s.browser(t).get(path); !strings.Contains(page, `href="/account/register/"`) {
				t.Errorf("%s does not link to registration on an open index", path)
			}
		}
		for _, c := range []struct {
			name, user, secret string
			want               int
		}{
			{"anonymous", "", "", 200},
			{"scoped read token", "__token__", readAlpha, 200},
			{"unknown token", "__token__", "nope", 401},
			{"a proxy's password", "olive", "correct horse battery", 200},
			{"a proxy's bearer token", "Bearer", "eyJhbGciOi.x.y", 200},
		} {
			for _, path := range []string{"/simple/beta/", "/pypi/beta/json", fileURL(s.beta), "/simple/"} {
				req, _ := http.NewRequest("GET", s.URL+path, nil)
				switch c.user {
				case "":
				case "Bearer":
					req.Header.Set("Authorization", "Bearer "+c.secret)
				default:
					req.SetBasicAuth(c.user, c.secret)
				}
				resp, body := s.do(req)
				if resp.StatusCode != c.want {
					t.Fatalf("%s as %s: %d, want %d\n%s", path, c.name, resp.StatusCode, c.want, body)
				}
				if c.want == 200 && !strings.Contains(resp.Header.Get("Cache-Control"), "public") {
					t.Errorf("%s as %s: Cache-Control %q", path, c.name, resp.Header.Get("Cache-Control"))
				}
				if c.want == 200 && path == "/simple/" && !strings.Contains(string(body), "beta") {
					t.Errorf("%s as %s: %s", path, c.name, body)
				}
			}
		}
		if resp, _ := s.get("/simple/nothing-here/"); resp.StatusCode != 404 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("unknown project: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	})
}

// TestReadOnlyTokenWrites: a read-only token reads and is refused every
// write, with a message that says what it is; registration is closed on a
// private index.
func TestReadOnlyTokenWrites(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newPrivateIndex(t, d, index.ReadAuthenticated)
		secret, _ := s.readToken(s.owner, time.Time{})
		next := disttest.Dist{Name: "alpha", Version: "2.0"}
		content := next.Wheel()
		resp, body := s.do(s.uploadRequest(secret, next.Form("bdist_wheel", content), next.WheelFilename(), content))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "can only read") {
			t.Errorf("upload with a read-only token: %d %s", resp.StatusCode, body)
		}
		req, _ := http.NewRequest("GET", s.URL+"/api/projects/alpha/", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, body = s.do(req)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "can only read") {
			t.Errorf("management API with a read-only token: %d %s", resp.StatusCode, body)
		}

		// The token page makes read-only tokens, and tells how pip uses
		// them.
		ob := s.browser(t)
		ob.login("olive", "correct horse battery")
		ob.get("/manage/account/tokens/")
		r1, page := ob.post("/manage/account/tokens/", url.Values{"name": {"installer"}, "scope": {"all"}, "read_only": {"on"}})
		if r1.StatusCode != http.StatusOK || !strings.Contains(page, "pip install --index-url http://__token__:cheeseshop-") ||
			!strings.Contains(page, "Read only") {
			t.Errorf("read-only token from the token page: %d\n%s", r1.StatusCode, page)
		}

		// Registration is closed; the page says who creates accounts.
		resp, body = s.get("/account/register/")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "created by its administrators") {
			t.Errorf("register page: %d %s", resp.StatusCode, body)
		}
		br := s.browser(t)
		// No page links to the form: not the header, the sign-in page
		// or the help.
		for _, path := range []string{"/account/login/", "/help/"} {
			if _, page := br.get(path); strings.Contains(page, `href="/account/register/"`) {
				t.Errorf("%s links to registration on a closed index", path)
			}
		}
		br.get("/account/login/") // a form token (the closed page has no form)
		r2, page := br.post("/account/register/", url.Values{"username": {"eve"}, "email": {"eve@example.org"},
			"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}})
		if r2.StatusCode != http.StatusForbidden || !strings.Contains(page, "created by its administrators") {
			t.Errorf("register post: %d %s", r2.StatusCode, page)
		}
		if _, err := s.st.UserByUsername(context.Background(), "eve"); err == nil {
			t.Error("eve registered on a closed index")
		}
	})
}
