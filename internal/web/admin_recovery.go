package web

// The administrators' page of account recovery requests
// (/admin/recovery/, with the access rules of /admin/critical/): approve
// or reject a request once its waiting period is over.

import (
	"net/http"
	"strconv"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
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
func (a *adminPages) recoveryAdmin(w http.ResponseWriter, r *http.Request) *account.Current {
	return a.s.administrator(w, r, "admin_recovery", "Account recovery", adminRecoveryPage{NeedTwoFactor: true})
}

func (a *adminPages) adminRecovery(w http.ResponseWriter, r *http.Request) {
	if a.recoveryAdmin(w, r) == nil {
		return
	}
	rec := a.rec
	rs, err := rec.Pending(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	d := adminRecoveryPage{Wait: words.Duration(rec.Config().Wait)}
	for _, x := range rs {
		at := rec.EligibleAt(x)
		d.Requests = append(d.Requests, adminRecoveryRequest{RecoveryRequest: x, EligibleAt: at,
			Ready: rec.Ready(x)})
	}
	a.s.render(w, r, http.StatusOK, "admin_recovery", "Account recovery", d)
}

func (a *adminPages) adminRecoveryDecide(w http.ResponseWriter, r *http.Request, approve bool) {
	c := a.recoveryAdmin(w, r)
	if c == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.s.renderError(w, r, http.StatusNotFound, "There is no such recovery request.")
		return
	}
	// Approving removes every second factor of an account: like removing
	// one's own, it needs a recent proof that the administrator is at the
	// keyboard, not a stolen session.
	if approve && !a.s.requireRecentAuth(w, r, c, "/admin/recovery/") {
		return
	}
	var rq *store.RecoveryRequest
	if approve {
		rq, err = a.rec.Approve(r.Context(), c.User, id, meta(r))
	} else {
		rq, err = a.rec.Reject(r.Context(), c.User, id, r.PostFormValue("note"), meta(r))
	}
	if err != nil {
		if e, ok := problem.As(err); ok && e.Kind != problem.TooManyRequests && e.Kind != problem.Unavailable {
			a.s.addFlash(w, r, "error", e.Message)
			redirect(w, r, "/admin/recovery/")
			return
		}
		a.s.fail(w, r, err)
		return
	}
	if approve {
		a.s.addFlash(w, r, "ok", "Recovery of "+rq.Username+" approved: every second factor removed, every session ended, "+
			"and a link to choose a new password emailed to "+rq.Email+".")
	} else {
		a.s.addFlash(w, r, "ok", "Recovery request of "+rq.Username+" rejected; the user was told.")
	}
	redirect(w, r, "/admin/recovery/")
}

func (a *adminPages) adminRecoveryApprove(w http.ResponseWriter, r *http.Request) {
	a.adminRecoveryDecide(w, r, true)
}

func (a *adminPages) adminRecoveryReject(w http.ResponseWriter, r *http.Request) {
	a.adminRecoveryDecide(w, r, false)
}
