package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// Attacks on the sign-in of issue 19 (passkeys, new-device confirmation,
// the sessions page) through the web UI.

// routeSample replaces the wildcards of a route's path by values that
// reach its handler.
var routeSample = strings.NewReplacer("{$}", "", "{project}", "alpha", "{version}", "1.0", "{id}", "1",
	"{username}", "alice", "{name}", "alpha", "{sha256}", strings.Repeat("0", 64), "{filename}", "alpha-1.0.tar.gz")

// routeAnswer is what a route answered: its status and where it sent the
// browser.
func routeAnswer(b *browser, method, path string) string {
	b.t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, b.s.URL+path, nil)
	} else {
		req = b.formRequest(path, url.Values{"token": {"x"}, "code": {"123456"}})
		req.Method = method
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, _ := b.do(req)
	return resp.Status + " " + resp.Header.Get("Location")
}

// TestAwaitingDeviceReachesNothing walks the route table: a session whose
// password and app code passed, waiting for the emailed confirmation of
// its browser (what a phishing proxy holds), must be answered on every
// page of accounts, projects, tokens, the API and administration exactly
// as a browser without a session is, with its own form token. Its user
// is an administrator, so that the administration's routes would answer
// a signed-in session.
func TestAwaitingDeviceReachesNothing(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{BaseHost: "localhost"})
		hash, err := auth.NewHasher(1, auth.MinParams).Hash(context.Background(), pw)
		storetest.Must(t, err)
		storetest.Must(t, s.st.CreateUser(context.Background(), &store.User{Username: "alice", Email: "alice@example.org",
			PasswordHash: hash, EmailVerified: true, IsAdmin: true, CreatedAt: time.Now()}))
		home := s.browser(t)
		home.login("alice", pw)
		_, secret := enrolApp(t, home, clk)
		if resp, _ := home.get("/admin/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("alice, signed in, is no administrator: %d", resp.StatusCode)
		}

		away := s.browser(t)
		wantWaits(t, "the app in a new browser", appStep(t, away, "alice", pw, secret, clk), true)
		away.page("/account/new-device/")
		anon := s.browser(t)
		anon.page("/account/login/")
		checked := 0
		for _, p := range s.srv.patterns {
			method, pattern, _ := strings.Cut(p, " ")
			if !strings.HasPrefix(pattern, "/manage/") && !strings.HasPrefix(pattern, "/api/") && !strings.HasPrefix(pattern, "/admin/") &&
				!strings.HasPrefix(pattern, "/legacy") && pattern != "/account/recovery/{$}" {
				continue
			}
			path := routeSample.Replace(pattern)
			got, want := routeAnswer(away, method, path), routeAnswer(anon, method, path)
			if got != want {
				t.Errorf("%s %s: a session awaiting its device got %q, a browser without a session %q", method, path, got, want)
			}
			checked++
		}
		if checked < 80 {
			t.Fatalf("only %d routes walked", checked)
		}
		if sess, err := s.acct.Session(context.Background(), away.cookie(cookieSession)); err != nil || sess == nil || !sess.AwaitingDevice() {
			t.Fatalf("the walk changed the waiting session: %+v %v", sess, err)
		}
	})
}

