package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestBrowserSecurityKeys: security keys in real Chromium, with the
// DevTools virtual authenticator standing for the keys: register two keys
// (after confirming recovery codes), sign in with each, re-authenticate
// with a key and remove the other, then a copy of the remaining key with
// a sign counter behind is refused and the security history shows it.
// Runs on SQLite and PostgreSQL.
func TestBrowserSecurityKeys(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { securityKeys(t, "") })
	t.Run("postgres", func(t *testing.T) { securityKeys(t, storetest.URL(t, store.Postgres)) })
}

// keyServer starts a server whose base URL names the host "localhost": a
// WebAuthn relying party id must be a host name, not an IP address.
func keyServer(t *testing.T, database string) (*server, string) {
	t.Helper()
	return keyServerWith(t, serverOptions{Database: database})
}

// keyServerWith is keyServer with more options (opts.Args are appended to
// the address and base URL it chooses).
func keyServerWith(t *testing.T, opts serverOptions) (*server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := fmt.Sprintf("http://localhost:%d", port)
	opts.Args = append([]string{"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--base-url", base}, opts.Args...)
	return startServer(t, opts), base
}

// authenticator is a virtual security key plugged into the tab.
type authenticator struct {
	b  *tab
	id webauthn.AuthenticatorID
}

// plugKey adds a virtual CTAP2 USB key (touched automatically), holding
// creds if any.
func (b *tab) plugKey(creds ...*webauthn.Credential) *authenticator {
	b.t.Helper()
	return b.plug(webauthn.AuthenticatorTransportUsb, creds...)
}

// plugPlatformKey adds a virtual platform authenticator (the laptop's
// built-in passkey store: resident keys, user verification), holding creds
// if any. Chromium offers its passkeys to conditional mediation, which it
// resolves at once under DevTools.
func (b *tab) plugPlatformKey(creds ...*webauthn.Credential) *authenticator {
	b.t.Helper()
	return b.plug(webauthn.AuthenticatorTransportInternal, creds...)
}

func (b *tab) plug(transport webauthn.AuthenticatorTransport, creds ...*webauthn.Credential) *authenticator {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("webauthn enable: %v", err)
	}
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: transport,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			// addCredential always sends the CMTG fields, which only such an authenticator accepts.
			HasCmtgKey: true,
		}})
	if err != nil {
		b.t.Fatalf("add virtual authenticator: %v", err)
	}
	a := &authenticator{b: b, id: res.AuthenticatorID}
	for _, c := range creds {
		a.add(c)
	}
	return a
}

func (a *authenticator) add(c *webauthn.Credential) {
	a.b.t.Helper()
	// getCredentials reports CMTG fields an authenticator without the
	// extension refuses back.
	c.CmtgKeys, c.ActiveCmtgKeyIndex, c.GenerateCmtgKeyOnNextOperation = nil, nil, false
	if _, err := chromedp.Call(a.b.ctx, webauthn.AddCredential, webauthn.AddCredentialParams{AuthenticatorID: a.id, Credential: c}); err != nil {
		a.b.t.Fatalf("add credential: %v", err)
	}
}

func (a *authenticator) credentials() []*webauthn.Credential {
	a.b.t.Helper()
	res, err := chromedp.Call(a.b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.id})
	if err != nil {
		a.b.t.Fatalf("get credentials: %v", err)
	}
	return res.Credentials
}

// unplug removes the key and returns its credentials (with their counters).
func (a *authenticator) unplug() []*webauthn.Credential {
	a.b.t.Helper()
	creds := a.credentials()
	if _, err := chromedp.Call(a.b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: a.id}); err != nil {
		a.b.t.Fatalf("remove virtual authenticator: %v", err)
	}
	return creds
}

// touchKey clicks a data-webauthn button and waits for the page it leads to.
func (b *tab) touchKey(kind string) {
	b.t.Helper()
	b.clickJS(fmt.Sprintf(`document.querySelector('[data-webauthn=%q]')`, kind))
}

// keyRefused clicks a data-webauthn button and waits for the status to
// contain msg.
func (b *tab) keyRefused(kind, msg string) {
	b.t.Helper()
	b.evalString(fmt.Sprintf(`document.querySelector('[data-webauthn=%q]').click(); "ok"`, kind))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(b.text(".webauthn-status"), msg) {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the page: no event tells the status changed
	}
	b.screenshot("not-refused")
	b.t.Fatalf("the page does not show %q; status: %q", msg, b.text(".webauthn-status"))
}

