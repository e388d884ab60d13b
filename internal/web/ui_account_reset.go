package web

import (
	"net/http"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
)

func (a *accountPages) resetRequestPage(w http.ResponseWriter, r *http.Request) {
	a.s.render(w, r, http.StatusOK, "account_reset", "Reset your password", nil)
}

func (a *accountPages) resetRequestPost(w http.ResponseWriter, r *http.Request) {
	if err := a.acct.RequestPasswordReset(r.Context(), r.PostFormValue("who"), meta(r)); err != nil {
		a.s.fail(w, r, err)
		return
	}
	// The same answer whether or not the account exists.
	a.s.addFlash(w, r, "ok", "If an account matches what you entered, we sent a link to its email address. "+
		"Open it within an hour to choose a new password.")
	redirect(w, r, "/account/reset-password/")
}

type resetConfirmForm struct {
	Token     string
	Username  string
	LinkError string // the link does not work
	formErrors
}

func (a *accountPages) resetConfirmPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	u, err := a.acct.PeekPasswordReset(r.Context(), token)
	if err != nil {
		a.resetLinkRefused(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "account_reset_confirm", "Choose a new password",
		resetConfirmForm{Token: token, Username: u.Username})
}

func (a *accountPages) resetConfirmPost(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	u, err := a.acct.ResetPassword(r.Context(), token, r.PostFormValue("password"), r.PostFormValue("password_confirm"), meta(r))
	if err != nil {
		if account.IsLinkError(err) {
			a.resetLinkRefused(w, r, err)
			return
		}
		if status, fe, ok := formRefusal(err); ok {
			var name string
			if u, err := a.acct.PeekPasswordReset(r.Context(), token); err == nil {
				name = u.Username
			}
			a.s.render(w, r, status, "account_reset_confirm", "Choose a new password",
				resetConfirmForm{Token: token, Username: name, formErrors: fe})
			return
		}
		a.s.fail(w, r, err)
		return
	}
	// Every session of the user ended, this browser's too.
	a.s.setCookie(w, cookieSession, "", -1)
	a.s.addFlash(w, r, "ok", "Your password was changed, and every session of "+u.Username+" was signed out. Log in with your new password.")
	redirect(w, r, "/account/login/")
}

func (a *accountPages) resetLinkRefused(w http.ResponseWriter, r *http.Request, err error) {
	if problem.KindOf(err) != problem.NotFound {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusNotFound, "account_reset_confirm", "Choose a new password", resetConfirmForm{LinkError: err.Error()})
}
