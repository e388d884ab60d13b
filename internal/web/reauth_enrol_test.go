package web

import (
	"context"
	"encoding/json"
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

// staleAge is how old the stolen session's proof of identity is: older
// than twofactor.ReauthWindow (10 minutes).
const staleAge = 21 * time.Minute

// wantReauthRedirect fails unless a form post was sent to re-authenticate.
func wantReauthRedirect(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/manage/account/reauth/") {
		t.Fatalf("%s with a stale session: %d to %q, want 303 to the re-authentication page\n%s", what, resp.StatusCode, loc, body)
	}
}

// wantReauthJSON fails unless a script's request was refused for want of
// a recent re-authentication, with where to go.
func wantReauthJSON(t *testing.T, what string, resp *http.Response, out map[string]any, body string) {
	t.Helper()
	redirect, _ := out["redirect"].(string)
	if resp.StatusCode != http.StatusForbidden || out["reauth"] != true || !strings.HasPrefix(redirect, "/manage/account/reauth/") ||
		!strings.Contains(body, "Confirm it is you") {
		t.Fatalf("%s with a stale session: %d %s, want 403 sending to the re-authentication page", what, resp.StatusCode, body)
	}
}

// reauth confirms the browser's identity with the password (a user
// without a second factor) or, given secret, a code from its app.
func reauth(t *testing.T, b *browser, secret string, clk *clocktest.Clock) {
	t.Helper()
	b.get("/manage/account/reauth/?next=%2Fmanage%2Faccount%2F")
	form := url.Values{"method": {"password"}, "password": {managePassword}, "next": {"/manage/account/"}}
	if secret != "" {
		form = url.Values{"method": {"totp"}, "code": {totpCode(t, secret, clk.Now())}, "next": {"/manage/account/"}}
	}
	resp, body := b.post("/manage/account/reauth/", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-authentication: %d\n%s", resp.StatusCode, body)
	}
}

// TestEnrolNeedsRecentAuth is the attack of a session cookie stolen 21
// minutes after its owner signed in: on every route that adds a second
// factor (recovery codes, an authenticator app's set-up and
// confirmation, a security key's options and registration), the first
// method as an extra key, it is sent to re-authenticate and nothing
// changes; after re-authenticating (with the password while the user has
// no second factor, then with the second factor) the same requests
// succeed.
func TestEnrolNeedsRecentAuth(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := keyServer(t, d, false)
		ctx := context.Background()
		u := s.userWithPassword("victim", managePassword)
		b := s.browser(t)
		b.login("victim", managePassword)
		clk.Add(staleAge)

		// Recovery codes, the first set.
		b.get("/manage/account/recovery-codes/")
		resp, body := b.post("/manage/account/recovery-codes/", nil)
		wantReauthRedirect(t, "generating recovery codes", resp, body)
		if codes, err := s.st.RecoveryCodes(ctx, u.ID); err != nil || len(codes) != 0 {
			t.Fatalf("recovery codes after the refusal: %d (%v), want none", len(codes), err)
		}
		reauth(t, b, "", clk)
		generateRecoveryCodes(t, b)

		// An authenticator app: set-up and confirmation.
		clk.Add(staleAge)
		b.get("/manage/account/totp/")
		resp, body = b.post("/manage/account/totp/begin", nil)
		wantReauthRedirect(t, "beginning an authenticator app", resp, body)
		if strings.Contains(body, "totp-secret") {
			t.Fatal("a secret was shown to the stale session")
		}
		reauth(t, b, "", clk)
		clk.Add(9 * time.Minute)
		b.get("/manage/account/totp/")
		resp, body = b.post("/manage/account/totp/begin", nil)
		wantStatus(t, "beginning an authenticator app 9 minutes after re-authenticating", resp, body, http.StatusOK)
		m := totpSecretRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no secret on the set-up page\n%s", body)
		}
		secret := strings.ReplaceAll(m[1], " ", "")
		clk.Add(2 * time.Minute) // 11 minutes after the proof; the set-up lasts 15
		resp, body = b.post("/manage/account/totp/confirm", url.Values{"code": {totpCode(t, secret, clk.Now())}})
		wantReauthRedirect(t, "confirming an authenticator app", resp, body)
		if has, _ := s.tf.HasTwoFactor(ctx, u.ID); has {
			t.Fatal("the stale session enabled an authenticator app")
		}
		reauth(t, b, "", clk)
		resp, body = b.post("/manage/account/totp/confirm", url.Values{"code": {totpCode(t, secret, clk.Now())}})
		wantStatus(t, "confirming an authenticator app after re-authenticating", resp, body, http.StatusSeeOther)
		if has, _ := s.tf.HasTwoFactor(ctx, u.ID); !has {
			t.Fatal("no authenticator app after the confirmation")
		}

		// An extra security key: options, then registration.
		rp, authr := s.rpOf(), virtualwebauthn.NewAuthenticator()
		cred := newEC2Key()
		clk.Add(staleAge)
		_, page := b.page("/manage/account/webauthn/")
		if strings.Contains(page, `data-webauthn="register"`) || !strings.Contains(page, "Confirm it is you") {
			t.Fatalf("the security-key page offers registration to a stale session\n%s", page)
		}
		resp, out, raw := b.postJSON("/manage/account/webauthn/options", map[string]any{"label": "thief's key"})
		wantReauthJSON(t, "security-key options", resp, out, raw)
		clk.Add(30 * time.Second) // a new code for the re-authentication
		reauth(t, b, secret, clk)
		clk.Add(9 * time.Minute)
		b.page("/manage/account/webauthn/")
		resp, _, raw = b.postJSON("/manage/account/webauthn/options", map[string]any{"label": "thief's key"})
		wantStatus(t, "security-key options 9 minutes after re-authenticating", resp, raw, http.StatusOK)
		opts, err := virtualwebauthn.ParseAttestationOptions(raw)
		storetest.Must(t, err)
		att := virtualwebauthn.CreateAttestationResponse(rp, authr, cred, *opts)
		clk.Add(2 * time.Minute) // the options last 5 minutes
		resp, out, raw = b.postJSON("/manage/account/webauthn/register", map[string]any{"label": "thief's key", "credential": json.RawMessage(att)})
		wantReauthJSON(t, "registering a security key", resp, out, raw)
		if keys, _ := s.st.SecurityKeys(ctx, u.ID); len(keys) != 0 {
			t.Fatalf("the stale session registered %d keys", len(keys))
		}
		reauth(t, b, secret, clk)
		resp, _, raw = b.postJSON("/manage/account/webauthn/register", map[string]any{"label": "my key", "credential": json.RawMessage(att)})
		wantStatus(t, "registering a security key after re-authenticating", resp, raw, http.StatusOK)
		if keys, _ := s.st.SecurityKeys(ctx, u.ID); len(keys) != 1 {
			t.Fatalf("%d keys after the registration, want 1", len(keys))
		}

		// Regenerating the recovery codes.
		clk.Add(staleAge)
		b.get("/manage/account/recovery-codes/")
		resp, body = b.post("/manage/account/recovery-codes/", nil)
		wantReauthRedirect(t, "regenerating recovery codes", resp, body)
		if n := countEvents(t, s.st, u.ID, audit.RecoveryCodesGenerated); n != 1 {
			t.Fatalf("%d recovery-code generations, want the first only", n)
		}
	})
}
