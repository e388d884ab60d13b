package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// confirmNewDevice finishes, in b, the sign-in of user that waits for the
// confirmation of its browser: it opens the link of the last new-device
// email in b and presses its button.
func confirmNewDevice(t testing.TB, b *browser, user string) {
	t.Helper()
	link := b.s.lastLink(t, user+"@example.org", "new browser", "/account/confirm-device/")
	resp, body := b.get(link)
	wantStatus(t, "the page of the link", resp, body, http.StatusOK, "Confirm and sign in")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.post("/account/confirm-device/", url.Values{"token": {u.Query().Get("token")}})
	wantStatus(t, "the confirmation", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/manage/account/") {
		t.Fatalf("the confirmation sent the browser to %q", loc)
	}
}

// appStep gives the password and a right code of the app in b, and
// returns where the second step sent the browser.
func appStep(t *testing.T, b *browser, user, pw, secret string, clk *clocktest.Clock) *http.Response {
	t.Helper()
	clk.Add(30 * time.Second) // a code of a new step: the last one was used
	loginPending(t, b, user, pw)
	b.get("/account/two-factor/totp/")
	resp, body := b.post("/account/two-factor/totp/", url.Values{"code": {totpCode(t, secret, clk.Now())}, "next": {"/manage/account/"}})
	wantStatus(t, "the second step", resp, body, http.StatusSeeOther)
	return resp
}

// wantWaits checks that the second step of resp waits for the emailed
// link, or (want false) signed in.
func wantWaits(t *testing.T, what string, resp *http.Response, want bool) {
	t.Helper()
	loc := resp.Header.Get("Location")
	if waits := strings.HasPrefix(loc, "/account/new-device/"); waits != want {
		t.Fatalf("%s: sent to %q; waiting for the email link: %v, want %v", what, loc, waits, want)
	}
}

// deviceLink returns the path and query of the link of the last new-device
// email to user, and its token.
func (s *testServer) deviceLink(t *testing.T, user string) (string, string) {
	t.Helper()
	link := s.lastLink(t, user+"@example.org", "new browser", "/account/confirm-device/")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return link, u.Query().Get("token")
}

