package web

// The critical-project mandate in the web UI: the notices every page
// shows a signed-in collaborator (the banner), the badges of a project,
// and the administrators' page of critical projects.

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// hasTwoFactor reports whether the user has two-factor authentication,
// by the one definition (twofactor.HasTwoFactor), with or without the
// second-factor pages enabled.
func (s *Server) hasTwoFactor(ctx context.Context, userID int64) (bool, error) {
	if s.tf != nil {
		return s.tf.HasTwoFactor(ctx, userID)
	}
	return twofactor.HasTwoFactor(ctx, s.acct.Store(), userID)
}

// mandateBanner is what the layout tells a signed-in user about its
// projects that are critical or whose Owners require two-factor
// authentication.
type mandateBanner struct {
	// Missing: the user has no two-factor authentication, and Notices
	// name every such project. Otherwise they name the projects that
	// became critical within mandate.RecentNotice.
	Missing bool
	// Pending: every project of a Missing banner is critical within its
	// grace period, so none requires two-factor authentication yet.
	Pending bool
	Notices []mandate.Notice
}

// mandateNotices returns the banner for the user, or nil when there is
// nothing to say. It fails soft: an error is logged and shows no banner.
// Most users hold no role on such a project: the first query settles it,
// and the user's second factors are read only when there is something to
// say.
func (s *Server) mandateNotices(ctx context.Context, userID int64) *mandateBanner {
	if s.md == nil {
		return nil
	}
	all, err := s.md.Notices(ctx, userID, false)
	if err != nil {
		s.log.ErrorContext(ctx, "mandate notices", "user", userID, "err", err)
		return nil
	}
	if len(all) == 0 {
		return nil
	}
	has, err := s.hasTwoFactor(ctx, userID)
	if err != nil {
		s.log.ErrorContext(ctx, "mandate notices: two-factor status", "user", userID, "err", err)
		return nil
	}
	if !has {
		b := &mandateBanner{Missing: true, Pending: true, Notices: all}
		for _, n := range all {
			if n.Requirement.Reason != "" {
				b.Pending = false
			}
		}
		return b
	}
	// With two-factor authentication, Notices keeps only the recent ones.
	var recent []mandate.Notice
	for _, n := range all {
		if n.Recent {
			recent = append(recent, n)
		}
	}
	if len(recent) == 0 {
		return nil
	}
	return &mandateBanner{Notices: recent}
}

// mandateStatus is what a project's badges say.
type mandateStatus struct {
	// CriticalSince is when the project became critical (zero: it is
	// not).
	CriticalSince time.Time
	// Require2FA: its Owners require two-factor authentication.
	Require2FA bool
	// Deadline is the end of the grace period of a critical project
	// (zero when none runs).
	Deadline time.Time
}

// Critical reports whether the project is critical.
func (m mandateStatus) Critical() bool { return !m.CriticalSince.IsZero() }

// Any reports whether there is a badge to show.
func (m mandateStatus) Any() bool { return m.Critical() || m.Require2FA }

// statusOf returns the badges of a project (none without the mandate).
func (s *Server) statusOf(p *store.Project) mandateStatus {
	if s.md == nil || p == nil {
		return mandateStatus{}
	}
	return mandateStatus{CriticalSince: p.CriticalSince, Require2FA: p.Require2FA, Deadline: s.md.Pending(p)}
}

// freshStatusOf returns the badges of a project read afresh from the
// database: a cached view of the project may predate them (the daily
// computation marks projects critical, and an opt-in is set, without
// dropping the cached pages, which do not show either). On error it
// logs and uses p.
func (s *Server) freshStatusOf(ctx context.Context, p *store.Project) mandateStatus {
	if s.md == nil {
		return mandateStatus{}
	}
	fresh, err := s.acct.Store().ProjectByID(ctx, p.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "project mandate status", "project", p.Name, "err", err)
		fresh = p
	}
	return s.statusOf(fresh)
}

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

// notFound answers as the server does for a path it does not serve, so
// that a page reserved to administrators does not reveal itself to
// others (with the baseline headers of securityHeaders, not the UI's,
// which an unknown path lacks).
func notFound(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Security-Policy"] = hdrBaseCSP
	h.Del("Cache-Control")
	http.NotFound(w, r)
}

// administrator lets through administrators with two-factor
// authentication (theirs are the accounts most worth stealing): anybody
// else gets the answer of a path that does not exist, and an
// administrator without it the page tmpl (with forbidden as its data, a
// 403) saying how to set it up. It returns the administrator, or nil when
// it answered.
func (s *Server) administrator(w http.ResponseWriter, r *http.Request, tmpl, title string, forbidden any) *account.Current {
	c := s.current(r)
	if c == nil || !c.User.IsAdmin {
		notFound(w, r)
		return nil
	}
	has, err := s.hasTwoFactor(r.Context(), c.User.ID)
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	if !has {
		s.render(w, r, http.StatusForbidden, tmpl, title, forbidden)
		return nil
	}
	return c
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
	rep, err := s.md.CriticalReport(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := adminCriticalPage{Config: s.md.Config(), Run: rep.Run, Collaborators: rep.Collaborators, WithTwoFactor: rep.WithTwoFactor}
	if g := d.Config.Grace; g > 0 && g%(24*time.Hour) == 0 {
		d.Grace = fmt.Sprintf("%d days", g/(24*time.Hour))
	} else if g > 0 {
		d.Grace = g.String()
	}
	for _, cp := range rep.Projects {
		d.Projects = append(d.Projects, adminCriticalProject{CriticalProject: cp, Status: s.statusOf(cp.Project)})
	}
	s.render(w, r, http.StatusOK, "admin_critical", title, d)
}
