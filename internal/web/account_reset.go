package web

import (
	"net/http"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
)

func (s *Server) resetRequestPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "account_reset", "Reset your password", nil)
}

func (s *Server) resetRequestPost(w http.ResponseWriter, r *http.Request) {
	if err := s.acct.RequestPasswordReset(r.Context(), r.PostFormValue("who"), meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	// The same answer whether or not the account exists.
	s.addFlash(w, r, "ok", "If an account matches what you entered, we sent a link to its email address. "+
		"Open it within an hour to choose a new password.")
	redirect(w, r, "/account/reset-password/")
}

type resetConfirmForm struct {
	Token     string
	Username  string
	LinkError string // the link does not work
	formErrors
}

func (s *Server) resetConfirmPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	u, err := s.acct.PeekPasswordReset(r.Context(), token)
	if err != nil {
		s.resetLinkRefused(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_reset_confirm", "Choose a new password",
		resetConfirmForm{Token: token, Username: u.Username})
}

func (s *Server) resetConfirmPost(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	u, err := s.acct.ResetPassword(r.Context(), token, r.PostFormValue("password"), r.PostFormValue("password_confirm"), meta(r))
	if err != nil {
		if account.IsLinkError(err) {
			s.resetLinkRefused(w, r, err)
			return
		}
		if status, fe, ok := formRefusal(err); ok {
			var name string
			if u, err := s.acct.PeekPasswordReset(r.Context(), token); err == nil {
				name = u.Username
			}
			s.render(w, r, status, "account_reset_confirm", "Choose a new password",
				resetConfirmForm{Token: token, Username: name, formErrors: fe})
			return
		}
		s.fail(w, r, err)
		return
	}
	// Every session of the user ended, this browser's too.
	s.setCookie(w, cookieSession, "", -1)
	s.addFlash(w, r, "ok", "Your password was changed, and every session of "+u.Username+" was signed out. Log in with your new password.")
	redirect(w, r, "/account/login/")
}

func (s *Server) resetLinkRefused(w http.ResponseWriter, r *http.Request, err error) {
	if problem.KindOf(err) != problem.NotFound {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusNotFound, "account_reset_confirm", "Choose a new password", resetConfirmForm{LinkError: err.Error()})
}
