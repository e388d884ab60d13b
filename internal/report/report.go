// Package report takes users' reports of projects (malware, spam,
// typosquat, dependency confusion, other) and keeps them in a queue for
// the administrators, who quarantine a reported project or dismiss its
// reports. It also quarantines a project on its own, as PyPI does with
// its trusted reporters, when enough distinct trusted users report it
// within a day (Config.QuarantineReporters; off by default): trusted
// means an account older than Config.MinAccountAge and not disabled, so
// that a flood of new accounts (sock puppets) cannot take a project down.
//
// A report is a security event of the project and an email to every
// administrator. It knows nothing of HTTP.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/index"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// The kinds of report.
const (
	KindMalware             = "malware"
	KindSpam                = "spam"
	KindTyposquat           = "typosquat"
	KindDependencyConfusion = "dependency-confusion"
	KindOther               = "other"
)

// Kinds are the kinds of report, in the order the form offers them.
var Kinds = []string{KindMalware, KindSpam, KindTyposquat, KindDependencyConfusion, KindOther}

// KindLabel names a kind for people.
func KindLabel(kind string) string {
	if kind == KindDependencyConfusion {
		return "dependency confusion"
	}
	return kind
}

// Bounds and defaults.
const (
	// MaxText bounds the text of a report, in characters.
	MaxText = 2000
	// Window is how recent the reports that quarantine a project are.
	Window = 24 * time.Hour
	// DefaultMinAccountAge is Config.MinAccountAge's default: 30 days.
	DefaultMinAccountAge = 720 * time.Hour
)

// Rate limits of reports: per user and per client address, reserved
// before the work.
var (
	UserLimit    = ratelimit.Rule{Max: 10, Window: time.Hour}
	AddressLimit = ratelimit.Rule{Max: 20, Window: time.Hour}
)

// Config holds the reports' settings.
type Config struct {
	// QuarantineReporters is how many distinct trusted users must report
	// a project within Window for it to be quarantined automatically (0:
	// never).
	QuarantineReporters int
	// MinAccountAge is how old an account must be for its reports to
	// count towards the automatic quarantine (0: DefaultMinAccountAge).
	MinAccountAge time.Duration
	// BaseURL is the public URL of the index, for the emails.
	BaseURL string
	// Mailer sends the administrators' notices (nil: only logged).
	Mailer mail.Mailer
}

// Service takes reports and runs the queue. It is safe for concurrent
// use.
type Service struct {
	store   *store.Store
	idx     *index.Service
	limiter *ratelimit.Limiter
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mail    *mail.Sender
}

// New returns a Service; now may be nil (the wall clock).
func New(st *store.Store, idx *index.Service, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.MinAccountAge <= 0 {
		cfg.MinAccountAge = DefaultMinAccountAge
	}
	return &Service{store: st, idx: idx, limiter: ratelimit.New(st, now), cfg: cfg, log: log, now: now,
		mail: &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log}}
}

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// Outcome is what a report did.
type Outcome struct {
	Report *store.Report
	// Quarantined is set when this report made the project quarantined
	// automatically.
	Quarantined bool
}

// checkReport validates a report's kind and text, and returns the text
// trimmed.
func checkReport(kind, text string) (string, error) {
	if !slices.Contains(Kinds, kind) {
		return "", problem.Errorf(problem.Invalid, "Say what kind of problem you report: %s.", strings.Join(Kinds, ", "))
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", problem.Errorf(problem.Invalid, "Say what you found: the administrators read it to decide.")
	}
	if n := utf8.RuneCountInString(text); n > MaxText {
		return "", problem.Errorf(problem.Invalid, "The report is too long: at most %d characters (it has %d).", MaxText, n)
	}
	if strings.ContainsFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return "", problem.Errorf(problem.Invalid, "The report must be plain text.")
	}
	return text, nil
}

