package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// Security keys in the web UI. The ceremonies run in the browser
// (static/webauthn.js): it fetches the options from a JSON endpoint,
// calls navigator.credentials, and posts the credential's toJSON() back;
// the answer is {"redirect": URL} or {"message": why} with the status of
// the refusal.

// webauthnRequest is what webauthn.js posts: the key's label (on
// registration), where to go next, and the credential.
type webauthnRequest struct {
	Label      string          `json:"label"`
	Next       string          `json:"next"`
	Credential json.RawMessage `json:"credential"`
}

// readWebauthn decodes the posted JSON (an empty body is an empty request).
func readWebauthn(r *http.Request) (webauthnRequest, error) {
	var req webauthnRequest
	if r.ContentLength == 0 {
		return req, nil
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return req, &problem.Error{Kind: problem.Invalid, Message: "The request could not be read. Reload the page and try again."}
	}
	return req, nil
}

// jsonFail answers a script with a refusal {"message"} and its status, or
// logs a failure and answers 503 (a fault) or 500. A refusal for want of a
// recent re-authentication also says where to re-authenticate:
// {"reauth": true, "redirect": URL}, which webauthn.js follows.
func (t *twoFactorPages) jsonFail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status == http.StatusForbidden && errors.Is(err, auth.ErrReauthRequired) {
		writeJSON(w, status, map[string]any{"message": problem.MessageOf(err), "reauth": true,
			"redirect": reauthURL("/manage/account/webauthn/")})
		return
	}
	t.s.logFailure(r, "webauthn", status, err)
	setRetryAfter(w, status, err)
	writeJSON(w, status, map[string]string{"message": userMessage(err, status)})
}

// writeOptions answers the options of a ceremony, as
// PublicKeyCredential.parse*OptionsFromJSON takes them.
func writeOptions(w http.ResponseWriter, options []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(options)
}

// jsonUser returns the signed-in session for a script, or answers 401.
func (t *twoFactorPages) jsonUser(w http.ResponseWriter, r *http.Request) *account.Current {
	if t.tf == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Two-factor authentication is not enabled on this server."})
		return nil
	}
	c := t.s.current(r)
	if c == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Your session ended. Sign in again.", "redirect": "/account/login/"})
	}
	return c
}

// jsonPending returns the session waiting for its second step, or answers 401.
func (t *twoFactorPages) jsonPending(w http.ResponseWriter, r *http.Request) *account.Current {
	if t.tf == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Two-factor authentication is not enabled on this server."})
		return nil
	}
	c := t.s.session(r)
	if c == nil || !c.Pending() {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Your sign-in expired. Log in again.", "redirect": "/account/login/"})
		return nil
	}
	if c.AwaitingDevice() {
		writeJSON(w, http.StatusConflict, map[string]string{"message": "This sign-in waits for the link we emailed you.", "redirect": "/account/new-device/"})
		return nil
	}
	return c
}

// webauthnManage lists the user's security keys, with forms to add,
// rename and remove them.
func (t *twoFactorPages) webauthnManage(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	if t.tf == nil {
		t.s.renderError(w, r, http.StatusNotFound, "Two-factor authentication is not enabled on this server.")
		return
	}
	m, req, ok := t.methods(w, r, c)
	if !ok {
		return
	}
	t.s.render(w, r, http.StatusOK, "webauthn_manage", "Security keys", map[string]any{
		"Keys": m.Keys, "RecoveryConfirmed": c.User.RecoveryCodesConfirmed, "Required": req != "",
		"Last": m.Count() == 1 && len(m.Keys) == 1, "MaxLabel": twofactor.MaxKeyLabel,
		"Fresh": t.tf.RecentlyAuthenticated(c), "Reauth": reauthURL("/manage/account/webauthn/"),
		"Passkeys": t.tf.PasskeysEnabled(),
	})
}

