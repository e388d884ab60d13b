package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/twofactor"
)

// twoFactorPages serves the second factors in the web UI: the second step
// of signing in, the set-up pages of authenticator apps, security keys
// and recovery codes, and re-authentication.
type twoFactorPages struct {
	s    *Server // shared helpers: sessions, forms, rendering
	acct *account.Service
	tf   *twofactor.Service
}

// pendingSession returns the session waiting for its second step, or
// sends the browser to the login page (or, when its second step passed
// and it waits for the confirmation of the browser, to the waiting page)
// and returns nil.
func (t *twoFactorPages) pendingSession(w http.ResponseWriter, r *http.Request) *account.Current {
	c := t.s.session(r)
	if c != nil && c.AwaitingDevice() {
		redirect(w, r, "/account/new-device/?next="+url.QueryEscape(safeNext(r.FormValue("next"))))
		return nil
	}
	if c == nil || !c.Pending() {
		t.s.addFlash(w, r, "error", "Your sign-in expired. Log in again.")
		redirect(w, r, "/account/login/")
		return nil
	}
	return c
}

// twoFactorChooser sends a user who gave its password to the page of its
// preferred second factor: a security key, else the app, else a
// recovery code.
func (t *twoFactorPages) twoFactorChooser(w http.ResponseWriter, r *http.Request) {
	c := t.pendingSession(w, r)
	if c == nil {
		return
	}
	m, err := t.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		t.s.fail(w, r, err)
		return
	}
	q := "?next=" + url.QueryEscape(safeNext(r.URL.Query().Get("next")))
	switch {
	case len(m.Keys) > 0:
		redirect(w, r, "/account/two-factor/webauthn/"+q)
	case m.TOTP:
		redirect(w, r, "/account/two-factor/totp/"+q)
	default:
		redirect(w, r, "/account/two-factor/recovery-code/"+q)
	}
}

// secondStepMethods lists the other ways to pass the second step, for the
// links under each method's form.
type secondStepMethod struct {
	Name, URL string
}

func (t *twoFactorPages) secondStepMethods(r *http.Request, c *account.Current, except string) []secondStepMethod {
	m, err := t.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		return nil
	}
	q := "?next=" + url.QueryEscape(safeNext(r.URL.Query().Get("next")))
	var out []secondStepMethod
	if len(m.Keys) > 0 && except != "webauthn" {
		out = append(out, secondStepMethod{"Use a security key", "/account/two-factor/webauthn/" + q})
	}
	if m.TOTP && except != "totp" {
		out = append(out, secondStepMethod{"Use your authenticator app", "/account/two-factor/totp/" + q})
	}
	if m.RecoveryLeft > 0 && except != "recovery-code" {
		out = append(out, secondStepMethod{"Use a recovery code", "/account/two-factor/recovery-code/" + q})
	}
	return out
}

// finishSecondStep signs in a pending session that passed its second
// step, and goes on to next; or, in a browser new to the user, sends it
// to wait for the emailed link. After a recovery code, the user is told
// how many are left when few are.
func (t *twoFactorPages) finishSecondStep(w http.ResponseWriter, r *http.Request, c *account.Current, method, label string, recoveryLeft int) {
	step, err := t.acct.CompleteSecondFactor(r.Context(), c, method, label, t.s.deviceID(w, r), meta(r))
	if err != nil {
		t.s.fail(w, r, err)
		return
	}
	if method == "recovery-code" {
		t.recoveryWarning(w, r, recoveryLeft)
	}
	next := safeNext(r.FormValue("next"))
	if step.AwaitingDevice {
		redirect(w, r, "/account/new-device/?next="+url.QueryEscape(next))
		return
	}
	t.s.setCookie(w, cookieSession, step.Cookie, 0)
	if step.RenewDevice {
		t.s.renewDeviceCookie(w, r)
	}
	redirect(w, r, next)
}

// recoveryWarning warns a user who just used a recovery code when few or
// none are left.
func (t *twoFactorPages) recoveryWarning(w http.ResponseWriter, r *http.Request, left int) {
	switch {
	case left == 0:
		t.s.addFlash(w, r, "warning", "You used your last recovery code. Generate new recovery codes now, or you may lose access to your account.")
	case left <= twofactor.RecoveryLowWater:
		t.s.addFlash(w, r, "warning", fmt.Sprintf("Only %d recovery codes are left. Generate new ones soon.", left))
	}
}

// methods returns the user's second factors and why a policy requires
// them ("" when none does), or answers the failure and returns false.
func (t *twoFactorPages) methods(w http.ResponseWriter, r *http.Request, c *account.Current) (*twofactor.Methods, twofactor.Requirement, bool) {
	m, err := t.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		t.s.fail(w, r, err)
		return nil, "", false
	}
	req, err := t.tf.Required(r.Context(), c.User)
	if err != nil {
		t.s.fail(w, r, err)
		return nil, "", false
	}
	return m, req, true
}

// twoFactorManage is the overview of the user's second factors.
func (t *twoFactorPages) twoFactorManage(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	m, req, ok := t.methods(w, r, c)
	if !ok {
		return
	}
	t.s.render(w, r, http.StatusOK, "twofactor_manage", "Two-factor authentication", map[string]any{
		"Methods": m, "Required": req != "", "RequiredWhy": req.Explain(), "LowWater": twofactor.RecoveryLowWater,
	})
}

// needsNoSecondFactor lists the pages a signed-in user without two-factor
// authentication may still reach when a policy requires it: setting it
// up, its account, signing out, help.
func needsNoSecondFactor(path string) bool {
	for _, p := range []string{"/manage/account/two-factor/", "/manage/account/totp/", "/manage/account/webauthn/",
		"/manage/account/recovery-codes/", "/manage/account/reauth/", "/account/", "/help/",
		// A free security key is how many will set up their second factor.
		"/manage/account/security-keys-giveaway/",
		// Signing out a session an attacker holds must never wait.
		"/manage/account/sessions/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "/manage/account/"
}

// gateTwoFactor stops a signed-in user without two-factor authentication,
// while a policy requires it, everywhere but the set-up pages; it
// returns false when it answered the request.
func (s *Server) gateTwoFactor(w http.ResponseWriter, r *http.Request) bool {
	if s.tf == nil || needsNoSecondFactor(r.URL.Path) {
		return true
	}
	c := s.current(r)
	if c == nil {
		return true
	}
	err := s.tf.MissingError(r.Context(), c.User)
	if err == nil {
		return true
	}
	if problem.KindOf(err) == 0 {
		s.fail(w, r, err)
		return false
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.addFlash(w, r, "warning", err.Error())
		redirect(w, r, "/manage/account/two-factor/")
		return false
	}
	s.renderError(w, r, http.StatusForbidden, err.Error())
	return false
}
