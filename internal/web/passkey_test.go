package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// Passkeys through the web UI's JSON endpoints and pages, with a
// software authenticator (virtualwebauthn) in place of the browser.

// createPasskey posts the label to optionsPath, answers the registration
// options with cred (the authenticator keeps the user handle, as a
// passkey does) and posts the answer to verifyPath; it fails the test
// unless the server answers want.
func (b *browser) createPasskey(optionsPath, verifyPath string, rp virtualwebauthn.RelyingParty, auth *virtualwebauthn.Authenticator,
	cred virtualwebauthn.Credential, label string, want int) map[string]any {
	b.t.Helper()
	resp, out, body := b.postJSON(optionsPath, map[string]any{"label": label})
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == want {
			return out
		}
		b.t.Fatalf("passkey options %s: %d %s", optionsPath, resp.StatusCode, body)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(body)
	if err != nil {
		b.t.Fatalf("attestation options: %v\n%s", err, body)
	}
	auth.Options.UserHandle = []byte(opts.UserID)
	att := virtualwebauthn.CreateAttestationResponse(rp, *auth, cred, *opts)
	resp, out, body = b.postJSON(verifyPath, map[string]any{"label": label, "credential": json.RawMessage(att)})
	if resp.StatusCode != want {
		b.t.Fatalf("passkey %s: got %d, want %d: %s", verifyPath, resp.StatusCode, want, body)
	}
	return out
}

// passkeySignIn signs in on the login page with cred alone: the options
// (which set the ceremony's cookie), the answer, and the verification;
// it returns the answer of the verification.
func (b *browser) passkeySignIn(rp virtualwebauthn.RelyingParty, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) (*http.Response, map[string]any, string) {
	b.t.Helper()
	b.page("/account/login/?next=%2Fmanage%2Fprojects%2F")
	resp, _, body := b.postJSON("/account/login/passkey/options", map[string]any{})
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("passkey sign-in options: %d %s", resp.StatusCode, body)
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(body)
	if err != nil {
		b.t.Fatalf("assertion options: %v\n%s", err, body)
	}
	a := virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *opts)
	return b.postJSON("/account/login/passkey/verify", map[string]any{"next": "/manage/projects/", "credential": json.RawMessage(a)})
}

// setCookieOf returns the Set-Cookie header of resp that sets name.
func setCookieOf(resp *http.Response, name string) string {
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=") {
			return c
		}
	}
	return ""
}

