package index

import (
	"context"
	"errors"
	"fmt"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// GateQuerier is what a ProjectGate reads: the store or the transaction
// of the change.
type GateQuerier interface {
	TwoFactorMethods(ctx context.Context, userID int64) (totp bool, keys int, err error)
}

// ProjectGate decides whether a user may change a project (the
// two-factor mandate of critical and opted-in projects): it returns the
// message that tells the user why not and what to do, or "".
type ProjectGate func(ctx context.Context, q GateQuerier, u *store.User, proj *store.Project) (refusal string, err error)

// The changes the project gate guards, as named in refusal events.
const (
	ActionUpload           = "upload"
	ActionYank             = "yank"
	ActionUnyank           = "unyank"
	ActionDeleteRelease    = "delete release"
	ActionDeleteFile       = "delete file"
	ActionDeleteProject    = "delete project"
	ActionInvite           = "invite a collaborator"
	ActionRevokeInvitation = "revoke an invitation"
	ActionChangeRole       = "change a role"
	ActionRemoveRole       = "remove a collaborator"
	ActionAcceptInvitation = "accept an invitation"
	ActionSettings         = "change the settings"
	ActionScopedToken      = "create a token scoped to the project"
	ActionManageToken      = "create a token that can manage the project"
	ActionAddPublisher     = "add a trusted publisher"
	ActionRemovePublisher  = "remove a trusted publisher"
)

// mandateRefusal is the cause of a refusal of the project gate: the
// project and the change refused, for the security event.
type mandateRefusal struct {
	project *store.Project
	action  string
}

func (r *mandateRefusal) Error() string { return "index: the project gate refused " + r.action }

// mandated runs the checks of a change to proj by p, inside the change's
// transaction: what the project's status allows (statusRefusal), then the
// project gate.
func (s *Service) mandated(ctx context.Context, q GateQuerier, p *Principal, proj *store.Project, action string) error {
	if err := s.statusRefusal(p, proj, action); err != nil {
		return err
	}
	if s.cfg.ProjectGate == nil {
		return nil
	}
	msg, err := s.cfg.ProjectGate(ctx, q, p.User, proj)
	if err != nil {
		return fmt.Errorf("index: project gate: %w", err)
	}
	if msg != "" {
		return problem.Wrap(&mandateRefusal{project: proj, action: action}, problem.Forbidden, msg)
	}
	return nil
}

// writeTx runs a change to projects in a transaction; when the project
// gate refused it, the refusal is recorded as a security event of the
// project once the transaction is rolled back.
func (s *Service) writeTx(ctx context.Context, p *Principal, m audit.Meta, fn func(tx *store.Tx) error) error {
	err := s.store.InTx(ctx, fn)
	s.recordRefusal(ctx, p, m, err)
	return err
}

// recordRefusal records a refusal of the project gate found in err.
func (s *Service) recordRefusal(ctx context.Context, p *Principal, m audit.Meta, err error) {
	refusal, ok := errors.AsType[*mandateRefusal](err)
	if !ok {
		return
	}
	proj := refusal.project
	if rerr := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: p.User.ID, ProjectID: proj.ID, ProjectName: proj.Name,
		ActorID: p.User.ID, Tag: audit.MandateRefused}, map[string]any{"user": p.User.Username, "action": refusal.action}); rerr != nil {
		s.log.ErrorContext(ctx, "record mandate refusal", "project", proj.Name, "user", p.User.Username, "err", rerr)
	}
}

// SetRequire2FA turns the project's opt-in to the two-factor mandate on
// or off. Only Owners may, and only with two-factor authentication
// themselves when turning it on (or when the project requires it
// already).
func (s *Service) SetRequire2FA(ctx context.Context, p *Principal, m audit.Meta, project string, on bool) error {
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionSettings)
		if err != nil {
			return err
		}
		if proj.Require2FA == on {
			return nil
		}
		if on {
			// The Owner must meet the requirement it sets.
			opted := *proj
			opted.Require2FA = true
			if err := s.mandated(ctx, tx, p, &opted, ActionSettings); err != nil {
				return err
			}
		}
		if err := tx.SetRequire2FA(ctx, proj.ID, on); err != nil {
			return err
		}
		tag := audit.Project2FANotRequired
		if on {
			tag = audit.Project2FARequired
		}
		return s.projectEvent(ctx, tx, p, m, proj, tag, 0, nil)
	})
	return wrap(err, "set two-factor requirement of %s", project)
}

// CheckProjectUpload refuses, before the file is read, an upload to an
// existing project that p may not upload to (role, token scope, the
// project gate), so that a refused client does not send 100 MB first.
// An unknown name passes: the full checks run on the whole upload.
func (s *Service) CheckProjectUpload(ctx context.Context, p *Principal, name string) error {
	if name == "" {
		return nil
	}
	proj, err := s.store.ProjectByName(ctx, pep.NormalizeName(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("index: check upload to %s: %w", name, err)
	}
	if err = s.canUpload(ctx, s.store, p, proj); err != nil {
		err = s.hideUploadRefusal(ctx, s.store, p, name, proj, err)
	}
	s.recordRefusal(ctx, p, p.Meta, err)
	return err
}
