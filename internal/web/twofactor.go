package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/twofactor"
)

// pendingSession returns the session waiting for its second step, or
// sends the browser to the login page and returns nil.
func (s *Server) pendingSession(w http.ResponseWriter, r *http.Request) *account.Current {
	c := s.session(r)
	if c == nil || !c.Pending() {
		s.addFlash(w, r, "error", "Your sign-in expired. Log in again.")
		redirect(w, r, "/account/login/")
		return nil
	}
	return c
}

// twoFactorChooser sends a user who gave its password to the page of its
// preferred second factor: a security key, else the app, else a
// recovery code.
func (s *Server) twoFactorChooser(w http.ResponseWriter, r *http.Request) {
	c := s.pendingSession(w, r)
	if c == nil {
		return
	}
	m, err := s.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		s.fail(w, r, err)
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

func (s *Server) secondStepMethods(r *http.Request, c *account.Current, except string) []secondStepMethod {
	m, err := s.tf.MethodsOf(r.Context(), c.User.ID)
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
// step, and goes on to next. After a recovery code, the user is told how
// many are left when few are.
func (s *Server) finishSecondStep(w http.ResponseWriter, r *http.Request, c *account.Current, method, label string, recoveryLeft int) {
	cookie, err := s.acct.CompleteSecondFactor(r.Context(), c, method, label, meta(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, cookieSession, cookie, 0)
	if method == "recovery-code" {
		s.recoveryWarning(w, r, recoveryLeft)
	}
	redirect(w, r, safeNext(r.FormValue("next")))
}

// recoveryWarning warns a user who just used a recovery code when few or
// none are left.
func (s *Server) recoveryWarning(w http.ResponseWriter, r *http.Request, left int) {
	switch {
	case left == 0:
		s.addFlash(w, r, "warning", "You used your last recovery code. Generate new recovery codes now, or you may lose access to your account.")
	case left <= twofactor.RecoveryLowWater:
		s.addFlash(w, r, "warning", fmt.Sprintf("Only %d recovery codes are left. Generate new ones soon.", left))
	}
}

// twoFactorManage is the overview of the user's second factors.
func (s *Server) twoFactorManage(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	m, err := s.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.tf.Required(r.Context(), c.User)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "twofactor_manage", "Two-factor authentication", map[string]any{
		"Methods": m, "Required": req != "", "RequiredWhy": req.Explain(), "LowWater": twofactor.RecoveryLowWater,
	})
}

// requireRecentAuth sends a user who has not proved its identity lately
// to re-authenticate, coming back to back; it returns false then. The
// domain refuses such changes too (auth.ErrReauthRequired): this
// only spares the user a refusal.
func (s *Server) requireRecentAuth(w http.ResponseWriter, r *http.Request, c *account.Current, back string) bool {
	if s.acct.RecentlyAuthenticated(c, twofactor.ReauthWindow) {
		return true
	}
	s.sendToReauth(w, r, back)
	return false
}

// sendToReauth sends the browser to re-authenticate, coming back to back.
func (s *Server) sendToReauth(w http.ResponseWriter, r *http.Request, back string) {
	s.addFlash(w, r, "warning", "Confirm it is you before this change.")
	redirect(w, r, reauthURL(back))
}

// reauthURL is the re-authentication page, coming back to back.
func reauthURL(back string) string { return "/manage/account/reauth/?next=" + url.QueryEscape(back) }

// reauthRefused sends the browser to re-authenticate when err is a
// refusal for want of a recent one, and reports whether it did.
func (s *Server) reauthRefused(w http.ResponseWriter, r *http.Request, err error, back string) bool {
	if !errors.Is(err, auth.ErrReauthRequired) {
		return false
	}
	s.sendToReauth(w, r, back)
	return true
}

type reauthView struct {
	Next     string
	Methods  *twofactor.Methods
	Error    string
	Password bool // no second factor: confirm with the password
}

func (s *Server) reauthView(r *http.Request, c *account.Current, next, msg string) (reauthView, error) {
	m, err := s.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		return reauthView{}, err
	}
	return reauthView{Next: next, Methods: m, Error: msg, Password: !m.Enabled()}, nil
}

func (s *Server) reauthPage(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	v, err := s.reauthView(r, c, safeNext(r.URL.Query().Get("next")), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reauth", "Confirm it is you", v)
}

// reauthPost checks a second factor (or, without one, the password) and
// records the fresh proof on the session.
func (s *Server) reauthPost(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	ctx, m := r.Context(), meta(r)
	next := safeNext(r.PostFormValue("next"))
	methods, err := s.tf.MethodsOf(ctx, c.User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	method := r.PostFormValue("method")
	code := r.PostFormValue("code")
	switch {
	case method == "totp" && methods.TOTP:
		err = s.tf.VerifyTOTP(ctx, c.User, code, m)
	case method == "recovery-code" && methods.RecoveryLeft > 0:
		var left int
		left, err = s.tf.UseRecoveryCode(ctx, c.User, code, m)
		if err == nil {
			s.recoveryWarning(w, r, left)
		}
	case method == "password" && !methods.Enabled():
		err = s.acct.CheckPassword(ctx, c.User, r.PostFormValue("password"), m)
	default:
		err = &problem.Error{Kind: problem.Invalid, Message: "Choose one of the methods on this page."}
	}
	if err != nil {
		if problem.KindOf(err) == problem.TooManyRequests || problem.KindOf(err) == 0 {
			s.fail(w, r, err)
			return
		}
		v, verr := s.reauthView(r, c, next, err.Error())
		if verr != nil {
			s.fail(w, r, verr)
			return
		}
		s.render(w, r, http.StatusUnauthorized, "reauth", "Confirm it is you", v)
		return
	}
	if err := s.acct.Reauthenticated(ctx, c, method, "", m); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, next)
}

// needsNoSecondFactor lists the pages a signed-in user without two-factor
// authentication may still reach when a policy requires it: setting it
// up, its account, signing out, help.
func needsNoSecondFactor(path string) bool {
	for _, p := range []string{"/manage/account/two-factor/", "/manage/account/totp/", "/manage/account/webauthn/",
		"/manage/account/recovery-codes/", "/manage/account/reauth/", "/account/", "/help/",
		// A free security key is how many will set up their second factor.
		"/manage/account/security-keys-giveaway/"} {
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