func TestPasskeySignIn(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		// Under --require-2fa: a passkey is two-factor authentication.
		s, _ := keyServer(t, d, true)
		ctx := context.Background()
		rp := s.rpOf()
		u, b := s.keyUser(t, "passkeeper")
		resp, body := b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page", resp, body, http.StatusOK, "Add a passkey", `id="passkey-label"`, `data-webauthn="register-passkey"`)

		auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
		cred := newEC2Key()
		out := b.createPasskey("/manage/account/webauthn/passkey/options", "/manage/account/webauthn/passkey/register", rp, &auth, cred, "My phone", http.StatusOK)
		if out["redirect"] != "/manage/account/webauthn/" {
			t.Fatalf("registration answered %v", out)
		}
		resp, body = b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page with a passkey", resp, body, http.StatusOK, "Passkey &#34;My phone&#34; added", `data-passkey="synced"`, "Passkey (synced)")
		if strings.Contains(body, `data-webauthn="upgrade-passkey"`) {
			t.Fatal("a passkey is offered to become a passkey")
		}
		keys, _ := s.st.SecurityKeys(ctx, u.ID)
		if len(keys) != 1 || !keys[0].Discoverable || !keys[0].UserVerified || !keys[0].BackupEligible || !keys[0].BackupState {
			t.Fatalf("stored passkey: %+v", keys)
		}
		if mails := s.mailsTo(t, u.Email); !strings.Contains(mails[len(mails)-1].Subject, "passkey") {
			t.Fatalf("last mail %q does not say passkey", mails[len(mails)-1].Subject)
		}
		if f, err := s.st.TwoFactorFigures(ctx); err != nil || f.UsersSecurityKey != 1 || f.Users2FA != 1 {
			t.Fatalf("figures: %+v %v: a passkey counts as a security key", f, err)
		}

		// A new browser signs in with the passkey alone.
		pb := s.browser(t)
		resp, body = pb.page("/account/login/")
		wantStatus(t, "login page", resp, body, http.StatusOK, `data-passkey="button"`, `autocomplete="username webauthn"`, "/static/passkey.js")
		if resp, js := pb.get("/static/passkey.js"); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") ||
			!strings.Contains(js, `mediation: "conditional"`) {
			t.Fatalf("/static/passkey.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, _, body = pb.postJSON("/account/login/passkey/options", map[string]any{})
		ck := setCookieOf(resp, cookiePasskey)
		if resp.StatusCode != http.StatusOK || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") ||
			!strings.Contains(ck, "Max-Age=300") || strings.Contains(ck, "Secure") {
			t.Fatalf("options: %d %q %s", resp.StatusCode, ck, body)
		}
		cred.Counter = 0
		resp, out, body = pb.passkeySignIn(rp, auth, cred)
		if resp.StatusCode != http.StatusOK || out["redirect"] != "/manage/projects/" {
			t.Fatalf("passkey sign-in: %d %s", resp.StatusCode, body)
		}
		if pb.cookie(cookiePasskey) != "" || pb.cookie(cookieAnon) != "" || pb.cookie(cookieSession) == "" {
			t.Fatalf("cookies after the sign-in: passkey %q, anonymous %q, session %q", pb.cookie(cookiePasskey), pb.cookie(cookieAnon), pb.cookie(cookieSession))
		}
		resp, body = pb.get("/manage/projects/")
		wantStatus(t, "a mandated page after a passkey sign-in", resp, body, http.StatusOK, "passkeeper")
		evs, _ := s.st.UserEvents(ctx, u.ID, 1)
		if evs[0].Tag != audit.LoginSuccess || audit.Describe(evs[0]) != "Signed in with passkey \u201cMy phone\u201d" {
			t.Fatalf("last event: %s %s", evs[0].Tag, audit.Describe(evs[0]))
		}
		if sess, err := s.acct.Session(ctx, pb.cookie(cookieSession)); err != nil || sess == nil || sess.Pending() || sess.Session.AuthMethod != "passkey" {
			t.Fatalf("the passkey session: %+v %v", sess, err)
		}

		// Refusals: no ceremony cookie; an answer to another browser's
		// challenge; a changed backup state is stored.
		nb := s.browser(t)
		nb.page("/account/login/")
		resp, out, body = nb.postJSON("/account/login/passkey/verify", map[string]any{"credential": json.RawMessage(`{}`)})
		refused(t, "no ceremony", resp.StatusCode, out, body, http.StatusUnauthorized, "expired or was already used")
		other := s.browser(t)
		other.page("/account/login/")
		_, _, body = other.postJSON("/account/login/passkey/options", map[string]any{})
		opts, _ := virtualwebauthn.ParseAssertionOptions(body)
		stolen := virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *opts)
		nb.postJSON("/account/login/passkey/options", map[string]any{})
		resp, out, body = nb.postJSON("/account/login/passkey/verify", map[string]any{"credential": json.RawMessage(stolen)})
		refused(t, "another browser's challenge", resp.StatusCode, out, body, http.StatusUnauthorized, "was refused")
		if nb.cookie(cookieSession) != "" {
			t.Fatal("a refused passkey sign-in left a session")
		}
		auth.Options.BackupState = false
		if resp, _, body := s.browser(t).passkeySignIn(rp, auth, cred); resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-in with the backup state changed: %d %s", resp.StatusCode, body)
		}
		if keys, _ := s.st.SecurityKeys(ctx, u.ID); keys[0].BackupState {
			t.Fatal("the new backup state is not stored")
		}

		// The passkey still works as the second step after a password.
		lb := s.passwordStep(t, "passkeeper")
		if status, _, body := lb.keyLogin(rp, auth, cred); status != http.StatusOK {
			t.Fatalf("the passkey as a second step: %d %s", status, body)
		}
	})
}

