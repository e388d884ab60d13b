package index

import (
	"context"
	"errors"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// ManagedProject is what a collaborator sees of a project on its
// management pages.
type ManagedProject struct {
	*ProjectView
	Role        string // the viewer's
	Invitations []*store.Invitation
	// Review is the project's pending look-alike review (nil: none):
	// when Held, the project is not published until an administrator
	// approves it.
	Review *store.NameReview
}

// IsOwner reports whether the viewer is an Owner.
func (m *ManagedProject) IsOwner() bool { return m.Role == store.RoleOwner }

// Managed loads a project for its management pages; p must hold a role on it.
func (s *Service) Managed(ctx context.Context, p *Principal, project string) (*ManagedProject, error) {
	v, err := s.loadProject(ctx, pep.NormalizeName(project), true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "No project named '%s'.", project)
	} else if err != nil {
		return nil, wrap(err, "manage %s", project)
	}
	if err := s.unhide(ctx, s.store, p, v.Project, project); err != nil {
		return nil, err
	}
	role, err := s.requireRole(ctx, s.store, p, v.Project, false)
	if err != nil {
		return nil, wrap(err, "manage %s", project)
	}
	invs, err := s.store.ProjectInvitations(ctx, v.Project.ID)
	if err != nil {
		return nil, wrap(err, "manage %s", project)
	}
	review, err := s.store.NameReviewOf(ctx, v.Project.ID)
	if errors.Is(err, store.ErrNotFound) {
		review = nil
	} else if err != nil {
		return nil, wrap(err, "manage %s", project)
	}
	return &ManagedProject{ProjectView: v, Role: role, Invitations: invs, Review: review}, nil
}

// ProjectHistory returns a project's latest security events; p must hold
// a role on it.
func (s *Service) ProjectHistory(ctx context.Context, p *Principal, project string, limit int) (*store.Project, []*store.Event, error) {
	proj, err := s.store.ProjectByName(ctx, pep.NormalizeName(project))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, problem.Errorf(problem.NotFound, "No project named '%s'.", project)
	} else if err != nil {
		return nil, nil, wrap(err, "history of %s", project)
	}
	if err := s.unhide(ctx, s.store, p, proj, project); err != nil {
		return nil, nil, wrap(err, "history of %s", project)
	}
	if _, err := s.requireRole(ctx, s.store, p, proj, false); err != nil {
		return nil, nil, wrap(err, "history of %s", project)
	}
	evs, err := s.store.ProjectEvents(ctx, proj.ID, limit)
	return proj, evs, wrap(err, "history of %s", project)
}

// MyProjects lists the projects on which p holds a role (within its
// token's scope) and its invitations that have not expired.
func (s *Service) MyProjects(ctx context.Context, p *Principal) ([]store.UserProject, []*store.Invitation, error) {
	if err := s.mayManage(p); err != nil {
		return nil, nil, err
	}
	projects, err := s.store.ProjectsOfUser(ctx, p.User.ID)
	if err != nil {
		return nil, nil, wrap(err, "projects of %s", p.User.Username)
	}
	all, err := s.store.UserInvitations(ctx, p.User.ID)
	if err != nil {
		return nil, nil, wrap(err, "invitations of %s", p.User.Username)
	}
	var invs []*store.Invitation
	for _, inv := range all {
		if s.now().Before(inv.ExpiresAt) {
			invs = append(invs, inv)
		}
	}
	return projects, invs, nil
}
