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
	// Closed: nobody registers (--registration closed); administrators
	// create the accounts.
	Closed bool
	formErrors
}

func (a *accountPages) registerPage(w http.ResponseWriter, r *http.Request) {
	if a.s.current(r) != nil {
		redirect(w, r, "/manage/account/")
		return
	}
	a.s.render(w, r, http.StatusOK, "account_register", "Create an account", registerForm{Closed: a.s.opts.RegistrationClosed})
}

func (a *accountPages) registerPost(w http.ResponseWriter, r *http.Request) {
	if a.s.opts.RegistrationClosed {
		a.s.render(w, r, http.StatusForbidden, "account_register", "Create an account", registerForm{Closed: true})
		return
	}
	reg := account.Registration{
		Username:        strings.TrimSpace(r.PostFormValue("username")),
		Email:           strings.TrimSpace(r.PostFormValue("email")),
		Password:        r.PostFormValue("password"),
		PasswordConfirm: r.PostFormValue("password_confirm"),
	}
	if err := a.acct.Register(r.Context(), reg, meta(r)); err != nil {
		if status, fe, ok := formRefusal(err); ok {
			a.s.render(w, r, status, "account_register", "Create an account",
				registerForm{Username: reg.Username, Email: reg.Email, formErrors: fe})
			return
		}
		a.s.fail(w, r, err)
		return
	}
	// The same answer whether or not the address is already registered:
	// its owner is told by email instead.
	a.s.addFlash(w, r, "ok", "Check your email: we sent a message to "+reg.Email+". Open the link in it to verify "+
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

func (a *accountPages) verifyEmailPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	p, err := a.acct.PeekVerification(r.Context(), token)
	if err != nil {
		a.verifyLinkRefused(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "account_verify", "Verify your email address", verifyPage{Token: token, Pending: p})
}

func (a *accountPages) verifyEmailPost(w http.ResponseWriter, r *http.Request) {
	u, err := a.acct.VerifyEmail(r.Context(), r.PostFormValue("token"), meta(r))
	if err != nil {
		a.verifyLinkRefused(w, r, err)
		return
	}
	a.s.addFlash(w, r, "ok", "Thank you: your email address "+u.Email+" is verified.")
	if c := a.s.current(r); c != nil && c.User.ID == u.ID {
		redirect(w, r, "/manage/account/")
		return
	}
	redirect(w, r, "/account/login/?next=%2Fmanage%2Faccount%2F")
}

// verifyLinkRefused shows why a verification link does not work, and how
// to get a new one.
func (a *accountPages) verifyLinkRefused(w http.ResponseWriter, r *http.Request, err error) {
	if problem.KindOf(err) != problem.NotFound {
		a.s.fail(w, r, err)
		return
	}
	c := a.s.current(r)
	a.s.render(w, r, http.StatusNotFound, "account_verify", "Verify your email address", verifyPage{
		Error: err.Error(), SignedIn: c != nil, CanResend: c != nil && !c.User.EmailVerified})
}

func (a *accountPages) resendVerificationPost(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	if err := a.acct.ResendVerification(r.Context(), c, meta(r)); err != nil {
		if problem.KindOf(err) == problem.Invalid {
			a.s.addFlash(w, r, "warning", err.Error())
			redirect(w, r, "/manage/account/")
			return
		}
		a.s.fail(w, r, err)
		return
	}
	a.s.addFlash(w, r, "ok", "We sent a new link to "+c.User.Email+". Links sent earlier no longer work.")
	redirect(w, r, "/manage/account/")
}