func TestPasskeyUpgradeWeb(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, _ := keyServer(t, d, false)
		ctx := context.Background()
		rp := s.rpOf()
		u, b := s.keyUser(t, "upgrader")
		auth := virtualwebauthn.NewAuthenticator()
		old := newEC2Key()
		b.register(rp, &auth, old, "Blue key", http.StatusOK)
		keys, _ := s.st.SecurityKeys(ctx, u.ID)
		id := itoa(keys[0].ID)
		resp, body := b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page", resp, body, http.StatusOK, `data-webauthn="upgrade-passkey" data-key="`+id+`"`, "Make it a passkey", "Security key")

		passkey := newEC2Key()
		base := "/manage/account/webauthn/" + id + "/passkey/"
		out := b.createPasskey(base+"options", base+"upgrade", rp, &auth, passkey, "", http.StatusOK)
		if out["redirect"] != "/manage/account/webauthn/" {
			t.Fatalf("upgrade answered %v", out)
		}
		resp, body = b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page after the upgrade", resp, body, http.StatusOK, "is now a passkey", `data-passkey="device"`, "Passkey (on this device only)")
		if strings.Contains(body, `data-webauthn="upgrade-passkey"`) {
			t.Fatal("the upgraded key is still offered an upgrade")
		}
		before := keys[0].CredentialID
		keys, _ = s.st.SecurityKeys(ctx, u.ID)
		if len(keys) != 1 || keys[0].Label != "Blue key" || !keys[0].Discoverable || keys[0].CredentialID == before {
			t.Fatalf("keys after the upgrade: %+v", keys)
		}
		if !hasEvent(t, s.st, u.ID, audit.SecurityKeyUpgraded) {
			t.Fatal("the upgrade is not recorded")
		}
		if resp, _, body := s.browser(t).passkeySignIn(rp, auth, passkey); resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-in with the upgraded key: %d %s", resp.StatusCode, body)
		}
		// Another user's key cannot be upgraded from this account.
		_, ob := s.keyUser(t, "intruder")
		ob.page("/manage/account/webauthn/")
		ob.createPasskey("/manage/account/webauthn/"+itoa(keys[0].ID)+"/passkey/options", "", rp, &auth, newEC2Key(), "", http.StatusNotFound)
	})
}

// TestPasskeysTurnedOff: --no-passkeys: no routes, no button, no
// conditional request, no registration or upgrade; a passkey registered
// before still works as a security key after a password.
func TestPasskeysTurnedOff(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, _ := clockServer(t, d, serverConfig{BaseHost: "localhost", NoPasskeys: true})
		rp := s.rpOf()
		u, b := s.keyUser(t, "offline")
		auth := virtualwebauthn.NewAuthenticator()
		cred := newEC2Key()
		b.register(rp, &auth, cred, "Phone", http.StatusOK)
		// As if registered as a passkey while passkeys were on.
		if _, err := s.st.DB().ExecContext(context.Background(), `UPDATE security_keys SET discoverable = TRUE, user_verified = TRUE WHERE user_id = $1`, u.ID); err != nil {
			t.Fatal(err)
		}
		resp, body := b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page", resp, body, http.StatusOK, "Phone", `data-webauthn="register"`)
		for _, absent := range []string{"register-passkey", "passkey-label", "upgrade-passkey", "Add a passkey"} {
			if strings.Contains(body, absent) {
				t.Errorf("the keys page shows %s with passkeys off", absent)
			}
		}
		pb := s.browser(t)
		resp, body = pb.page("/account/login/")
		wantStatus(t, "login page", resp, body, http.StatusOK, `autocomplete="username"`)
		for _, absent := range []string{`data-passkey`, "username webauthn", "passkey.js", "Sign in with a passkey"} {
			if strings.Contains(body, absent) {
				t.Errorf("the login page shows %s with passkeys off", absent)
			}
		}
		for _, c := range []struct {
			b    *browser
			path string
		}{
			{pb, "/account/login/passkey/options"},
			{pb, "/account/login/passkey/verify"},
			{b, "/manage/account/webauthn/passkey/options"},
			{b, "/manage/account/webauthn/passkey/register"},
			{b, "/manage/account/webauthn/1/passkey/options"},
			{b, "/manage/account/webauthn/1/passkey/upgrade"},
		} {
			if resp, _, body := c.b.postJSON(c.path, map[string]any{"label": "x"}); resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s with passkeys off: %d %s", c.path, resp.StatusCode, body)
			}
		}
		cred.Counter++
		if status, _, body := s.passwordStep(t, "offline").keyLogin(rp, auth, cred); status != http.StatusOK {
			t.Fatalf("the passkey as a second step with passkeys off: %d %s", status, body)
		}
	})
}

