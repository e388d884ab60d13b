package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Who may do what on a project (as on PyPI):
//
//   - Maintainers upload files, see the management pages, and may leave.
//   - Owners also manage collaborators and invitations, yank and unyank
//     releases, delete files and releases, and delete the project.
//
// A project always keeps at least one Owner. An API token scoped to some
// projects acts on those projects only.

// roleReader reads roles, on the database or in a transaction.
type roleReader interface {
	RoleOf(ctx context.Context, projectID, userID int64) (string, error)
}

// mayManage refuses management to an upload-only token: an API token
// uploads, nothing more, unless it was created with the management scope.
// Every management call checks it.
func (s *Service) mayManage(p *Principal) error {
	if p.Token != nil && p.Token.ReadOnly {
		return errReadOnlyToken
	}
	if p.Token != nil && !p.Token.CanManage {
		return problem.Errorf(problem.Forbidden, "This API token is upload-only: it uploads files (twine, uv publish), nothing more. "+
			"Manage projects in the web UI, or create a token with the management permission at %s/manage/account/tokens/.", s.cfg.BaseURL)
	}
	return nil
}

// CheckManage refuses the management API to an upload-only token, and
// records the attempt in its user's security history (a leaked token
// being tried shows there). The management API asks it first, whatever
// the route.
func (s *Service) CheckManage(ctx context.Context, p *Principal) error {
	err := s.mayManage(p)
	if err != nil {
		s.tokenRefused(ctx, p, "the management API")
	}
	return err
}

// tokenRefused records that p's token tried what it may not do.
func (s *Service) tokenRefused(ctx context.Context, p *Principal, tried string) {
	if p.Token == nil {
		return
	}
	if p.User == nil {
		// A trusted publisher's token: no user's history to show it in.
		s.log.WarnContext(ctx, "trusted publisher token refused", "token", p.Token.Name, "tried", tried, "ip", p.Meta.IP)
		return
	}
	if err := audit.Record(ctx, s.store, s.now(), p.Meta, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.TokenRefused},
		map[string]any{"name": p.Token.Name, "prefix": p.Token.Prefix, "permission": TokenPermission(p.Token), "tried": tried}); err != nil {
		s.log.ErrorContext(ctx, "record token refusal", "user", p.User.Username, "err", err)
	}
}

// inScope refuses a project outside the scope of the principal's token,
// and any project to an upload-only token.
func (s *Service) inScope(p *Principal, proj *store.Project) error {
	if err := s.mayManage(p); err != nil {
		return err
	}
	if p.Token != nil && p.Token.Scoped && !slices.Contains(p.Token.ProjectIDs, proj.ID) {
		return problem.Errorf(problem.Forbidden, "The given token isn't allowed to manage project '%s'. Use a token scoped to this project or to all your projects.", proj.Name)
	}
	return nil
}

// requireRole checks that p may manage the project (its token's
// permission and scope) and holds a role on it (an Owner's when owner is
// set), and returns the role.
func (s *Service) requireRole(ctx context.Context, q roleReader, p *Principal, proj *store.Project, owner bool) (string, error) {
	if err := s.inScope(p, proj); err != nil {
		return "", err
	}
	role, err := q.RoleOf(ctx, proj.ID, p.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", problem.Errorf(problem.Forbidden, "You are not a collaborator on '%s'.", proj.Name)
	} else if err != nil {
		return "", err
	}
	if owner && role != store.RoleOwner {
		return "", problem.Errorf(problem.Forbidden, "Only an Owner of '%s' can do this; you are a %s.", proj.Name, role)
	}
	return role, nil
}

// requireOwner checks that p is an Owner of the project.
func (s *Service) requireOwner(ctx context.Context, tx *store.Tx, p *Principal, proj *store.Project) error {
	_, err := s.requireRole(ctx, tx, p, proj, true)
	return err
}

// lockedProject finds a project by any spelling of its name, locks it for
// the rest of the transaction and returns it as read under the lock: on
// PostgreSQL a row read before the lock may predate a change committed
// meanwhile (a concurrent quarantine).
func lockedProject(ctx context.Context, tx *store.Tx, name string) (*store.Project, error) {
	proj, err := tx.ProjectByName(ctx, pep.NormalizeName(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "No project named '%s'.", name)
	} else if err != nil {
		return nil, err
	}
	if err := tx.LockProject(ctx, proj.ID); err != nil {
		return nil, err
	}
	return tx.ProjectByID(ctx, proj.ID)
}

