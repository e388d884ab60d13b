package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// Security keys through the web UI's JSON endpoints, with a software
// authenticator (virtualwebauthn) in place of the browser and the key.

var dataCSRF = regexp.MustCompile(`data-csrf="([^"]*)"`)

// keyServer is a test server named "localhost" in its base URL (a relying
// party id must be a host name), with a clock the test moves.
func keyServer(t *testing.T, d store.Dialect, require2FA bool) (*testServer, *clocktest.Clock) {
	return clockServer(t, d, serverConfig{BaseHost: "localhost", Require2FA: require2FA})
}

// rpOf is the relying party as a browser on the server's base URL sees it.
func (s *testServer) rpOf() virtualwebauthn.RelyingParty {
	base := s.tf.Config().BaseURL
	return virtualwebauthn.RelyingParty{ID: "localhost", Name: "cheeseshop", Origin: base}
}

// keyUser creates a user with confirmed recovery codes, signed in on a
// new browser.
func (s *testServer) keyUser(t *testing.T, name string) (*store.User, *browser) {
	t.Helper()
	u := s.userWithPassword(name, "correct horse battery staple")
	storetest.Must(t, s.st.SetRecoveryCodesConfirmed(context.Background(), u.ID, true))
	b := s.browser(t)
	b.login(name, "correct horse battery staple")
	return u, b
}

// page fetches a page and remembers its data-csrf token.
func (b *browser) page(path string) (*http.Response, string) {
	b.t.Helper()
	resp, body := b.get(path)
	if m := dataCSRF.FindStringSubmatch(body); m != nil {
		b.csrf = m[1]
	}
	return resp, body
}

// postJSON posts v as webauthn.js does, with the form token in the header.
func (b *browser) postJSON(path string, v any) (*http.Response, map[string]any, string) {
	b.t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, b.s.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body := b.do(req)
	var out map[string]any
	_ = json.Unmarshal([]byte(body), &out)
	return resp, out, body
}

// register adds a key named label made by cred on auth; it fails the
// test unless the server answers want.
func (b *browser) register(rp virtualwebauthn.RelyingParty, auth *virtualwebauthn.Authenticator, cred virtualwebauthn.Credential, label string, want int) map[string]any {
	b.t.Helper()
	b.page("/manage/account/webauthn/")
	resp, _, body := b.postJSON("/manage/account/webauthn/options", map[string]any{"label": label})
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == want {
			var out map[string]any
			_ = json.Unmarshal([]byte(body), &out)
			return out
		}
		b.t.Fatalf("registration options for %q: %d %s", label, resp.StatusCode, body)
	}
	opts, err := virtualwebauthn.ParseAttestationOptions(body)
	if err != nil {
		b.t.Fatalf("attestation options: %v\n%s", err, body)
	}
	att := virtualwebauthn.CreateAttestationResponse(rp, *auth, cred, *opts)
	resp, out, body := b.postJSON("/manage/account/webauthn/register", map[string]any{"label": label, "credential": json.RawMessage(att)})
	if resp.StatusCode != want {
		b.t.Fatalf("register %q: got %d, want %d: %s", label, resp.StatusCode, want, body)
	}
	if want == http.StatusOK {
		auth.AddCredential(cred)
	}
	return out
}

// assertion asks path's options and returns the answer of cred to them.
func (b *browser) assertion(optionsPath string, rp virtualwebauthn.RelyingParty, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) string {
	b.t.Helper()
	resp, _, body := b.postJSON(optionsPath, map[string]any{})
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("options %s: %d %s", optionsPath, resp.StatusCode, body)
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(body)
	if err != nil {
		b.t.Fatalf("assertion options: %v\n%s", err, body)
	}
	return virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *opts)
}

// passwordStep gives the password on a new browser and opens the
// security-key step.
func (s *testServer) passwordStep(t *testing.T, name string) *browser {
	t.Helper()
	b := s.browser(t)
	b.get("/account/login/")
	resp, body := b.post("/account/login/", url.Values{"username": {name}, "password": {"correct horse battery staple"}, "next": {"/manage/projects/"}})
	wantStatus(t, "password step", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/account/two-factor/") {
		t.Fatalf("the password step led to %q, not the second step", loc)
	}
	resp, body = b.page("/account/two-factor/webauthn/?next=%2Fmanage%2Fprojects%2F")
	wantStatus(t, "second-step page", resp, body, http.StatusOK, `data-webauthn="login"`, "Use a security key", "/static/webauthn.js")
	return b
}

