package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"cheeseshop/internal/index"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// managePages serves the project management pages of the web UI: the
// user's projects, releases, collaborators, history and API tokens.
type managePages struct {
	s   *Server // shared helpers: sessions, forms, rendering, badges
	idx *index.Service
	md  *mandate.Service // nil: no mandate badges
}

// maxTokenDays bounds the lifetime asked for a token, in days.
const maxTokenDays = 3650

// principal is the signed-in user acting through the web UI, or nil after
// a redirect to the login page.
func (s *Server) principal(w http.ResponseWriter, r *http.Request) *index.Principal {
	c := s.requireUser(w, r)
	if c == nil {
		return nil
	}
	return &index.Principal{User: c.User, Meta: meta(r), RecentAuth: s.acct.RecentlyAuthenticated(c, twofactor.ReauthWindow)}
}

// projectURL is the management page of a project.
func projectURL(name string, rest ...string) string {
	return "/manage/project/" + url.PathEscape(pep.NormalizeName(name)) + "/" + strings.Join(rest, "")
}

// releaseURL is the management page of a release.
func releaseURL(name, version string) string {
	return projectURL(name, "release/", url.PathEscape(version), "/")
}

// outcome is what a management form post did: a message for the next
// page and where to go. back is where to go when the request is refused
// as invalid (shown as a flash there).
type outcome struct {
	msg, to, back string
}

// manageAction runs a management form post for the signed-in user. A
// refusal for a wrong request goes back with a message; others (not
// allowed, not found) are shown as error pages with their status.
func (s *Server) manageAction(act func(r *http.Request, p *index.Principal) (outcome, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := s.principal(w, r)
		if p == nil {
			return
		}
		o, err := act(r, p)
		if err != nil {
			if problem.KindOf(err) == problem.Invalid && o.back != "" {
				s.addFlash(w, r, "error", err.Error())
				redirect(w, r, o.back)
				return
			}
			s.fail(w, r, err)
			return
		}
		s.addFlash(w, r, "ok", o.msg)
		redirect(w, r, o.to)
	}
}

func (m *managePages) acceptInvitation(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "You are now a collaborator on " + name + ".", to: projectURL(name), back: "/manage/projects/"}
	return o, m.idx.AcceptInvitation(r.Context(), p, p.Meta, name)
}

func (m *managePages) declineInvitation(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "Invitation to " + name + " declined.", to: "/manage/projects/", back: "/manage/projects/"}
	return o, m.idx.DeclineInvitation(r.Context(), p, p.Meta, name)
}

func (m *managePages) deleteProject(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "Project " + name + " deleted. Its name stays reserved.", to: "/manage/projects/", back: projectURL(name)}
	return o, m.idx.DeleteProject(r.Context(), p, p.Meta, name, r.PostFormValue("confirm_name"))
}

func (m *managePages) setRequire2FA(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	var on bool
	switch r.PostFormValue("require") {
	case "on":
		on = true
	case "off":
	default:
		return outcome{back: projectURL(name)}, &problem.Error{Kind: problem.Invalid, Message: "Say require=on or require=off."}
	}
	msg := "Two-factor authentication is now required of every collaborator of " + name + "."
	if !on {
		msg = name + " no longer requires two-factor authentication of its collaborators (unless it is critical)."
	}
	return outcome{msg: msg, to: projectURL(name) + "#two-factor", back: projectURL(name)}, m.idx.SetRequire2FA(r.Context(), p, p.Meta, name, on)
}

// setStatus archives, deprecates or reactivates the project (PEP 792).
func (m *managePages) setStatus(r *http.Request, p *index.Principal) (outcome, error) {
	name, status := r.PathValue("project"), r.PostFormValue("status")
	msgs := map[string]string{
		store.StatusArchived:   name + " is archived: it accepts no new uploads; its files are still served.",
		store.StatusDeprecated: name + " is marked as deprecated.",
		store.StatusActive:     name + " is active: it accepts uploads again.",
	}
	o := outcome{msg: msgs[status], to: projectURL(name) + "#status", back: projectURL(name) + "#status"}
	return o, m.idx.SetStatus(r.Context(), p, p.Meta, name, status, r.PostFormValue("reason"))
}

