package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/oidctest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// mintedLifetime is the --minted-token-lifetime of the servers here:
// long enough for twine to start and upload on a busy machine, short
// enough that the test sees a minted token expire without a fake clock
// (the binary uses the wall clock).
const mintedLifetime = 20 * time.Second

// TestTrustedPublishing publishes with no long-lived secret, end to end,
// against the real binary trusting an OIDC issuer that runs in the test
// (as an operator's GitHub-kind issuer): an Owner adds a GitHub publisher
// to cheese-dep through the management API with a fresh web session; the
// publish action's exact sequence (GET /_/oidc/audience, an ID token for
// that audience with GitHub's claims, POST /_/oidc/github/mint-token,
// Debian's twine with __token__ and the minted token) publishes
// cheese-dep 2.0; the same ID token again is refused; a pending publisher
// creates cheese-app on its first publish (through /_/oidc/mint-token,
// twine's and uv's URL); pip installs both from the index; and the first
// minted token, once past its expiry, is refused.
func TestTrustedPublishing(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		trustedPublishing(t, serverOptions{})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		trustedPublishing(t, serverOptions{Database: storetest.URL(t, store.Postgres)})
	})
}

func trustedPublishing(t *testing.T, opts serverOptions) {
	defer timed(t, "trusted publishing")()
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	issuer := oidctest.New(t, nil) // the wall clock, as the server's
	opts.Args = append(opts.Args, "--oidc-issuer", "github:gh="+issuer.URL(), "--minted-token-lifetime", mintedLifetime.String())
	s := startServer(t, opts)
	if opts.Database != "" && !s.waitLog("database=postgres") {
		t.Fatalf("the server does not say it runs on PostgreSQL:\n%s", s.Log())
	}

	// alice owns cheese-dep (uploaded with an ordinary token) and, signed
	// in through the login form, adds the release workflow of
	// octo-org/cheese-dep as its publisher, and a pending publisher for
	// cheese-app, which does not exist yet.
	password := s.createUserPassword(t, "alice", false)
	if r := twineUpload(t, s, s.token(t, "alice"), d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload of cheese-dep 1.0 with an API token: exit %d\n%s", r.Code, r.Out)
	}
	alice := newWebSession(t, s, "alice", password)
	depRun := oidctest.GitHubRun{Repository: "octo-org/cheese-dep", OwnerID: "4242", Workflow: "release.yml",
		Environment: "pypi", SHA: "0123456789abcdef0123456789abcdef01234567"}
	alice.api(t, "POST", "/api/projects/cheese-dep/publishers", http.StatusCreated, map[string]any{"kind": "github", "issuer": "gh",
		"owner": "octo-org", "owner_id": "4242", "repository": "cheese-dep", "workflow": "release.yml", "environment": "pypi"})
	appRun := oidctest.GitHubRun{Repository: "octo-org/cheese-app", OwnerID: "4242", Workflow: "publish.yml"}
	alice.api(t, "POST", "/api/publishers/pending", http.StatusCreated, map[string]any{"kind": "github", "issuer": "gh",
		"owner": "octo-org", "owner_id": "4242", "repository": "cheese-app", "workflow": "publish.yml", "project_name": "cheese-app"})

	// The publish action's sequence (pypa/gh-action-pypi-publish,
	// oidc-exchange.py), then its twine upload.
	aud := audience(t, s)
	depRun.Audience = aud
	idToken := issuer.Mint(t, oidctest.GitHubClaims(depRun))
	status, minted := mintToken(t, s, "/_/oidc/github/mint-token", idToken)
	if status != http.StatusOK || !minted.Success || minted.Token == "" {
		t.Fatalf("mint-token: %d %+v", status, minted)
	}
	expires := time.Unix(minted.Expires, 0)
	if left := time.Until(expires); left <= 0 || left > mintedLifetime {
		t.Fatalf("the minted token expires at %s, %s from now; want within %s", expires, left, mintedLifetime)
	}
	r := twineUpload(t, s, minted.Token, d.Dep2.Files()...)
	if r.Code != 0 {
		t.Fatalf("twine upload of cheese-dep 2.0 with the minted token: exit %d\n%s", r.Code, r.Out)
	}

	// The same ID token again: used up.
	if status, out := mintToken(t, s, "/_/oidc/github/mint-token", idToken); status != http.StatusUnprocessableEntity ||
		out.Message != "Token request failed" || out.code() != "invalid-reuse-token" {
		t.Errorf("the ID token again: %d %+v, want 422 invalid-reuse-token", status, out)
	}

	// The pending publisher's first publish creates cheese-app, owned by
	// alice; its publisher is now the project's.
	appRun.Audience = aud
	status, appMinted := mintToken(t, s, "/_/oidc/mint-token", issuer.Mint(t, oidctest.GitHubClaims(appRun)))
	if status != http.StatusOK || !appMinted.Success {
		t.Fatalf("mint-token for the pending publisher: %d %+v", status, appMinted)
	}
	if r := twineUpload(t, s, appMinted.Token, d.App.Files()...); r.Code != 0 {
		t.Fatalf("twine upload of the new cheese-app with the minted token: exit %d\n%s", r.Code, r.Out)
	}
	if pubs := alice.api(t, "GET", "/api/projects/cheese-app/publishers", http.StatusOK, nil); !strings.Contains(pubs, `"repository":"cheese-app"`) {
		t.Errorf("cheese-app's publishers: %s", pubs)
	}
	if pending := alice.api(t, "GET", "/api/publishers/pending", http.StatusOK, nil); strings.Contains(pending, "cheese-app") {
		t.Errorf("the pending publisher is still pending: %s", pending)
	}

	// pip installs what the publishers published.
	v := newVenv(t)
	r = v.mustPip(t, "install", "--index-url", s.URL+"/simple/", "cheese-app")
	if !strings.Contains(r.Out, "Successfully installed cheese-app-1.0 cheese-dep-2.0") {
		t.Errorf("pip install cheese-app:\n%s", r.Out)
	}

	// Past its expiry, the first minted token uploads nothing. The
	// server checks expiry on its wall clock: wait for the time it
	// announced (expires is in whole seconds; the token's own instant
	// is at most a second later), not a fixed delay.
	if wait := time.Until(expires.Add(time.Second)); wait > 0 {
		t.Logf("waiting %s for the minted token to expire", wait.Round(time.Millisecond))
		<-time.After(wait)
	}
	// A new release of its own project, so that expiry is the only reason
	// to refuse it.
	dep3 := writeBigWheel(t, t.TempDir(), "cheese_dep", "3.0", 1<<10)
	r = twineUpload(t, s, minted.Token, dep3.path)
	if r.Code == 0 || !strings.Contains(r.Flat(), "403") || !strings.Contains(r.Flat(), "Invalid API Token: the token expired") {
		t.Errorf("twine upload with the expired minted token: exit %d, want 403 Invalid API Token: the token expired\n%s", r.Code, r.Out)
	}
}

