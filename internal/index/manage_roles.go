package index

import (
	"context"
	"errors"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// InvitationLifetime is how long an invitation to a role stays valid.
const InvitationLifetime = 7 * 24 * time.Hour

func validRole(role string) error {
	if role != store.RoleOwner && role != store.RoleMaintainer {
		return problem.Errorf(problem.Invalid, "Unknown role '%s': choose Owner or Maintainer.", role)
	}
	return nil
}

// collaborator finds a user by name and its role on the project.
func collaborator(ctx context.Context, tx *store.Tx, proj *store.Project, username string) (*store.User, string, error) {
	u, err := tx.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", problem.Errorf(problem.NotFound, "No user named '%s'.", username)
	} else if err != nil {
		return nil, "", err
	}
	role, err := tx.RoleOf(ctx, proj.ID, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", problem.Errorf(problem.NotFound, "'%s' is not a collaborator on '%s'.", u.Username, proj.Name)
	}
	return u, role, err
}

// keepsOwner refuses a change that takes the Owner role from a user when
// that user is the project's last Owner. The project must be locked.
func keepsOwner(ctx context.Context, tx *store.Tx, proj *store.Project, role string) error {
	if role != store.RoleOwner {
		return nil
	}
	n, err := tx.CountOwners(ctx, proj.ID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return problem.Errorf(problem.Invalid, "'%s' must keep at least one Owner: make another collaborator an Owner first.", proj.Name)
	}
	return nil
}

// InviteCollaborator invites a user to a role on the project. Only Owners
// may. The invitee must have a verified email address and no role on the
// project yet; the invitation expires after InvitationLifetime, and
// inviting again replaces it.
func (s *Service) InviteCollaborator(ctx context.Context, p *Principal, m audit.Meta, project, username, role string) (*store.Invitation, error) {
	if err := validRole(role); err != nil {
		return nil, err
	}
	var inv *store.Invitation
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionInvite)
		if err != nil {
			return err
		}
		u, err := tx.UserByUsername(ctx, username)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.Invalid, "No user named '%s'.", username)
		} else if err != nil {
			return err
		}
		if u.Disabled || !u.EmailVerified {
			return problem.Errorf(problem.Invalid, "'%s' cannot be invited: the user has no verified email address.", u.Username)
		}
		if _, err := tx.RoleOf(ctx, proj.ID, u.ID); err == nil {
			return problem.Errorf(problem.Invalid, "'%s' is already a collaborator on '%s'.", u.Username, proj.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := s.now()
		inv = &store.Invitation{ProjectID: proj.ID, ProjectName: proj.Name, UserID: u.ID, Username: u.Username, Role: role,
			InvitedBy: p.User.Username, ExpiresAt: now.Add(InvitationLifetime), CreatedAt: now}
		if err := tx.PutInvitation(ctx, inv, p.User.ID); err != nil {
			return err
		}
		return s.projectEvent(ctx, tx, p, m, proj, audit.RoleInvited, u.ID, map[string]any{"user": u.Username, "role": role})
	})
	return inv, wrap(err, "invite %s to %s", username, project)
}

// answerInvitation accepts or declines p's invitation to the project.
func (s *Service) answerInvitation(ctx context.Context, p *Principal, m audit.Meta, project string, accept bool) error {
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := lockedProject(ctx, tx, project)
		if err != nil {
			return err
		}
		// Its invitation told the invitee of a private project; anybody
		// else who may not read it is told of no such project.
		if p.User == nil {
			if err := s.unhide(ctx, tx, p, proj, project); err != nil {
				return err
			}
		} else if _, err := tx.InvitationOf(ctx, proj.ID, p.User.ID); errors.Is(err, store.ErrNotFound) {
			if err := s.unhide(ctx, tx, p, proj, project); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := s.inScope(p, proj); err != nil {
			return err
		}
		if accept {
			// Declining (like leaving) gives access up: never gated.
			if err := s.mandated(ctx, tx, p, proj, ActionAcceptInvitation); err != nil {
				return err
			}
		}
		inv, err := tx.InvitationOf(ctx, proj.ID, p.User.ID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "You have no invitation to '%s'.", proj.Name)
		} else if err != nil {
			return err
		}
		if !s.now().Before(inv.ExpiresAt) {
			return problem.Errorf(problem.Invalid, "Your invitation to '%s' expired: ask an Owner to invite you again.", proj.Name)
		}
		if accept {
			if err := inviterStillOwner(ctx, tx, proj, inv); err != nil {
				return err
			}
		}
		if _, err := tx.DeleteInvitation(ctx, proj.ID, p.User.ID); err != nil {
			return err
		}
		tag := audit.RoleDeclined
		if accept {
			tag = audit.RoleAccepted
			if err := tx.AddRole(ctx, proj.ID, p.User.ID, inv.Role, s.now()); err != nil {
				return err
			}
			// A new collaborator reads the project if it is private.
			if err := s.accessChanged(ctx, tx); err != nil {
				return err
			}
		}
		return s.projectEvent(ctx, tx, p, m, proj, tag, p.User.ID, map[string]any{"user": p.User.Username, "role": inv.Role})
	})
	if err == nil && accept {
		s.AccessChanged()
	}
	return err
}

