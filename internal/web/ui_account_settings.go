package web

import (
	"fmt"
	"net/http"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/store"
)

// historyLimit is how many events the security history shows.
const historyLimit = 100

type sessionRow struct {
	*store.Session
	Current bool
}

// manageAccount is the data of the account settings page.
type manageAccount struct {
	User     *store.User
	Sessions []sessionRow
	// What the change forms show again after a refusal.
	NewEmail string
	Email    formErrors
	Password formErrors
}

func (s *Server) manageAccountPage(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	s.renderManageAccount(w, r, c, http.StatusOK, manageAccount{})
}

func (s *Server) renderManageAccount(w http.ResponseWriter, r *http.Request, c *account.Current, status int, data manageAccount) {
	sessions, err := s.acct.Sessions(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data.User = c.User
	for _, x := range sessions {
		data.Sessions = append(data.Sessions, sessionRow{Session: x, Current: x.IDHash == c.Session.IDHash})
	}
	s.render(w, r, status, "account_manage", "Account settings", data)
}

func (s *Server) changeEmailPost(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	old := c.User.Email
	if err := s.acct.ChangeEmail(r.Context(), c, email, r.PostFormValue("password"), meta(r)); err != nil {
		if status, fe, ok := formRefusal(err); ok {
			s.renderManageAccount(w, r, c, status, manageAccount{NewEmail: email, Email: fe})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.addFlash(w, r, "ok", fmt.Sprintf("Your email address is now %s. We sent a link to it: open it to verify the address. %s was told of the change.", email, old))
	redirect(w, r, "/manage/account/")
}

func (s *Server) changePasswordPost(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	err := s.acct.ChangePassword(r.Context(), c, r.PostFormValue("current_password"), r.PostFormValue("password"),
		r.PostFormValue("password_confirm"), meta(r))
	if err != nil {
		if status, fe, ok := formRefusal(err); ok {
			s.renderManageAccount(w, r, c, status, manageAccount{Password: fe})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.addFlash(w, r, "ok", "Your password was changed. Your other sessions were signed out.")
	redirect(w, r, "/manage/account/")
}

func (s *Server) logoutAllPost(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	n, err := s.acct.LogoutEverywhere(r.Context(), c, meta(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("Signed out of %d other sessions.", n)
	if n == 1 {
		msg = "Signed out of 1 other session."
	}
	s.addFlash(w, r, "ok", msg)
	redirect(w, r, "/manage/account/")
}

type historyPage struct {
	Events []*store.Event
}

func (s *Server) securityHistoryPage(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	ev, err := s.acct.History(r.Context(), c, historyLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account_history", "Security history", historyPage{Events: ev})
}