// keyLogin passes the second step with cred; it returns the status and
// the answer.
func (b *browser) keyLogin(rp virtualwebauthn.RelyingParty, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) (int, map[string]any, string) {
	b.t.Helper()
	a := b.assertion("/account/two-factor/webauthn/options", rp, auth, cred)
	resp, out, body := b.postJSON("/account/two-factor/webauthn/verify", map[string]any{"next": "/manage/projects/", "credential": json.RawMessage(a)})
	return resp.StatusCode, out, body
}

func keySignedIn(t *testing.T, b *browser, name string) {
	t.Helper()
	resp, body := b.get("/manage/account/")
	wantStatus(t, "account page after the second step", resp, body, http.StatusOK, name)
}

func TestWebauthnKeys(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clock := keyServer(t, d, false)
		ctx := context.Background()
		u, b := s.keyUser(t, "keyholder")
		rp := s.rpOf()
		auth := virtualwebauthn.NewAuthenticator()
		k1, k2 := newEC2Key(), virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeRSA)
		k1.Counter, k2.Counter = 1, 0 // one key keeps a counter, the other not
		out := b.register(rp, &auth, k1, "Blue YubiKey", http.StatusOK)
		if out["redirect"] != "/manage/account/webauthn/" {
			t.Fatalf("registration answered %v", out)
		}
		b.register(rp, &auth, k2, "Laptop", http.StatusOK)
		resp, body := b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page", resp, body, http.StatusOK, "Blue YubiKey", "Laptop", `data-webauthn="register"`, "never")
		keys, err := s.st.SecurityKeys(ctx, u.ID)
		storetest.Must(t, err)
		if len(keys) != 2 || keys[0].Label != "Blue YubiKey" || keys[0].SignCount != 1 || !strings.Contains(keys[0].Credential, `"flags"`) {
			t.Fatalf("stored keys: %+v", keys)
		}
		if !hasEvent(t, s.st, u.ID, audit.TwoFactorAdded) || len(s.mailsTo(t, u.Email)) < 2 {
			t.Fatal("adding a key is not recorded and emailed")
		}
		// The same key cannot be registered twice.
		b.register(rp, &auth, k1, "Again", http.StatusBadRequest)

		// Sign in with each key.
		for i, k := range []*virtualwebauthn.Credential{&k1, &k2} {
			if k.Counter > 0 {
				k.Counter++
			}
			lb := s.passwordStep(t, "keyholder")
			status, out, body := lb.keyLogin(rp, auth, *k)
			if status != http.StatusOK || out["redirect"] != "/manage/projects/" {
				t.Fatalf("sign-in with key %d: %d %s", i+1, status, body)
			}
			keySignedIn(t, lb, "keyholder")
		}
		keys, _ = s.st.SecurityKeys(ctx, u.ID)
		if keys[0].SignCount != 2 || keys[0].LastUsedAt.IsZero() || keys[1].LastUsedAt.IsZero() {
			t.Fatalf("uses not recorded: %+v %+v", keys[0], keys[1])
		}

		// Rename.
		resp, body = b.post("/manage/account/webauthn/"+itoa(keys[1].ID)+"/rename", url.Values{"label": {"Work laptop"}})
		wantStatus(t, "rename", resp, body, http.StatusSeeOther)
		resp, body = b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page after rename", resp, body, http.StatusOK, "Work laptop", "renamed")
		if !hasEvent(t, s.st, u.ID, audit.SecurityKeyRenamed) {
			t.Fatal("rename not recorded")
		}

		// Remove asks for a fresh proof once the one of the login is
		// old: the key gives it.
		clock.Add(twofactor.ReauthWindow + time.Minute)
		resp, body = b.post("/manage/account/webauthn/"+itoa(keys[1].ID)+"/remove", nil)
		wantStatus(t, "remove without a recent proof", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/manage/account/reauth/") {
			t.Fatalf("remove without a recent proof led to %q", loc)
		}
		resp, body = b.page("/manage/account/reauth/?next=%2Fmanage%2Faccount%2Fwebauthn%2F")
		wantStatus(t, "reauth page", resp, body, http.StatusOK, `data-webauthn="reauth"`, "/static/webauthn.js")
		k1.Counter++
		a := b.assertion("/manage/account/reauth/webauthn/options", rp, auth, k1)
		rresp, rout, rbody := b.postJSON("/manage/account/reauth/webauthn/verify", map[string]any{"next": "/manage/account/webauthn/", "credential": json.RawMessage(a)})
		if rresp.StatusCode != http.StatusOK || rout["redirect"] != "/manage/account/webauthn/" {
			t.Fatalf("reauth with a key: %d %s", rresp.StatusCode, rbody)
		}
		b.page("/manage/account/webauthn/")
		resp, body = b.post("/manage/account/webauthn/"+itoa(keys[1].ID)+"/remove", nil)
		wantStatus(t, "remove", resp, body, http.StatusSeeOther)
		keys, _ = s.st.SecurityKeys(ctx, u.ID)
		if len(keys) != 1 || keys[0].Label != "Blue YubiKey" {
			t.Fatalf("keys after removal: %+v", keys)
		}
		if !hasEvent(t, s.st, u.ID, audit.TwoFactorRemoved) || !hasEvent(t, s.st, u.ID, audit.Reauthenticated) {
			t.Fatal("removal or re-authentication not recorded")
		}
		last := s.mailsTo(t, u.Email)
		if !strings.Contains(last[len(last)-1].Subject, "removed") {
			t.Fatalf("last mail: %q", last[len(last)-1].Subject)
		}
		// The removed key no longer signs in.
		lb := s.passwordStep(t, "keyholder")
		if status, _, body := lb.keyLogin(rp, auth, k2); status != http.StatusUnauthorized {
			t.Fatalf("a removed key signed in: %d %s", status, body)
		}
	})
}

