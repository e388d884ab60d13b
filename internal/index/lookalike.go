package index

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// LookalikePolicy says what happens to a project created under a
// look-alike of a protected name (Config.NameCheck).
type LookalikePolicy string

// The look-alike policies.
const (
	// LookalikeHold creates the project but keeps it out of the index
	// (no simple page, files, JSON API or public page) until an
	// administrator approves it. The default.
	LookalikeHold LookalikePolicy = "hold"
	// LookalikeFlag creates and publishes the project, and tells the
	// administrators.
	LookalikeFlag LookalikePolicy = "flag"
	// LookalikeOff does nothing.
	LookalikeOff LookalikePolicy = "off"
)

// ParseLookalikePolicy reads a policy's name.
func ParseLookalikePolicy(s string) (LookalikePolicy, error) {
	switch p := LookalikePolicy(s); p {
	case LookalikeHold, LookalikeFlag, LookalikeOff:
		return p, nil
	}
	return "", fmt.Errorf("index: unknown look-alike policy %q (hold, flag or off)", s)
}

// NameMatch is what Config.NameCheck finds: the protected name that a new
// project's name resembles.
type NameMatch struct {
	Target     string // the protected name
	TargetRank int    // its popularity rank, 1 the most downloaded
	Kind       string // how the name resembles it ("omission", "homoglyph", ...)
}

// NameCheck says whether a new project's name is a look-alike of a
// protected name (nil: it is not). It must be fast: it runs inside the
// upload's transaction.
type NameCheck func(ctx context.Context, name string) (*NameMatch, error)

// lookalike checks the name of a project being created by p, after the
// other name rules passed. Nil: not a look-alike, or the policy is off.
// A protected name itself is never its own look-alike, and the
// collaborators of the protected project may name new projects after it
// (its Owners publishing django2 or requests-toolbelt imitate nobody); a
// private project is no target for those who may not read it.
func (s *Service) lookalike(ctx context.Context, tx *store.Tx, p *Principal, name, normalized string) (*NameMatch, error) {
	if s.cfg.NameCheck == nil || s.cfg.LookalikePolicy == LookalikeOff {
		return nil, nil
	}
	m, err := s.cfg.NameCheck(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("index: check name %q: %w", name, err)
	}
	target := ""
	if m != nil {
		target = pep.NormalizeName(m.Target)
	}
	if m == nil || target == normalized {
		return nil, nil
	}
	switch proj, err := tx.ProjectByName(ctx, target); {
	case errors.Is(err, store.ErrNotFound):
		return m, nil // protected elsewhere (an imported name), not here
	case err != nil:
		return nil, fmt.Errorf("index: look-alike target %q: %w", target, err)
	default:
		if _, err := tx.RoleOf(ctx, proj.ID, p.User.ID); err == nil {
			return nil, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("index: look-alike target %q: %w", target, err)
		}
		// A private project is nobody's target but for those who read
		// it: a hold would tell the uploader its name (the answer, the
		// email, the new project's page and history).
		if err := s.unhide(ctx, tx, p, proj, target); problem.KindOf(err) == problem.NotFound {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("index: look-alike target %q: %w", target, err)
		}
	}
	return m, nil
}

// review puts a project just created under a look-alike name in the
// review queue, held or flagged by the policy, with its event.
func (s *Service) review(ctx context.Context, tx *store.Tx, p *Principal, proj *store.Project, m *NameMatch) (*store.NameReview, error) {
	r := &store.NameReview{ProjectID: proj.ID, Target: m.Target, TargetRank: int64(m.TargetRank), Kind: m.Kind,
		Held: s.cfg.LookalikePolicy != LookalikeFlag, UploaderID: p.User.ID, CreatedAt: s.now(),
		Project: proj.Name, NormalizedName: proj.NormalizedName, Uploader: p.User.Username, UploaderEmail: p.User.Email}
	if err := tx.AddNameReview(ctx, r); err != nil {
		return nil, err
	}
	tag := audit.LookalikeFlagged
	if r.Held {
		tag = audit.LookalikeHeld
	}
	return r, s.projectEvent(ctx, tx, p, p.Meta, proj, tag, p.User.ID,
		map[string]any{"target": m.Target, "rank": m.TargetRank, "kind": m.Kind})
}