// webauthnRegisterOptions checks the new key's label, then starts the
// registration ceremony.
func (t *twoFactorPages) webauthnRegisterOptions(w http.ResponseWriter, r *http.Request) {
	t.registerOptions(w, r, t.tf.BeginKeyRegistration)
}

// webauthnRegister adds the key that answered the options.
func (t *twoFactorPages) webauthnRegister(w http.ResponseWriter, r *http.Request) {
	t.register(w, r, t.tf.FinishKeyRegistration, "Security key %q added. You can now use it to sign in.")
}

// registerOptions checks the label of a new key or passkey, then starts
// its registration ceremony with begin.
func (t *twoFactorPages) registerOptions(w http.ResponseWriter, r *http.Request,
	begin func(context.Context, *account.Current) ([]byte, error)) {
	c := t.jsonUser(w, r)
	if c == nil {
		return
	}
	req, err := readWebauthn(r)
	if err == nil {
		err = t.tf.CheckKeyLabel(r.Context(), c.User.ID, req.Label, 0)
	}
	var options []byte
	if err == nil {
		options, err = begin(r.Context(), c)
	}
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	writeOptions(w, options)
}

// register adds the key or passkey that answered the options, with
// finish, remembers the browser as known (its user set up a key in it),
// and flashes done (a format of the key's label).
func (t *twoFactorPages) register(w http.ResponseWriter, r *http.Request,
	finish func(context.Context, *account.Current, string, []byte, audit.Meta) (*store.SecurityKey, error), done string) {
	c := t.jsonUser(w, r)
	if c == nil {
		return
	}
	req, err := readWebauthn(r)
	var key *store.SecurityKey
	if err == nil {
		key, err = finish(r.Context(), c, req.Label, req.Credential, meta(r))
	}
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	t.s.rememberDevice(w, r, c.User.ID)
	t.s.addFlash(w, r, "ok", fmt.Sprintf(done, key.Label))
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/manage/account/webauthn/"})
}

// keyOf returns the signed-in session and the key its URL's {id} names,
// or answers the request and returns nil.
func (t *twoFactorPages) keyOf(w http.ResponseWriter, r *http.Request) (*account.Current, int64) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return nil, 0
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	switch {
	case err != nil || id <= 0:
		t.s.fail(w, r, &problem.Error{Kind: problem.NotFound, Message: "No such security key on your account."})
		return nil, 0
	case t.tf == nil:
		t.s.fail(w, r, &problem.Error{Kind: problem.NotFound, Message: "Two-factor authentication is not enabled on this server."})
		return nil, 0
	}
	return c, id
}

// webauthnRename changes a key's label.
func (t *twoFactorPages) webauthnRename(w http.ResponseWriter, r *http.Request) {
	c, id := t.keyOf(w, r)
	if c == nil {
		return
	}
	if err := t.tf.RenameKey(r.Context(), c, id, r.PostFormValue("label"), meta(r)); err != nil {
		if problem.KindOf(err) == problem.Invalid {
			t.s.addFlash(w, r, "error", err.Error())
			redirect(w, r, "/manage/account/webauthn/")
			return
		}
		t.s.fail(w, r, err)
		return
	}
	t.s.addFlash(w, r, "ok", "Security key renamed.")
	redirect(w, r, "/manage/account/webauthn/")
}

// webauthnRemove removes a key, after a recent proof of identity.
func (t *twoFactorPages) webauthnRemove(w http.ResponseWriter, r *http.Request) {
	c, id := t.keyOf(w, r)
	if c == nil || !t.s.requireRecentAuth(w, r, c, "/manage/account/webauthn/") {
		return
	}
	if err := t.tf.RemoveKey(r.Context(), c, id, meta(r)); err != nil {
		if t.reauthRefused(w, r, err, "/manage/account/webauthn/") {
			return
		}
		if k := problem.KindOf(err); k == problem.Forbidden || k == problem.Invalid || k == problem.NotFound {
			t.s.addFlash(w, r, "error", err.Error())
			redirect(w, r, "/manage/account/webauthn/")
			return
		}
		t.s.fail(w, r, err)
		return
	}
	t.s.addFlash(w, r, "ok", "Security key removed.")
	redirect(w, r, "/manage/account/webauthn/")
}

