package index

// A project's status (PEP 792). Its Owners archive it (no new uploads,
// files still served), deprecate it (as active; installers may warn) and
// make it active again; administrators quarantine it (no upload, no
// change, no file served, everything kept) and release it, which
// restores exactly the status it had. The status and its reason are
// published on the simple pages, in the JSON API and on the project's
// page; every step is a security event of the project and an email to
// its Owners.
//
// What a status forbids is decided in two places only: statusRefusal
// (the changes, asked by mandated before every change and upload) and
// servesFiles (the read paths: the published views and the file
// lookups, and through Installable the project page and search); the
// listings leave quarantined projects out in store (listed).

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// MaxStatusReason bounds the reason given for a status, in characters.
const MaxStatusReason = 400

// ActionStatus is the change of a project's status by an Owner, as named
// in refusals; ActionLeave is a collaborator giving up its own role.
const (
	ActionStatus = "change the status"
	ActionLeave  = "leave the project"
)

// servesFiles reports whether the project's files are served: not while
// it is quarantined.
func servesFiles(proj *store.Project) bool { return proj.Status != store.StatusQuarantined }

// Installable reports whether pip can install from the project (its
// files are served): the project page offers a pip command and search
// lists the project only then, as the listing queries do (store's
// listed).
func Installable(proj *store.Project) bool { return servesFiles(proj) }

// statusRefusal is the refusal, if any, that the project's status makes
// of a change: a quarantined project refuses every change (the evidence
// is kept as it is), an archived one any upload. Every change and upload
// asks it (through mandated), before the project gate.
func (s *Service) statusRefusal(p *Principal, proj *store.Project, action string) error {
	switch {
	case proj.Status == store.StatusQuarantined && action == ActionUpload:
		return problem.Errorf(problem.Forbidden, "Project '%s' is quarantined by the administrators of this index: %s. It accepts no uploads. See %s for more information.",
			proj.Name, reasonOrUnstated(proj.StatusReason), s.helpURL("project-quarantined"))
	case proj.Status == store.StatusQuarantined:
		return problem.Errorf(problem.Forbidden, "Project '%s' is quarantined by the administrators of this index: %s. Nothing in it can change (you cannot %s) until they release it. See %s for more information.",
			proj.Name, reasonOrUnstated(proj.StatusReason), action, s.helpURL("project-quarantined"))
	case proj.Status == store.StatusArchived && action == ActionUpload:
		// Warehouse's refusal (the archived project's permissions lack
		// upload), with the reason said.
		return problem.Errorf(problem.Forbidden, "The user '%s' isn't allowed to upload to project '%s': the project is archived. See %s for more information.",
			p.Name(), proj.Name, s.helpURL("project-archived"))
	}
	return nil
}

// reasonOrUnstated is a status reason for a sentence.
func reasonOrUnstated(reason string) string {
	if reason == "" {
		return "no reason was given"
	}
	return reason
}

// checkReason trims a status reason and refuses one too long or holding
// control characters (it is published in a meta tag and a header-like
// line of the simple pages).
func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxStatusReason {
		return "", problem.Errorf(problem.Invalid, "The reason is too long: at most %d characters.", MaxStatusReason)
	}
	if strings.ContainsFunc(reason, unicode.IsControl) {
		return "", problem.Errorf(problem.Invalid, "The reason must be one line of text.")
	}
	return reason, nil
}

// SetStatus sets the status of a project as one of its Owners: archived,
// deprecated or active, with an optional reason (dropped for active). It
// refuses a quarantined project (statusRefusal) and the quarantine itself,
// which only administrators set (Quarantine). Setting the status it has
// changes nothing and tells nobody.
func (s *Service) SetStatus(ctx context.Context, p *Principal, m audit.Meta, project, status, reason string) error {
	switch status {
	case store.StatusActive, store.StatusArchived, store.StatusDeprecated:
	case store.StatusQuarantined:
		return problem.Errorf(problem.Forbidden, "Only the administrators of this index quarantine a project.")
	default:
		return problem.Errorf(problem.Invalid, "Unknown status %q: say active, archived or deprecated.", status)
	}
	reason, err := checkReason(reason)
	if err != nil {
		return err
	}
	if status == store.StatusActive {
		reason = ""
	}
	var proj *store.Project
	var tag string
	err = s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		proj, err = s.ownedProject(ctx, tx, p, project, ActionStatus)
		if err != nil {
			return err
		}
		if proj.Status == status && proj.StatusReason == reason {
			return nil
		}
		tag = statusTag(proj.Status, status)
		if err := tx.SetProjectStatus(ctx, proj.ID, status, reason, "", "", s.now()); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, proj, store.ActionSetStatus); err != nil {
			return err
		}
		return s.projectEvent(ctx, tx, p, m, proj, tag, 0, map[string]any{"status": status, "reason": reason, "previous": proj.Status})
	})
	if err != nil {
		return wrap(err, "set status of %s to %s", project, status)
	}
	if tag == "" {
		return nil // unchanged
	}
	s.cache.Invalidate(proj.NormalizedName, false)
	s.tellOwners(ctx, proj, status, reason, p.User.Username, false)
	return nil
}