func (b *tab) logout() {
	b.t.Helper()
	b.submit(`header form[action="/account/logout/"] button`)
}

// password gives the password and lands on the second step.
func (b *tab) password(username, password string) {
	b.t.Helper()
	b.open("/account/login/")
	b.fill(`input[name=username]`, username, `input[name=password]`, password)
	b.submit(`main form button[type=submit]`)
	if !strings.Contains(b.location(), "/account/two-factor/") {
		b.t.Fatalf("the password led to %s, not the second step", b.location())
	}
}

func securityKeys(t *testing.T, database string) {
	s, base := keyServer(t, database)
	outbox := filepath.Join(s.Data, "outbox")
	const pw = "correct horse battery staple"
	b := newTab(t, "keys", base, 1280, 900)
	b.register(outbox, "keith", pw)

	// Recovery codes first.
	b.open("/manage/account/recovery-codes/")
	b.submit(`form[action="/manage/account/recovery-codes/"] button[type=submit]`)
	codes := strings.Fields(b.evalString(`[...document.querySelectorAll(".recovery-code")].map(e => e.textContent).join(" ")`))
	if len(codes) != 8 {
		t.Fatalf("recovery codes: %q", codes)
	}
	b.fill(`form[action="/manage/account/recovery-codes/confirm"] input[name=code]`, codes[0])
	b.submit(`form[action="/manage/account/recovery-codes/confirm"] button[type=submit]`)

	// Key one on a first authenticator, key two on a second.
	key1 := b.plugKey()
	b.open("/manage/account/webauthn/")
	b.fill(`#key-label`, "Key one")
	b.touchKey("register")
	b.mustSee("Key one", "added")
	cred1 := key1.unplug()
	key2 := b.plugKey()
	b.open("/manage/account/webauthn/")
	b.fill(`#key-label`, "Key two")
	b.touchKey("register")
	b.mustSee("Key one", "Key two")
	b.screenshot("security-keys")
	cred2 := key2.unplug()
	if len(cred1) != 1 || len(cred2) != 1 {
		t.Fatalf("credentials: %d and %d", len(cred1), len(cred2))
	}

	// Sign in with key one, then with key two.
	b.logout()
	key1 = b.plugKey(cred1...)
	b.password("keith", pw)
	b.mustSee("Use a security key")
	b.screenshot("second-step")
	b.touchKey("login")
	if !strings.Contains(b.text("header"), "keith") {
		t.Fatalf("not signed in with key one: %s", b.location())
	}
	b.logout()
	key1.unplug()
	key2 = b.plugKey(cred2...)
	b.password("keith", pw)
	b.touchKey("login")
	if !strings.Contains(b.text("header"), "keith") {
		t.Fatalf("not signed in with key two: %s", b.location())
	}

	// Confirm it is you with key two, then remove key one.
	b.open("/manage/account/reauth/?next=%2Fmanage%2Faccount%2Fwebauthn%2F")
	b.touchKey("reauth")
	if !strings.HasSuffix(b.location(), "/manage/account/webauthn/") {
		t.Fatalf("the re-authentication led to %s", b.location())
	}
	b.clickJS(`[...document.querySelectorAll("#security-keys tr")].find(r => r.dataset.key === "Key one").querySelector("form[action$='/remove'] button")`)
	b.mustSee("removed", "Key two")
	if strings.Contains(b.text("#security-keys"), "Key one") {
		t.Fatal("key one is still listed")
	}

	// A copy of key two, its counter behind: refused and recorded.
	c := key2.credentials()[0]
	if c.SignCount < 2 {
		t.Fatalf("key two's counter is %v", c.SignCount)
	}
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: key2.id, CredentialID: c.CredentialID}); err != nil {
		t.Fatal(err)
	}
	c.SignCount = 0
	key2.add(c)
	b.logout()
	b.password("keith", pw)
	b.keyRefused("login", "signature counter went backwards")
	b.screenshot("clone-refused")
	// In with a recovery code, the history shows it.
	b.open("/account/two-factor/recovery-code/")
	b.fill(`input[name=code]`, codes[1])
	b.submit(`main form button[type=submit]`)
	b.open("/manage/account/security-history/")
	b.mustSee("signature counter went backwards", "Key two")
	b.screenshot("security-history")
}
