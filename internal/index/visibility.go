package index

import (
	"context"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// SetVisibility makes a project private (read only by its collaborators,
// the administrators, their tokens within their scope, and the tokens of
// its trusted publishers: 404 for everyone else, as for a project that
// does not exist) or public again. Its Owners may, and the
// administrators; p nil is an administrator at the command line. The
// change reaches this replica at once and the others within the cache's
// follow interval (the journal: the project's pages, the root, the file
// lookups and every cached reader are dropped).
func (s *Service) SetVisibility(ctx context.Context, p *Principal, m audit.Meta, project, visibility string) error {
	if visibility != VisibilityPublic && visibility != VisibilityPrivate {
		return problem.Errorf(problem.Invalid, "The visibility of a project is 'public' or 'private', not '%s'.", visibility)
	}
	var normalized string
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, by, actorID, err := s.visibilityProject(ctx, tx, p, project)
		if err != nil {
			return err
		}
		if proj.Visibility == visibility {
			return nil
		}
		if err := tx.SetProjectVisibility(ctx, proj.ID, visibility); err != nil {
			return err
		}
		if _, err := tx.AddJournal(ctx, proj.ID, proj.NormalizedName, store.ActionSetVisibility, s.now()); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		tag := audit.ProjectPublic
		if visibility == VisibilityPrivate {
			tag = audit.ProjectPrivate
		}
		normalized = proj.NormalizedName
		return audit.Record(ctx, tx, s.now(), m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: actorID, Tag: tag},
			map[string]any{"by": by, "previous": proj.Visibility})
	})
	if err != nil {
		return wrap(err, "set visibility of %s", project)
	}
	if normalized != "" {
		s.AccessChanged()
		s.cache.hide()
		s.cache.Invalidate(normalized, true)
		s.cache.forgetFiles()
	}
	return nil
}

// visibilityProject locks the project whose visibility p changes and
// checks that p may: an administrator (at the command line, or a user
// within its token's scope), else an Owner, through the project gate.
// It returns who acts, for the event.
func (s *Service) visibilityProject(ctx context.Context, tx *store.Tx, p *Principal, name string) (*store.Project, string, int64, error) {
	if p == nil {
		proj, err := lockedProject(ctx, tx, name)
		return proj, cliActor, 0, err
	}
	if p.User != nil && p.User.IsAdmin && !p.User.Disabled {
		proj, err := s.lockedProjectFor(ctx, tx, p, name)
		if err != nil {
			return nil, "", 0, err
		}
		return proj, p.Name(), p.actorID(), s.inScope(p, proj)
	}
	proj, err := s.ownedProject(ctx, tx, p, name, ActionSettings)
	if err != nil {
		return nil, "", 0, err
	}
	return proj, p.Name(), p.actorID(), nil
}
