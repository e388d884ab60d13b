package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestTOTPCSRF checks that every authenticator-app and recovery-code form
// is refused without its form token, and changes nothing.
func TestTOTPCSRF(t *testing.T) {
	t.Parallel()
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		_, alice := s.signedInUser(t, "alice", pw)
		codes, secret := enrolApp(t, alice, clk)
		// bob waits for its second step (an app of its own).
		_, bob := s.signedInUser(t, "bob", pw)
		enrolApp(t, bob, clk)
		bob.post("/account/logout/", nil)
		clk.Add(30 * time.Second)
		loginPending(t, bob, "bob", pw)
		bob.get("/account/two-factor/totp/")

		for _, f := range []struct {
			who  *browser
			path string
			form url.Values
		}{
			{alice, "/manage/account/recovery-codes/", nil},
			{alice, "/manage/account/recovery-codes/confirm", url.Values{"code": {codes[0]}}},
			{alice, "/manage/account/totp/begin", nil},
			{alice, "/manage/account/totp/confirm", url.Values{"code": {totpCode(t, secret, clk.Now())}}},
			{alice, "/manage/account/totp/remove", nil},
			{bob, "/account/two-factor/totp/", url.Values{"code": {"123456"}}},
			{bob, "/account/two-factor/recovery-code/", url.Values{"code": {codes[1]}}},
		} {
			t.Run(f.path, func(t *testing.T) {
				v := url.Values{"csrf_token": {""}}
				for k, vs := range f.form {
					v[k] = vs
				}
				if resp, body := f.who.post(f.path, v); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not come from this site") {
					t.Errorf("without a form token: status %d", resp.StatusCode)
				}
			})
		}
		if has, _ := s.tf.HasTwoFactor(t.Context(), mustUser(t, s, "alice")); !has {
			t.Error("a post without a form token removed the app")
		}
		if signedIn(t, bob) {
			t.Error("a second step without a form token signed in")
		}
	})
}

// TestTOTPRequired checks the site-wide switch: the last method cannot be
// removed, and the pages to set it up stay reachable.
func TestTOTPRequired(t *testing.T) {
	t.Parallel()
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{Require2FA: true})
		_, b := s.signedInUser(t, "alice", pw)
		if resp, _ := b.get("/manage/projects/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/manage/account/two-factor/" {
			t.Fatalf("user without 2FA on /manage/projects/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		enrolApp(t, b, clk)
		if resp, _ := b.get("/manage/projects/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("user with 2FA on /manage/projects/: %d", resp.StatusCode)
		}
		_, body := b.get("/manage/account/totp/")
		if !strings.Contains(body, "requires two-factor authentication") {
			t.Error("the app page does not say the index requires 2FA")
		}
		resp, body := b.post("/manage/account/totp/remove", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This is your last two-factor method") {
			t.Fatalf("removing the last method under --require-2fa: %d\n%s", resp.StatusCode, body)
		}
		if has, _ := s.tf.HasTwoFactor(t.Context(), mustUser(t, s, "alice")); !has {
			t.Fatal("the last method was removed")
		}
	})
}

// TestTOTPWebLimit checks the 429 page of the second step: the 5th wrong
// code is still answered "wrong", the 6th attempt, even right, is refused
// with the time to wait; 5 minutes later the right code works.
func TestTOTPWebLimit(t *testing.T) {
	t.Parallel()
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		_, b := s.signedInUser(t, "alice", pw)
		_, secret := enrolApp(t, b, clk) // two failures
		b.post("/account/logout/", nil)
		clk.Add(5 * time.Minute)
		loginPending(t, b, "alice", pw)
		b.get("/account/two-factor/totp/")
		for i := 1; i <= 5; i++ {
			resp, body := b.post("/account/two-factor/totp/", url.Values{"code": {wrongCode(totpCode(t, secret, clk.Now()))}})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The code is wrong") {
				t.Fatalf("failure %d: %d\n%s", i, resp.StatusCode, body)
			}
		}
		resp, body := b.post("/account/two-factor/totp/", url.Values{"code": {totpCode(t, secret, clk.Now())}})
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed two-factor attempts") {
			t.Fatalf("6th attempt: %d\n%s", resp.StatusCode, body)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > 300 {
			t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
		}
		clk.Add(5*time.Minute + time.Second)
		// The pending session expired meanwhile: the password again.
		loginPending(t, b, "alice", pw)
		b.get("/account/two-factor/totp/")
		resp, body = b.post("/account/two-factor/totp/", url.Values{"code": {totpCode(t, secret, clk.Now())}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after 5 minutes: %d\n%s", resp.StatusCode, body)
		}
	})
}