// TestPasskeysIPBaseURL: with a base URL naming an IP address (make run's
// default), where browsers refuse every WebAuthn ceremony, the login page
// offers no passkey (no button, no autofill request that would greet each
// visitor with an error); with a host name it does.
func TestPasskeysIPBaseURL(t *testing.T) {
	for _, c := range []struct {
		host  string
		offer bool
	}{{"", false}, {"localhost", true}} {
		s := newTestServerWith(t, store.SQLite, serverConfig{BaseHost: c.host})
		resp, body := s.browser(t).page("/account/login/")
		wantStatus(t, "login page", resp, body, http.StatusOK)
		for _, mark := range []string{`data-passkey="button"`, "username webauthn", "passkey.js"} {
			if strings.Contains(body, mark) != c.offer {
				t.Errorf("base URL %s: the login page shows %s: %v, want %v", s.URL, mark, !c.offer, c.offer)
			}
		}
	}
}

// TestPasskeyOptionsRateLimit: concurrent options calls from one address
// cannot pass twofactor.PasskeyOptionsPerIP.
func TestPasskeyOptionsRateLimit(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, _ := keyServer(t, d, false)
		b := s.browser(t)
		b.page("/account/login/")
		n := twofactor.PasskeyOptionsPerIP.Max + 10
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/login/passkey/options", bytes.NewReader([]byte("{}")))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-CSRF-Token", b.csrf)
				req.Header.Set("Origin", s.URL)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				resp, err := b.client.Do(req)
				status := 0
				if err == nil {
					status = resp.StatusCode
					if status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
						status = -1
					}
					resp.Body.Close()
				}
				mu.Lock()
				codes[status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[http.StatusOK] != twofactor.PasskeyOptionsPerIP.Max || codes[http.StatusTooManyRequests] != n-twofactor.PasskeyOptionsPerIP.Max {
			t.Fatalf("answers of %d concurrent options calls: %v, want %d 200s and 429s with Retry-After", n, codes, twofactor.PasskeyOptionsPerIP.Max)
		}
	})
}

// TestPasskeyCookieHTTPS: over https the ceremony's cookie is Secure and
// __Host- prefixed, as the other cookies.
func TestPasskeyCookieHTTPS(t *testing.T) {
	s, _ := clockServer(t, store.SQLite, serverConfig{BaseHost: "localhost", HTTPS: true})
	// The jar would not send Secure cookies over the test's plain http:
	// the browser's cookies are sent by hand.
	resp, err := s.client.Get(s.URL + "/account/login/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	anon := setCookieOf(resp, "__Host-"+cookieAnon)
	m := dataCSRF.FindStringSubmatch(string(body))
	if anon == "" || m == nil {
		t.Fatalf("login page: cookie %q, token %v", anon, m)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/login/passkey/options", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", m[1])
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", strings.SplitN(anon, ";", 2)[0])
	resp, err = s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := setCookieOf(resp, "__Host-"+cookiePasskey)
	if resp.StatusCode != http.StatusOK || !strings.Contains(ck, "Secure") || !strings.Contains(ck, "HttpOnly") ||
		!strings.Contains(ck, "SameSite=Lax") || !strings.Contains(ck, "Path=/") {
		t.Fatalf("options over https: %d, cookie %q", resp.StatusCode, ck)
	}
}