// HoldNotice tells the uploader of a held project why and what happens
// next: the answer to the upload, and the management page.
func HoldNotice(r *store.NameReview) string {
	if r.Kind == store.ReviewUpstreamName {
		where := "exists on the upstream index " + r.Target
		if r.Target == "" {
			where = "may exist on the upstream index, which could not be asked"
		}
		return fmt.Sprintf("The project '%s' is held for review: its name %s, and a local project of that name would hide the upstream's "+
			"from everyone who installs through this index (dependency confusion). Your files are kept, but the project is not published "+
			"(installers get the upstream's project) until an administrator of this index approves it. "+
			"Further uploads are accepted and stay held. You will be told by email when it is decided.",
			r.Project, where)
	}
	return fmt.Sprintf("The project '%s' is held for review: its name resembles '%s' (%s), one of the most downloaded projects. "+
		"Your files are kept, but the project is not published (installers cannot see it) until an administrator of this index approves it. "+
		"Further uploads are accepted and stay held. You will be told by email when it is decided.",
		r.Project, r.Target, r.Kind)
}

// tellLookalike emails a new look-alike to the administrators, and when
// it is held, to its uploader. Failures are logged: the project exists.
func (s *Service) tellLookalike(ctx context.Context, r *store.NameReview) {
	data := mail.Data{"Project": r.Project, "Normalized": r.NormalizedName, "Target": r.Target, "Rank": r.TargetRank,
		"Kind": r.Kind, "Held": r.Held, "Uploader": r.Uploader}
	held, review := "lookalike-held", "lookalike-review"
	if r.Kind == store.ReviewUpstreamName {
		held, review = "upstream-name-held", "upstream-name-review"
	}
	if r.Held {
		d := mail.Data{"Username": r.Uploader}
		for k, v := range data {
			d[k] = v
		}
		_ = s.mail.Send(ctx, r.UploaderEmail, held, d)
	}
	admins, err := s.store.Administrators(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "look-alike: list administrators", "project", r.Project, "err", err)
		return
	}
	for _, a := range admins {
		d := mail.Data{"Username": a.Username}
		for k, v := range data {
			d[k] = v
		}
		_ = s.mail.Send(ctx, a.Email, review, d)
	}
	s.log.InfoContext(ctx, "look-alike name", "project", r.Project, "target", r.Target, "kind", r.Kind, "held", r.Held,
		"administrators", len(admins))
}

// NameReviews returns the look-alike review queue (held and flagged
// projects), oldest first.
func (s *Service) NameReviews(ctx context.Context) ([]*store.NameReview, error) {
	rs, err := s.store.NameReviews(ctx)
	if err != nil {
		return nil, fmt.Errorf("index: name reviews: %w", err)
	}
	return rs, nil
}

// adminName is who acts for an administrators' event: the administrator
// signed in, or nil for the command line.
func adminName(by *store.User) (string, int64) {
	if by == nil {
		return "cheeseshop admin", 0
	}
	return by.Username, by.ID
}

// reviewed finds a project of the review queue, in a transaction.
func reviewed(ctx context.Context, tx *store.Tx, project string) (*store.Project, *store.NameReview, error) {
	proj, err := lockedProject(ctx, tx, project)
	if err != nil {
		return nil, nil, err
	}
	r, err := tx.NameReviewOf(ctx, proj.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, problem.Errorf(problem.NotFound, "The project '%s' is not waiting for a review of its name.", proj.Name)
	}
	return proj, r, err
}

// ApproveName takes a project out of the review queue: a held project is
// published at once. by is the administrator (nil: the command line).
func (s *Service) ApproveName(ctx context.Context, by *store.User, m audit.Meta, project string) (*store.NameReview, error) {
	who, whoID := adminName(by)
	var r *store.NameReview
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, rv, err := reviewed(ctx, tx, project)
		if err != nil {
			return err
		}
		r = rv
		if err := tx.DeleteNameReview(ctx, proj.ID); err != nil {
			return err
		}
		if r.Held {
			// For the caches of every replica, the project appears now.
			if err := s.bump(ctx, tx, proj, store.ActionCreateProject); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: r.UploaderID, ProjectID: proj.ID, ProjectName: proj.Name,
			ActorID: whoID, Tag: audit.LookalikeApproved}, map[string]any{"by": who, "target": r.Target})
	})
	if err != nil {
		return nil, wrap(err, "approve %s", project)
	}
	s.cache.Invalidate(r.NormalizedName, true)
	s.tellUploader(ctx, r, "lookalike-approved")
	return r, nil
}

