package web

// Account recovery for a user who lost every second factor: the request
// form (linked from the login and second-step pages) and the pages of the
// emailed confirmation and cancel links. The administrators decide in
// admin_recovery.go.

import (
	"net/http"
	"time"

	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// recoveryPage is what recovery_request.html shows.
type recoveryPage struct {
	// Mode is "request" (the form), "confirm" or "cancel" (an emailed
	// link's page).
	Mode      string
	Who       string // prefilled username
	Token     string
	Username  string // the link's user
	LinkError string // the link does not work
	Wait      string // the waiting period, for people
	// Open is the signed-in user's open request (nil: none), and
	// EligibleAt the end of its waiting period.
	Open       *store.RecoveryRequest
	EligibleAt time.Time
}

const recoveryTitle = "Recover your account"

func (a *accountPages) recoveryRequestPage(w http.ResponseWriter, r *http.Request) {
	rec := a.rec
	d := recoveryPage{Mode: "request", Who: r.URL.Query().Get("who"), Wait: words.Duration(rec.Config().Wait)}
	if c := a.s.current(r); c != nil {
		open, err := rec.Open(r.Context(), c.User.ID)
		if err != nil {
			a.s.fail(w, r, err)
			return
		}
		d.Open = open
		if open != nil {
			d.EligibleAt = rec.EligibleAt(open)
		}
		if d.Who == "" {
			d.Who = c.User.Username
		}
	}
	a.s.render(w, r, http.StatusOK, "recovery_request", recoveryTitle, d)
}

func (a *accountPages) recoveryRequestPost(w http.ResponseWriter, r *http.Request) {
	if err := a.rec.Request(r.Context(), r.PostFormValue("who"), r.PostFormValue("reason"), meta(r)); err != nil {
		a.s.fail(w, r, err)
		return
	}
	// The same answer whether or not the account exists.
	a.s.addFlash(w, r, "ok", "If an account matches what you entered and its email address is verified, we sent it a link "+
		"to confirm the recovery request. Open it within a day; then the waiting period starts.")
	redirect(w, r, "/account/recovery/")
}

func (a *accountPages) recoveryLinkPage(w http.ResponseWriter, r *http.Request, mode string) {
	token := r.URL.Query().Get("token")
	peek := a.rec.PeekConfirm
	if mode == "cancel" {
		peek = a.rec.PeekCancel
	}
	u, err := peek(r.Context(), token)
	if err != nil {
		a.recoveryLinkRefused(w, r, mode, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "recovery_request", recoveryTitle,
		recoveryPage{Mode: mode, Token: token, Username: u.Username, Wait: words.Duration(a.rec.Config().Wait)})
}

func (a *accountPages) recoveryLinkRefused(w http.ResponseWriter, r *http.Request, mode string, err error) {
	if problem.KindOf(err) != problem.NotFound {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusNotFound, "recovery_request", recoveryTitle, recoveryPage{Mode: mode, LinkError: err.Error()})
}

func (a *accountPages) recoveryConfirmPage(w http.ResponseWriter, r *http.Request) {
	a.recoveryLinkPage(w, r, "confirm")
}

func (a *accountPages) recoveryCancelPage(w http.ResponseWriter, r *http.Request) {
	a.recoveryLinkPage(w, r, "cancel")
}

func (a *accountPages) recoveryConfirmPost(w http.ResponseWriter, r *http.Request) {
	rq, err := a.rec.Confirm(r.Context(), r.PostFormValue("token"), meta(r))
	if err != nil {
		a.recoveryLinkRefused(w, r, "confirm", err)
		return
	}
	a.s.addFlash(w, r, "ok", "Your recovery request is confirmed. The waiting period runs until "+
		a.rec.EligibleAt(rq).Format("2006-01-02 15:04 UTC")+
		"; then an administrator may approve it, and we will email you a link to choose a new password. "+
		"The emails we sent you have a link to cancel it.")
	redirect(w, r, "/account/recovery/")
}

func (a *accountPages) recoveryCancelPost(w http.ResponseWriter, r *http.Request) {
	var err error
	if token := r.PostFormValue("token"); token != "" {
		_, err = a.rec.Cancel(r.Context(), token, meta(r))
	} else if c := a.s.current(r); c != nil {
		_, err = a.rec.CancelMine(r.Context(), c.User, meta(r))
	} else {
		err = &problem.Error{Kind: problem.NotFound, Message: "Open the cancel link of our email, or log in, to cancel a recovery request."}
	}
	if err != nil {
		a.recoveryLinkRefused(w, r, "cancel", err)
		return
	}
	a.s.addFlash(w, r, "ok", "The recovery request was cancelled. Nothing of the account changed.")
	redirect(w, r, "/account/recovery/")
}
