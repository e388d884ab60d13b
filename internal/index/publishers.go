package index

import (
	"context"
	"errors"
	"fmt"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// The hooks of trusted publishing (internal/publish), which keeps its
// own rows but changes projects only through the index's rules.

// ChangeProjectCredentials runs fn, a change to the named project that
// grants or withdraws a way to publish it (a trusted publisher), in one
// transaction: p must act through a signed-in session that proved its
// identity lately (as to create an API token; no token adds a
// credential), be one of the project's Owners, and pass the two-factor
// mandate for action, as every Owner-only change. The project is locked
// for the transaction; a refusal of the mandate is recorded.
func (s *Service) ChangeProjectCredentials(ctx context.Context, p *Principal, m audit.Meta, project, action string,
	fn func(tx *store.Tx, proj *store.Project) error) error {
	if p.Token != nil {
		s.tokenRefused(ctx, p, "to "+action)
		return problem.Errorf(problem.Forbidden, "API tokens cannot %s: sign in to the web UI at %s and do it there.", action, s.cfg.BaseURL)
	}
	if !p.RecentAuth {
		return problem.Wrap(auth.ErrReauthRequired, problem.Forbidden, fmt.Sprintf(
			"Confirm it is you before you %s: re-authenticate in the web UI at %s/manage/account/reauth/ "+
				"(with your second factor if you have one), then try again within 10 minutes.", action, s.cfg.BaseURL))
	}
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, action)
		if err != nil {
			return err
		}
		return fn(tx, proj)
	})
	return wrap(err, "%s of %s", action, project)
}

// CheckProjectName says whether a project could be created under name
// now (valid, not prohibited, not a standard-library module, no
// look-alike collision with an existing project, and, when local
// projects may not take upstream names, no upstream lists it): the early
// check of a pending trusted publisher, which creates its project later,
// through CreateProjectFor, where the rules apply again.
func (s *Service) CheckProjectName(ctx context.Context, name string) error {
	if err := s.CheckNewName(ctx, s.store, name); err != nil {
		return err
	}
	if s.cfg.Upstream != nil && s.cfg.LocalNames == LocalNamesRefuse {
		_, err := s.upstreamDecision(ctx, nil, name, pep.NormalizeName(name))
		return err
	}
	return nil
}

// CreateProjectFor creates the named project with u as its Owner, as an
// upload would (the same name rules, a look-alike of a protected name
// held or flagged for review by the same policy, and a name an upstream
// lists refused, held or let through by Config.LocalNames), and runs fn
// in the same transaction: a pending trusted publisher becomes the
// project's publisher there. An existing project is a Conflict. The
// creation is journalled, recorded as by u, and the cache is told.
func (s *Service) CreateProjectFor(ctx context.Context, u *store.User, m audit.Meta, name string,
	fn func(tx *store.Tx, proj *store.Project) error) (*store.Project, error) {
	p := &Principal{User: u, Meta: m}
	normalized := pep.NormalizeName(name)
	var (
		proj    *store.Project
		review  *store.NameReview
		verdict upstreamVerdict
	)
	// The upstreams are asked outside the transaction (it may take the
	// network), once the local rules let the name through; the
	// transaction applies those again.
	if s.cfg.Upstream != nil {
		if _, err := s.store.ProjectByName(ctx, normalized); err == nil {
			return nil, problem.Errorf(problem.Conflict, "The project '%s' exists already.", name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, wrap(err, "create project %s", name)
		}
		if err := s.CheckNewName(ctx, s.store, name); err != nil {
			return nil, err
		}
		var err error
		if verdict, err = s.upstreamDecision(ctx, p, name, normalized); err != nil {
			return nil, wrap(err, "create project %s", name)
		}
	}
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		review = nil
		if _, err := tx.ProjectByName(ctx, normalized); err == nil {
			return problem.Errorf(problem.Conflict, "The project '%s' exists already.", name)
		}
		if err := s.CheckNewName(ctx, tx, name); err != nil {
			return err
		}
		var err error
		if proj, review, err = s.newProject(ctx, tx, p, m, name, normalized, verdict); err != nil {
			return err
		}
		return fn(tx, proj)
	})
	if err != nil {
		return nil, wrap(err, "create project %s", name)
	}
	s.cache.Invalidate(normalized, true)
	if review != nil {
		s.tellLookalike(ctx, review)
	}
	if verdict.shadow {
		s.tellShadowed(ctx, p, proj.Name, normalized, verdict.name)
	}
	return proj, nil
}

// errUpstreamUndecided stops a creation that has no upstreamVerdict yet
// (the project an upload meant to add to was deleted meanwhile): the
// caller asks the upstreams, outside the transaction, and tries again.
var errUpstreamUndecided = errors.New("index: the upstreams were not asked about the new project's name")

// newProject creates a project whose name passed the name rules, with
// p's user as its Owner, in tx: last, a name an upstream lists is held
// for review (LocalNamesAsk) or recorded as shadowing it (LocalNamesAllow),
// as v says, and a look-alike of a protected name is put up for review
// (held or flagged by the policy). The review is returned, for
// tellLookalike once tx commits. An upload and a pending trusted
// publisher create projects through it.
func (s *Service) newProject(ctx context.Context, tx *store.Tx, p *Principal, m audit.Meta, name, normalized string,
	v upstreamVerdict) (*store.Project, *store.NameReview, error) {
	if s.cfg.Upstream != nil && !v.decided {
		return nil, nil, errUpstreamUndecided
	}
	match, err := s.lookalike(ctx, tx, p, name, normalized)
	if err != nil {
		return nil, nil, err
	}
	proj, err := s.createProject(ctx, tx, p, name, normalized)
	if err != nil {
		return nil, nil, err
	}
	if err := s.projectEvent(ctx, tx, p, m, proj, audit.ProjectCreated, p.User.ID, nil); err != nil {
		return nil, nil, err
	}
	if v.shadow {
		if err := s.projectEvent(ctx, tx, p, m, proj, audit.UpstreamNameShadowed, p.User.ID,
			map[string]any{"upstream": v.name.Upstream}); err != nil {
			return nil, nil, err
		}
	}
	var review *store.NameReview
	switch {
	case v.hold:
		// An upstream's name outranks a look-alike: a project held as
		// a look-alike hides the name from the proxy, one held under an
		// upstream's name does not (any uploader could otherwise take a
		// name off the proxy for everyone).
		review, err = s.upstreamHold(ctx, tx, p, m, proj, v, match)
	case match != nil:
		review, err = s.review(ctx, tx, p, proj, match)
	}
	if err != nil {
		return nil, nil, err
	}
	return proj, review, nil
}

// CollaboratorProject finds the named project for p, which must hold a
// role on it (within its token's scope): what the lists of a project's
// trusted publishers ask.
func (s *Service) CollaboratorProject(ctx context.Context, p *Principal, project string) (*store.Project, error) {
	proj, err := s.store.ProjectByName(ctx, pep.NormalizeName(project))
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "No project named '%s'.", project)
	} else if err != nil {
		return nil, wrap(err, "project %s", project)
	}
	if err := s.unhide(ctx, s.store, p, proj, project); err != nil {
		return nil, wrap(err, "project %s", project)
	}
	if _, err := s.requireRole(ctx, s.store, p, proj, false); err != nil {
		return nil, wrap(err, "project %s", project)
	}
	return proj, nil
}
