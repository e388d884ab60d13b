package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

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

func (s *Server) acceptInvitation(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "You are now a collaborator on " + name + ".", to: projectURL(name), back: "/manage/projects/"}
	return o, s.idx.AcceptInvitation(r.Context(), p, p.Meta, name)
}

func (s *Server) declineInvitation(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "Invitation to " + name + " declined.", to: "/manage/projects/", back: "/manage/projects/"}
	return o, s.idx.DeclineInvitation(r.Context(), p, p.Meta, name)
}

func (s *Server) deleteProject(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "Project " + name + " deleted. Its name stays reserved.", to: "/manage/projects/", back: projectURL(name)}
	return o, s.idx.DeleteProject(r.Context(), p, p.Meta, name, r.PostFormValue("confirm_name"))
}

func (s *Server) setRequire2FA(r *http.Request, p *index.Principal) (outcome, error) {
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
	return outcome{msg: msg, to: projectURL(name) + "#two-factor", back: projectURL(name)}, s.idx.SetRequire2FA(r.Context(), p, p.Meta, name, on)
}

func (s *Server) yankRelease(r *http.Request, p *index.Principal) (outcome, error) {
	name, v := r.PathValue("project"), r.PathValue("version")
	o := outcome{msg: "Release " + v + " yanked.", to: projectURL(name), back: projectURL(name)}
	return o, s.idx.Yank(r.Context(), p, p.Meta, name, v, r.PostFormValue("reason"))
}

func (s *Server) unyankRelease(r *http.Request, p *index.Principal) (outcome, error) {
	name, v := r.PathValue("project"), r.PathValue("version")
	o := outcome{msg: "Release " + v + " un-yanked.", to: projectURL(name), back: projectURL(name)}
	return o, s.idx.Unyank(r.Context(), p, p.Meta, name, v)
}

func (s *Server) deleteRelease(r *http.Request, p *index.Principal) (outcome, error) {
	name, v := r.PathValue("project"), r.PathValue("version")
	o := outcome{msg: "Release " + v + " deleted. Its filenames can never be uploaded again.", to: projectURL(name), back: projectURL(name)}
	return o, s.idx.DeleteRelease(r.Context(), p, p.Meta, name, v)
}

func (s *Server) deleteFile(r *http.Request, p *index.Principal) (outcome, error) {
	name, v, fn := r.PathValue("project"), r.PathValue("version"), r.PostFormValue("filename")
	o := outcome{msg: "File " + fn + " deleted. Its filename can never be uploaded again.", to: releaseURL(name, v), back: releaseURL(name, v)}
	return o, s.idx.DeleteProjectFile(r.Context(), p, p.Meta, name, fn)
}

func (s *Server) inviteCollaborator(r *http.Request, p *index.Principal) (outcome, error) {
	name, user, role := r.PathValue("project"), strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("role")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: "Invitation sent to " + user + ".", to: back, back: back}
	_, err := s.idx.InviteCollaborator(r.Context(), p, p.Meta, name, user, role)
	return o, err
}

func (s *Server) revokeInvitation(r *http.Request, p *index.Principal) (outcome, error) {
	name, user := r.PathValue("project"), r.PostFormValue("username")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: "Invitation of " + user + " revoked.", to: back, back: back}
	return o, s.idx.RevokeInvitation(r.Context(), p, p.Meta, name, user)
}

func (s *Server) changeRole(r *http.Request, p *index.Principal) (outcome, error) {
	name, user, role := r.PathValue("project"), r.PostFormValue("username"), r.PostFormValue("role")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: "Role of " + user + " set to " + role + ".", to: back, back: back}
	return o, s.idx.ChangeRole(r.Context(), p, p.Meta, name, user, role)
}

func (s *Server) removeCollaborator(r *http.Request, p *index.Principal) (outcome, error) {
	name, user := r.PathValue("project"), r.PostFormValue("username")
	back := projectURL(name, "collaboration/")
	o := outcome{msg: user + " removed from " + name + ".", to: back, back: back}
	return o, s.idx.RemoveCollaborator(r.Context(), p, p.Meta, name, user)
}

func (s *Server) leaveProject(r *http.Request, p *index.Principal) (outcome, error) {
	name := r.PathValue("project")
	o := outcome{msg: "You left " + name + ".", to: "/manage/projects/", back: projectURL(name, "collaboration/")}
	return o, s.idx.LeaveProject(r.Context(), p, p.Meta, name)
}

func (s *Server) revokeToken(r *http.Request, p *index.Principal) (outcome, error) {
	o := outcome{msg: "API token revoked.", to: "/manage/account/tokens/", back: "/manage/account/tokens/"}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return o, &problem.Error{Kind: problem.NotFound, Message: "No such API token."}
	}
	return o, s.idx.RevokeToken(r.Context(), p, p.Meta, id)
}

