package web

// Account recovery for a user who lost every second factor: the request
// form (linked from the login and second-step pages) and the pages of the
// emailed confirmation and cancel links. The administrators decide in
// admin_recovery.go.

import (
	"fmt"
	"net/http"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/store"
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

func waitText(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

const recoveryTitle = "Recover your account"

func (s *Server) recoveryRequestPage(w http.ResponseWriter, r *http.Request) {
	rec := s.opts.Recovery
	d := recoveryPage{Mode: "request", Who: r.URL.Query().Get("who"), Wait: waitText(rec.Config().Wait)}
	if c := s.current(r); c != nil {
		open, err := rec.Open(r.Context(), c.User.ID)
		if err != nil {
			s.fail(w, r, err)
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
	s.render(w, r, http.StatusOK, "recovery_request", recoveryTitle, d)
}

func (s *Server) recoveryRequestPost(w http.ResponseWriter, r *http.Request) {
	if err := s.opts.Recovery.Request(r.Context(), r.PostFormValue("who"), r.PostFormValue("reason"), meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	// The same answer whether or not the account exists.
	s.addFlash(w, r, "ok", "If an account matches what you entered and its email address is verified, we sent it a link "+
		"to confirm the recovery request. Open it within a day; then the waiting period starts.")
	redirect(w, r, "/account/recovery/")
}

func (s *Server) recoveryLinkPage(w http.ResponseWriter, r *http.Request, mode string) {
	token := r.URL.Query().Get("token")
	peek := s.opts.Recovery.PeekConfirm
	if mode == "cancel" {
		peek = s.opts.Recovery.PeekCancel
	}
	u, err := peek(r.Context(), token)
	if err != nil {
		s.recoveryLinkRefused(w, r, mode, err)
		return
	}
	s.render(w, r, http.StatusOK, "recovery_request", recoveryTitle,
		recoveryPage{Mode: mode, Token: token, Username: u.Username, Wait: waitText(s.opts.Recovery.Config().Wait)})
}

func (s *Server) recoveryLinkRefused(w http.ResponseWriter, r *http.Request, mode string, err error) {
	if account.KindOf(err) != account.NotFound {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusNotFound, "recovery_request", recoveryTitle, recoveryPage{Mode: mode, LinkError: err.Error()})
}

func (s *Server) recoveryConfirmPage(w http.ResponseWriter, r *http.Request) {
	s.recoveryLinkPage(w, r, "confirm")
}

func (s *Server) recoveryCancelPage(w http.ResponseWriter, r *http.Request) {
	s.recoveryLinkPage(w, r, "cancel")
}

func (s *Server) recoveryConfirmPost(w http.ResponseWriter, r *http.Request) {
	rq, err := s.opts.Recovery.Confirm(r.Context(), r.PostFormValue("token"), meta(r))
	if err != nil {
		s.recoveryLinkRefused(w, r, "confirm", err)
		return
	}
	s.addFlash(w, r, "ok", "Your recovery request is confirmed. The waiting period runs until "+
		s.opts.Recovery.EligibleAt(rq).Format("2006-01-02 15:04 UTC")+
		"; then an administrator may approve it, and we will email you a link to choose a new password. "+
		"The emails we sent you have a link to cancel it.")
	redirect(w, r, "/account/recovery/")
}

func (s *Server) recoveryCancelPost(w http.ResponseWriter, r *http.Request) {
	var err error
	if token := r.PostFormValue("token"); token != "" {
		_, err = s.opts.Recovery.Cancel(r.Context(), token, meta(r))
	} else if c := s.current(r); c != nil {
		_, err = s.opts.Recovery.CancelMine(r.Context(), c.User, meta(r))
	} else {
		err = &account.Error{Kind: account.NotFound, Msg: "Open the cancel link of our email, or log in, to cancel a recovery request."}
	}
	if err != nil {
		s.recoveryLinkRefused(w, r, "cancel", err)
		return
	}
	s.addFlash(w, r, "ok", "The recovery request was cancelled. Nothing of the account changed.")
	redirect(w, r, "/account/recovery/")
}
