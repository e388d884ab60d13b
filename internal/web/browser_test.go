package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is an HTTP client that behaves like a person's browser on the
// web UI: it keeps cookies, sends the form token of the last page it saw,
// and does not follow redirects (tests look at them).
type browser struct {
	t      testing.TB
	s      *testServer
	client *http.Client
	csrf   string // the form token of the last page
}

func (s *testServer) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp, string(body)
}

// get fetches a page.
func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.s.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form as the browser would from a page of this site: with
// the form token of the last page seen (unless form sets csrf_token).
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	return b.do(b.formRequest(path, form))
}

// formRequest is the request by which the browser submits form to path
// from a page of this site, with the form token of the last page seen
// (unless form sets csrf_token).
func (b *browser) formRequest(path string, form url.Values) *http.Request {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return req
}

// login signs in through the login form and fails the test otherwise.
func (b *browser) login(username, password string) {
	b.t.Helper()
	b.get("/account/login/")
	resp, body := b.post("/account/login/", url.Values{"username": {username}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login as %s: status %d\n%s", username, resp.StatusCode, body)
	}
}

// cookie returns the value of a cookie the browser holds for the server.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.s.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