// setVisibility makes the project private (read only by its
// collaborators and the administrators) or public.
func (m *managePages) setVisibility(r *http.Request, p *index.Principal) (outcome, error) {
	name, visibility := r.PathValue("project"), r.PostFormValue("visibility")
	msg := name + " is public: anybody who reads this index reads it."
	if visibility == index.VisibilityPrivate {
		msg = name + " is private: only its collaborators and the administrators of this index read it."
	}
	o := outcome{msg: msg, to: projectURL(name) + "#visibility", back: projectURL(name) + "#visibility"}
	return o, m.idx.SetVisibility(r.Context(), p, p.Meta, name, visibility)
}

func (m *managePages) yankRelease(r *http.Request, p *index.Principal) (outcome, error) {
	name, v := r.PathValue("project"), r.PathValue("version")
	o := outcome{msg: "Release " + v + " yanked.", to: projectURL(name), back: projectURL(name)}
	return o, m.idx.Yank(r.Context(), p, p.Meta, name, v, r.PostFormValue("reason"))
}

func (m *managePages) unyankRelease(r *http.Request, p *index.Principal) (outcome, error) {
	name, v := r.PathValue("project"), r.PathValue("version")
	o := outcome{msg: "Release " + v + " un-yanked.", to: projectURL(name), back: projectURL(name)}
	return o, m.idx.Unyank(r.Context(), p, p.Meta, name, v)
}

func (m *managePages) deleteRelease(r *http.Request, p *index.Principal) (outcome, error) {
	name, v := r.PathValue("project"), r.PathValue("version")
	o := outcome{msg: "Release " + v + " deleted. Its filenames can never be uploaded again.", to: projectURL(name), back: projectURL(name)}
	return o, m.idx.DeleteRelease(r.Context(), p, p.Meta, name, v)
}

func (m *managePages) deleteFile(r *http.Request, p *index.Principal) (outcome, error) {
	name, v, fn := r.PathValue("project"), r.PathValue("version"), r.PostFormValue("filename")
	o := outcome{msg: "File " + fn + " deleted. Its filename can never be uploaded again.", to: releaseURL(name, v), back: releaseURL(name, v)}
	return o, m.idx.DeleteProjectFile(r.Context(), p, p.Meta, name, fn)
}

func (m *managePages) inviteCollaborator(r *http.Request, p *index.Principal) (outcome, error) {
	name, user, role := r.PathValue("project"), strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("role")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: "Invitation sent to " + user + ".", to: back, back: back}
	_, err := m.idx.InviteCollaborator(r.Context(), p, p.Meta, name, user, role)
	return o, err
}

func (m *managePages) revokeInvitation(r *http.Request, p *index.Principal) (outcome, error) {
	name, user := r.PathValue("project"), r.PostFormValue("username")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: "Invitation of " + user + " revoked.", to: back, back: back}
	return o, m.idx.RevokeInvitation(r.Context(), p, p.Meta, name, user)
}

func (m *managePages) changeRole(r *http.Request, p *index.Principal) (outcome, error) {
	name, user, role := r.PathValue("project"), r.PostFormValue("username"), r.PostFormValue("role")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: "Role of " + user + " set to " + role + ".", to: back, back: back}
	return o, m.idx.ChangeRole(r.Context(), p, p.Meta, name, user, role)
}

func (m *managePages) removeCollaborator(r *http.Request, p *index.Principal) (outcome, error) {
	name, user := r.PathValue("project"), r.PostFormValue("username")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: user + " removed from " + name + ".", to: back, back: back}
	return o, m.idx.RemoveCollaborator(r.Context(), p, p.Meta, name, user)
}

func (m *managePages) leaveProject(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "You left " + name + ".", to: "/manage/projects/", back: projectURL(name, "collaboration/")}
	return o, m.idx.LeaveProject(r.Context(), p, p.Meta, name)
}

