package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// Passkeys in the web UI: signing in with one alone on the login page
// (static/passkey.js: the browser's autofill of passkeys, by conditional
// mediation, and a button), and adding one or making a security key one
// on the keys page (static/webauthn.js). The JSON endpoints answer as the
// security keys' do (ui_twofactor_webauthn.go). With passkeys turned off
// (--no-passkeys) their routes are not registered, and the pages show
// none of it.

// cookiePasskey holds the secret of a passkey sign-in in progress, under
// whose SHA-256 its challenge is kept: the visitor has no session yet.
const cookiePasskey = "cs_passkey"

// passkeysOn reports whether passkeys are turned on.
func (s *Server) passkeysOn() bool { return s.tf != nil && s.tf.PasskeysEnabled() }

// passkeySignIn reports whether the login page offers passkeys: they are
// on, and the base URL names a host (with an IP address, as `make run`'s
// default, the browser refuses every ceremony, and the page would greet
// each visitor with that error).
func (s *Server) passkeySignIn() bool { return s.passkeysOn() && s.tf.KeysUsable() }

// passkeyLoginOptions begins a passkey sign-in: the options for
// navigator.credentials.get, and the ceremony's secret in a cookie that
// lives as long as its challenge.
func (t *twoFactorPages) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	options, secret, err := t.tf.BeginPasskeyLogin(r.Context(), meta(r))
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	t.s.setCookie(w, cookiePasskey, secret, int(twofactor.ChallengeTTL/time.Second))
	writeOptions(w, options)
}

// passkeyLoginVerify checks the passkey's answer and, when right, signs
// the visitor in at once (a new, active session: a passkey is two
// factors by itself) and sends it on. The ceremony's cookie is dropped
// either way: its challenge works once.
func (t *twoFactorPages) passkeyLoginVerify(w http.ResponseWriter, r *http.Request) {
	var secret string
	if ck, err := r.Cookie(t.s.cookieName(cookiePasskey)); err == nil {
		secret = ck.Value
	}
	t.s.setCookie(w, cookiePasskey, "", -1)
	req, err := readWebauthn(r)
	var (
		u      *store.User
		key    *store.SecurityKey
		cookie string
	)
	if err == nil {
		u, key, err = t.tf.FinishPasskeyLogin(r.Context(), secret, req.Credential, meta(r))
	}
	if err == nil {
		cookie, err = t.acct.PasskeySignedIn(r.Context(), u, key.Label, meta(r))
	}
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	// Whatever session the browser had is replaced, as at every sign-in.
	if old := t.s.session(r); old != nil {
		_ = t.acct.DropSession(r.Context(), old)
	}
	t.s.setCookie(w, cookieSession, cookie, 0)
	t.s.setCookie(w, cookieAnon, "", -1)
	// A passkey cannot be phished: the browser it signs in is known to
	// the account from now on, as after any second factor.
	t.s.rememberDevice(w, r, u.ID)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(req.Next)})
}

// passkeyRegisterOptions checks the new passkey's label, then starts its
// registration ceremony.
func (t *twoFactorPages) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	t.registerOptions(w, r, t.tf.BeginPasskeyRegistration)
}

// passkeyRegister adds the passkey that answered the options.
func (t *twoFactorPages) passkeyRegister(w http.ResponseWriter, r *http.Request) {
	t.register(w, r, t.tf.FinishPasskeyRegistration, "Passkey %q added. You can now sign in with it alone, without your password.")
}

// jsonKey returns the signed-in session and the key its URL's {id} names,
// or answers the script and returns nil.
func (t *twoFactorPages) jsonKey(w http.ResponseWriter, r *http.Request) (*account.Current, int64) {
	c := t.jsonUser(w, r)
	if c == nil {
		return nil, 0
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		t.jsonFail(w, r, &problem.Error{Kind: problem.NotFound, Message: "No such security key on your account."})
		return nil, 0
	}
	return c, id
}

// passkeyUpgradeOptions starts making a security key a passkey.
func (t *twoFactorPages) passkeyUpgradeOptions(w http.ResponseWriter, r *http.Request) {
	c, id := t.jsonKey(w, r)
	if c == nil {
		return
	}
	options, err := t.tf.BeginPasskeyUpgrade(r.Context(), c, id)
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	writeOptions(w, options)
}

// passkeyUpgrade replaces the security key by the passkey that answered
// the options.
func (t *twoFactorPages) passkeyUpgrade(w http.ResponseWriter, r *http.Request) {
	c, id := t.jsonKey(w, r)
	if c == nil {
		return
	}
	req, err := readWebauthn(r)
	var key *store.SecurityKey
	if err == nil {
		key, err = t.tf.FinishPasskeyUpgrade(r.Context(), c, id, req.Credential, meta(r))
	}
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	t.s.addFlash(w, r, "ok", fmt.Sprintf("%q is now a passkey: you can sign in with it alone, without your password.", key.Label))
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/manage/account/webauthn/"})
}
