package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestLogin(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		s.userWithPassword("alice", "a long enough password")

		t.Run("session fixation", func(t *testing.T) {
			// An attacker plants a session id in the victim's browser
			// (say through a sibling subdomain); logging in must not
			// adopt it, and the new id must differ from any earlier one.
			b := s.browser(t)
			planted := "PLANTEDBYANATTACKER0123456789PLANTEDBYANATTACKER0"
			b.client.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "session", Value: planted, Path: "/"}})
			b.login("alice", "a long enough password")
			first := b.cookie("session")
			if first == "" || first == planted {
				t.Fatalf("session cookie after login = %q", first)
			}
			b.post("/account/logout/", nil)
			b.login("alice", "a long enough password")
			if second := b.cookie("session"); second == first || second == "" {
				t.Fatalf("the session id was not renewed at login: %q then %q", first, second)
			}
			other := s.browser(t)
			other.client.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "session", Value: first, Path: "/"}})
			if _, body := other.get("/"); strings.Contains(body, "Log out") {
				t.Fatal("a session id ended by logout still signs in")
			}
			other.client.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "session", Value: b.cookie("session"), Path: "/"}})
			if _, body := other.get("/"); !strings.Contains(body, "Log out") {
				t.Fatal("the live session id does not sign in")
			}
		})
		t.Run("open redirect", func(t *testing.T) {
			for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/ok/?a=1"} {
				b := s.browser(t)
				b.get("/account/login/?next=" + url.QueryEscape(next))
				resp, _ := b.post("/account/login/", url.Values{"username": {"alice"}, "password": {"a long enough password"}, "next": {next}})
				loc := resp.Header.Get("Location")
				want := "/"
				if next == "/ok/?a=1" {
					want = next
				}
				if loc != want {
					t.Errorf("next=%q: redirected to %q, want %q", next, loc, want)
				}
			}
		})
		t.Run("wrong password", func(t *testing.T) {
			b := s.browser(t)
			b.get("/account/login/")
			resp, body := b.post("/account/login/", url.Values{"username": {"alice"}, "password": {"nope"}})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "username or password is wrong") {
				t.Fatalf("wrong password: %d\n%s", resp.StatusCode, body)
			}
		})
		t.Run("csrf", func(t *testing.T) {
			b := s.browser(t)
			b.get("/account/login/")
			resp, _ := b.post("/account/login/", url.Values{"csrf_token": {""}, "username": {"alice"}, "password": {"a long enough password"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("login without a form token: status %d, want 403", resp.StatusCode)
			}
			resp, _ = b.post("/account/login/", url.Values{"csrf_token": {strings.Repeat("0", 64)}, "username": {"alice"}, "password": {"a long enough password"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("login with a wrong form token: status %d, want 403", resp.StatusCode)
			}
			// A cross-origin post is refused even with the right token.
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/login/", strings.NewReader(url.Values{
				"csrf_token": {b.csrf}, "username": {"alice"}, "password": {"a long enough password"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			resp, _ = b.do(req)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-origin login: status %d, want 403", resp.StatusCode)
			}
		})
		t.Run("logout", func(t *testing.T) {
			b := s.browser(t)
			b.login("alice", "a long enough password")
			cookie := b.cookie("session")
			b.get("/")
			resp, _ := b.post("/account/logout/", nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			if _, err := s.st.SessionByHash(t.Context(), sha256Hex(cookie)); err == nil {
				t.Fatal("the session row survives logout")
			}
		})
	})
}

func mustURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
