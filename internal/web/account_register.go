package web

import (
	"net/http"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
)

type registerForm struct {
	Username string
	Email    string
	formErrors
}

func (s *Server) registerPage(w http.ResponseWriter, r *http.Request) {
	if s.current(r) != nil {
		redirect(w, r, "/manage/account/")
		return
	}
	s.render(w, r, http.StatusOK, "account_register", "Create an account", registerForm{})
}

func (s *Server) registerPost(w http.ResponseWriter, r *http.Request) {
	reg := account.Registration{
		Username:        strings.TrimSpace(r.PostFormValue("username")),
		Email:           strings.TrimSpace(r.PostFormValue("email")),
		Password:        r.PostFormValue("password"),
		PasswordConfirm: r.PostFormValue("password_confirm"),
	}
	if err := s.acct.Register(r.Context(), reg, meta(r)); err != nil {
		if status, fe, ok := formRefusal(err); ok {
			s.render(w, r, status, "account_register", "Create an account",
				registerForm{Username: reg.Username, Email: reg.Email, formErrors: fe})
			return
		}
		s.fail(w, r, err)
		return
	}
	// The same answer whether or not the address is already registered:
	// its owner is told by email instead.
	s.addFlash(w, r, "ok", "Check your email: we sent a message to "+reg.Email+". Open the link in it to verify "+
		"your address, and log in as "+reg.Username+" with the password you chose.")
	redirect(w, r, "/account/login/")
}

// verifyPage is the data of the email verification page.
type verifyPage struct {
	Token   string
	Pending *account.PendingVerification
	Error   string
	// CanResend: a signed-in user with an unverified address may ask for
	// a new link.
	CanResend bool
	SignedIn  bool
}

func (s *Server) verifyEmailPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	p, err := s.acct.PeekVerification(r.Context(), token)
	if err != nil {
		s.verifyLinkRefused(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_verify", "Verify your email address", verifyPage{Token: token, Pending: p})
}

func (s *Server) verifyEmailPost(w http.ResponseWriter, r *http.Request) {
	u, err := s.acct.VerifyEmail(r.Context(), r.PostFormValue("token"), meta(r))
	if err != nil {
		s.verifyLinkRefused(w, r, err)
		return
	}
	s.addFlash(w, r, "ok", "Thank you: your email address "+u.Email+" is verified.")
	if c := s.current(r); c != nil && c.User.ID == u.ID {
		redirect(w, r, "/manage/account/")
		return
	}
	redirect(w, r, "/account/login/?next=%2Fmanage%2Faccount%2F")
}

// verifyLinkRefused shows why a verification link does not work, and how
// to get a new one.
func (s *Server) verifyLinkRefused(w http.ResponseWriter, r *http.Request, err error) {
	if problem.KindOf(err) != problem.NotFound {
		s.fail(w, r, err)
		return
	}
	c := s.current(r)
	s.render(w, r, http.StatusNotFound, "account_verify", "Verify your email address", verifyPage{
		Error: err.Error(), SignedIn: c != nil, CanResend: c != nil && !c.User.EmailVerified})
}

func (s *Server) resendVerificationPost(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	if err := s.acct.ResendVerification(r.Context(), c, meta(r)); err != nil {
		if problem.KindOf(err) == problem.Invalid {
			s.addFlash(w, r, "warning", err.Error())
			redirect(w, r, "/manage/account/")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.addFlash(w, r, "ok", "We sent a new link to "+c.User.Email+". Links sent earlier no longer work.")
	redirect(w, r, "/manage/account/")
}