// TestNewDeviceWeb follows a sign-in with the app from a new browser: it
// waits for the emailed link, can do nothing meanwhile, and the link
// signs in only the browser that waits, once; that browser is not asked
// again, the browser that set up the app never was.
func TestNewDeviceWeb(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		alice, home := s.signedInUser(t, "alice", pw)
		_, secret := enrolApp(t, home, clk)
		_, bobs := s.signedInUser(t, "bob", pw)
		_, bobSecret := enrolApp(t, bobs, clk)
		home.post("/account/logout/", nil)

		// The browser that set up the app is known.
		wantWaits(t, "the app in the browser that set it up", appStep(t, home, "alice", pw, secret, clk), false)

		away := s.browser(t)
		resp := appStep(t, away, "alice", pw, secret, clk)
		wantWaits(t, "the app in a new browser", resp, true)
		var device *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "device" {
				device = c
			}
		}
		if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.MaxAge != 365*24*3600 ||
			device.Path != "/" || device.Secure {
			t.Fatalf("device cookie: %+v", device)
		}
		if !hasEvent(t, s.st, alice.ID, audit.LoginNewDevice) {
			t.Error("no event of the sign-in from a new browser")
		}
		resp, body := away.get(resp.Header.Get("Location"))
		wantStatus(t, "the waiting page", resp, body, http.StatusOK, "a•••••@example.org", "Open it in THIS browser", "Send a new link", "Cancel this sign-in")
		msgs := s.mailsTo(t, "alice@example.org")
		text := msgs[len(msgs)-1].Text
		for _, want := range []string{"127.0.0.1", "Go-http-client", "open this link in THAT browser", "change both now"} {
			if !strings.Contains(text, want) {
				t.Errorf("the email lacks %q:\n%s", want, text)
			}
		}

		// Waiting, the session reaches nothing a pending session cannot,
		// and cannot pass a second step again.
		for _, path := range []string{"/manage/account/", "/manage/projects/"} {
			if resp, _ := away.get(path); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
				t.Errorf("a waiting session on %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		for _, path := range []string{"/account/two-factor/", "/account/two-factor/totp/", "/account/two-factor/recovery-code/", "/account/two-factor/webauthn/"} {
			if resp, _ := away.get(path); !strings.HasPrefix(resp.Header.Get("Location"), "/account/new-device/") {
				t.Errorf("a waiting session on %s: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		away.get("/account/new-device/")
		resp, body = away.post("/account/two-factor/totp/", url.Values{"code": {totpCode(t, secret, clk.Now().Add(30*time.Second))}})
		if !strings.HasPrefix(resp.Header.Get("Location"), "/account/new-device/") {
			t.Errorf("a second step posted while waiting: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		away.page("/account/new-device/")
		if resp, out, _ := away.postJSON("/account/two-factor/webauthn/options", map[string]any{}); resp.StatusCode != http.StatusConflict {
			t.Errorf("key options while waiting: %d %v", resp.StatusCode, out)
		}

		// The link in another browser, or in bob's, confirms nothing.
		link, token := s.deviceLink(t, "alice")
		phone := s.browser(t)
		for name, b := range map[string]*browser{"a phone": phone, "bob's browser": bobs} {
			b.get(map[*browser]string{phone: "/account/login/", bobs: "/manage/account/"}[b]) // a form token
			resp, body := b.get(link)
			wantStatus(t, "the link in "+name, resp, body, http.StatusForbidden, "only works in the browser where you are signing in",
				"If you are not signing in right now")
			if strings.Contains(body, "Confirm and sign in") {
				t.Errorf("the page of the link in %s offers to confirm", name)
			}
			resp, body = b.post("/account/confirm-device/", url.Values{"token": {token}})
			wantStatus(t, "the link posted in "+name, resp, body, http.StatusForbidden, "Opening it here confirmed nothing")
		}
		if signedIn(t, phone) || signedIn(t, away) {
			t.Fatal("the link in another browser signed a browser in")
		}

		// A new link replaces the first.
		away.get("/account/new-device/")
		resp, body = away.post("/account/new-device/resend", url.Values{"next": {"/manage/account/"}})
		wantStatus(t, "resend", resp, body, http.StatusSeeOther)
		_, body = away.get(resp.Header.Get("Location"))
		if !strings.Contains(body, "We sent a new link") {
			t.Errorf("no word of the new link:\n%s", body)
		}
		resp, body = away.get(link)
		wantStatus(t, "the first link after a resend", resp, body, http.StatusNotFound, "does not work any more")
		link, token = s.deviceLink(t, "alice")
		confirmNewDevice(t, away, "alice")
		if !signedIn(t, away) {
			t.Fatal("not signed in by the link")
		}
		_, hist := away.get("/manage/account/security-history/")
		if !strings.Contains(hist, "from a new browser, confirmed by the emailed link") {
			t.Errorf("the security history lacks the confirmed sign-in:\n%s", hist)
		}
		// Once.
		resp, body = away.get(link)
		wantStatus(t, "a used link", resp, body, http.StatusNotFound, "already used")
		resp, body = away.post("/account/confirm-device/", url.Values{"token": {token}})
		wantStatus(t, "a used link posted", resp, body, http.StatusNotFound, "already used")

		// The browser is known now, for alice.
		away.post("/account/logout/", nil)
		wantWaits(t, "the app again in the confirmed browser", appStep(t, away, "alice", pw, secret, clk), false)
		away.post("/account/logout/", nil)
		wantWaits(t, "bob's app in alice's browser", appStep(t, away, "bob", pw, bobSecret, clk), true)

		// Its cookie, copied into another browser, is bound to alice
		// too; altered, it is worth nothing (and replaced).
		value := away.cookie("device")
		copied := s.browser(t)
		setCookie(copied, "device", value)
		wantWaits(t, "alice's app with the copied cookie", appStep(t, copied, "alice", pw, secret, clk), false)
		forged := s.browser(t)
		setCookie(forged, "device", value[:len(value)-2]+"AA")
		wantWaits(t, "alice's app with a forged cookie", appStep(t, forged, "alice", pw, secret, clk), true)
		if got := forged.cookie("device"); got == value[:len(value)-2]+"AA" || s.acct.DeviceID(got) == "" {
			t.Errorf("the forged cookie was not replaced: %q", got)
		}
	})
}

// setCookie gives b a cookie of the server.
func setCookie(b *browser, name, value string) {
	u, _ := url.Parse(b.s.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// TestNewDeviceKeysAndSettings checks that a security key is never asked
// and makes its browser known, that a recovery code is asked, that the
// cookie is Secure on https, and that --no-new-device-confirmation asks
// nothing.
func TestNewDeviceKeysAndSettings(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		t.Run("key", func(t *testing.T) {
			s, _ := keyServer(t, d, false)
			u, b := s.keyUser(t, "keyholder")
			rp := s.rpOf()
			auth := virtualwebauthn.NewAuthenticator()
			key := newEC2Key()
			b.register(rp, &auth, key, "Blue YubiKey", http.StatusOK)
			lb := s.passwordStep(t, "keyholder")
			key.Counter++
			status, out, body := lb.keyLogin(rp, auth, key)
			if status != http.StatusOK || out["redirect"] != "/manage/projects/" {
				t.Fatalf("key sign-in in a new browser: %d %s", status, body)
			}
			keySignedIn(t, lb, "keyholder")
			for name, b := range map[string]*browser{"the browser that registered the key": b, "the browser that signed in with it": lb} {
				if known, err := s.acct.KnownDevice(t.Context(), u.ID, s.acct.DeviceID(b.cookie("device"))); err != nil || !known {
					t.Errorf("%s is not known: %v", name, err)
				}
			}
			if hasEvent(t, s.st, u.ID, audit.LoginNewDevice) {
				t.Error("a key sign-in waited for an email")
			}
		})
		t.Run("recovery code", func(t *testing.T) {
			s, clk := clockServer(t, d, serverConfig{HTTPS: true})
			_, b := s.signedInUser(t, "alice", pw)
			codes, _ := enrolApp(t, b, clk)
			nb := s.browser(t)
			loginPending(t, nb, "alice", pw)
			nb.get("/account/two-factor/recovery-code/")
			resp, body := nb.post("/account/two-factor/recovery-code/", url.Values{"code": {codes[0]}})
			wantStatus(t, "recovery code", resp, body, http.StatusSeeOther)
			wantWaits(t, "a recovery code in a new browser", resp, true)
			for _, c := range resp.Cookies() {
				if c.Name == "__Host-device" && !c.Secure {
					t.Errorf("the device cookie on https is not Secure: %+v", c)
				}
			}
			if nb.cookie("__Host-device") == "" {
				t.Error("no __Host-device cookie on https")
			}
		})
		t.Run("off", func(t *testing.T) {
			s, clk := clockServer(t, d, serverConfig{NoNewDeviceConfirmation: true})
			_, b := s.signedInUser(t, "alice", pw)
			codes, secret := enrolApp(t, b, clk)
			wantWaits(t, "the app in a new browser, off", appStep(t, s.browser(t), "alice", pw, secret, clk), false)
			nb := s.browser(t)
			loginPending(t, nb, "alice", pw)
			nb.get("/account/two-factor/recovery-code/")
			resp, body := nb.post("/account/two-factor/recovery-code/", url.Values{"code": {codes[0]}})
			wantStatus(t, "recovery code", resp, body, http.StatusSeeOther)
			wantWaits(t, "a recovery code in a new browser, off", resp, false)
			if b.cookie("device") != "" || nb.cookie("device") != "" {
				t.Error("a device cookie is set with the confirmation off")
			}
		})
	})
}

// TestNewDeviceHelp checks that the help page explains the confirmation
// of a new browser when it is on, and only then.
func TestNewDeviceHelp(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, off := range []bool{false, true} {
			s := newTestServerWith(t, d, serverConfig{NoNewDeviceConfirmation: off})
			_, b := s.get("/help/")
			body := strings.Join(strings.Fields(string(b)), " ")
			if has := strings.Contains(body, `id="new-device"`) && strings.Contains(body, "it works for 15 minutes, once"); has == off {
				t.Errorf("with the confirmation off: %v, the help page explains it: %v", off, has)
			}
		}
	})
}