// refused checks a refusal of the second step: its status and message.
func refused(t *testing.T, what string, status int, out map[string]any, body string, want int, msg string) {
	t.Helper()
	m, _ := out["message"].(string)
	if status != want || !strings.Contains(m, msg) {
		t.Fatalf("%s: got %d %s, want %d with %q", what, status, body, want, msg)
	}
}

func TestWebauthnProtocolRefusals(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clock := keyServer(t, d, false)
		rp := s.rpOf()
		auth := virtualwebauthn.NewAuthenticator()
		key := newEC2Key()
		key.Counter = 5
		ua, ba := s.keyUser(t, "alpha")
		ba.register(rp, &auth, key, "Alpha key", http.StatusOK)

		// An answer made for another origin, or another relying party.
		evil := rp
		evil.Origin = "http://evil.example:8080"
		key.Counter++
		status, out, body := s.passwordStep(t, "alpha").keyLogin(evil, auth, key)
		refused(t, "wrong origin", status, out, body, http.StatusUnauthorized, "refused")
		evil = rp
		evil.ID = "evil.example"
		status, out, body = s.passwordStep(t, "alpha").keyLogin(evil, auth, key)
		refused(t, "wrong rp id", status, out, body, http.StatusUnauthorized, "refused")
		// A key that is not registered.
		stranger := newEC2Key()
		status, out, body = s.passwordStep(t, "alpha").keyLogin(rp, auth, stranger)
		refused(t, "unknown credential", status, out, body, http.StatusUnauthorized, "not registered")
		// The answer to an earlier challenge, replayed in a new sign-in.
		lb := s.passwordStep(t, "alpha")
		old := lb.assertion("/account/two-factor/webauthn/options", rp, auth, key)
		lb2 := s.passwordStep(t, "alpha")
		lb2.assertion("/account/two-factor/webauthn/options", rp, auth, key) // its own challenge
		resp, out, body := lb2.postJSON("/account/two-factor/webauthn/verify", map[string]any{"credential": json.RawMessage(old)})
		refused(t, "answer to another challenge", resp.StatusCode, out, body, http.StatusUnauthorized, "refused")
		if n := countEvents(t, s.st, ua.ID, audit.TwoFactorFailure); n != 4 {
			t.Fatalf("%d failures recorded, want 4", n)
		}
		if !strings.Contains(s.mailsTo(t, ua.Email)[len(s.mailsTo(t, ua.Email))-1].Subject, "Failed two-factor") {
			t.Fatal("a failed second step is not emailed")
		}
		// The right answer still works (the counter did not move).
		status, _, body = s.passwordStep(t, "alpha").keyLogin(rp, auth, key)
		if status != http.StatusOK {
			t.Fatalf("the right key after refusals: %d %s", status, body)
		}

		// A second user: the same answer posted twice, an expired
		// challenge, a counter going backwards.
		ub, bb := s.keyUser(t, "bravo")
		bkey := newEC2Key()
		bkey.Counter = 10
		bauth := virtualwebauthn.NewAuthenticator()
		bb.register(rp, &bauth, bkey, "Bravo key", http.StatusOK)
		bb.page("/manage/account/reauth/")
		bkey.Counter++
		a := bb.assertion("/manage/account/reauth/webauthn/options", rp, bauth, bkey)
		resp, out, body = bb.postJSON("/manage/account/reauth/webauthn/verify", map[string]any{"credential": json.RawMessage(a)})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reauth: %d %s", resp.StatusCode, body)
		}
		resp, out, body = bb.postJSON("/manage/account/reauth/webauthn/verify", map[string]any{"credential": json.RawMessage(a)})
		refused(t, "replayed answer", resp.StatusCode, out, body, http.StatusUnauthorized, "already used")

		bkey.Counter++
		a = bb.assertion("/manage/account/reauth/webauthn/options", rp, bauth, bkey)
		clock.Add(twofactor.ChallengeTTL + time.Second)
		resp, out, body = bb.postJSON("/manage/account/reauth/webauthn/verify", map[string]any{"credential": json.RawMessage(a)})
		refused(t, "expired challenge", resp.StatusCode, out, body, http.StatusUnauthorized, "expired")

		bkey.Counter = 3 // a copy of the key, behind the original
		lb = s.passwordStep(t, "bravo")
		status, out, body = lb.keyLogin(rp, bauth, bkey)
		refused(t, "counter backwards", status, out, body, http.StatusForbidden, "signature counter went backwards")
		if !hasEvent(t, s.st, ub.ID, audit.SecurityKeyCloned) {
			t.Fatal("the clone signal is not recorded")
		}
		mails := s.mailsTo(t, ub.Email)
		if m := mails[len(mails)-1]; !strings.Contains(m.Subject, "copied") || !strings.Contains(m.Text, "Bravo key") {
			t.Fatalf("the clone signal is not emailed: %q", m.Subject)
		}
		keys, _ := s.st.SecurityKeys(context.Background(), ub.ID)
		if keys[0].SignCount != 11 {
			t.Fatalf("stored counter %d after the refusals, want 11", keys[0].SignCount)
		}
		// An equal counter is refused too; a higher one passes.
		bkey.Counter = 11
		status, _, _ = s.passwordStep(t, "bravo").keyLogin(rp, bauth, bkey)
		if status != http.StatusForbidden {
			t.Fatalf("an equal counter: %d", status)
		}
		clock.Add(5 * time.Minute) // past the 5-minute failure limit
		bkey.Counter = 12
		status, _, body = s.passwordStep(t, "bravo").keyLogin(rp, bauth, bkey)
		if status != http.StatusOK {
			t.Fatalf("a higher counter: %d %s", status, body)
		}
	})
}