// lockedProjectFor is lockedProject for p: a private project that p may
// not read is not found (unhide).
func (s *Service) lockedProjectFor(ctx context.Context, tx *store.Tx, p *Principal, name string) (*store.Project, error) {
	proj, err := lockedProject(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	if err := s.unhide(ctx, tx, p, proj, name); err != nil {
		return nil, err
	}
	return proj, nil
}

// unhide refuses p a private project that it may not read (it holds no
// role on it, or its token's scope leaves it out) with the refusal of a
// project that does not exist, for the name as p spelled it: the
// management calls, like the reads, never tell a stranger that a private
// project exists. Administrators see every project; a trusted
// publisher's token manages nothing.
func (s *Service) unhide(ctx context.Context, q roleReader, p *Principal, proj *store.Project, name string) error {
	if p == nil || !proj.Private() {
		return nil
	}
	hidden := p.User == nil || (p.Token != nil && p.Token.Scoped && !slices.Contains(p.Token.ProjectIDs, proj.ID))
	if !hidden && !(p.User.IsAdmin && !p.User.Disabled) {
		_, err := q.RoleOf(ctx, proj.ID, p.User.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		hidden = err != nil
	}
	if hidden {
		return problem.Errorf(problem.NotFound, "No project named '%s'.", name)
	}
	return nil
}

// ownedProject locks the named project for the transaction, checks that
// p is one of its Owners, and runs the project gate for the action: the
// start of every Owner-only change.
func (s *Service) ownedProject(ctx context.Context, tx *store.Tx, p *Principal, name, action string) (*store.Project, error) {
	proj, err := s.lockedProjectFor(ctx, tx, p, name)
	if err != nil {
		return nil, err
	}
	if err := s.requireOwner(ctx, tx, p, proj); err != nil {
		return nil, err
	}
	if err := s.mandated(ctx, tx, p, proj, action); err != nil {
		return nil, err
	}
	return proj, nil
}

// projectEvent records a project's security event, done by p, about the
// user userID (0: none).
func (s *Service) projectEvent(ctx context.Context, tx *store.Tx, p *Principal, m audit.Meta, proj *store.Project, tag string, userID int64, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["by"] = p.Name()
	if p.Publisher() {
		details["publisher_id"] = p.Token.PublisherID
		var claims map[string]any
		if json.Unmarshal([]byte(p.Token.PublisherClaims), &claims) == nil {
			details["publisher_claims"] = claims
		}
	}
	return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: userID, ProjectID: proj.ID, ProjectName: proj.Name, ActorID: p.actorID(), Tag: tag}, details)
}

// bump journals a change to the project's published pages and sets its
// serial.
func (s *Service) bump(ctx context.Context, tx *store.Tx, proj *store.Project, action string) error {
	serial, err := tx.AddJournal(ctx, proj.ID, proj.NormalizedName, action, s.now())
	if err != nil {
		return err
	}
	return tx.UpdateProjectAfterUpload(ctx, proj.ID, proj.Name, 0, serial)
}

// wrap keeps refusals as they are and gives other errors context.
func wrap(err error, format string, args ...any) error {
	if err == nil || problem.KindOf(err) != 0 {
		return err
	}
	return fmt.Errorf("index: "+format+": %w", append(args, err)...)
}

// DeleteFile removes a file from its release; see DeleteProjectFile. The
// request's origin for the event is p.Meta.
func (s *Service) DeleteFile(ctx context.Context, p *Principal, filename string) error {
	return s.DeleteProjectFile(ctx, p, p.Meta, "", filename)
}

// DeleteProjectFile removes a file from its release; project, when not
// empty, must be the file's project. Only Owners may. The filename stays
// burned forever, so it can never be uploaded again. The blob is not
// deleted here, where a concurrent upload of the same bytes under a new
// name could be sharing it; it is unreachable without its row, and
// CollectBlobs removes it once no row references it.
func (s *Service) DeleteProjectFile(ctx context.Context, p *Principal, m audit.Meta, project, filename string) error {
	var normalized string
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		f, err := tx.FileByFilename(ctx, filename)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No file named '%s'.", filename)
		} else if err != nil {
			return err
		}
		proj, err := tx.ProjectByID(ctx, f.ProjectID)
		if err != nil {
			return err
		}
		if err := s.unhide(ctx, tx, p, proj, project); problem.KindOf(err) == problem.NotFound {
			return problem.Errorf(problem.NotFound, "No file named '%s'.", filename)
		} else if err != nil {
			return err
		}
		if project != "" && pep.NormalizeName(project) != proj.NormalizedName {
			return problem.Errorf(problem.NotFound, "No file named '%s' in project '%s'.", filename, project)
		}
		if err := tx.LockProject(ctx, proj.ID); err != nil {
			return err
		}
		if err := s.requireOwner(ctx, tx, p, proj); err != nil {
			return err
		}
		if err := s.mandated(ctx, tx, p, proj, ActionDeleteFile); err != nil {
			return err
		}
		if err := tx.DeleteFile(ctx, f); err != nil {
			return err
		}
		normalized = proj.NormalizedName
		if err := s.bump(ctx, tx, proj, store.ActionRemoveFile); err != nil {
			return err
		}
		return s.projectEvent(ctx, tx, p, m, proj, audit.FileDeleted, 0, map[string]any{"filename": f.Filename})
	})
	if err != nil {
		return wrap(err, "delete file %s", filename)
	}
	s.cache.Invalidate(normalized, false)
	s.cache.forgetFiles()
	return nil
}
