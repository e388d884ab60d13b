package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cheeseshop/internal/store"
)

// TestRecoveryBrowser runs account recovery end to end in Chromium. alice
// has an authenticator app and loses it (it simply stops using it): from
// the second-step page it asks for recovery, confirms with the emailed
// link, an administrator (with its own app, in another tab) approves the
// request on /admin/recovery/, alice's old password no longer works, it
// chooses a new one with the emailed reset link and enrols a security key
// (a DevTools virtual authenticator) with which it signs in. bob asks too,
// confirms, and cancels with the emailed link: its account is as it was
// (it still signs in with its app).
//
// The server runs with the default waiting period (7 days). The test
// never sleeps: once the administrator saw the request waiting (no Approve
// button, the date it may be approved), it moves the request's clock — it
// sets the confirmation 8 days back in the database — and the
// administrator approves. The waiting period is also proven with a clock
// the test moves by TestRecoveryLifecycle in internal/recovery and
// TestRecoveryWeb in internal/web, on SQLite and PostgreSQL.
func TestRecoveryBrowser(t *testing.T) {
	requireTool(t, debOathtool, "oathtool")
	s, base := keyServer(t, "") // security keys need a host name
	outbox := filepath.Join(s.Data, "outbox")
	rootPW := s.createUserPassword(t, "root", true)
	alicePW := s.createUserPassword(t, "alice", false)
	bobPW := s.createUserPassword(t, "bob", false)
	path := func(link string) string {
		t.Helper()
		if !strings.HasPrefix(link, base+"/") {
			t.Fatalf("link %q is not on %s", link, base)
		}
		return strings.TrimPrefix(link, base)
	}

	// The administrator enrols an app in its own tab.
	admin := newTab(t, "recovery-admin", base, 1280, 900)
	admin.loginPassword("root", rootPW)
	admin.setUpApp(false)
	admin.open("/admin/recovery/")
	admin.mustSee("Account recovery", "No recovery request is open")

	// alice and bob have authenticator apps.
	b := newTab(t, "recovery-user", base, 1280, 900)
	secrets := map[string]string{}
	for name, pw := range map[string]string{"alice": alicePW, "bob": bobPW} {
		b.loginPassword(name, pw)
		secrets[name] = b.setUpApp(false)
		b.logout()
	}

	// alice lost its app and codes: from the second step, it asks.
	b.loginPassword("alice", alicePW)
	if !strings.Contains(b.location(), "/account/two-factor/totp/") {
		t.Fatalf("after the password: at %s", b.location())
	}
	b.clickJS(`document.querySelector('main a[href^="/account/recovery/"]')`)
	b.mustSee("Recover your account", "Ask for account recovery")
	if who := b.evalString(`document.querySelector('input[name=who]').value`); who != "alice" {
		t.Fatalf("the request form is filled with %q", who)
	}
	// fill clears first, which an empty textarea refuses: type into it.
	b.do(chromedp.SendKeys(chromedp.CSS(`textarea[name=reason]`), "My phone was stolen with my recovery codes on it."))
	b.screenshot("request")
	b.submit(`main form[action="/account/recovery/"] button[type=submit]`)
	b.mustSee("If an account matches")
	b.open(path(mailedLink(t, outbox, "alice@example.org", "/account/recovery/confirm/")))
	b.mustSee("Confirm the recovery request of alice")
	b.submit(`main form[action="/account/recovery/confirm/"] button[type=submit]`)
	b.mustSee("Your recovery request is confirmed")

	// The administrator sees it waiting for 7 days, and cannot approve it
	// yet; the test moves the request's clock past the waiting period.
	admin.open("/admin/recovery/")
	admin.mustSee("alice", "My phone was stolen", "waiting until")
	if n := admin.evalString(`String(document.querySelectorAll('tr[data-user="alice"] form[action$="/approve"]').length)`); n != "0" {
		t.Fatalf("an Approve button within the waiting period (%s)", n)
	}
	admin.screenshot("waiting")
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(s.Data, "cheeseshop.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`UPDATE recovery_requests SET confirmed_at = confirmed_at - $1 WHERE state = 'waiting'`,
		(8 * 24 * time.Hour).Microseconds()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// The administrator approves it.
	admin.open("/admin/recovery/")
	admin.mustSee("alice", "My phone was stolen", "waiting period over")
	admin.screenshot("pending")
	admin.submit(`tr[data-user="alice"] form[action$="/approve"] button[type=submit]`)
	admin.mustSee("Recovery of alice approved")

	// The old password no longer signs in; the emailed link sets a new one.
	b.loginPassword("alice", alicePW)
	b.mustSee("The username or password is wrong")
	b.open(path(mailedLink(t, outbox, "alice@example.org", "/account/reset-password/confirm/")))
	const newPW = "a brand new passphrase after recovery"
	b.fill(`input[name=password]`, newPW, `input[name=password_confirm]`, newPW)
	b.submit(`main form button[type=submit]`)
	b.mustSee("Your password was changed")
	b.loginPassword("alice", newPW)
	if !strings.Contains(b.text("header"), "alice") || strings.Contains(b.location(), "/two-factor/") {
		t.Fatalf("alice is not signed in with its new password alone: at %s", b.location())
	}
	b.open("/manage/account/security-history/")
	b.mustSee("Account recovery approved by root", "Account recovery requested")
	b.screenshot("history")

	// alice enrols a security key (recovery codes first) and signs in with it.
	b.setUpRecoveryCodes(false)
	key := b.plugKey()
	b.open("/manage/account/webauthn/")
	b.fill(`#key-label`, "New key")
	b.touchKey("register")
	b.mustSee("New key", "added")
	b.logout()
	b.password("alice", newPW)
	b.touchKey("login")
	if !strings.Contains(b.text("header"), "alice") {
		t.Fatalf("alice is not signed in with its new key: at %s", b.location())
	}
	key.unplug()
	b.logout()

	// bob asks from the login page, confirms, then cancels with the link.
	b.open("/account/login/")
	b.clickJS(`document.querySelector('main a[href="/account/recovery/"]')`)
	b.fill(`input[name=who]`, "bob@example.org")
	b.submit(`main form[action="/account/recovery/"] button[type=submit]`)
	b.mustSee("If an account matches")
	b.open(path(mailedLink(t, outbox, "bob@example.org", "/account/recovery/confirm/")))
	b.submit(`main form[action="/account/recovery/confirm/"] button[type=submit]`)
	b.mustSee("Your recovery request is confirmed")
	admin.open("/admin/recovery/")
	admin.mustSee("bob")
	b.open(path(mailedLink(t, outbox, "bob@example.org", "/account/recovery/cancel/")))
	b.mustSee("Cancel the recovery request of bob")
	b.submit(`main form[action="/account/recovery/cancel/"] button[type=submit]`)
	b.mustSee("The recovery request was cancelled")
	b.screenshot("cancelled")
	admin.open("/admin/recovery/")
	admin.mustSee("No recovery request is open")

	// Everything is as it was: bob signs in with its password and its app.
	b.loginPassword("bob", bobPW)
	if !strings.Contains(b.location(), "/account/two-factor/totp/") {
		t.Fatalf("bob's password led to %s, not its app", b.location())
	}
	b.fill(`main input[name=code]`, oathtool(t, secrets["bob"], 30*time.Second))
	b.submit(`main form button[type=submit]`)
	if !strings.Contains(b.text("header"), "bob") {
		t.Fatalf("bob is not signed in with its app: at %s\n%s", b.location(), b.text("main"))
	}
	b.open("/manage/account/security-history/")
	b.mustSee("Account recovery request cancelled")
}