// inviterStillOwner refuses an invitation whose inviter no longer holds
// the authority it gave: an invitation is an Owner's decision, and a
// former Owner (removed, demoted, or its account disabled or deleted
// since) must not keep adding collaborators through invitations it sent
// before, such as a puppet account invited as Owner just before its
// removal. The project must be locked.
func inviterStillOwner(ctx context.Context, tx *store.Tx, proj *store.Project, inv *store.Invitation) error {
	stale := problem.Errorf(problem.Invalid, "Your invitation to '%s' is no longer valid: the user who sent it is no longer an Owner of the project. "+
		"Ask a current Owner to invite you again.", proj.Name)
	if inv.InvitedByID == 0 {
		return stale
	}
	inviter, err := tx.UserByID(ctx, inv.InvitedByID)
	if errors.Is(err, store.ErrNotFound) {
		return stale
	} else if err != nil {
		return err
	}
	if inviter.Disabled {
		return stale
	}
	role, err := tx.RoleOf(ctx, proj.ID, inviter.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && role != store.RoleOwner) {
		return stale
	}
	return err
}

// AcceptInvitation gives p the role it was invited to, if the invitation
// has not expired.
func (s *Service) AcceptInvitation(ctx context.Context, p *Principal, m audit.Meta, project string) error {
	return wrap(s.answerInvitation(ctx, p, m, project, true), "accept invitation to %s", project)
}

// DeclineInvitation turns down p's invitation to the project.
func (s *Service) DeclineInvitation(ctx context.Context, p *Principal, m audit.Meta, project string) error {
	return wrap(s.answerInvitation(ctx, p, m, project, false), "decline invitation to %s", project)
}

// RevokeInvitation withdraws a user's invitation. Only Owners may.
func (s *Service) RevokeInvitation(ctx context.Context, p *Principal, m audit.Meta, project, username string) error {
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionRevokeInvitation)
		if err != nil {
			return err
		}
		u, err := tx.UserByUsername(ctx, username)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No user named '%s'.", username)
		} else if err != nil {
			return err
		}
		if ok, err := tx.DeleteInvitation(ctx, proj.ID, u.ID); err != nil {
			return err
		} else if !ok {
			return problem.Errorf(problem.NotFound, "'%s' has no invitation to '%s'.", u.Username, proj.Name)
		}
		return s.projectEvent(ctx, tx, p, m, proj, audit.RoleInviteRevoke, u.ID, map[string]any{"user": u.Username})
	})
	return wrap(err, "revoke invitation of %s to %s", username, project)
}

// ChangeRole sets a collaborator's role. Only Owners may, and never so
// that the project is left without an Owner.
func (s *Service) ChangeRole(ctx context.Context, p *Principal, m audit.Meta, project, username, role string) error {
	if err := validRole(role); err != nil {
		return err
	}
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionChangeRole)
		if err != nil {
			return err
		}
		u, old, err := collaborator(ctx, tx, proj, username)
		if err != nil || old == role {
			return err
		}
		if err := keepsOwner(ctx, tx, proj, old); err != nil {
			return err
		}
		if err := tx.SetRole(ctx, proj.ID, u.ID, role); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		return s.projectEvent(ctx, tx, p, m, proj, audit.RoleChanged, u.ID, map[string]any{"user": u.Username, "role": role, "old": old})
	})
	if err == nil {
		s.AccessChanged()
	}
	return wrap(err, "change role of %s on %s", username, project)
}

// RemoveCollaborator takes a user's role away. Only Owners may, and never
// the last Owner's.
func (s *Service) RemoveCollaborator(ctx context.Context, p *Principal, m audit.Meta, project, username string) error {
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionRemoveRole)
		if err != nil {
			return err
		}
		u, role, err := collaborator(ctx, tx, proj, username)
		if err != nil {
			return err
		}
		return s.removeRole(ctx, tx, p, m, proj, u, role)
	})
	if err == nil {
		s.AccessChanged()
	}
	return wrap(err, "remove %s from %s", username, project)
}

// LeaveProject gives up p's own role, unless p is the last Owner.
func (s *Service) LeaveProject(ctx context.Context, p *Principal, m audit.Meta, project string) error {
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.lockedProjectFor(ctx, tx, p, project)
		if err != nil {
			return err
		}
		role, err := s.requireRole(ctx, tx, p, proj, false)
		if err != nil {
			return err
		}
		// Leaving gives access up: never gated, but a quarantine keeps
		// the collaborators as they are.
		if err := s.statusRefusal(p, proj, ActionLeave); err != nil {
			return err
		}
		return s.removeRole(ctx, tx, p, m, proj, p.User, role)
	})
	if err == nil {
		s.AccessChanged()
	}
	return wrap(err, "leave %s", project)
}

func (s *Service) removeRole(ctx context.Context, tx *store.Tx, p *Principal, m audit.Meta, proj *store.Project, u *store.User, role string) error {
	if err := keepsOwner(ctx, tx, proj, role); err != nil {
		return err
	}
	if err := tx.RemoveRole(ctx, proj.ID, u.ID); err != nil {
		return err
	}
	// A former collaborator no longer reads the project if it is private;
	// the caller calls AccessChanged once tx committed.
	if err := s.accessChanged(ctx, tx); err != nil {
		return err
	}
	return s.projectEvent(ctx, tx, p, m, proj, audit.RoleRemoved, u.ID, map[string]any{"user": u.Username, "role": role})
}
