package web

// Re-authentication: a signed-in user proves its identity again (a second
// factor, or without one the password) before a sensitive change
// (/manage/account/reauth/).

import (
	"errors"
	"net/http"
	"net/url"

	"cheeseshop/internal/account"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/twofactor"
)

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
func (t *twoFactorPages) reauthRefused(w http.ResponseWriter, r *http.Request, err error, back string) bool {
	if !errors.Is(err, auth.ErrReauthRequired) {
		return false
	}
	t.s.sendToReauth(w, r, back)
	return true
}

type reauthView struct {
	Next     string
	Methods  *twofactor.Methods
	Error    string
	Password bool // no second factor: confirm with the password
}

func (t *twoFactorPages) reauthView(r *http.Request, c *account.Current, next, msg string) (reauthView, error) {
	m, err := t.tf.MethodsOf(r.Context(), c.User.ID)
	if err != nil {
		return reauthView{}, err
	}
	return reauthView{Next: next, Methods: m, Error: msg, Password: !m.Enabled()}, nil
}

func (t *twoFactorPages) reauthPage(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	v, err := t.reauthView(r, c, safeNext(r.URL.Query().Get("next")), "")
	if err != nil {
		t.s.fail(w, r, err)
		return
	}
	t.s.render(w, r, http.StatusOK, "reauth", "Confirm it is you", v)
}

// reauthPost checks a second factor (or, without one, the password) and
// records the fresh proof on the session.
func (t *twoFactorPages) reauthPost(w http.ResponseWriter, r *http.Request) {
	c := t.s.requireUser(w, r)
	if c == nil {
		return
	}
	ctx, m := r.Context(), meta(r)
	next := safeNext(r.PostFormValue("next"))
	methods, err := t.tf.MethodsOf(ctx, c.User.ID)
	if err != nil {
		t.s.fail(w, r, err)
		return
	}
	method := r.PostFormValue("method")
	code := r.PostFormValue("code")
	switch {
	case method == "totp" && methods.TOTP:
		err = t.tf.VerifyTOTP(ctx, c.User, code, m)
	case method == "recovery-code" && methods.RecoveryLeft > 0:
		var left int
		left, err = t.tf.UseRecoveryCode(ctx, c.User, code, m)
		if err == nil {
			t.recoveryWarning(w, r, left)
		}
	case method == "password" && !methods.Enabled():
		err = t.acct.CheckPassword(ctx, c.User, r.PostFormValue("password"), m)
	default:
		err = &problem.Error{Kind: problem.Invalid, Message: "Choose one of the methods on this page."}
	}
	if err != nil {
		if problem.KindOf(err) == problem.TooManyRequests || problem.KindOf(err) == 0 {
			t.s.fail(w, r, err)
			return
		}
		v, verr := t.reauthView(r, c, next, err.Error())
		if verr != nil {
			t.s.fail(w, r, verr)
			return
		}
		t.s.render(w, r, http.StatusUnauthorized, "reauth", "Confirm it is you", v)
		return
	}
	if err := t.acct.Reauthenticated(ctx, c, method, "", m); err != nil {
		t.s.fail(w, r, err)
		return
	}
	redirect(w, r, next)
}
