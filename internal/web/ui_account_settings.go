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

// manageAccount is the data of the account settings page.
type manageAccount struct {
	User *store.User
	// Sessions counts the live sessions (the sessions page lists them).
	Sessions int
	// What the change forms show again after a refusal.
	NewEmail string
	Email    formErrors
	Password formErrors
}

func (a *accountPages) manageAccountPage(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	a.renderManageAccount(w, r, c, http.StatusOK, manageAccount{})
}

func (a *accountPages) renderManageAccount(w http.ResponseWriter, r *http.Request, c *account.Current, status int, data manageAccount) {
	sessions, err := a.acct.Sessions(r.Context(), c)
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	data.User, data.Sessions = c.User, len(sessions)
	a.s.render(w, r, status, "account_manage", "Account settings", data)
}

func (a *accountPages) changeEmailPost(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	old := c.User.Email
	if err := a.acct.ChangeEmail(r.Context(), c, email, r.PostFormValue("password"), meta(r)); err != nil {
		if status, fe, ok := formRefusal(err); ok {
			a.renderManageAccount(w, r, c, status, manageAccount{NewEmail: email, Email: fe})
			return
		}
		a.s.fail(w, r, err)
		return
	}
	a.s.addFlash(w, r, "ok", fmt.Sprintf("Your email address is now %s. We sent a link to it: open it to verify the address. %s was told of the change.", email, old))
	redirect(w, r, "/manage/account/")
}

func (a *accountPages) changePasswordPost(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	err := a.acct.ChangePassword(r.Context(), c, r.PostFormValue("current_password"), r.PostFormValue("password"),
		r.PostFormValue("password_confirm"), meta(r))
	if err != nil {
		if status, fe, ok := formRefusal(err); ok {
			a.renderManageAccount(w, r, c, status, manageAccount{Password: fe})
			return
		}
		a.s.fail(w, r, err)
		return
	}
	a.s.addFlash(w, r, "ok", "Your password was changed. Your other sessions were signed out.")
	redirect(w, r, "/manage/account/")
}

func (a *accountPages) logoutAllPost(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	n, err := a.acct.LogoutEverywhere(r.Context(), c, meta(r))
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("Signed out of %d other sessions.", n)
	if n == 1 {
		msg = "Signed out of 1 other session."
	}
	a.s.addFlash(w, r, "ok", msg)
	redirect(w, r, sessionsURL)
}

type historyPage struct {
	Events []*store.Event
}

func (a *accountPages) securityHistoryPage(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	ev, err := a.acct.History(r.Context(), c, historyLimit)
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "account_history", "Security history", historyPage{Events: ev})
}