// Report stores u's report of a project, records it as an event, emails
// the administrators and, when it makes the threshold, quarantines the
// project. A user has one open report of a project at a time; the reports
// are rate-limited per user and per client address (m.IP), counted before
// anything else is done.
func (s *Service) Report(ctx context.Context, u *store.User, m audit.Meta, project, kind, text string) (*Outcome, error) {
	if u == nil || u.Disabled {
		return nil, problem.Errorf(problem.Unauthenticated, "Sign in to report a project.")
	}
	text, err := checkReport(kind, text)
	if err != nil {
		return nil, err
	}
	if _, err := s.limiter.Reserve(ctx,
		ratelimit.Limit{Key: fmt.Sprintf("report:user:%d", u.ID), Rules: []ratelimit.Rule{UserLimit}},
		ratelimit.Limit{Key: "report:ip:" + ratelimit.ClientKey(m.IP), Rules: []ratelimit.Rule{AddressLimit}}); err != nil {
		if ex, ok := errors.AsType[*ratelimit.Exceeded](err); ok {
			wait := ex.RetryAfter.Round(time.Second)
			return nil, &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait,
				Message: fmt.Sprintf("Too many reports. Try again in %s.", words.Duration(wait))}
		}
		return nil, err
	}
	now := s.now()
	r := &store.Report{ReporterID: u.ID, Kind: kind, Body: text, CreatedAt: now, Reporter: u.Username, ReporterSince: u.CreatedAt}
	var proj *store.Project
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, err = tx.ProjectByName(ctx, pep.NormalizeName(project))
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No project named '%s'.", project)
		} else if err != nil {
			return err
		}
		if held, err := tx.IsHeld(ctx, proj.ID); err != nil {
			return err
		} else if held {
			return problem.Errorf(problem.NotFound, "No project named '%s'.", project)
		}
		// One report at a time per user and project: serialized on the
		// project, whose status is read again under the lock.
		if err := tx.LockProject(ctx, proj.ID); err != nil {
			return err
		}
		if proj, err = tx.ProjectByID(ctx, proj.ID); err != nil {
			return err
		}
		if proj.Status == store.StatusQuarantined {
			return problem.Errorf(problem.Conflict, "Project '%s' is already quarantined by the administrators of this index.", proj.Name)
		}
		open, err := tx.HasOpenReport(ctx, proj.ID, u.ID)
		if err != nil {
			return err
		}
		if open {
			return problem.Errorf(problem.Conflict, "You have already reported '%s': the administrators have your report, and will read it.", proj.Name)
		}
		r.ProjectID = proj.ID
		if err := tx.AddReport(ctx, r); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: u.ID, Tag: audit.ProjectReported},
			map[string]any{"by": u.Username, "kind": kind, "report": r.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("report: report %s: %w", project, err)
	}
	r.Project, r.NormalizedName, r.ProjectStatus = proj.Name, proj.NormalizedName, proj.Status
	s.log.InfoContext(ctx, "project reported", "project", proj.Name, "by", u.Username, "kind", kind)
	out := &Outcome{Report: r}
	out.Quarantined, err = s.autoQuarantine(ctx, m, proj)
	if err != nil {
		// The report is stored and the administrators are told.
		s.log.ErrorContext(ctx, "automatic quarantine", "project", proj.Name, "err", err)
	}
	s.tellAdministrators(ctx, r, out.Quarantined)
	return out, nil
}

// autoQuarantine quarantines proj when the trusted reporters of its open
// reports of the last Window (and since its status last changed: a
// release starts the count again) reach QuarantineReporters. Of
// concurrent reports that reach it, only one quarantines: the others
// find it quarantined (index's Conflict).
func (s *Service) autoQuarantine(ctx context.Context, m audit.Meta, proj *store.Project) (bool, error) {
	need := s.cfg.QuarantineReporters
	if need <= 0 {
		return false, nil
	}
	now := s.now()
	since := now.Add(-Window)
	if proj.StatusChangedAt.After(since) {
		since = proj.StatusChangedAt
	}
	n, err := s.store.CountTrustedReporters(ctx, proj.ID, since, now.Add(-s.cfg.MinAccountAge))
	if err != nil || n < need {
		return false, err
	}
	reason := fmt.Sprintf("quarantined automatically: %d users reported it within %s", n, words.Duration(Window))
	err = s.idx.AutoQuarantine(ctx, m, proj.Name, reason)
	if e, ok := problem.As(err); ok && e.Kind == problem.Conflict {
		return false, nil // another report quarantined it
	}
	if err != nil {
		return false, err
	}
	return true, nil // the quarantine closed the open reports
}