// RejectName deletes a project of the review queue with everything in
// it, and prohibits its name — but for a project held under an
// upstream's name (store.ReviewUpstreamName): prohibiting that name would
// keep the upstream's project off the proxy too. by is the administrator
// (nil: the command line).
func (s *Service) RejectName(ctx context.Context, by *store.User, m audit.Meta, project string) (*store.NameReview, error) {
	who, whoID := adminName(by)
	var r *store.NameReview
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, rv, err := reviewed(ctx, tx, project)
		if err != nil {
			return err
		}
		r = rv
		if err := tx.DeleteProject(ctx, proj.ID); err != nil {
			return err
		}
		if r.Kind != store.ReviewUpstreamName {
			if err := tx.ProhibitName(ctx, proj.NormalizedName, pep.UltraNormalizeName(proj.Name),
				"look-alike of "+r.Target, s.now()); err != nil {
				return err
			}
		}
		if _, err := tx.AddJournal(ctx, proj.ID, proj.NormalizedName, store.ActionRemoveProject, s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: r.UploaderID, ProjectID: proj.ID, ProjectName: proj.Name,
			ActorID: whoID, Tag: audit.LookalikeRejected}, map[string]any{"by": who, "target": r.Target, "kind": r.Kind})
	})
	if err != nil {
		return nil, wrap(err, "reject %s", project)
	}
	s.cache.Invalidate(r.NormalizedName, true)
	s.cache.forgetFiles()
	s.tellUploader(ctx, r, "lookalike-rejected")
	return r, nil
}

// tellUploader emails an administrator's decision to the uploader of a
// reviewed project (if the account still exists).
func (s *Service) tellUploader(ctx context.Context, r *store.NameReview, email string) {
	if r.UploaderEmail == "" {
		return
	}
	if r.Kind == store.ReviewUpstreamName {
		email = strings.Replace(email, "lookalike-", "upstream-name-", 1)
	}
	_ = s.mail.Send(ctx, r.UploaderEmail, email, mail.Data{"Username": r.Uploader, "Project": r.Project,
		"Normalized": r.NormalizedName, "Target": r.Target, "Kind": r.Kind, "Held": r.Held})
}

// ProhibitedNames returns every prohibited name: administrators' and
// deleted projects'.
func (s *Service) ProhibitedNames(ctx context.Context) ([]store.ProhibitedName, error) {
	ns, err := s.store.ProhibitedNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("index: prohibited names: %w", err)
	}
	return ns, nil
}

// ProhibitName forbids new projects to take name, or any name that looks
// like it once ultranormalized. An existing project of that name is not
// affected. by is the administrator (nil: the command line).
func (s *Service) ProhibitName(ctx context.Context, by *store.User, m audit.Meta, name, reason string) error {
	name = strings.TrimSpace(name)
	if len(name) > MaxNameLength || !pep.ValidProjectName(name) {
		return problem.Errorf(problem.Invalid, "'%s' is an invalid project name.", truncate(name, MaxNameLength))
	}
	reason = truncate(strings.TrimSpace(reason), 500)
	if reason == "" {
		reason = "prohibited by an administrator"
	}
	who, whoID := adminName(by)
	normalized := pep.NormalizeName(name)
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ProhibitName(ctx, normalized, pep.UltraNormalizeName(name), reason, s.now()); err != nil {
			return err
		}
		if _, err := tx.AddJournal(ctx, 0, normalized, store.ActionProhibitName, s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{ProjectName: normalized, ActorID: whoID, Tag: audit.NameProhibited},
			map[string]any{"by": who, "reason": reason})
	})
	if err != nil {
		return wrap(err, "prohibit %s", name)
	}
	s.cache.Invalidate(normalized, false) // the name is proxied no more
	return nil
}

// LiftProhibition lets new projects take a prohibited name again (an
// administrator's, or a deleted project's). by is the administrator
// (nil: the command line).
func (s *Service) LiftProhibition(ctx context.Context, by *store.User, m audit.Meta, name string) error {
	who, whoID := adminName(by)
	normalized := pep.NormalizeName(strings.TrimSpace(name))
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LiftProhibition(ctx, normalized); errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "The name '%s' is not prohibited.", truncate(name, MaxNameLength))
		} else if err != nil {
			return err
		}
		if _, err := tx.AddJournal(ctx, 0, normalized, store.ActionProhibitName, s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{ProjectName: normalized, ActorID: whoID, Tag: audit.NameLifted},
			map[string]any{"by": who})
	})
	if err != nil {
		return wrap(err, "lift prohibition of %s", name)
	}
	s.cache.Invalidate(normalized, false)
	return nil
}
