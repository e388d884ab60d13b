package web

import (
	"net/http"
	"strings"

	"cheeseshop/internal/problem"
)

type loginForm struct {
	Username string
	Next     string
	Error    string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s.current(r) != nil {
		redirect(w, r, next)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Log in", loginForm{Next: next})
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	username := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	login, err := s.acct.Login(r.Context(), username, r.PostFormValue("password"), meta(r))
	if err != nil {
		switch problem.KindOf(err) {
		case problem.Unauthenticated, problem.Forbidden, problem.Invalid:
			status := http.StatusUnauthorized
			if problem.KindOf(err) == problem.Forbidden {
				status = http.StatusForbidden
			}
			s.render(w, r, status, "login", "Log in", loginForm{Username: username, Next: next, Error: err.Error()})
			return
		}
		s.fail(w, r, err)
		return
	}
	// Whatever session the browser had is replaced: a new id at login.
	if old := s.session(r); old != nil {
		_ = s.acct.Store().DeleteSession(r.Context(), old.Session.IDHash)
	}
	s.setCookie(w, cookieSession, login.Cookie, 0)
	s.setCookie(w, cookieAnon, "", -1)
	if login.Pending {
		redirect(w, r, "/account/two-factor/?next="+urlQueryEscape(next))
		return
	}
	redirect(w, r, next)
}

func (s *Server) logoutPost(w http.ResponseWriter, r *http.Request) {
	if c := s.session(r); c != nil {
		if err := s.acct.Logout(r.Context(), c, meta(r)); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.setCookie(w, cookieSession, "", -1)
	s.addFlash(w, r, "ok", "You are logged out.")
	redirect(w, r, "/")
}