// tellAdministrators emails a new report to every administrator.
func (s *Service) tellAdministrators(ctx context.Context, r *store.Report, quarantined bool) {
	admins, err := s.store.Administrators(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "report: list administrators", "project", r.Project, "err", err)
		return
	}
	for _, a := range admins {
		_ = s.mail.Send(ctx, a.Email, "project-reported", mail.Data{"Username": a.Username, "Project": r.Project,
			"Normalized": r.NormalizedName, "Reporter": r.Reporter, "Kind": KindLabel(r.Kind), "Text": r.Body,
			"Quarantined": quarantined})
	}
}

// Reported is a project of the queue with its open reports.
type Reported struct {
	Project        string
	NormalizedName string
	Status         string
	Reports        []*store.Report
}

// Kinds counts the project's reports by kind, as "malware ×2, spam".
func (p *Reported) Kinds() string {
	counts := map[string]int{}
	var order []string
	for _, r := range p.Reports {
		if counts[r.Kind] == 0 {
			order = append(order, r.Kind)
		}
		counts[r.Kind]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = KindLabel(k)
		if counts[k] > 1 {
			parts[i] += fmt.Sprintf(" ×%d", counts[k])
		}
	}
	return strings.Join(parts, ", ")
}

// Queue returns the open reports grouped by project, the project with
// the oldest open report first.
func (s *Service) Queue(ctx context.Context) ([]*Reported, error) {
	rs, err := s.store.OpenReports(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: queue: %w", err)
	}
	var out []*Reported
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1].NormalizedName != r.NormalizedName {
			out = append(out, &Reported{Project: r.Project, NormalizedName: r.NormalizedName, Status: r.ProjectStatus})
		}
		last := out[len(out)-1]
		last.Reports = append(last.Reports, r)
	}
	return out, nil
}

// openReports returns the project named and its open reports, refusing
// a project without any.
func (s *Service) openReports(ctx context.Context, project string) (*store.Project, []*store.Report, error) {
	proj, err := s.store.ProjectByName(ctx, pep.NormalizeName(project))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, problem.Errorf(problem.NotFound, "No project named '%s'.", project)
	} else if err != nil {
		return nil, nil, err
	}
	rs, err := s.store.OpenReportsOf(ctx, proj.ID)
	if err != nil {
		return nil, nil, err
	}
	if len(rs) == 0 {
		return nil, nil, problem.Errorf(problem.NotFound, "The project '%s' has no open report.", proj.Name)
	}
	return proj, rs, nil
}

// QuarantineReported quarantines a reported project on its open reports,
// which it closes: the reason says what they reported. actor is the
// administrator (nil: the command line).
func (s *Service) QuarantineReported(ctx context.Context, actor *store.User, m audit.Meta, project string) error {
	proj, rs, err := s.openReports(ctx, project)
	if err != nil {
		return fmt.Errorf("report: quarantine %s: %w", project, err)
	}
	p := &Reported{Reports: rs}
	users := "users"
	if len(rs) == 1 {
		users = "user"
	}
	reason := fmt.Sprintf("reported by %d %s (%s)", len(rs), users, p.Kinds())
	// The quarantine closes the open reports, in its transaction.
	return s.idx.Quarantine(ctx, actor, m, proj.Name, reason)
}

// Dismiss closes the open reports of a project without acting on them
// (an event of the project); it returns how many it closed. actor is the
// administrator (nil: the command line).
func (s *Service) Dismiss(ctx context.Context, actor *store.User, m audit.Meta, project string) (int, error) {
	by, actorID := cliActor, int64(0)
	if actor != nil {
		if !actor.IsAdmin || actor.Disabled {
			return 0, problem.Errorf(problem.Forbidden, "Only the administrators of this index dismiss reports.")
		}
		by, actorID = actor.Username, actor.ID
	}
	proj, rs, err := s.openReports(ctx, project)
	if err != nil {
		return 0, fmt.Errorf("report: dismiss %s: %w", project, err)
	}
	now := s.now()
	var n int
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if n, err = tx.CloseReports(ctx, proj.ID, rs[len(rs)-1].CreatedAt, store.ReportDismissed, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: actorID, Tag: audit.ReportsDismissed},
			map[string]any{"by": by, "count": n})
	})
	if err != nil {
		return 0, fmt.Errorf("report: dismiss %s: %w", project, err)
	}
	s.log.InfoContext(ctx, "reports dismissed", "project", proj.Name, "by", by, "count", n)
	return n, nil
}

// cliActor names the administrator acting through `cheeseshop admin`.
const cliActor = "cheeseshop admin"
