package web

// The administrators' queue of users' reports (/admin/reports/, with the
// access rules of /admin/critical/): the open reports grouped by project,
// and for each project two actions: quarantine it on its reports, or
// dismiss them.

import (
	"net/http"

	"cheeseshop/internal/problem"
	"cheeseshop/internal/report"
	"cheeseshop/internal/words"
)

// adminReportsView is what admin_reports.html shows.
type adminReportsView struct {
	// NeedTwoFactor: the administrator has no two-factor authentication
	// and sees only how to set it up.
	NeedTwoFactor bool
	Projects      []*report.Reported
	// AutoReporters and MinAccountAge are the automatic quarantine's
	// settings (AutoReporters 0: off).
	AutoReporters int
	MinAccountAge string
}

const adminReportsTitle = "Reports"

func (a *adminPages) adminReports(w http.ResponseWriter, r *http.Request) {
	if a.s.administrator(w, r, "admin_reports", adminReportsTitle, adminReportsView{NeedTwoFactor: true}) == nil {
		return
	}
	rep := a.s.opts.Reports
	ps, err := rep.Queue(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	cfg := rep.Config()
	a.s.render(w, r, http.StatusOK, "admin_reports", adminReportsTitle, adminReportsView{Projects: ps,
		AutoReporters: cfg.QuarantineReporters, MinAccountAge: words.Duration(cfg.MinAccountAge)})
}

// adminReportsQuarantine quarantines a reported project on its reports.
func (a *adminPages) adminReportsQuarantine(w http.ResponseWriter, r *http.Request) {
	c := a.s.administrator(w, r, "admin_reports", adminReportsTitle, adminReportsView{NeedTwoFactor: true})
	if c == nil {
		return
	}
	name := r.PathValue("project")
	err := a.s.opts.Reports.QuarantineReported(r.Context(), c.User, meta(r), name)
	a.reportsDone(w, r, err, name+" is quarantined on its reports: none of its files is served, nothing in it can change. Its Owners were told.")
}

// adminReportsDismiss dismisses the open reports of a project.
func (a *adminPages) adminReportsDismiss(w http.ResponseWriter, r *http.Request) {
	c := a.s.administrator(w, r, "admin_reports", adminReportsTitle, adminReportsView{NeedTwoFactor: true})
	if c == nil {
		return
	}
	name := r.PathValue("project")
	_, err := a.s.opts.Reports.Dismiss(r.Context(), c.User, meta(r), name)
	a.reportsDone(w, r, err, "The reports of "+name+" are dismissed.")
}

// reportsDone goes back to the queue with the outcome: a refusal (an
// unknown project, no open report, already quarantined) as a message
// there.
func (a *adminPages) reportsDone(w http.ResponseWriter, r *http.Request, err error, ok string) {
	if err != nil {
		if e, isProblem := problem.As(err); isProblem && e.Kind != problem.TooManyRequests && e.Kind != problem.Unavailable {
			a.s.addFlash(w, r, "error", e.Message)
			redirect(w, r, "/admin/reports/")
			return
		}
		a.s.fail(w, r, err)
		return
	}
	a.s.addFlash(w, r, "ok", ok)
	redirect(w, r, "/admin/reports/")
}
