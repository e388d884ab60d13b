package index

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// maxYankReason bounds the reason of a yank, in characters.
const maxYankReason = 1000

// DeletedProjectReason is why the name of a deleted project is prohibited.
const DeletedProjectReason = "deleted project"

// release finds a project's release by any spelling of its version.
func release(ctx context.Context, tx *store.Tx, proj *store.Project, version string) (*store.Release, error) {
	v, err := pep.ParseVersion(version)
	if err != nil {
		return nil, problem.Errorf(problem.NotFound, "No release '%s' of '%s'.", version, proj.Name)
	}
	r, err := tx.ReleaseByCanonicalVersion(ctx, proj.ID, v.Canonical())
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "No release '%s' of '%s'.", version, proj.Name)
	}
	return r, err
}

// Yank marks a release as yanked (PEP 592): installers skip it unless it
// is pinned exactly. Only Owners may. The simple API shows it at once.
func (s *Service) Yank(ctx context.Context, p *Principal, m audit.Meta, project, version, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxYankReason {
		return problem.Errorf(problem.Invalid, "The reason for yanking is too long: use %d characters or fewer.", maxYankReason)
	}
	return wrap(s.setYanked(ctx, p, m, project, version, true, reason), "yank %s %s", project, version)
}

// Unyank makes a yanked release installable again. Only Owners may.
func (s *Service) Unyank(ctx context.Context, p *Principal, m audit.Meta, project, version string) error {
	return wrap(s.setYanked(ctx, p, m, project, version, false, ""), "unyank %s %s", project, version)
}

func (s *Service) setYanked(ctx context.Context, p *Principal, m audit.Meta, project, version string, yanked bool, reason string) error {
	var normalized string
	action := ActionUnyank
	if yanked {
		action = ActionYank
	}
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, action)
		if err != nil {
			return err
		}
		r, err := release(ctx, tx, proj, version)
		if err != nil {
			return err
		}
		if err := tx.SetYanked(ctx, r.ID, yanked, reason); err != nil {
			return err
		}
		action, tag, details := store.ActionUnyank, audit.ReleaseUnyanked, map[string]any{"version": r.Version}
		if yanked {
			action, tag, details["reason"] = store.ActionYank, audit.ReleaseYanked, reason
		}
		if err := s.bump(ctx, tx, proj, action); err != nil {
			return err
		}
		normalized = proj.NormalizedName
		return s.projectEvent(ctx, tx, p, m, proj, tag, 0, details)
	})
	if err != nil {
		return err
	}
	s.cache.Invalidate(normalized, false)
	return nil
}

// DeleteRelease deletes a release with its files. Only Owners may. Its
// filenames stay burned; the blobs are left for CollectBlobs.
func (s *Service) DeleteRelease(ctx context.Context, p *Principal, m audit.Meta, project, version string) error {
	var normalized string
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionDeleteRelease)
		if err != nil {
			return err
		}
		r, err := release(ctx, tx, proj, version)
		if err != nil {
			return err
		}
		if err := tx.DeleteRelease(ctx, r); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, proj, store.ActionRemoveFile); err != nil {
			return err
		}
		normalized = proj.NormalizedName
		return s.projectEvent(ctx, tx, p, m, proj, audit.ReleaseDeleted, 0, map[string]any{"version": r.Version})
	})
	if err != nil {
		return wrap(err, "delete release %s %s", project, version)
	}
	s.cache.Invalidate(normalized, false)
	s.cache.forgetFiles()
	return nil
}

// DeleteProject deletes a project with everything in it: releases, files,
// roles, invitations and the scopes of tokens limited to it. Only Owners
// may, and confirmName must be the project's name (any spelling). The
// filenames stay burned, and the name is prohibited (DeletedProjectReason)
// so that nobody else can take it over; an administrator can lift that.
func (s *Service) DeleteProject(ctx context.Context, p *Principal, m audit.Meta, project, confirmName string) error {
	var normalized string
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err := s.ownedProject(ctx, tx, p, project, ActionDeleteProject)
		if err != nil {
			return err
		}
		if pep.NormalizeName(strings.TrimSpace(confirmName)) != proj.NormalizedName {
			return problem.Errorf(problem.Invalid, "Confirm the deletion by typing the project's name, '%s'.", proj.Name)
		}
		if err := tx.DeleteProject(ctx, proj.ID); err != nil {
			return err
		}
		if err := tx.ProhibitName(ctx, proj.NormalizedName, pep.UltraNormalizeName(proj.Name), DeletedProjectReason, s.now()); err != nil {
			return err
		}
		if _, err := tx.AddJournal(ctx, proj.ID, proj.NormalizedName, store.ActionRemoveProject, s.now()); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		normalized = proj.NormalizedName
		return s.projectEvent(ctx, tx, p, m, proj, audit.ProjectDeleted, 0, nil)
	})
	if err != nil {
		return wrap(err, "delete project %s", project)
	}
	s.AccessChanged()
	s.cache.Invalidate(normalized, true)
	s.cache.forgetFiles()
	return nil
}
