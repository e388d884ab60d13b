package e2e

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// debOathtool is Debian's oathtool, an implementation of TOTP independent
// of the server's.
const debOathtool = "/usr/bin/oathtool"

// oathtool returns the TOTP code of the base32 secret at now+offset.
func oathtool(t testing.TB, secret string, offset time.Duration) string {
	t.Helper()
	at := time.Now().Add(offset).UTC().Format("2006-01-02 15:04:05 UTC")
	out, err := exec.Command(debOathtool, "--totp", "-b", "--now", at, secret).CombinedOutput()
	code := strings.TrimSpace(string(out))
	if err != nil || len(code) != 6 {
		t.Fatalf("oathtool --totp -b --now %q: %v\n%s", at, err, out)
	}
	return code
}

// setUpRecoveryCodes generates the signed-in user's recovery codes on
// their page and types one back; it returns the codes.
func (b *tab) setUpRecoveryCodes(shot bool) []string {
	b.t.Helper()
	b.open("/manage/account/recovery-codes/")
	b.submit(`main form[action="/manage/account/recovery-codes/"] button[type=submit]`)
	codes := strings.Fields(b.evalString(`[...document.querySelectorAll(".recovery-code")].map(e => e.innerText).join(" ")`))
	if len(codes) != 8 {
		b.screenshot("no-codes")
		b.t.Fatalf("the recovery-codes page shows %d codes: %q", len(codes), codes)
	}
	if shot {
		b.screenshot("recovery-codes")
	}
	form := `main form[action="/manage/account/recovery-codes/confirm"]`
	b.fill(form+` input[name=code]`, codes[2])
	b.submit(form + ` button[type=submit]`)
	b.mustSee("recovery codes are confirmed")
	return codes
}

// setUpApp sets up the signed-in user's recovery codes, then its
// authenticator app (setUpRecoveryCodes, setUpTOTP); it returns the app's
// secret.
func (b *tab) setUpApp(shot bool) string {
	b.t.Helper()
	b.setUpRecoveryCodes(shot)
	return b.setUpTOTP(shot)
}

var base32Secret = regexp.MustCompile(`^[A-Z2-7]{32}$`)

// setUpTOTP enables an authenticator app from the secret the page shows,
// confirmed with oathtool's code; it returns the secret.
func (b *tab) setUpTOTP(shot bool) string {
	b.t.Helper()
	b.open("/manage/account/totp/")
	b.submit(`main form[action="/manage/account/totp/begin"] button[type=submit]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`#totp-qr`)))
	if w := b.evalString(`String(document.querySelector("#totp-qr").naturalWidth)`); w == "0" {
		b.screenshot("no-qr")
		b.t.Fatal("the QR code image does not load")
	}
	secret := strings.ReplaceAll(b.text("#totp-secret"), " ", "")
	if !base32Secret.MatchString(secret) {
		b.t.Fatalf("the set-up page shows the secret %q", secret)
	}
	b.mustSee("SHA1", "30 seconds")
	if shot {
		b.screenshot("totp-setup")
	}
	b.fill(`main form[action="/manage/account/totp/confirm"] input[name=code]`, oathtool(b.t, secret, 0))
	b.submit(`main form[action="/manage/account/totp/confirm"] button[type=submit]`)
	b.mustSee("authenticator app is enabled")
	return secret
}

// loginPassword gives the password on the login form.
func (b *tab) loginPassword(username, password string) {
	b.t.Helper()
	b.open("/account/login/")
	b.fill(`input[name=username]`, username, `input[name=password]`, password)
	b.submit(`main form button[type=submit]`)
}

// TestBrowserTOTP enrols an authenticator app in real Chromium, reading
// the secret off the page, and signs in with codes from Debian's
// oathtool; a code works once.
func TestBrowserTOTP(t *testing.T) {
	requireTool(t, debOathtool, "oathtool")
	s := startServer(t, serverOptions{})
	outbox := filepath.Join(s.Data, "outbox")
	const password = "correct horse battery staple"
	b := newTab(t, "totp", s.URL, 1280, 900)
	b.register(outbox, "alice", password)
	secret := b.setUpApp(true)
	b.open("/manage/account/two-factor/")
	b.mustSee("Enabled")
	b.screenshot("two-factor")
	b.submit(`header form[action="/account/logout/"] button`)

	// Password, then a code of the next time step (the set-up's code is spent).
	b.loginPassword("alice", password)
	if !strings.Contains(b.location(), "/account/two-factor/totp/") {
		t.Fatalf("after the password: at %s", b.location())
	}
	if strings.Contains(b.text("header"), "alice") {
		t.Fatal("signed in before the second step")
	}
	b.mustSee("authenticator app", "Use a recovery code")
	b.screenshot("second-step")
	code := oathtool(t, secret, 30*time.Second)
	b.fill(`main input[name=code]`, code)
	b.submit(`main form button[type=submit]`)
	if !strings.Contains(b.text("header"), "alice") {
		t.Fatalf("not signed in after the second step: at %s\n%s", b.location(), b.text("main"))
	}
	b.open("/manage/account/security-history/")
	b.mustSee("Signed in with a password and authenticator app", "Two-factor method added: authenticator app")

	// The same code again: refused.
	b.submit(`header form[action="/account/logout/"] button`)
	b.loginPassword("alice", password)
	b.fill(`main input[name=code]`, code)
	b.submit(`main form button[type=submit]`)
	b.mustSee("already used")
	b.screenshot("replay-refused")
	if strings.Contains(b.text("header"), "alice") {
		t.Fatal("a replayed code signed in")
	}
}

// TestRequire2FAUpload runs the site-wide switch end to end: twine is
// refused for a user without two-factor authentication, with the message
// that says how to fix it, and the same token uploads once the user
// enrolled an authenticator app through the UI.
func TestRequire2FAUpload(t *testing.T) {
	requireTool(t, debOathtool, "oathtool")
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	s := startServer(t, serverOptions{Args: []string{"--require-2fa"}})
	password := s.createUserPassword(t, "carol", false)
	token := s.token(t, "carol")

	r := twineUpload(t, s, token, d.Dep.Files()...)
	if r.Code == 0 || !strings.Contains(r.Flat(), "two-factor") {
		t.Fatalf("twine upload by a user without 2FA under --require-2fa: exit %d\n%s", r.Code, r.Out)
	}

	b := newTab(t, "require-2fa", s.URL, 1280, 900)
	b.loginPassword("carol", password)
	b.open("/manage/projects/")
	if !strings.Contains(b.location(), "/manage/account/two-factor/") {
		t.Fatalf("a user without 2FA reached %s", b.location())
	}
	b.mustSee("Two-factor authentication is required")
	b.screenshot("required")
	b.setUpApp(false)

	if r := twineUpload(t, s, token, d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload after enrolling TOTP: exit %d\n%s", r.Code, r.Out)
	}
	b.open("/manage/projects/")
	b.mustSee("cheese-dep")
}