// manageProjects lists the user's projects and pending invitations.
func (m *managePages) manageProjects(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	projects, invs, err := m.idx.MyProjects(r.Context(), p)
	if err != nil {
		m.s.fail(w, r, err)
		return
	}
	mine := make([]myProject, len(projects))
	for i, pr := range projects {
		mine[i] = myProject{UserProject: pr}
	}
	if m.md != nil && len(projects) > 0 {
		// The badges: the user's projects that are critical or opted in.
		mandated, err := m.md.MandatedProjects(r.Context(), p.User.ID)
		if err != nil {
			m.s.fail(w, r, err)
			return
		}
		byName := make(map[string]*store.Project, len(mandated))
		for _, m := range mandated {
			byName[m.NormalizedName] = m
		}
		for i := range mine {
			if mp := byName[mine[i].Normalized]; mp != nil {
				mine[i].Mandate = m.s.statusOf(mp)
			}
		}
	}
	m.s.render(w, r, http.StatusOK, "manage_projects", "Your projects", map[string]any{"Projects": mine, "Invitations": invs})
}

// myProject is a project of the user, with its badges.
type myProject struct {
	store.UserProject
	Mandate mandateStatus
}

// managedPage is what the pages of one project receive.
type managedPage struct {
	*index.ManagedProject
	Tab         string
	Newest      []*index.ReleaseView // newest first
	Release     *index.ReleaseView
	Events      []*store.Event
	Roles       []string
	Now         time.Time
	ProjectPath string
	// HoldNotice says why the project is held for review and what
	// happens next ("": it is not held).
	HoldNotice string
}

func (m *managePages) managedPage(w http.ResponseWriter, r *http.Request, tab string) (*managedPage, bool) {
	p := m.s.principal(w, r)
	if p == nil {
		return nil, false
	}
	mp, err := m.idx.Managed(r.Context(), p, r.PathValue("project"))
	if err != nil {
		m.s.fail(w, r, err)
		return nil, false
	}
	newest := slices.Clone(mp.Releases)
	slices.Reverse(newest)
	pg := &managedPage{ManagedProject: mp, Tab: tab, Newest: newest, Roles: []string{store.RoleOwner, store.RoleMaintainer},
		Now: time.Now(), ProjectPath: projectURL(mp.Project.Name)}
	if mp.Review != nil && mp.Review.Held {
		pg.HoldNotice = index.HoldNotice(mp.Review)
	}
	return pg, true
}

// manageProject is a project's overview: releases and settings.
func (m *managePages) manageProject(w http.ResponseWriter, r *http.Request) {
	if pg, ok := m.managedPage(w, r, "releases"); ok {
		m.s.render(w, r, http.StatusOK, "manage_project", "Manage "+pg.Project.Name, pg)
	}
}

// manageRelease lists a release's files.
func (m *managePages) manageRelease(w http.ResponseWriter, r *http.Request) {
	pg, ok := m.managedPage(w, r, "releases")
	if !ok {
		return
	}
	pg.Release = pg.ManagedProject.Release(r.PathValue("version"))
	if pg.Release == nil {
		m.s.renderError(w, r, http.StatusNotFound, "No release "+r.PathValue("version")+" of "+pg.Project.Name+".")
		return
	}
	m.s.render(w, r, http.StatusOK, "manage_release", "Manage "+pg.Project.Name+" "+pg.Release.Version, pg)
}

// manageCollaboration shows the collaborators and invitations.
func (m *managePages) manageCollaboration(w http.ResponseWriter, r *http.Request) {
	if pg, ok := m.managedPage(w, r, "collaboration"); ok {
		m.s.render(w, r, http.StatusOK, "manage_collaboration", "Collaborators of "+pg.Project.Name, pg)
	}
}

// manageHistory shows the project's security events.
func (m *managePages) manageHistory(w http.ResponseWriter, r *http.Request) {
	pg, ok := m.managedPage(w, r, "history")
	if !ok {
		return
	}
	p := &index.Principal{User: m.s.current(r).User}
	_, evs, err := m.idx.ProjectHistory(r.Context(), p, r.PathValue("project"), 200)
	if err != nil {
		m.s.fail(w, r, err)
		return
	}
	pg.Events = evs
	m.s.render(w, r, http.StatusOK, "manage_history", "Security history of "+pg.Project.Name, pg)
}