func TestWebauthnLabels(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, _ := keyServer(t, d, false)
		rp := s.rpOf()
		auth := virtualwebauthn.NewAuthenticator()
		_, b := s.keyUser(t, "labeller")
		for _, c := range []struct{ label, msg string }{
			{"", "Give the security key a name"},
			{"   ", "Give the security key a name"},
			{strings.Repeat("é", 65), "at most 64 characters"},
		} {
			out := b.register(rp, &auth, newEC2Key(), c.label, http.StatusBadRequest)
			if m, _ := out["message"].(string); !strings.Contains(m, c.msg) {
				t.Fatalf("label %q: %v", c.label, out)
			}
		}
		b.register(rp, &auth, newEC2Key(), strings.Repeat("é", 64), http.StatusOK)
		b.register(rp, &auth, newEC2Key(), "Office", http.StatusOK)
		out := b.register(rp, &auth, newEC2Key(), "office", http.StatusBadRequest)
		if m, _ := out["message"].(string); !strings.Contains(m, `already have a security key named "Office"`) {
			t.Fatalf("duplicate label: %v", out)
		}
		// Renaming follows the same rules.
		u, _ := s.st.UserByUsername(context.Background(), "labeller")
		keys, _ := s.st.SecurityKeys(context.Background(), u.ID)
		b.page("/manage/account/webauthn/")
		resp, body := b.post("/manage/account/webauthn/"+itoa(keys[0].ID)+"/rename", url.Values{"label": {"Office"}})
		wantStatus(t, "rename to a taken label", resp, body, http.StatusSeeOther)
		resp, body = b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page", resp, body, http.StatusOK, "already have a security key named")
	})
}

