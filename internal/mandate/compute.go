package mandate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
)

// Triggers of a computation.
const (
	TriggerSchedule = "schedule"
	TriggerAdmin    = "admin"
)

// ComputeOptions tune a computation.
type ComputeOptions struct {
	// DryRun computes and reports without designating any project (the
	// transaction is rolled back).
	DryRun bool
	// Trigger is TriggerSchedule or TriggerAdmin. A scheduled computation
	// is skipped when one was already made as of the same day.
	Trigger string
}

// Result is the outcome of a computation.
type Result struct {
	store.CriticalRun
	// Skipped is set when a scheduled computation found that another
	// server already made today's.
	Skipped bool
	DryRun  bool
	// Designated are the projects that became critical (that would have,
	// in a dry run), most downloaded first.
	Designated []*store.Project
}

// TopN returns ceil(percent/100 × projects), computed in integers so that
// 1% of 150 is 2 and 1% of 100 is 1.
func TopN(projects int64, percent float64) int64 {
	if projects <= 0 {
		return 0
	}
	// Percent in millionths of a percent: exact for any setting written
	// with up to six decimals.
	micro := int64(math.Round(percent * 1e6))
	const whole = 100 * 1e6
	return (projects*micro + whole - 1) / whole
}

// Window returns the days of downloads a computation as of day asOf
// looks at: the WindowDays days ending the day before.
func (s *Service) Window(asOf store.Day) (first, last store.Day) {
	return asOf - store.Day(s.cfg.WindowDays), asOf - 1
}

// StartWindow makes the download window of today exist when there is
// none yet (a new database, or one that never computed): from then on
// every count written keeps its sums, so the computations shift the
// window by the days elapsed instead of summing every day of it again.
// On a new database it costs nothing; where counts were written without
// a window (imported before any computation) it sums them once. It leaves
// an existing window alone.
func (s *Service) StartWindow(ctx context.Context) error {
	first, last := s.Window(store.DayOf(s.now()))
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		w, err := tx.LockDownloads(ctx)
		if err != nil || !w.Empty() {
			return err
		}
		return tx.MoveWindow(ctx, w, first, last)
	})
	if err != nil {
		return fmt.Errorf("mandate: start the download window: %w", err)
	}
	return nil
}

// errDryRun rolls a dry run back.
var errDryRun = errors.New("dry run")

// Compute designates the critical projects as of day asOf: the top N
// projects by downloads over the window, with every project tied with the
// N-th, never one without downloads. A project once critical stays so.
// The computation holds the downloads lock of the database for its
// duration, so only one server makes it at a time.
func (s *Service) Compute(ctx context.Context, asOf store.Day, opts ComputeOptions) (*Result, error) {
	if opts.Trigger == "" {
		opts.Trigger = TriggerAdmin
	}
	first, last := s.Window(asOf)
	res := &Result{DryRun: opts.DryRun}
	res.AsOf, res.First, res.Last, res.Trigger = asOf, first, last, opts.Trigger
	res.StartedAt = s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		w, err := tx.LockDownloads(ctx)
		if err != nil {
			return err
		}
		if opts.Trigger == TriggerSchedule && !opts.DryRun {
			if prev, err := tx.CriticalRunOn(ctx, asOf); err == nil {
				res.CriticalRun, res.Skipped = *prev, true
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := tx.MoveWindow(ctx, w, first, last); err != nil {
			return err
		}
		if res.Projects, err = tx.CountProjects(ctx); err != nil {
			return err
		}
		res.TopN = TopN(res.Projects, s.cfg.Percent)
		if res.TopN > 0 {
			if res.Cutoff, err = tx.WindowCutoff(ctx, res.TopN); err != nil {
				return err
			}
		}
		if res.Cutoff > 0 {
			if res.Qualified, err = tx.CountQualifying(ctx, res.Cutoff); err != nil {
				return err
			}
			if res.Designated, err = tx.NewlyCritical(ctx, res.Cutoff); err != nil {
				return err
			}
		}
		res.Newly = int64(len(res.Designated))
		now := s.now()
		for _, p := range res.Designated {
			if err := tx.MarkCritical(ctx, p.ID, now); err != nil {
				return err
			}
			p.CriticalSince = now
			downloads, err := tx.WindowDownloads(ctx, p.ID)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, now, audit.Meta{UserAgent: "cheeseshop critical computation"},
				store.Event{ProjectID: p.ID, ProjectName: p.Name, Tag: audit.ProjectCritical},
				map[string]any{"downloads": downloads, "window": first.String() + ".." + last.String(), "cutoff": res.Cutoff, "trigger": opts.Trigger}); err != nil {
				return err
			}
		}
		res.FinishedAt = s.now()
		if opts.DryRun {
			return errDryRun
		}
		return tx.AddCriticalRun(ctx, &res.CriticalRun)
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, fmt.Errorf("mandate: compute critical projects as of %s: %w", asOf, err)
	}
	if !opts.DryRun && !res.Skipped {
		s.log.InfoContext(ctx, "critical projects computed", "as_of", asOf.String(), "window", first.String()+".."+last.String(),
			"projects", res.Projects, "top_n", res.TopN, "cutoff", res.Cutoff, "qualified", res.Qualified, "newly", res.Newly, "trigger", opts.Trigger)
		for _, p := range res.Designated {
			s.announce(ctx, p)
		}
	}
	return res, nil
}

// announce tells every collaborator of a project that just became
// critical, by email. A failure to send is logged, not fatal: the UI
// banner tells them too.
func (s *Service) announce(ctx context.Context, p *store.Project) {
	collabs, err := s.store.MandateCollaborators(ctx, p.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "critical project notice: collaborators", "project", p.Name, "err", err)
		return
	}
	for _, c := range collabs {
		_ = s.mail.Send(ctx, c.Email, "critical-project", mail.Data{
			"Username": c.Username, "Project": p.Name, "Normalized": p.NormalizedName, "ARole": withArticle(c.Role),
			"Percent": s.cfg.Percent, "WindowDays": s.cfg.WindowDays,
			"Grace": s.cfg.Grace > 0, "Start": p.CriticalSince.Add(s.cfg.Grace),
			"TwoFactor": c.TwoFactor, "SetupURL": s.SetupURL(),
		})
	}
}

// withArticle writes a role with its indefinite article ("an Owner", "a
// Maintainer").
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("AEIOU", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}
