// Package mandate is the critical-project mandate: the daily computation
// that designates the most downloaded projects as critical (for good),
// the policy that requires two-factor authentication of every owner and
// maintainer who changes a project that is critical or whose Owners
// opted in, and the notices sent when a project becomes critical.
package mandate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// Defaults for Config.
const (
	DefaultPercent    = 1.0
	DefaultWindowDays = 180
	DefaultRunAt      = 3 * time.Hour // 03:00 UTC
)

// Config holds the mandate's settings.
type Config struct {
	// BaseURL is the public URL of the index, without a trailing slash.
	BaseURL string
	// Percent of all projects that are critical: the top N =
	// ceil(Percent/100 × projects) by downloads.
	Percent float64
	// WindowDays is the length of the window of downloads, ending the day
	// before the computation.
	WindowDays int
	// Grace delays the mandate of a project that became critical (not of
	// one whose Owners opted in): its collaborators have this long to set
	// up two-factor authentication.
	Grace time.Duration
	// RunAt is the time of day (UTC, from midnight) of the daily
	// computation.
	RunAt time.Duration
	// Mailer sends the notices; nil: none are sent (logged).
	Mailer mail.Mailer
}

// Service is the mandate. It is safe for concurrent use.
type Service struct {
	store *store.Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	mail  *mail.Sender // the collaborators' notices, through cfg.Mailer
}

// New returns a Service; now is the clock (nil: the system's).
func New(st *store.Store, cfg Config, log *slog.Logger, now func() time.Time) (*Service, error) {
	if cfg.Percent == 0 {
		cfg.Percent = DefaultPercent
	}
	if cfg.WindowDays == 0 {
		cfg.WindowDays = DefaultWindowDays
	}
	if cfg.Percent <= 0 || cfg.Percent > 100 {
		return nil, fmt.Errorf("mandate: the percentage of critical projects must be in (0, 100], not %g", cfg.Percent)
	}
	if cfg.WindowDays < 1 || cfg.WindowDays > 3660 {
		return nil, fmt.Errorf("mandate: the window must be 1 to 3660 days, not %d", cfg.WindowDays)
	}
	if cfg.Grace < 0 {
		return nil, fmt.Errorf("mandate: the grace period cannot be negative")
	}
	if cfg.RunAt < 0 || cfg.RunAt >= 24*time.Hour {
		return nil, fmt.Errorf("mandate: the time of the daily computation must be within a day, not %s", cfg.RunAt)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, cfg: cfg, log: log, now: func() time.Time { return now().UTC() },
		mail: &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log}}, nil
}

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// Reason says why a project requires two-factor authentication.
type Reason string

// The reasons.
const (
	Critical Reason = "critical"
	OptedIn  Reason = "opted in"
)

// Requirement is what a project requires of its collaborators.
type Requirement struct {
	// Reason is "" when the project requires nothing.
	Reason Reason
	// Since is when the requirement applies (for a critical project, the
	// day it became critical plus the grace period).
	Since time.Time
}

// Of returns the project's requirement now. A critical project whose
// grace period runs has none yet (Pending says until when).
func (s *Service) Of(p *store.Project) Requirement {
	now := s.now()
	if p.Critical() {
		if start := p.CriticalSince.Add(s.cfg.Grace); !now.Before(start) {
			return Requirement{Reason: Critical, Since: start}
		}
	}
	if p.Require2FA {
		return Requirement{Reason: OptedIn}
	}
	return Requirement{}
}

// Pending returns the end of the grace period of a critical project that
// does not require two-factor authentication yet (zero otherwise).
func (s *Service) Pending(p *store.Project) time.Time {
	if !p.Critical() || p.Require2FA {
		return time.Time{}
	}
	if start := p.CriticalSince.Add(s.cfg.Grace); s.now().Before(start) {
		return start
	}
	return time.Time{}
}

// Explain says, for a person, why the project requires two-factor
// authentication.
func (r Requirement) Explain(p *store.Project) string {
	switch r.Reason {
	case Critical:
		return fmt.Sprintf("'%s' is a critical project (one of the most downloaded on this index since %s), and critical projects require two-factor authentication of every owner and maintainer",
			p.Name, p.CriticalSince.Format(time.DateOnly))
	case OptedIn:
		return fmt.Sprintf("the Owners of '%s' require two-factor authentication of every owner and maintainer", p.Name)
	}
	return ""
}

// SetupURL is where a user sets up two-factor authentication.
func (s *Service) SetupURL() string { return s.cfg.BaseURL + "/manage/account/two-factor/" }

// Check is THE mandate: it returns the message that refuses the user a
// change to the project (upload, yank, delete, roles, invitations,
// settings, a token scoped to it) when the project requires two-factor
// authentication and the user has none, or "" when the change may go on.
// q is the store or the transaction of the change.
func (s *Service) Check(ctx context.Context, q twofactor.Querier, u *store.User, p *store.Project) (string, error) {
	req := s.Of(p)
	if req.Reason == "" {
		return "", nil
	}
	has, err := twofactor.HasTwoFactor(ctx, q, u.ID)
	if err != nil || has {
		return "", err
	}
	return fmt.Sprintf("Two-factor authentication required: %s. User '%s' has not enabled two-factor authentication. "+
		"Enable an authenticator app or a security key at %s, then try again.", req.Explain(p), u.Username, s.SetupURL()), nil
}

// Bound returns the names of the projects of the user that require (or,
// within their grace period, will require) two-factor authentication of
// it. A bound user cannot remove its last second factor. q is the store
// or the transaction of the removal (twofactor.Config.Bound).
func (s *Service) Bound(ctx context.Context, q twofactor.BoundQuerier, userID int64) ([]string, error) {
	projects, err := q.MandatedProjectsOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mandate: %w", err)
	}
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	return names, nil
}

// Notice is what the UI tells a collaborator about one of its projects.
type Notice struct {
	Project *store.Project
	// Requirement applies now; Deadline is the end of a grace period.
	Requirement Requirement
	Deadline    time.Time
	// Recent is set for a project that became critical within
	// RecentNotice.
	Recent bool
}

// RecentNotice is how long the UI announces that a project became
// critical to collaborators who already have two-factor authentication.
const RecentNotice = 30 * 24 * time.Hour

// MandatedProjects returns the projects on which the user holds a role
// and that are critical or opted in, by name.
func (s *Service) MandatedProjects(ctx context.Context, userID int64) ([]*store.Project, error) {
	ps, err := s.store.MandatedProjectsOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mandate: %w", err)
	}
	return ps, nil
}

// HasTwoFactor reports whether the user has two-factor authentication,
// by the one definition (twofactor.HasTwoFactor).
func (s *Service) HasTwoFactor(ctx context.Context, userID int64) (bool, error) {
	return twofactor.HasTwoFactor(ctx, s.store, userID)
}

// Notices returns what to tell the user about its projects that are
// critical or opted in: every such project while it has no two-factor
// authentication, and projects that recently became critical otherwise.
func (s *Service) Notices(ctx context.Context, userID int64, hasTwoFactor bool) ([]Notice, error) {
	projects, err := s.store.MandatedProjectsOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mandate: notices: %w", err)
	}
	now := s.now()
	var out []Notice
	for _, p := range projects {
		n := Notice{Project: p, Requirement: s.Of(p), Deadline: s.Pending(p),
			Recent: p.Critical() && now.Sub(p.CriticalSince) < RecentNotice}
		if !hasTwoFactor || n.Recent {
			out = append(out, n)
		}
	}
	return out, nil
}
