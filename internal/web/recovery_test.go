package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestRecoveryWeb: the request, confirmation and cancel pages, the same
// answer for unknown accounts, and the administrators' page: 404 to
// anybody but administrators, 403 to an administrator without two-factor
// authentication, approval refused during the waiting period and done
// after it (the clock moves).
func TestRecoveryWeb(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		ctx := t.Context()

		// alice and bob have an app; root is an administrator.
		secrets := map[string]string{}
		for _, name := range []string{"alice", "bob"} {
			_, b := s.signedInUser(t, name, pw)
			_, secrets[name] = enrolApp(t, b, clk)
		}
		hash, err := auth.NewHasher(1, auth.MinParams).Hash(ctx, pw)
		storetest.Must(t, err)
		root := &store.User{Username: "root", Email: "root@example.org", PasswordHash: hash, EmailVerified: true, IsAdmin: true, CreatedAt: clk.Now()}
		storetest.Must(t, s.st.CreateUser(ctx, root))

		// Access rules of the admin page.
		anon := s.browser(t)
		resp, _ := anon.get("/admin/recovery/")
		wantStatus(t, "anonymous admin page", resp, "", http.StatusNotFound)
		user := s.browser(t)
		loginTOTP(t, user, "bob", pw, secrets["bob"], clk)
		resp, _ = user.get("/admin/recovery/")
		wantStatus(t, "user's admin page", resp, "", http.StatusNotFound)
		resp, _ = user.post("/admin/recovery/1/approve", nil)
		wantStatus(t, "user's approval", resp, "", http.StatusNotFound)
		admin := s.browser(t)
		admin.login("root", pw)
		resp, body := admin.get("/admin/recovery/")
		wantStatus(t, "admin page without 2FA", resp, body, http.StatusForbidden, "Two-factor authentication required")
		resp, body = admin.post("/admin/recovery/1/approve", nil)
		wantStatus(t, "approval without 2FA", resp, body, http.StatusForbidden)
		_, rootSecret := enrolApp(t, admin, clk)
		resp, body = admin.get("/admin/recovery/")
		wantStatus(t, "admin page", resp, body, http.StatusOK, "No recovery request is open")

		// The links to the request page.
		_, body = anon.get("/account/login/")
		if !strings.Contains(body, `href="/account/recovery/"`) {
			t.Fatalf("no recovery link on the login page\n%s", body)
		}
		pend := s.browser(t)
		loginPending(t, pend, "alice", pw)
		_, body = pend.get("/account/two-factor/totp/")
		if !strings.Contains(body, `href="/account/recovery/?who=alice"`) {
			t.Fatalf("no recovery link on the second step\n%s", body)
		}
		resp, body = pend.get("/account/recovery/?who=alice")
		wantStatus(t, "request page", resp, body, http.StatusOK, `value="alice"`, "Ask for account recovery")

		// Known and unknown accounts get the same answer.
		answer := func(who string) string {
			b := s.browser(t)
			b.get("/account/recovery/")
			resp, body := b.post("/account/recovery/", url.Values{"who": {who}, "reason": {"lost my phone"}})
			wantStatus(t, "request "+who, resp, body, http.StatusSeeOther)
			_, body = b.get(resp.Header.Get("Location"))
			i := strings.Index(body, `class="flash`)
			if i < 0 {
				t.Fatalf("no answer to the request of %s\n%s", who, body)
			}
			return body[i : i+200]
		}
		if a, b := answer("alice"), answer("nobody"); a != b {
			t.Fatalf("answers differ:\n%s\n%s", a, b)
		}
		if got := len(s.mailsTo(t, "nobody@example.org")); got != 0 {
			t.Fatal("an unknown account was emailed")
		}

		// alice confirms with the emailed link.
		link := s.lastLink(t, "alice@example.org", "Confirm your account recovery request", "/account/recovery/confirm/")
		b := s.browser(t)
		resp, body = b.get(link)
		wantStatus(t, "confirm page", resp, body, http.StatusOK, "Confirm the recovery request", "alice")
		resp, body = b.post("/account/recovery/confirm/", url.Values{"token": {tokenOf(t, link)}})
		wantStatus(t, "confirm", resp, body, http.StatusSeeOther)
		resp, body = b.post("/account/recovery/confirm/", url.Values{"token": {tokenOf(t, link)}})
		wantStatus(t, "confirm twice", resp, body, http.StatusNotFound, "not valid")
		if len(s.mailsTo(t, "alice@example.org")) == 0 || !hasEvent(t, s.st, mustUser(t, s, "alice"), audit.RecoveryConfirmed) {
			t.Fatal("no confirmation event")
		}

		// The administrator sees it, cannot approve it yet.
		resp, body = admin.get("/admin/recovery/")
		wantStatus(t, "admin page", resp, body, http.StatusOK, `data-user="alice"`, "waiting until", "lost my phone")
		rs, err := s.st.RecoveryRequests(ctx, 10, store.RecoveryWaiting)
		storetest.Must(t, err)
		if len(rs) != 1 {
			t.Fatalf("%d waiting requests", len(rs))
		}
		approve := "/admin/recovery/" + strconv.FormatInt(rs[0].ID, 10) + "/approve"
		resp, _ = admin.post(approve, nil)
		wantStatus(t, "early approval", resp, "", http.StatusSeeOther)
		_, body = admin.get("/admin/recovery/")
		if !strings.Contains(body, "cannot be approved before") {
			t.Fatalf("early approval not refused\n%s", body)
		}
		if u, _ := s.st.UserByUsername(ctx, "alice"); !u.HasTOTP {
			t.Fatal("an early approval removed the app")
		}

		// Seven days later (sessions have expired: sign in again).
		clk.Add(7*24*time.Hour + time.Minute)
		admin = s.browser(t)
		loginTOTP(t, admin, "root", pw, rootSecret, clk)
		resp, body = admin.get("/admin/recovery/")
		wantStatus(t, "admin page after the wait", resp, body, http.StatusOK, "waiting period over", `action="`+approve+`"`)
		// Eleven minutes after signing in, approving (which removes
		// every second factor of an account) first needs a fresh proof.
		clk.Add(11 * time.Minute)
		admin.get("/admin/recovery/")
		resp, body = admin.post(approve, nil)
		wantStatus(t, "approval with a stale sign-in", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/manage/account/reauth/") {
			t.Fatalf("approval with a sign-in 11 minutes old went to %q, want the re-authentication page", loc)
		}
		if u, _ := s.st.UserByUsername(ctx, "alice"); !u.HasTOTP {
			t.Fatal("an approval without a fresh proof removed the app")
		}
		admin.get("/manage/account/reauth/?next=/admin/recovery/")
		resp, body = admin.post("/manage/account/reauth/", url.Values{"method": {"totp"}, "code": {totpCode(t, rootSecret, clk.Now())}, "next": {"/admin/recovery/"}})
		wantStatus(t, "re-authentication", resp, body, http.StatusSeeOther)
		admin.get("/admin/recovery/")
		resp, body = admin.post(approve, nil)
		wantStatus(t, "approval", resp, body, http.StatusSeeOther)
		_, body = admin.get("/admin/recovery/")
		if !strings.Contains(body, "Recovery of alice approved") {
			t.Fatalf("approval not reported\n%s", body)
		}
		if u, _ := s.st.UserByUsername(ctx, "alice"); u.HasTOTP {
			t.Fatal("the app survived the approval")
		}
		b = s.browser(t)
		b.get("/account/login/")
		resp, _ = b.post("/account/login/", url.Values{"username": {"alice"}, "password": {pw}})
		wantStatus(t, "old password", resp, "", http.StatusUnauthorized)
		reset := s.lastLink(t, "alice@example.org", "Your account was recovered", "/account/reset-password/confirm/")
		b.get(reset)
		resp, body = b.post("/account/reset-password/confirm/", url.Values{"token": {tokenOf(t, reset)},
			"password": {"another long password"}, "password_confirm": {"another long password"}})
		wantStatus(t, "reset", resp, body, http.StatusSeeOther)
		b.login("alice", "another long password")
		if !signedIn(t, b) {
			t.Fatal("alice is not signed in with its new password")
		}

		// bob asks, then cancels from its signed-in page: nothing changes.
		anon.get("/account/recovery/")
		anon.post("/account/recovery/", url.Values{"who": {"bob@example.org"}})
		s.drain(t) // the request is taken after the answer
		loginTOTP(t, user, "bob", pw, secrets["bob"], clk)
		resp, body = user.get("/account/recovery/")
		wantStatus(t, "bob's page", resp, body, http.StatusOK, "waiting for its confirmation by email", "Cancel the recovery request")
		resp, body = user.post("/account/recovery/cancel/", nil)
		wantStatus(t, "cancel", resp, body, http.StatusSeeOther)
		cancel := s.lastLink(t, "bob@example.org", "Confirm your account recovery request", "/account/recovery/cancel/")
		resp, body = anon.get(cancel)
		wantStatus(t, "used cancel link", resp, body, http.StatusNotFound, "not valid")
		if u, _ := s.st.UserByUsername(ctx, "bob"); !u.HasTOTP || !hasEvent(t, s.st, u.ID, audit.RecoveryCancelled) {
			t.Fatal("bob's cancel changed its account or was not recorded")
		}
	})
}