// statusTag is the event of an Owner's change of status.
func statusTag(from, to string) string {
	switch {
	case to == store.StatusArchived:
		return audit.ProjectArchived
	case to == store.StatusDeprecated:
		return audit.ProjectDeprecated
	case from == store.StatusArchived:
		return audit.ProjectUnarchived
	default:
		return audit.ProjectUndeprecated
	}
}

// cliActor names the administrator acting through `cheeseshop admin`.
const cliActor = "an administrator at the command line"

// adminActor checks that actor may quarantine (nil: the command line,
// which only operators run) and names it for the events.
func adminActor(actor *store.User) (name string, id int64, err error) {
	if actor == nil {
		return cliActor, 0, nil
	}
	if !actor.IsAdmin || actor.Disabled {
		return "", 0, problem.Errorf(problem.Forbidden, "Only the administrators of this index quarantine a project or release it.")
	}
	return actor.Username, actor.ID, nil
}

// Quarantine puts a project in quarantine, on an administrator's
// judgement or on users' reports: from now on no file of it is served
// (its simple pages list none, its file URLs answer 404, its JSON API
// lists none), no upload is accepted and nothing in it changes, on every
// replica within the cache's follow interval and on this one at once.
// Nothing is deleted: ReleaseFromQuarantine restores it as it was. actor
// is the administrator (nil: the command line); the reason, required, is
// published with the status and sent to the Owners.
//
// A name of no local project is a proxied one (Config.Upstream): the
// upstream's project is quarantined instead (Upstream.Quarantine), even
// one never fetched yet, as a pre-emptive block. Without an upstream, it
// is not found.
func (s *Service) Quarantine(ctx context.Context, actor *store.User, m audit.Meta, project, reason string) error {
	by, actorID, err := adminActor(actor)
	if err != nil {
		return err
	}
	if proxied, err := s.IsProxiedName(ctx, project); err != nil {
		return err
	} else if proxied {
		reason, err := checkReason(reason)
		if err != nil {
			return err
		}
		if reason == "" {
			return problem.Errorf(problem.Invalid, "Say why the project is quarantined: the reason is shown to installers.")
		}
		return wrap(s.cfg.Upstream.Quarantine(ctx, actor, m, pep.NormalizeName(project), reason), "quarantine proxied %s", project)
	}
	return s.quarantine(ctx, by, actorID, m, project, reason)
}

// IsProxiedName reports whether an administrator's quarantine or
// release of project acts on a proxied project: there is an upstream, the
// name is valid and no local project has it.
func (s *Service) IsProxiedName(ctx context.Context, project string) (bool, error) {
	if s.cfg.Upstream == nil || !pep.ValidProjectName(project) {
		return false, nil
	}
	_, err := s.store.ProjectByName(ctx, pep.NormalizeName(project))
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	return false, wrap(err, "find project %s", project)
}

// AutoQuarantine is the quarantine that users' reports decide, with no
// administrator (the reports' rule, in package report): it is recorded
// and told as done by the reports. It refuses, as Quarantine does, a
// project already quarantined (problem.Conflict), so that of concurrent
// callers only one quarantines.
func (s *Service) AutoQuarantine(ctx context.Context, m audit.Meta, project, reason string) error {
	return s.quarantine(ctx, ReportsActor, 0, m, project, reason)
}

// ReportsActor names the automatic quarantine on users' reports in
// events and emails.
const ReportsActor = "the reports of trusted users (automatic quarantine)"

