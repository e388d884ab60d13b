package web

// The administrators' page of critical projects (/admin/critical/), with
// their collaborators' two-factor status.

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
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
	Project *store.Project
	Status  mandateStatus
	// Downloads in the window of the last computation.
	Downloads     int64
	Collaborators []store.MandateCollaborator
	WithTwoFactor int
}

// adminCritical lists the critical projects, with their collaborators'
// two-factor status, for administrators who have two-factor
// authentication themselves (theirs are the accounts most worth
// stealing). Anybody else gets the answer of a path that does not exist.
func (s *Server) adminCritical(w http.ResponseWriter, r *http.Request) {
	if s.md == nil {
		notFound(w, r)
		return
	}
	ctx := r.Context()
	const title = "Critical projects"
	if s.administrator(w, r, "admin_critical", title, adminCriticalPage{NeedTwoFactor: true}) == nil {
		return
	}
	var err error
	st := s.acct.Store()
	d := adminCriticalPage{Config: s.md.Config()}
	if g := d.Config.Grace; g > 0 && g%(24*time.Hour) == 0 {
		d.Grace = fmt.Sprintf("%d days", g/(24*time.Hour))
	} else if g > 0 {
		d.Grace = g.String()
	}
	if d.Run, err = st.LastCriticalRun(ctx); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	projects, err := st.CriticalProjects(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, pm := range projects {
		ap := adminCriticalProject{Project: pm.Project, Status: s.statusOf(pm.Project), Collaborators: pm.Collaborators}
		// One indexed lookup per project: critical projects are a small
		// share of all projects.
		if ap.Downloads, err = st.WindowDownloads(ctx, pm.Project.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		for _, col := range pm.Collaborators {
			if col.TwoFactor {
				ap.WithTwoFactor++
			}
		}
		d.Collaborators += len(pm.Collaborators)
		d.WithTwoFactor += ap.WithTwoFactor
		d.Projects = append(d.Projects, ap)
	}
	s.render(w, r, http.StatusOK, "admin_critical", title, d)
}
