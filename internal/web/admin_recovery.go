package web

// The administrators' page of account recovery requests
// (/admin/recovery/, with the access rules of /admin/critical/): approve
// or reject a request once its waiting period is over.

import (
	"net/http"
	"strconv"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/store"
)

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
		if e, ok := err.(*account.Error); ok && e.Kind != account.TooManyRequests {
			s.addFlash(w, r, "error", e.Msg)
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