// webauthnSecondStep is the page of the second step with a security key.
func (t *twoFactorPages) webauthnSecondStep(w http.ResponseWriter, r *http.Request) {
	c := t.pendingSession(w, r)
	if c == nil {
		return
	}
	t.s.render(w, r, http.StatusOK, "twostep_webauthn", "Two-factor authentication", map[string]any{
		"Pending": c.User.Username, "Next": safeNext(r.URL.Query().Get("next")),
		"Others": t.secondStepMethods(r, c, "webauthn"),
	})
}

// webauthnLoginOptions starts the second step of signing in with a key.
func (t *twoFactorPages) webauthnLoginOptions(w http.ResponseWriter, r *http.Request) {
	t.keyOptions(w, r, t.jsonPending, twofactor.PurposeKeyLogin)
}

// webauthnLoginVerify checks the key's answer and, when right, signs the
// session in (under a new id) and sends the browser on.
func (t *twoFactorPages) webauthnLoginVerify(w http.ResponseWriter, r *http.Request) {
	t.keyVerify(w, r, t.jsonPending, twofactor.PurposeKeyLogin, func(c *account.Current, key *store.SecurityKey) error {
		step, err := t.acct.CompleteSecondFactor(r.Context(), c, "webauthn", key.Label, t.s.deviceID(w, r), meta(r))
		if err == nil {
			t.s.setCookie(w, cookieSession, step.Cookie, 0)
			if step.RenewDevice {
				t.s.renewDeviceCookie(w, r)
			}
		}
		return err
	})
}

// webauthnReauthOptions starts a re-authentication with a key.
func (t *twoFactorPages) webauthnReauthOptions(w http.ResponseWriter, r *http.Request) {
	t.keyOptions(w, r, t.jsonUser, twofactor.PurposeKeyReauth)
}

// webauthnReauthVerify records a fresh proof of identity with a key.
func (t *twoFactorPages) webauthnReauthVerify(w http.ResponseWriter, r *http.Request) {
	t.keyVerify(w, r, t.jsonUser, twofactor.PurposeKeyReauth, func(c *account.Current, key *store.SecurityKey) error {
		return t.acct.Reauthenticated(r.Context(), c, "webauthn", key.Label, meta(r))
	})
}

// jsonSession returns the session a key ceremony starts from (jsonPending
// or jsonUser), or answers the script and returns nil.
type jsonSession func(http.ResponseWriter, *http.Request) *account.Current

// keyOptions answers the options of a proof with one of the user's keys,
// for purpose (the second step of signing in, or a re-authentication),
// from the session that session returns.
func (t *twoFactorPages) keyOptions(w http.ResponseWriter, r *http.Request, session jsonSession, purpose string) {
	c := session(w, r)
	if c == nil {
		return
	}
	options, err := t.tf.BeginKeyLogin(r.Context(), c, purpose)
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	writeOptions(w, options)
}

// keyVerify checks the answer of a key to keyOptions' options, then calls
// complete with the key that answered and sends the browser on to the
// request's next page; a refusal of either is answered as jsonFail does.
func (t *twoFactorPages) keyVerify(w http.ResponseWriter, r *http.Request, session jsonSession, purpose string,
	complete func(c *account.Current, key *store.SecurityKey) error) {
	c := session(w, r)
	if c == nil {
		return
	}
	req, err := readWebauthn(r)
	var key *store.SecurityKey
	if err == nil {
		key, err = t.tf.FinishKeyLogin(r.Context(), c, purpose, req.Credential, meta(r))
	}
	if err == nil {
		err = complete(c, key)
	}
	if err != nil {
		t.jsonFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(req.Next)})
}