// manageProjects lists the user's projects and pending invitations.
func (s *Server) manageProjects(w http.ResponseWriter, r *http.Request) {
	p := s.principal(w, r)
	if p == nil {
		return
	}
	projects, invs, err := s.idx.MyProjects(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mine := make([]myProject, len(projects))
	for i, pr := range projects {
		mine[i] = myProject{UserProject: pr}
	}
	if s.md != nil && len(projects) > 0 {
		// The badges: the user's projects that are critical or opted in.
		mandated, err := s.acct.Store().MandatedProjectsOf(r.Context(), p.User.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		byName := make(map[string]*store.Project, len(mandated))
		for _, m := range mandated {
			byName[m.NormalizedName] = m
		}
		for i := range mine {
			if m := byName[mine[i].Normalized]; m != nil {
				mine[i].Mandate = s.statusOf(m)
			}
		}
	}
	s.render(w, r, http.StatusOK, "manage_projects", "Your projects", map[string]any{"Projects": mine, "Invitations": invs})
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
}

func (s *Server) managedPage(w http.ResponseWriter, r *http.Request, tab string) (*managedPage, bool) {
	p := s.principal(w, r)
	if p == nil {
		return nil, false
	}
	m, err := s.idx.Managed(r.Context(), p, r.PathValue("project"))
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	newest := slices.Clone(m.Releases)
	slices.Reverse(newest)
	return &managedPage{ManagedProject: m, Tab: tab, Newest: newest, Roles: []string{store.RoleOwner, store.RoleMaintainer},
		Now: time.Now(), ProjectPath: projectURL(m.Project.Name)}, true
}

// manageProject is a project's overview: releases and settings.
func (s *Server) manageProject(w http.ResponseWriter, r *http.Request) {
	if pg, ok := s.managedPage(w, r, "releases"); ok {
		s.render(w, r, http.StatusOK, "manage_project", "Manage "+pg.Project.Name, pg)
	}
}

// manageRelease lists a release's files.
func (s *Server) manageRelease(w http.ResponseWriter, r *http.Request) {
	pg, ok := s.managedPage(w, r, "releases")
	if !ok {
		return
	}
	pg.Release = pg.ManagedProject.Release(r.PathValue("version"))
	if pg.Release == nil {
		s.renderError(w, r, http.StatusNotFound, "No release "+r.PathValue("version")+" of "+pg.Project.Name+".")
		return
	}
	s.render(w, r, http.StatusOK, "manage_release", "Manage "+pg.Project.Name+" "+pg.Release.Version, pg)
}

// manageCollaboration shows the collaborators and invitations.
func (s *Server) manageCollaboration(w http.ResponseWriter, r *http.Request) {
	if pg, ok := s.managedPage(w, r, "collaboration"); ok {
		s.render(w, r, http.StatusOK, "manage_collaboration", "Collaborators of "+pg.Project.Name, pg)
	}
}

// manageHistory shows the project's security events.
func (s *Server) manageHistory(w http.ResponseWriter, r *http.Request) {
	pg, ok := s.managedPage(w, r, "history")
	if !ok {
		return
	}
	p := &index.Principal{User: s.current(r).User}
	_, evs, err := s.idx.ProjectHistory(r.Context(), p, r.PathValue("project"), 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.Events = evs
	s.render(w, r, http.StatusOK, "manage_history", "Security history of "+pg.Project.Name, pg)
}

// tokensPage is what the API tokens page receives.
type tokensPage struct {
	Tokens   []*store.Token
	Projects []store.UserProject
	New      *index.NewToken // just created: its secret is shown this once
	Error    string
	Form     url.Values
	Now      time.Time
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, p *index.Principal, status int, pg *tokensPage) {
	var err error
	if pg.Tokens, err = s.idx.ListTokens(r.Context(), p); err != nil {
		s.fail(w, r, err)
		return
	}
	if pg.Projects, _, err = s.idx.MyProjects(r.Context(), p); err != nil {
		s.fail(w, r, err)
		return
	}
	if pg.Form == nil {
		pg.Form = url.Values{"scope": {"all"}}
	}
	pg.Now = time.Now()
	s.render(w, r, status, "manage_tokens", "API tokens", pg)
}

// manageTokens lists the user's API tokens with the form to create one.
func (s *Server) manageTokens(w http.ResponseWriter, r *http.Request) {
	if p := s.principal(w, r); p != nil {
		s.renderTokens(w, r, p, http.StatusOK, &tokensPage{})
	}
}

// createToken creates a token and shows its secret once, on this very
// response (never in a redirect target or a flash cookie).
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	p := s.principal(w, r)
	if p == nil {
		return
	}
	_ = r.ParseForm()
	req, err := tokenRequest(r.PostForm.Get("name"), r.PostForm.Get("scope") == "projects", r.PostForm["project"], r.PostForm.Get("expires_days"))
	req.Manage = r.PostForm.Get("manage") == "on"
	var nt *index.NewToken
	if err == nil {
		nt, err = s.idx.CreateToken(r.Context(), p, p.Meta, req)
	}
	if errors.Is(err, auth.ErrReauthRequired) {
		s.sendToReauth(w, r, "/manage/account/tokens/")
		return
	}
	if err != nil {
		if k := problem.KindOf(err); k == problem.Invalid || k == problem.Forbidden {
			s.renderTokens(w, r, p, statusOf(err), &tokensPage{Error: err.Error(), Form: r.PostForm})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.renderTokens(w, r, p, http.StatusOK, &tokensPage{New: nt})
}

// tokenRequest builds a token request from a form or a JSON body.
func tokenRequest(name string, scoped bool, projects []string, days string) (index.TokenRequest, error) {
	req := index.TokenRequest{Name: name}
	if scoped {
		for _, p := range projects {
			if p = strings.TrimSpace(p); p != "" {
				req.Projects = append(req.Projects, p)
			}
		}
		if len(req.Projects) == 0 {
			return req, &problem.Error{Kind: problem.Invalid, Message: "Select at least one project, or choose all projects."}
		}
	}
	if days = strings.TrimSpace(days); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > maxTokenDays {
			return req, &problem.Error{Kind: problem.Invalid, Message: "The expiry must be a number of days between 1 and " + strconv.Itoa(maxTokenDays) + ", or empty for none."}
		}
		t := time.Now().Add(time.Duration(n) * 24 * time.Hour)
		req.Expires = &t
	}
	return req, nil
}
