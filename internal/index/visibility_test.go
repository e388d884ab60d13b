package index

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestSetVisibility: only an Owner or an administrator makes a project
// private (a Maintainer, a stranger and a token scoped elsewhere are
// refused); then only its collaborators and the administrators read it,
// its readers' project list names it and the list everybody reads does
// not; a file lookup carries the visibility; a new collaborator reads it
// at once, a removed one no more.
func TestSetVisibility(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		m := audit.Meta{IP: "192.0.2.7"}
		owner := f.user("owner")
		up := f.mustWheel(owner, disttest.Dist{Name: "widget", Version: "1.0"})
		f.mustWheel(owner, disttest.Dist{Name: "gadget", Version: "1.0"})
		maint, stranger := f.user("maint"), f.user("stranger")
		widget, err := f.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		storetest.Must(t, f.st.AddRole(ctx, widget.ID, maint.User.ID, store.RoleMaintainer, time.Now()))
		admin := f.user("admin")
		admin.User.IsAdmin = true
		scopedElsewhere := f.token(owner.User, true, "gadget")

		for name, c := range map[string]struct {
			p          *Principal
			visibility string
			want       problem.Kind
		}{
			"maintainer":        {maint, VisibilityPrivate, problem.Forbidden},
			"stranger":          {stranger, VisibilityPrivate, problem.Forbidden},
			"token scoped away": {scopedElsewhere, VisibilityPrivate, problem.Forbidden},
			"bad value":         {owner, "hidden", problem.Invalid},
		} {
			if err := f.svc.SetVisibility(ctx, c.p, m, "widget", c.visibility); problem.KindOf(err) != c.want {
				t.Errorf("%s: %v, want %v", name, err, c.want)
			}
		}
		// The readers of sessions are cached: they see the change at once.
		maintReader, err := f.svc.ReaderForUser(ctx, maint.User)
		storetest.Must(t, err)
		storetest.Must(t, f.svc.SetVisibility(ctx, owner, m, "Widget", VisibilityPrivate))
		storetest.Must(t, f.svc.SetVisibility(ctx, owner, m, "widget", VisibilityPrivate)) // no change

		widget, err = f.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		reader := func(p *Principal) *Reader {
			t.Helper()
			r, err := f.svc.ReaderForUser(ctx, p.User)
			storetest.Must(t, err)
			return r
		}
		maintReader = reader(maint)
		for name, c := range map[string]struct {
			r    *Reader
			want bool
		}{
			"owner":      {reader(owner), true},
			"maintainer": {maintReader, true},
			"admin":      {reader(admin), true},
			"stranger":   {reader(stranger), false},
			"anonymous":  {f.svc.Anonymous(), false},
		} {
			if got := f.svc.CanRead(c.r, widget); got != c.want {
				t.Errorf("%s reads private widget: %v, want %v", name, got, c.want)
			}
			root, err := f.svc.RootFor(ctx, c.r)
			storetest.Must(t, err)
			if body := string(root.HTML.Bytes()); strings.Contains(body, "widget") != c.want || !strings.Contains(body, "gadget") || root.Personal != c.want {
				t.Errorf("%s's project list (personal %v): %s", name, root.Personal, body)
			}
			if !c.want && !root.AnyPrivate {
				t.Errorf("%s's project list does not say some project is private", name)
			}
		}
		if f.svc.Shareable(widget) {
			t.Error("a private project's answers are shareable")
		}
		fe, err := f.svc.File(ctx, up.Filename)
		storetest.Must(t, err)
		if fe.Visibility != VisibilityPrivate || fe.ProjectName != "widget" || f.svc.CanReadFile(reader(stranger), fe) || !f.svc.CanReadFile(maintReader, fe) {
			t.Errorf("file entry %+v", fe)
		}

		// A removed collaborator reads it no more, at once.
		storetest.Must(t, f.svc.RemoveCollaborator(ctx, owner, m, "widget", "maint"))
		if f.svc.CanRead(reader(maint), widget) {
			t.Error("a removed Maintainer still reads the private project")
		}
		// An administrator makes it public again; the list is rebuilt at
		// once, however long its last build took.
		f.svc.cache.rootCost.Store(int64(time.Hour))
		storetest.Must(t, f.svc.SetVisibility(ctx, admin, m, "widget", VisibilityPublic))
		widget, err = f.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		root, err := f.svc.RootFor(ctx, f.svc.Anonymous())
		storetest.Must(t, err)
		if !f.svc.CanRead(reader(stranger), widget) || !strings.Contains(string(root.HTML.Bytes()), "widget") || root.AnyPrivate {
			t.Errorf("public again: root %s", root.HTML.Bytes())
		}
		evs, err := f.st.ProjectEvents(ctx, widget.ID, 50)
		storetest.Must(t, err)
		var private, public int
		for _, e := range evs {
			switch e.Tag {
			case audit.ProjectPrivate:
				private++
			case audit.ProjectPublic:
				public++
			}
		}
		if private != 1 || public != 1 {
			t.Errorf("events: %d private, %d public", private, public)
		}
	})
}

