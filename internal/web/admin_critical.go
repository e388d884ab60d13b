package web

// The administrators' page of critical projects (/admin/critical/), with
// their collaborators' two-factor status.

import (
	"net/http"

	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// adminCriticalPage is what admin_critical.html shows.
type adminCriticalPage struct {
	// NeedTwoFactor: the administrator has no two-factor authentication
	// and sees only how to set it up.
	NeedTwoFactor bool
	Config        mandate.Config
	Grace         string // Config.Grace for people ("" when none)
	// Run is the last computation (nil: none yet).
	Run      *store.CriticalRun
	Projects []adminCriticalProject
	// Collaborators of all the critical projects, and how many of them
	// have two-factor authentication (a person is counted once per
	// project).
	Collaborators, WithTwoFactor int
}

// adminCriticalProject is a critical project on the administrators' page.
type adminCriticalProject struct {
	mandate.CriticalProject
	Status mandateStatus
}

// adminCritical lists the critical projects, with their collaborators'
// two-factor status, for administrators who have two-factor
// authentication themselves (theirs are the accounts most worth
// stealing). Anybody else gets the answer of a path that does not exist.
func (a *adminPages) adminCritical(w http.ResponseWriter, r *http.Request) {
	s := a.s
	if s.md == nil {
		notFound(w, r)
		return
	}
	const title = "Critical projects"
	if s.administrator(w, r, "admin_critical", title, adminCriticalPage{NeedTwoFactor: true}) == nil {
		return
	}
	rep, err := s.md.CriticalReport(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := adminCriticalPage{Config: s.md.Config(), Run: rep.Run, Collaborators: rep.Collaborators, WithTwoFactor: rep.WithTwoFactor}
	if g := d.Config.Grace; g > 0 {
		d.Grace = words.Duration(g)
	}
	for _, cp := range rep.Projects {
		d.Projects = append(d.Projects, adminCriticalProject{CriticalProject: cp, Status: s.statusOf(cp.Project)})
	}
	s.render(w, r, http.StatusOK, "admin_critical", title, d)
}
