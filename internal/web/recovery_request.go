package web

// Account recovery for a user who lost every second factor: the request
// form (linked from the login and second-step pages), the pages of the
// emailed confirmation and cancel links, and the administrators' page
// (/admin/recovery/, with the access rules of /admin/critical/).

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
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
	if problem.KindOf(err) != problem.NotFound {
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
		err = &problem.Error{Kind: problem.NotFound, Message: "Open the cancel link of our email, or log in, to cancel a recovery request."}
	}
	if err != nil {
		s.recoveryLinkRefused(w, r, "cancel", err)
		return
	}
	s.addFlash(w, r, "ok", "The recovery request was cancelled. Nothing of the account changed.")
	redirect(w, r, "/account/recovery/")
}

// adminRecoveryPage is what admin_recovery.html shows.
type adminRecoveryPage struct {
	// NeedTwoFactor: the administrator has no two-factor authentication
	// and sees only how to set it up.
	NeedTwoFactor bool
	Wait          string
	Requests      []adminRecoveryRequest
}

type adminRecoveryRequest struct {
	*store.RecoveryRequest
	EligibleAt time.Time
	// Ready: the waiting period is over, it may be approved.
	Ready bool
}

// recoveryAdmin lets through administrators with two-factor authentication:
// anybody else gets the answer of a path that does not exist, an
// administrator without it a 403 page saying how to set it up (as
// /admin/critical/). It returns the administrator, or nil when it answered.
func (s *Server) recoveryAdmin(w http.ResponseWriter, r *http.Request) *account.Current {
	return s.administrator(w, r, "admin_recovery", "Account recovery", adminRecoveryPage{NeedTwoFactor: true})
}

func (s *Server) adminRecovery(w http.ResponseWriter, r *http.Request) {
	if s.recoveryAdmin(w, r) == nil {
		return
	}
	rec := s.opts.Recovery
	rs, err := rec.Pending(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := adminRecoveryPage{Wait: waitText(rec.Config().Wait)}
	for _, x := range rs {
		at := rec.EligibleAt(x)
		d.Requests = append(d.Requests, adminRecoveryRequest{RecoveryRequest: x, EligibleAt: at,
			Ready: rec.Ready(x)})
	}
	s.render(w, r, http.StatusOK, "admin_recovery", "Account recovery", d)
}

func (s *Server) adminRecoveryDecide(w http.ResponseWriter, r *http.Request, approve bool) {
	c := s.recoveryAdmin(w, r)
	if c == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such recovery request.")
		return
	}
	// Approving removes every second factor of an account: like removing
	// one's own, it needs a recent proof that the administrator is at the
	// keyboard, not a stolen session.
	if approve && !s.requireRecentAuth(w, r, c, "/admin/recovery/") {
		return
	}
	var rq *store.RecoveryRequest
	if approve {
		rq, err = s.opts.Recovery.Approve(r.Context(), c.User, id, meta(r))
	} else {
		rq, err = s.opts.Recovery.Reject(r.Context(), c.User, id, r.PostFormValue("note"), meta(r))
	}
	if err != nil {
		if e, ok := problem.As(err); ok && e.Kind != problem.TooManyRequests && e.Kind != problem.Unavailable {
			s.addFlash(w, r, "error", e.Message)
			redirect(w, r, "/admin/recovery/")
			return
		}
		s.fail(w, r, err)
		return
	}
	if approve {
		s.addFlash(w, r, "ok", "Recovery of "+rq.Username+" approved: every second factor removed, every session ended, "+
			"and a link to choose a new password emailed to "+rq.Email+".")
	} else {
		s.addFlash(w, r, "ok", "Recovery request of "+rq.Username+" rejected; the user was told.")
	}
	redirect(w, r, "/admin/recovery/")
}

func (s *Server) adminRecoveryApprove(w http.ResponseWriter, r *http.Request) {
	s.adminRecoveryDecide(w, r, true)
}

func (s *Server) adminRecoveryReject(w http.ResponseWriter, r *http.Request) {
	s.adminRecoveryDecide(w, r, false)
}
