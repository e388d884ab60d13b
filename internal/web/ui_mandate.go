package web

// The critical-project mandate in the web UI: the notices every page
// shows a signed-in collaborator (the banner) and the badges of a
// project.

import (
	"context"
	"time"

	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
)

// hasTwoFactor reports whether the user has two-factor authentication,
// by the one definition (twofactor.HasTwoFactor), with or without the
// second-factor pages enabled (through the mandate then). A server with
// neither knows of no second factor: nobody has one.
func (s *Server) hasTwoFactor(ctx context.Context, userID int64) (bool, error) {
	switch {
	case s.tf != nil:
		return s.tf.HasTwoFactor(ctx, userID)
	case s.md != nil:
		return s.md.HasTwoFactor(ctx, userID)
	}
	return false, nil
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
	fresh, err := s.idx.ProjectByID(ctx, p.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "project mandate status", "project", p.Name, "err", err)
		fresh = p
	}
	return s.statusOf(fresh)
}
