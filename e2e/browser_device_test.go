package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestBrowserNewDevice: new-device confirmation in real Chromium. alice
// sets up an app and a security key in one browser; an app sign-in from a
// second browser waits for the emailed link, which confirms nothing in a
// third (the phone's mail app) and signs the second in; signing out and
// in again with the app there is not asked; a key sign-in from a fourth
// new browser is not asked either. The server runs on the test clock,
// moved one TOTP step before each code so that no code is spent twice.
// Runs on SQLite and PostgreSQL.
func TestBrowserNewDevice(t *testing.T) {
	requireTool(t, debOathtool, "oathtool")
	t.Run("sqlite", func(t *testing.T) { newDevice(t, "") })
	t.Run("postgres", func(t *testing.T) { newDevice(t, storetest.URL(t, store.Postgres)) })
}

func newDevice(t *testing.T, database string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := fmt.Sprintf("http://localhost:%d", port) // security keys need a host name
	clock := filepath.Join(t.TempDir(), "clock")
	s := startServer(t, serverOptions{Binary: clockBinary(t), Database: database, Env: []string{"CHEESESHOP_TEST_CLOCK_FILE=" + clock},
		Args: []string{"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--base-url", base}})
	outbox := filepath.Join(s.Data, "outbox")
	const pw = "correct horse battery staple"

	// The server's clock and the app's codes move together, a step at a
	// time.
	var offset time.Duration
	nextCode := func(secret string) string {
		t.Helper()
		offset += 30 * time.Second
		moveClock(t, clock, offset)
		return oathtool(t, secret, offset)
	}
	appSignIn := func(b *tab, secret string) {
		t.Helper()
		b.password("alice", pw)
		b.open("/account/two-factor/totp/")
		b.fill(`main input[name=code]`, nextCode(secret))
		b.submit(`main form button[type=submit]`)
	}
	signedIn := func(b *tab, what string) {
		t.Helper()
		if !strings.Contains(b.text("header"), "alice") || strings.Contains(b.location(), "/account/new-device/") {
			b.screenshot("not-signed-in")
			t.Fatalf("%s: not signed in, at %s\n%s", what, b.location(), b.text("main"))
		}
	}

	home := newTab(t, "device-home", base, 1280, 900)
	home.register(outbox, "alice", pw)
	secret := home.setUpApp(false)
	key := home.plugKey()
	home.open("/manage/account/webauthn/")
	home.fill(`#key-label`, "Blue key")
	home.touchKey("register")
	home.mustSee("Blue key", "added")
	creds := key.unplug()

	// The app from a new browser: it waits for the emailed link.
	away := newTab(t, "device-away", base, 1280, 900)
	appSignIn(away, secret)
	if !strings.Contains(away.location(), "/account/new-device/") {
		away.screenshot("not-waiting")
		t.Fatalf("an app sign-in from a new browser led to %s\n%s", away.location(), away.text("main"))
	}
	away.mustSee("We emailed", "@example.org", "Open it in THIS browser")
	away.screenshot("waiting")
	if strings.Contains(away.text("header"), "alice") {
		t.Fatal("signed in before the emailed link")
	}
	away.open("/manage/account/")
	if !strings.Contains(away.location(), "/account/login/") {
		t.Fatalf("a waiting sign-in reached %s", away.location())
	}
	link := mailedLink(t, outbox, "alice@example.org", "/account/confirm-device/")

	// The phone's mail app opens it: nothing is confirmed there.
	phone := newTab(t, "device-phone", base, 390, 844)
	phone.do(chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("main")))
	phone.mustSee("only works in the browser where you are signing in")
	phone.screenshot("elsewhere")
	if strings.Contains(phone.text("main"), "Confirm and sign in") {
		t.Fatal("the link offers to confirm in another browser")
	}

	// Opened in the waiting browser, it signs it in.
	away.do(chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("main")))
	away.mustSee("Confirm and sign in")
	away.submit(`main form[action="/account/confirm-device/"] button[type=submit]`)
	signedIn(away, "the link in the waiting browser")
	away.open("/manage/account/security-history/")
	away.mustSee("from a new browser, confirmed by the emailed link", "a confirmation link was emailed")
	away.screenshot("history")

	// The same browser again, with the app: not asked.
	away.logout()
	appSignIn(away, secret)
	signedIn(away, "the app again in the confirmed browser")

	// A security key from another new browser: not asked.
	keyTab := newTab(t, "device-key", base, 1280, 900)
	keyTab.plugKey(creds...)
	keyTab.password("alice", pw)
	keyTab.mustSee("Use a security key")
	keyTab.touchKey("login")
	signedIn(keyTab, "a key sign-in from a new browser")
}