// mintAnswer is a mint-token answer, success or PyPI's refusal.
type mintAnswer struct {
	Success bool   `json:"success"`
	Token   string `json:"token"`
	Expires int64  `json:"expires"`
	Message string `json:"message"`
	Errors  []struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"errors"`
}

// code is the first error's code ("" on success).
func (m mintAnswer) code() string {
	if len(m.Errors) == 0 {
		return ""
	}
	return m.Errors[0].Code
}

// audience asks the index for the audience of ID tokens, as the publish
// action does.
func audience(t testing.TB, s *server) string {
	t.Helper()
	resp, body := s.get(t, "/_/oidc/audience")
	var out struct{ Audience string }
	if err := json.Unmarshal(body, &out); resp.StatusCode != http.StatusOK || err != nil || out.Audience == "" {
		t.Fatalf("GET /_/oidc/audience: %s %s", resp.Status, body)
	}
	return out.Audience
}

// mintToken posts {"token": idToken} to path, as the publish action does,
// and returns the status and the answer.
func mintToken(t testing.TB, s *server, path, idToken string) (int, mintAnswer) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": idToken})
	resp, err := httpClient.Post(s.URL+path, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out mintAnswer
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %s, not JSON: %v\n%s", path, resp.Status, err, raw)
	}
	return resp.StatusCode, out
}

// webSession is a person signed in to the web UI over plain HTTP: cookies,
// and the form token of the last page seen.
type webSession struct {
	s      *server
	client *http.Client
	csrf   string
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// newWebSession signs in through the login form (which counts as a
// recent authentication for the management API).
func newWebSession(t testing.TB, s *server, username, password string) *webSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	w := &webSession{s: s, client: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	w.do(t, "GET", "/account/login/", "", nil)
	form := url.Values{"username": {username}, "password": {password}, "csrf_token": {w.csrf}}
	if status, body := w.do(t, "POST", "/account/login/", "application/x-www-form-urlencoded", strings.NewReader(form.Encode())); status != http.StatusSeeOther {
		t.Fatalf("signing in as %s: %d\n%s", username, status, body)
	}
	w.do(t, "GET", "/manage/account/", "", nil) // the signed-in form token
	return w
}

// do sends a request from a page of the site and keeps the form token of
// its answer.
func (w *webSession) do(t testing.TB, method, path, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, w.s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", w.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-CSRF-Token", w.csrf)
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if m := csrfField.FindSubmatch(raw); m != nil {
		w.csrf = string(m[1])
	}
	return resp.StatusCode, string(raw)
}

// api calls the management API with the session (body: JSON, or nil)
// and fails the test unless it answers want; it returns the answer.
func (w *webSession) api(t testing.TB, method, path string, want int, body any) string {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	status, raw := w.do(t, method, path, "application/json", r)
	if status != want {
		t.Fatalf("%s %s: %d, want %d\n%s", method, path, status, want, raw)
	}
	return raw
}