// TestVisibilityFollowsOtherReplicas: a project made private through
// another replica leaves this one's project list and file lookups, and
// this one's cached readers learn who reads it, once it read the journal.
func TestVisibilityFollowsOtherReplicas(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		a := newFixture(t, d, Config{})
		b := New(a.st, nil, Config{BaseURL: "http://index.test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		storetest.Must(t, a.svc.cache.startFollowing(ctx))
		owner := a.user("owner")
		up := a.mustWheel(owner, disttest.Dist{Name: "shared", Version: "1.0"})
		ownerReader, err := a.svc.ReaderForUser(ctx, owner.User)
		storetest.Must(t, err)
		if _, err := a.svc.File(ctx, up.Filename); err != nil {
			t.Fatal(err)
		}
		if root, err := a.svc.RootFor(ctx, a.svc.Anonymous()); err != nil || root.Projects != 1 {
			t.Fatalf("root %+v, %v", root, err)
		}

		storetest.Must(t, b.SetVisibility(ctx, nil, audit.Meta{}, "shared", VisibilityPrivate))
		storetest.Must(t, a.svc.cache.catchUp(ctx))
		a.svc.cache.rootCost.Store(int64(time.Hour)) // a visibility change is rebuilt at once all the same
		root, err := a.svc.RootFor(ctx, a.svc.Anonymous())
		storetest.Must(t, err)
		if root.Projects != 0 || !root.AnyPrivate {
			t.Errorf("root after the other replica made shared private: %+v", root)
		}
		fe, err := a.svc.File(ctx, up.Filename)
		storetest.Must(t, err)
		if fe.Visibility != VisibilityPrivate {
			t.Errorf("file entry after the other replica made shared private: %+v", fe)
		}
		page, err := a.svc.Cache().Project(ctx, "shared")
		storetest.Must(t, err)
		if a.svc.CanRead(a.svc.Anonymous(), page.View.Project) {
			t.Error("anonymous reads the project made private by another replica")
		}
		if a.svc.CanRead(ownerReader, page.View.Project) {
			t.Fatal("the reader cached before the change is stale: the test proves nothing")
		}
		ownerReader, err = a.svc.ReaderForUser(ctx, owner.User)
		storetest.Must(t, err)
		if !a.svc.CanRead(ownerReader, page.View.Project) {
			t.Error("the Owner does not read its project made private by another replica")
		}
	})
}

// TestPrivateNameNotToldToLookalikes: an upload under an ultranormalized
// collision with a private project is refused without naming it, since
// the uploader may not read it; a public one is named.
func TestPrivateNameNotToldToLookalikes(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		owner, other := f.user("owner"), f.user("other")
		f.mustWheel(owner, disttest.Dist{Name: "Secret.Tool", Version: "1.0"})
		f.mustWheel(owner, disttest.Dist{Name: "Open.Tool", Version: "1.0"})
		storetest.Must(t, f.svc.SetVisibility(ctx, owner, audit.Meta{}, "secret-tool", VisibilityPrivate))
		for name, want := range map[string]string{
			"secrettool": "too similar to an existing project. See",
			"opentool":   "too similar to an existing project ('Open.Tool')",
		} {
			_, err := f.uploadWheel(other, disttest.Dist{Name: name, Version: "1.0"})
			if err == nil || !strings.Contains(err.Error(), want) || (name == "secrettool" && strings.Contains(strings.ToLower(err.Error()), "secret.tool")) {
				t.Errorf("upload of %s: %v, want %q", name, err, want)
			}
		}
	})
}