// quarantine quarantines a project for Quarantine and AutoQuarantine;
// by (actorID) is who does it.
func (s *Service) quarantine(ctx context.Context, by string, actorID int64, m audit.Meta, project, reason string) error {
	reason, err := checkReason(reason)
	if err != nil {
		return err
	}
	if reason == "" {
		return problem.Errorf(problem.Invalid, "Say why the project is quarantined: the reason is shown to its Owners and to installers.")
	}
	var proj *store.Project
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, err = lockedProject(ctx, tx, project)
		if err != nil {
			return err
		}
		if proj.Status == store.StatusQuarantined {
			return problem.Errorf(problem.Conflict, "Project '%s' is already quarantined: %s.", proj.Name, reasonOrUnstated(proj.StatusReason))
		}
		now := s.now()
		if err := tx.SetProjectStatus(ctx, proj.ID, store.StatusQuarantined, reason, proj.Status, proj.StatusReason, now); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, proj, store.ActionQuarantine); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: actorID, Tag: audit.ProjectQuarantined},
			map[string]any{"by": by, "reason": reason, "previous": proj.Status}); err != nil {
			return err
		}
		// Users' reports of the project are resolved by the quarantine,
		// whatever its path (the reports' queue, /admin/quarantine/, the
		// command line, the automatic one), so none stays open on a
		// project already taken down: all of them, whenever made.
		n, err := tx.CloseReports(ctx, proj.ID, time.Time{}, store.ReportQuarantined, now)
		if err != nil || n == 0 {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: actorID, Tag: audit.ReportsResolved},
			map[string]any{"by": by, "count": n})
	})
	if err != nil {
		return wrap(err, "quarantine %s", project)
	}
	s.cache.Invalidate(proj.NormalizedName, false)
	s.cache.forgetFiles()
	s.log.InfoContext(ctx, "project quarantined", "project", proj.Name, "by", by, "reason", reason)
	s.tellOwners(ctx, proj, store.StatusQuarantined, reason, by, false)
	return nil
}

// ReleaseFromQuarantine lifts a project's quarantine: it gets back the
// status (and reason) it had before, and serves its files again. actor
// is the administrator (nil: the command line). A name of no local
// project is released on the upstream's side (Upstream.Release), as
// Quarantine does.
func (s *Service) ReleaseFromQuarantine(ctx context.Context, actor *store.User, m audit.Meta, project string) error {
	by, actorID, err := adminActor(actor)
	if err != nil {
		return err
	}
	if proxied, err := s.IsProxiedName(ctx, project); err != nil {
		return err
	} else if proxied {
		return wrap(s.cfg.Upstream.Release(ctx, actor, m, pep.NormalizeName(project)), "release proxied %s", project)
	}
	var proj *store.Project
	var status, reason string
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, err = lockedProject(ctx, tx, project)
		if err != nil {
			return err
		}
		if proj.Status != store.StatusQuarantined {
			return problem.Errorf(problem.Conflict, "Project '%s' is not quarantined (it is %s).", proj.Name, proj.Status)
		}
		status, reason = proj.PriorStatus, proj.PriorStatusReason
		if status == "" {
			status = store.StatusActive
		}
		if err := tx.SetProjectStatus(ctx, proj.ID, status, reason, "", "", s.now()); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, proj, store.ActionReleaseQuarantine); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: actorID, Tag: audit.ProjectReleased},
			map[string]any{"by": by, "status": status, "quarantine_reason": proj.StatusReason})
	})
	if err != nil {
		return wrap(err, "release %s from quarantine", project)
	}
	s.cache.Invalidate(proj.NormalizedName, false)
	s.cache.forgetFiles()
	s.log.InfoContext(ctx, "project released from quarantine", "project", proj.Name, "by", by, "status", status)
	s.tellOwners(ctx, proj, status, reason, by, true)
	return nil
}

// Quarantined lists the quarantined projects, the most recently
// quarantined first.
func (s *Service) Quarantined(ctx context.Context) ([]*store.Project, error) {
	ps, err := s.store.ProjectsWithStatus(ctx, store.StatusQuarantined)
	return ps, wrap(err, "quarantined projects")
}

// tellOwners emails every Owner of proj its new status, set by by;
// released says that it follows a quarantine. A failure is logged: the
// event and the project's page say it too.
func (s *Service) tellOwners(ctx context.Context, proj *store.Project, status, reason, by string, released bool) {
	collabs, err := s.store.MandateCollaborators(ctx, proj.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "project status notice: owners", "project", proj.Name, "err", err)
		return
	}
	for _, c := range collabs {
		if c.Role != store.RoleOwner {
			continue
		}
		_ = s.mail.Send(ctx, c.Email, "project-status", mail.Data{
			"Username": c.Username, "Project": proj.Name, "Normalized": pep.NormalizeName(proj.Name),
			"Status": status, "Reason": reason, "By": by, "Released": released,
		})
	}
}