// TestPasskeySignInAttacks: the passkey sign-in's routes refuse a post
// without the form token, a replayed answer (its ceremony's cookie copied
// into another browser), an oversized or deeply nested body, and a
// `next` that leaves the site; a passkey sign-in in a browser whose
// session waits for a second step or for the emailed confirmation drops
// that session and issues a new id.
func TestPasskeySignInAttacks(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := keyServer(t, d, false)
		ctx := context.Background()
		rp := s.rpOf()
		_, b := s.keyUser(t, "alice")
		auth := virtualwebauthn.NewAuthenticator()
		cred := newEC2Key()
		b.page("/manage/account/webauthn/")
		b.createPasskey("/manage/account/webauthn/passkey/options", "/manage/account/webauthn/passkey/register", rp, &auth, cred, "Phone", http.StatusOK)
		b.page("/manage/account/")
		_, secret := enrolApp(t, b, clk)

		// Without the form token (a cross-site form, a forged script).
		nb := s.browser(t)
		for _, path := range []string{"/account/login/passkey/options", "/account/login/passkey/verify"} {
			if resp, _, body := nb.postJSON(path, map[string]any{}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s without a form token: %d %s", path, resp.StatusCode, body)
			}
		}

		// A replayed answer, from another browser holding the ceremony's
		// cookie.
		first := s.browser(t)
		first.page("/account/login/")
		resp, _, body := first.postJSON("/account/login/passkey/options", map[string]any{})
		ceremony := first.cookie(cookiePasskey)
		opts, err := virtualwebauthn.ParseAssertionOptions(body)
		if resp.StatusCode != http.StatusOK || err != nil || ceremony == "" {
			t.Fatalf("options: %d %v %q", resp.StatusCode, err, ceremony)
		}
		answer := map[string]any{"credential": json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *opts))}
		if resp, _, body := first.postJSON("/account/login/passkey/verify", answer); resp.StatusCode != http.StatusOK {
			t.Fatalf("passkey sign-in: %d %s", resp.StatusCode, body)
		}
		replay := s.browser(t)
		replay.page("/account/login/")
		setCookie(replay, cookiePasskey, ceremony)
		resp, out, body := replay.postJSON("/account/login/passkey/verify", answer)
		refused(t, "a replayed answer", resp.StatusCode, out, body, http.StatusUnauthorized, "expired or was already used")
		if replay.cookie(cookieSession) != "" {
			t.Fatal("a replayed answer made a session")
		}

		// Oversized and deeply nested bodies.
		for name, raw := range map[string]string{
			"2 MB":          `{"credential":"` + strings.Repeat("A", 2<<20) + `"}`,
			"nested 100000": `{"credential":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`,
		} {
			hb := s.browser(t)
			hb.page("/account/login/")
			hb.postJSON("/account/login/passkey/options", map[string]any{})
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/login/passkey/verify", strings.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", hb.csrf)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, body := hb.do(req)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || hb.cookie(cookieSession) != "" {
				t.Errorf("a %s body: %d %.200s", name, resp.StatusCode, body)
			}
		}

		// Hostile next: the sign-in goes home.
		for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "/%2F%2Fevil.example"} {
			nb := s.browser(t)
			nb.page("/account/login/")
			_, _, body := nb.postJSON("/account/login/passkey/options", map[string]any{})
			opts, _ := virtualwebauthn.ParseAssertionOptions(body)
			a := virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *opts)
			resp, out, body := nb.postJSON("/account/login/passkey/verify", map[string]any{"next": next, "credential": json.RawMessage(a)})
			if resp.StatusCode != http.StatusOK || (out["redirect"] != "/" && out["redirect"] != next) ||
				(out["redirect"] == next && !strings.HasPrefix(next, "/%2F")) {
				t.Errorf("next %q: %d %s", next, resp.StatusCode, body)
			}
		}

		// A browser whose session waits for the app's code, or for the
		// emailed link, then signs in with the passkey: a new session id,
		// the waiting one gone.
		for _, waits := range []string{"second step", "emailed link"} {
			x := s.browser(t)
			if waits == "second step" {
				loginPending(t, x, "alice", "correct horse battery staple")
			} else {
				wantWaits(t, "the app in a new browser", appStep(t, x, "alice", "correct horse battery staple", secret, clk), true)
			}
			old := x.cookie(cookieSession)
			if resp, _, body := x.passkeySignIn(rp, auth, cred); resp.StatusCode != http.StatusOK {
				t.Fatalf("passkey sign-in over a session waiting for its %s: %d %s", waits, resp.StatusCode, body)
			}
			now := x.cookie(cookieSession)
			if now == "" || now == old {
				t.Fatalf("waiting for its %s: the session cookie %q was kept", waits, old)
			}
			if c, _ := s.acct.Session(ctx, old); c != nil {
				t.Errorf("the session waiting for its %s lives on: %+v", waits, c.Session)
			}
			if c, _ := s.acct.Session(ctx, now); c == nil || c.Pending() || c.Session.AuthMethod != "passkey" {
				t.Errorf("after the passkey: %+v", c)
			}
		}
	})
}

// TestMaskEmail: the waiting page shows the first letter of the mailbox
// and the domain, never more, and never half a letter.
func TestMaskEmail(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"alice@example.org", "a•••••@example.org"},
		{"a@example.org", "a•@example.org"},
		{"averyveryverylongname@example.org", "a••••••@example.org"},
		{"émile@example.org", "é•••••@example.org"},
		{"@example.org", "your email address"},
		{"nobody", "your email address"},
	} {
		got := maskEmail(tt.in)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("maskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
