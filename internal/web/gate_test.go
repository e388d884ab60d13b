package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestRequireTwoFactor is the site-wide switch (--require-2fa): a user
// without two-factor authentication reaches only the set-up pages, and
// neither its session nor its tokens can upload or manage; once it
// enrols an authenticator app everything works, the next sign-in asks
// for the app, and its last method cannot be removed.
func TestRequireTwoFactor(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{Require2FA: true})
		ctx := t.Context()
		u := s.userWithPassword("alice", "a long enough password")
		tok := s.token(u)
		b := s.browser(t)
		b.login("alice", "a long enough password")

		// Refused everywhere but the set-up pages.
		resp, _ := b.get("/manage/projects/")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/manage/account/two-factor/" {
			t.Fatalf("GET /manage/projects/ without 2FA: %d to %q, want 303 to the set-up page", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := b.get("/manage/account/two-factor/")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "requires two-factor authentication") {
			t.Fatalf("set-up page: %d\n%s", resp.StatusCode, body)
		}
		for _, path := range []string{"/manage/account/", "/manage/account/recovery-codes/", "/help/"} {
			if resp, _ := b.get(path); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s without 2FA: %d, want it reachable", path, resp.StatusCode)
			}
		}
		resp, body = b.post("/manage/account/tokens/", url.Values{"name": {"ci"}, "scope": {"all"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "two-factor") {
			t.Fatalf("token creation without 2FA: %d\n%s", resp.StatusCode, body)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/projects/alice-pkg/", nil)
		req.Header.Set("Authorization", "Bearer "+s.manageToken(u))
		if resp, body := s.do(req); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "two-factor") {
			t.Fatalf("management API with the token of a user without 2FA: %d %s", resp.StatusCode, body)
		}
		dist := disttest.Dist{Name: "alice-pkg", Version: "1.0"}
		content := dist.Wheel()
		resp, rbody := s.do(s.uploadRequest(tok, dist.Form("bdist_wheel", content), dist.WheelFilename(), content))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Status, "two-factor") || !strings.Contains(string(rbody), "/manage/account/two-factor/") {
			t.Fatalf("upload without 2FA: %s %s", resp.Status, rbody)
		}

		// Enrol an authenticator app (through the domain; the pages
		// have their own tests).
		sess, err := s.st.SessionByHash(ctx, sha256Hex(b.cookie("session")))
		storetest.Must(t, err)
		c := &account.Current{Session: sess, User: u}
		m := audit.Meta{IP: "127.0.0.1"}
		codes, err := s.tf.GenerateRecoveryCodes(ctx, c, m)
		storetest.Must(t, err)
		storetest.Must(t, s.tf.ConfirmRecoveryCodes(ctx, c, codes[3], m))
		setup, err := s.tf.BeginTOTP(ctx, c)
		storetest.Must(t, err)
		code, err := totp.GenerateCode(setup.Secret, time.Now())
		storetest.Must(t, err)
		storetest.Must(t, s.tf.ConfirmTOTP(ctx, c, code, m))

		if resp, _ := b.get("/manage/projects/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /manage/projects/ with 2FA: %d", resp.StatusCode)
		}
		s.uploadDist(tok, dist, false)

		// The last method cannot be removed while the switch is on.
		if err := s.tf.RemoveTOTP(ctx, c, m); problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "last two-factor method") {
			t.Fatalf("RemoveTOTP of the last method = %v, want a refusal", err)
		}

		// The next sign-in stops at the second step.
		b2 := s.browser(t)
		b2.get("/account/login/")
		resp, _ = b2.post("/account/login/", url.Values{"username": {"alice"}, "password": {"a long enough password"}, "next": {"/manage/projects/"}})
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/two-factor/") {
			t.Fatalf("login with 2FA: %d to %q, want the second step", resp.StatusCode, loc)
		}
		if resp, _ := b2.get("/manage/projects/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
			t.Fatalf("a session waiting for its second step reached /manage/projects/: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