// TestPrivateProjectNotToldToManagers: every management call about a
// private project, by anybody who may not read it (a stranger, a
// collaborator's token scoped to another project, a removed
// collaborator), is refused exactly as the same call about a project that
// does not exist (the same kind and message, for the name as spelled),
// never "you are not a collaborator on it", which would confirm it.
func TestPrivateProjectNotToldToManagers(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		m := audit.Meta{}
		owner := f.user("owner")
		up := f.mustWheel(owner, disttest.Dist{Name: "Widget", Version: "1.0"})
		f.mustWheel(owner, disttest.Dist{Name: "gadget", Version: "1.0"})
		removed := f.user("removed")
		widget, err := f.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		storetest.Must(t, f.st.AddRole(ctx, widget.ID, removed.User.ID, store.RoleOwner, time.Now()))
		scopedAway := f.token(removed.User, true, "gadget")
		storetest.Must(t, f.svc.SetVisibility(ctx, owner, m, "widget", VisibilityPrivate))
		storetest.Must(t, f.svc.RemoveCollaborator(ctx, owner, m, "widget", "removed"))
		stranger := f.user("stranger")
		calls := map[string]func(p *Principal, project, file string) error{
			"managed": func(p *Principal, project, _ string) error { _, err := f.svc.Managed(ctx, p, project); return err },
			"history": func(p *Principal, project, _ string) error {
				_, _, err := f.svc.ProjectHistory(ctx, p, project, 10)
				return err
			},
			"publishers": func(p *Principal, project, _ string) error {
				_, err := f.svc.CollaboratorProject(ctx, p, project)
				return err
			},
			"visibility": func(p *Principal, project, _ string) error {
				return f.svc.SetVisibility(ctx, p, m, project, VisibilityPublic)
			},
			"status": func(p *Principal, project, _ string) error {
				return f.svc.SetStatus(ctx, p, m, project, "archived", "")
			},
			"yank": func(p *Principal, project, _ string) error { return f.svc.Yank(ctx, p, m, project, "1.0", "") },
			"invite": func(p *Principal, project, _ string) error {
				_, err := f.svc.InviteCollaborator(ctx, p, m, project, "owner", store.RoleOwner)
				return err
			},
			"accept": func(p *Principal, project, _ string) error { return f.svc.AcceptInvitation(ctx, p, m, project) },
			"leave":  func(p *Principal, project, _ string) error { return f.svc.LeaveProject(ctx, p, m, project) },
			"remove": func(p *Principal, project, _ string) error {
				return f.svc.RemoveCollaborator(ctx, p, m, project, "owner")
			},
			"delete file": func(p *Principal, project, file string) error {
				return f.svc.DeleteProjectFile(ctx, p, m, project, file)
			},
			"scoped token": func(p *Principal, project, _ string) error {
				u := *p.User
				u.EmailVerified = true
				session := &Principal{User: &u, RecentAuth: true} // tokens are made in a session
				_, err := f.svc.CreateToken(ctx, session, m, TokenRequest{Name: "ci", Projects: []string{project}})
				return err
			},
		}
		// An invitee of the private project answers its invitation.
		iu := &store.User{Username: "invitee", Email: "invitee@example.org", PasswordHash: "!", EmailVerified: true, CreatedAt: time.Now()}
		storetest.Must(t, f.st.CreateUser(ctx, iu))
		invitee := &Principal{User: iu}
		for _, accept := range []bool{false, true} {
			_, err := f.svc.InviteCollaborator(ctx, owner, m, "widget", "invitee", store.RoleMaintainer)
			storetest.Must(t, err)
			answer := f.svc.DeclineInvitation
			if accept {
				answer = f.svc.AcceptInvitation
			}
			if err := answer(ctx, invitee, m, "WIDGET"); err != nil {
				t.Errorf("the invitee answers (accept %v): %v", accept, err)
			}
		}
		const unknownFile = "nosuch-1.0-py3-none-any.whl"
		for who, p := range map[string]*Principal{"stranger": stranger, "token scoped away": scopedAway, "removed collaborator": removed} {
			for name, call := range calls {
				hidden := call(p, "WIDGET", up.Filename)
				unknown := call(p, "NOSUCH", unknownFile)
				got := strings.NewReplacer("WIDGET", "X", up.Filename, "F").Replace(problem.MessageOf(hidden))
				want := strings.NewReplacer("NOSUCH", "X", unknownFile, "F").Replace(problem.MessageOf(unknown))
				if hidden == nil || problem.KindOf(hidden) != problem.KindOf(unknown) || got != want {
					t.Errorf("%s by %s: %v (%v), want as an unknown project: %v (%v)", name, who, hidden, problem.KindOf(hidden), unknown, problem.KindOf(unknown))
				}
			}
		}
	})
}