// TestWebauthnRecoveryCodesFirst: no key before confirmed recovery codes.
func TestWebauthnRecoveryCodesFirst(t *testing.T) {
	s, _ := keyServer(t, store.SQLite, false)
	s.userWithPassword("early", "correct horse battery staple")
	b := s.browser(t)
	b.login("early", "correct horse battery staple")
	resp, body := b.page("/manage/account/webauthn/")
	wantStatus(t, "keys page", resp, body, http.StatusOK, "generate your recovery codes")
	b.csrf = dataCSRFOrForm(body, b.csrf)
	resp, out, body2 := b.postJSON("/manage/account/webauthn/options", map[string]any{"label": "Key"})
	refused(t, "options before recovery codes", resp.StatusCode, out, body2, http.StatusForbidden, "recovery codes")
}

func dataCSRFOrForm(body, fallback string) string {
	if m := dataCSRF.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return fallback
}

func TestWebauthnLastKeyUnderRequire2FA(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clock := keyServer(t, d, true)
		rp := s.rpOf()
		auth := virtualwebauthn.NewAuthenticator()
		key := newEC2Key()
		u, b := s.keyUser(t, "bound")
		b.register(rp, &auth, key, "Only key", http.StatusOK)
		clock.Add(twofactor.ReauthWindow + time.Minute)
		b.page("/manage/account/reauth/")
		a := b.assertion("/manage/account/reauth/webauthn/options", rp, auth, key)
		if resp, _, body := b.postJSON("/manage/account/reauth/webauthn/verify", map[string]any{"credential": json.RawMessage(a)}); resp.StatusCode != http.StatusOK {
			t.Fatalf("reauth: %d %s", resp.StatusCode, body)
		}
		keys, _ := s.st.SecurityKeys(context.Background(), u.ID)
		b.page("/manage/account/webauthn/")
		resp, body := b.post("/manage/account/webauthn/"+itoa(keys[0].ID)+"/remove", nil)
		wantStatus(t, "remove the last key", resp, body, http.StatusSeeOther)
		resp, body = b.page("/manage/account/webauthn/")
		wantStatus(t, "keys page", resp, body, http.StatusOK, "This is your last two-factor method", "Only key")
		if keys, _ := s.st.SecurityKeys(context.Background(), u.ID); len(keys) != 1 {
			t.Fatal("the last key was removed under --require-2fa")
		}
	})
}

// TestWebauthnCSRF: every POST route refuses a request without the form token.
func TestWebauthnCSRF(t *testing.T) {
	s, _ := keyServer(t, store.SQLite, false)
	rp := s.rpOf()
	auth := virtualwebauthn.NewAuthenticator()
	u, b := s.keyUser(t, "forged")
	b.register(rp, &auth, newEC2Key(), "Key", http.StatusOK)
	keys, _ := s.st.SecurityKeys(context.Background(), u.ID)
	id := itoa(keys[0].ID)
	pending := s.passwordStep(t, "forged")
	for _, c := range []struct {
		b    *browser
		path string
	}{
		{b, "/manage/account/webauthn/options"},
		{b, "/manage/account/webauthn/register"},
		{b, "/manage/account/webauthn/" + id + "/rename"},
		{b, "/manage/account/webauthn/" + id + "/remove"},
		{b, "/manage/account/reauth/webauthn/options"},
		{b, "/manage/account/reauth/webauthn/verify"},
		{pending, "/account/two-factor/webauthn/options"},
		{pending, "/account/two-factor/webauthn/verify"},
	} {
		saved := c.b.csrf
		c.b.csrf = ""
		resp, _, body := c.b.postJSON(c.path, map[string]any{"label": "x"})
		c.b.csrf = saved
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without the form token: %d %s", c.path, resp.StatusCode, body)
		}
		resp, body2 := c.b.post(c.path, url.Values{"csrf_token": {"forged"}, "label": {"x"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a wrong form token: %d %s", c.path, resp.StatusCode, body2)
		}
	}
	if keys, _ := s.st.SecurityKeys(context.Background(), u.ID); len(keys) != 1 || keys[0].Label != "Key" {
		t.Fatalf("a forged post changed the keys: %+v", keys)
	}
}

// newEC2Key returns a software P-256 security key whose public
// coordinates are 32 bytes each: virtualwebauthn writes them with
// big.Int.Bytes, which drops leading zeros (1 key in 128), and a real
// authenticator never sends such a key — the server rightly refuses it.
func newEC2Key() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			panic(err)
		}
		if pk := k.(*ecdsa.PrivateKey); len(pk.X.Bytes()) == 32 && len(pk.Y.Bytes()) == 32 {
			return c
		}
	}
}
