package web

import (
	"net/http"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/recovery"
)

// accountPages serves the account pages of the web UI: signing in and
// out, registration, email verification, password reset, the account
// settings, account recovery and the security-key giveaway.
type accountPages struct {
	s    *Server // shared helpers: sessions, forms, rendering
	acct *account.Service
	rec  *recovery.Service // nil: no account recovery
	// The giveaway (s.opts.Promo) is read at each request: it may be
	// replaced after New.
}

type loginForm struct {
	Username string
	Next     string
	Error    string
	// Passkeys offers signing in with a passkey.
	Passkeys bool
}

func (a *accountPages) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if a.s.current(r) != nil {
		redirect(w, r, next)
		return
	}
	a.s.render(w, r, http.StatusOK, "login", "Log in", loginForm{Next: next, Passkeys: a.s.passkeySignIn()})
}

func (a *accountPages) loginPost(w http.ResponseWriter, r *http.Request) {
	username := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	login, err := a.acct.Login(r.Context(), username, r.PostFormValue("password"), meta(r))
	if err != nil {
		switch problem.KindOf(err) {
		case problem.Unauthenticated, problem.Forbidden, problem.Invalid:
			status := http.StatusUnauthorized
			if problem.KindOf(err) == problem.Forbidden {
				status = http.StatusForbidden
			}
			a.s.render(w, r, status, "login", "Log in", loginForm{Username: username, Next: next, Error: err.Error(), Passkeys: a.s.passkeySignIn()})
			return
		}
		a.s.fail(w, r, err)
		return
	}
	// Whatever session the browser had is replaced: a new id at login.
	if old := a.s.session(r); old != nil {
		_ = a.acct.DropSession(r.Context(), old)
	}
	a.s.setCookie(w, cookieSession, login.Cookie, 0)
	a.s.setCookie(w, cookieAnon, "", -1)
	if login.Pending {
		redirect(w, r, "/account/two-factor/?next="+urlQueryEscape(next))
		return
	}
	redirect(w, r, next)
}

func (a *accountPages) logoutPost(w http.ResponseWriter, r *http.Request) {
	if c := a.s.session(r); c != nil {
		if err := a.acct.Logout(r.Context(), c, meta(r)); err != nil {
			a.s.fail(w, r, err)
			return
		}
	}
	a.s.setCookie(w, cookieSession, "", -1)
	a.s.addFlash(w, r, "ok", "You are logged out.")
	redirect(w, r, "/")
}