// TestPrivateProjectUploadRefusal: an upload to a private project by
// somebody who may not read it never spells the project's name (only the
// name as given), and a scoped token (a stranger's, a collaborator's
// scoped to another project, a trusted publisher's of another project)
// is refused exactly as for a name that does not exist.
func TestPrivateProjectUploadRefusal(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		owner, stranger := f.user("owner"), f.user("stranger")
		f.mustWheel(owner, disttest.Dist{Name: "Secret.Tool", Version: "1.0"})
		f.mustWheel(owner, disttest.Dist{Name: "gadget", Version: "1.0"})
		f.mustWheel(stranger, disttest.Dist{Name: "mine", Version: "1.0"})
		storetest.Must(t, f.svc.SetVisibility(ctx, owner, audit.Meta{}, "secret-tool", VisibilityPrivate))
		gadget, err := f.st.ProjectByName(ctx, "gadget")
		storetest.Must(t, err)
		pub := &store.Publisher{Kind: store.PublisherGitHub, Issuer: "github", RepositoryOwner: "o", RepositoryName: "r",
			WorkflowFilename: "release.yml", Lookup: "l", Identity: "i", CreatedAt: time.Now()}
		storetest.Must(t, f.st.AddPublisher(ctx, pub))
		storetest.Must(t, f.st.LinkPublisher(ctx, pub.ID, gadget.ID, time.Now()))
		publisher := &Principal{Token: &store.Token{ID: -1, PublisherID: pub.ID, Name: "ci", Scoped: true}}

		_, err = f.uploadWheel(stranger, disttest.Dist{Name: "secret-tool", Version: "2.0"})
		if problem.KindOf(err) != problem.Forbidden || strings.Contains(err.Error(), "Secret.Tool") || !strings.Contains(err.Error(), "'secret-tool'") {
			t.Errorf("upload by a stranger: %v", err)
		}
		for who, p := range map[string]*Principal{
			"stranger's scoped token":         f.token(stranger.User, true, "mine"),
			"owner's token scoped to another": f.token(owner.User, true, "gadget"),
			"publisher of another project":    publisher,
		} {
			_, hidden := f.uploadWheel(p, disttest.Dist{Name: "secret-tool", Version: "2.0"})
			_, unknown := f.uploadWheel(p, disttest.Dist{Name: "nosuch-tool", Version: "2.0"})
			if hidden == nil || problem.KindOf(hidden) != problem.KindOf(unknown) ||
				strings.ReplaceAll(hidden.Error(), "secret-tool", "X") != strings.ReplaceAll(unknown.Error(), "nosuch-tool", "X") {
				t.Errorf("upload by %s: %v, want as a new name: %v", who, hidden, unknown)
			}
		}
	})
}

// TestPrivateProjectNoLookalikeTarget: a private project among the
// protected names (its downloads rank it) is no look-alike target for an
// uploader who may not read it: holding the new project would tell its
// uploader the private name (the upload's answer, the email, the
// project's page and history). The new project is created as one that
// resembles nothing.
func TestPrivateProjectNoLookalikeTarget(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		check := func(_ context.Context, name string) (*NameMatch, error) {
			if strings.ToLower(name) == "secret-toool" {
				return &NameMatch{Target: "secret-tool", TargetRank: 1, Kind: "repetition"}, nil
			}
			return nil, nil
		}
		f := newFixture(t, d, Config{NameCheck: check, LookalikePolicy: LookalikeHold})
		owner, stranger := f.user("owner"), f.user("stranger")
		f.mustWheel(owner, disttest.Dist{Name: "secret-tool", Version: "1.0"})
		storetest.Must(t, f.svc.SetVisibility(ctx, owner, audit.Meta{}, "secret-tool", VisibilityPrivate))
		res, err := f.uploadWheel(stranger, disttest.Dist{Name: "secret-toool", Version: "1.0"})
		if err != nil || res.Review != nil {
			t.Fatalf("look-alike of a private project by a stranger: %v, review %+v", err, res.Review)
		}
		proj, err := f.st.ProjectByName(ctx, "secret-toool")
		storetest.Must(t, err)
		evs, err := f.st.ProjectEvents(ctx, proj.ID, 50)
		storetest.Must(t, err)
		for _, e := range evs {
			if strings.Contains(e.Details, "secret-tool\"") {
				t.Errorf("the new project's history names the private project: %s %s", e.Tag, e.Details)
			}
		}
	})
}
