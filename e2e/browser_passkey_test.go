package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestBrowserPasskeys: passkeys in real Chromium, the DevTools virtual
// authenticators standing for a laptop's passkey store (resident keys,
// user verification) and a USB key. A maintainer of a critical project
// without any second factor is refused by twine; it adds a passkey and
// the same token uploads (a passkey is two factors by itself). Signed
// out, the login page signs it in with the passkey alone through
// conditional mediation (no username typed); with the passkey on a USB
// key, which conditional mediation does not offer, the "Sign in with a
// passkey" button does. With --passkeys=false the button is gone and the
// passkey still works as the second factor after the password. Runs on
// SQLite and PostgreSQL.
func TestBrowserPasskeys(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { browserPasskeys(t, "") })
	t.Run("postgres", func(t *testing.T) { browserPasskeys(t, storetest.URL(t, store.Postgres)) })
}

func browserPasskeys(t *testing.T, database string) {
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	// Every pip run here comes from 127.0.0.1 (see TestCriticalMandate).
	args := []string{"--downloads-per-address=0"}
	s, base := keyServerWith(t, serverOptions{Database: database, Args: args})

	// pat owns cheese-dep, downloaded once: the only project with
	// downloads, so the top 1% of the index.
	pw := s.createUserPassword(t, "pat", false)
	token := s.token(t, "pat")
	if r := twineUpload(t, s, token, d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload by pat: exit %d\n%s", r.Code, r.Out)
	}
	v := newVenv(t)
	v.mustPip(t, "download", "--no-deps", "--index-url", s.URL+"/simple/", "-d", t.TempDir(), "cheese-dep")
	s.stop() // the server writes its download counts when it stops
	s, base = keyServerWith(t, serverOptions{Data: s.Data, Database: s.Database, Args: args})
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	if out := s.admin(t, "critical", "compute", "--as-of", tomorrow, "--base-url", base); !strings.Contains(out, "1 became critical") {
		t.Fatalf("critical compute:\n%s", out)
	}
	if r := twineUpload(t, s, token, d.Dep2.Files()...); r.Code == 0 || !strings.Contains(r.Flat(), "'cheese-dep' is a critical project") {
		t.Fatalf("twine upload to a critical project without 2FA: exit %d\n%s", r.Code, r.Out)
	}

	// A passkey on the laptop, after the recovery codes.
	b := newTab(t, "passkeys", base, 1280, 900)
	b.loginPassword("pat", pw)
	b.setUpRecoveryCodes(false)
	laptop := b.plugPlatformKey()
	b.open("/manage/account/webauthn/")
	b.fill(`#passkey-label`, "Laptop")
	b.touchKey("register-passkey")
	b.mustSee("Laptop", "passkey")
	b.screenshot("passkey-added")
	if r := twineUpload(t, s, token, d.Dep2.Files()...); r.Code != 0 {
		t.Fatalf("twine upload to a critical project by a passkey user: exit %d\n%s", r.Code, r.Out)
	}

	// Signed out, the login page signs in with the passkey alone.
	b.logout()
	b.open("/account/login/")
	b.waitSignedIn("pat")
	b.screenshot("passkey-conditional")
	b.open("/manage/account/security-history/")
	b.mustSee("passkey", "Laptop")

	// The passkey on a USB key: no conditional mediation, the button.
	b.logout()
	creds := laptop.unplug()
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the laptop holds %d credentials (resident: %v)", len(creds), len(creds) > 0 && creds[0].IsResidentCredential)
	}
	usb := b.plugKey(creds...)
	b.open("/account/login/")
	if got := b.evalAwait(`PublicKeyCredential.isConditionalMediationAvailable().then(String)`); got != "false" {
		t.Fatalf("conditional mediation with a USB key only: %s", got)
	}
	if strings.Contains(b.text("header"), "pat") {
		t.Fatal("signed in before the button was pressed")
	}
	b.screenshot("passkey-button")
	b.clickJS(`document.querySelector('[data-passkey="button"]')`)
	b.waitSignedIn("pat")

	// Passkeys turned off: no button, the key is a second factor. Back on
	// the laptop: the key's options name the transport it registered with
	// ("internal"), which the browser looks for.
	b.logout()
	b.plugPlatformKey(usb.unplug()...)
	s.stop()
	s, base = keyServerWith(t, serverOptions{Data: s.Data, Database: s.Database, Args: append(args, "--passkeys=false")})
	b.base = base
	b.open("/account/login/")
	if n := b.evalString(`String(document.querySelectorAll('[data-passkey]').length)`); n != "0" {
		t.Fatalf("%s passkey buttons with --passkeys=false", n)
	}
	if strings.Contains(b.evalString(`document.querySelector('input[name=username]').autocomplete`), "webauthn") {
		t.Fatal("the username field still asks for passkeys with --passkeys=false")
	}
	b.password("pat", pw)
	b.mustSee("Use a security key")
	b.touchKey("login")
	b.waitSignedIn("pat")
}

// waitSignedIn waits until the page's header names username, as after a
// sign-in that a script finishes.
func (b *tab) waitSignedIn(username string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(b.text("header"), username) {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the page: the script's redirect raises no event here
	}
	b.screenshot("not-signed-in")
	b.t.Fatalf("not signed in as %s (at %s): %s", username, b.location(), b.text("main"))
}

// evalAwait evaluates js, a promise of a string, and returns its value.
func (b *tab) evalAwait(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("chromium: evaluate %q: %v", js, err)
	}
	return v
}
