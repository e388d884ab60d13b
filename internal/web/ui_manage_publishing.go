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
	"cheeseshop/internal/problem"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/store"
)

// The "Publishing" pages of the web UI, as on PyPI: a project's trusted
// publishers (its Owners add and remove them) and the account's pending
// publishers, which create their project on their first publish. The
// forms take the fields of the management API (formSpec); the publish
// service enforces the Owner role, the two-factor mandate and a recent
// re-authentication, which these pages ask for by sending the browser to
// the re-authentication page.

// pendingPublishingURL is the account's page of pending publishers.
const pendingPublishingURL = "/manage/account/publishing/"

// publisherKind is a kind of trusted publisher the forms offer.
type publisherKind struct {
	Kind, Label string
	// Issuers name the issuers of this kind, the public one first: a
	// form offers the choice when there are several (a self-managed
	// GitLab, an operator's generic issuers).
	Issuers []string
	Fields  []publisherField
}

// publisherField is a field of a publisher form, named as in the
// management API.
type publisherField struct {
	Name, Label, Hint string
	Optional, Lines   bool // Lines: a text area
}

// publisherFields are the fields of each kind's form; selfManaged says
// whether the kind has issuers besides its public one.
func publisherFields(kind string, selfManaged bool) []publisherField {
	env := publisherField{Name: "environment", Label: "Environment", Optional: true, Hint: "release"}
	switch kind {
	case store.PublisherGitHub:
		return []publisherField{{Name: "owner", Label: "Owner", Hint: "the user or organization"}, {Name: "owner_id",
			Label: "Owner's numeric id", Hint: "\"id\" at https://api.github.com/users/<owner>"}, {Name: "repository", Label: "Repository name"},
			{Name: "workflow", Label: "Workflow file name", Hint: "release.yml"}, env}
	case store.PublisherGitLab:
		f := []publisherField{{Name: "namespace", Label: "Namespace", Hint: "the user or group, with its subgroups"},
			{Name: "project", Label: "Project name"}, {Name: "ci_config_path", Label: "CI configuration file path", Hint: ".gitlab-ci.yml"}, env}
		if selfManaged {
			f = append(f, publisherField{Name: "instance", Label: "Instance host name", Optional: true, Hint: "gitlab.com"})
		}
		return f
	case store.PublisherGoogle:
		return []publisherField{{Name: "email", Label: "Service account email"},
			{Name: "subject", Label: "Subject (the service account's unique id)", Optional: true}}
	}
	return []publisherField{{Name: "rules", Label: "Claims and the value each must have, one a line", Hint: "repository=org/project", Lines: true}}
}

// publisherRow is a publisher as the pages list it.
type publisherRow struct {
	ID          int64
	Description string // publish.Describe
	ProjectName string // a pending publisher's project
	Created     time.Time
}

// publishingView is what the publishing pages show besides the project.
type publishingView struct {
	formErrors
	Publishers []publisherRow
	Kinds      []publisherKind
	// Form is the refused post, shown again in the form of its kind.
	Form url.Values
	// Action is where the add forms post; a row's removal posts to
	// Base + its id + "/remove".
	Action, Base string
	Pending      bool // the account's pending publishers: forms ask the project's name
}

// publishingPage is a project's publishing page.
type publishingPage struct {
	*managedPage
	publishingView
}

// publisherKinds lists the kinds of publisher this index trusts, in
// PyPI's order, then the generic one (offered only when the operator
// configured a generic issuer).
func publisherKinds(svc *publish.Service) []publisherKind {
	byKind := map[string][]string{}
	for name, kind := range svc.Issuers() {
		byKind[kind] = append(byKind[kind], name)
	}
	var out []publisherKind
	for _, k := range []publisherKind{{Kind: store.PublisherGitHub, Label: "GitHub"}, {Kind: store.PublisherGitLab, Label: "GitLab"},
		{Kind: store.PublisherGoogle, Label: "Google"}, {Kind: store.PublisherGeneric, Label: "Other OIDC issuer"}} {
		names := byKind[k.Kind]
		if len(names) == 0 {
			continue
		}
		slices.SortFunc(names, func(a, b string) int {
			switch {
			case a == b:
				return 0
			case a == k.Kind: // the public issuer bears the kind's name
				return -1
			case b == k.Kind:
				return 1
			}
			return strings.Compare(a, b)
		})
		k.Issuers, k.Fields = names, publisherFields(k.Kind, len(names) > 1)
		out = append(out, k)
	}
	return out
}

func publisherRows(pubs []*store.Publisher) []publisherRow {
	rows := make([]publisherRow, len(pubs))
	for i, p := range pubs {
		rows[i] = publisherRow{ID: p.ID, Description: publish.Describe(p), ProjectName: p.PendingName, Created: p.CreatedAt}
	}
	return rows
}

// publishingRefusal reports whether err is a refusal to show on the form
// again (a wrong field, a publisher already there), with its status.
func publishingRefusal(err error) (int, formErrors, bool) {
	if status, fe, ok := formRefusal(err); ok {
		return status, fe, true
	}
	if problem.KindOf(err) == problem.Conflict {
		return statusOf(err), formErrors{Error: err.Error()}, true
	}
	return 0, formErrors{}, false
}

// managePublishing lists the project's trusted publishers, with the
// forms to add one (shown to Owners).
func (m *managePages) managePublishing(w http.ResponseWriter, r *http.Request) {
	if pg, ok := m.managedPage(w, r, "publishing"); ok {
		m.renderPublishing(w, r, http.StatusOK, pg, publishingView{})
	}
}

func (m *managePages) renderPublishing(w http.ResponseWriter, r *http.Request, status int, pg *managedPage, v publishingView) {
	svc := m.s.opts.Publish
	pubs, err := svc.ListPublishers(r.Context(), &index.Principal{User: m.s.current(r).User}, pg.Project.Name)
	if err != nil {
		m.s.fail(w, r, err)
		return
	}
	base := projectURL(pg.Project.Name, "publishing/")
	v.Publishers, v.Kinds, v.Action, v.Base = publisherRows(pubs), publisherKinds(svc), base+"add", base
	m.s.render(w, r, status, "manage_publishing", "Publishing of "+pg.Project.Name, &publishingPage{managedPage: pg, publishingView: v})
}

// addPublisher adds a trusted publisher to the project from the form.
func (m *managePages) addPublisher(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	_ = r.ParseForm()
	name := r.PathValue("project")
	back := projectURL(name, "publishing/")
	spec, err := formSpec(r.PostForm)
	if err == nil {
		_, err = m.s.opts.Publish.AddPublisher(r.Context(), p, p.Meta, name, spec.spec())
	}
	if err == nil {
		m.s.addFlash(w, r, "ok", "Trusted publisher added to "+name+".")
		redirect(w, r, back)
		return
	}
	m.publishingFailed(w, r, err, back, func(status int, fe formErrors) {
		if pg, ok := m.managedPage(w, r, "publishing"); ok {
			m.renderPublishing(w, r, status, pg, publishingView{formErrors: fe, Form: r.PostForm})
		}
	})
}

// removePublisher takes a trusted publisher from the project.
func (m *managePages) removePublisher(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	name := r.PathValue("project")
	back := projectURL(name, "publishing/")
	id, err := publisherID(r)
	if err == nil {
		err = m.s.opts.Publish.RemovePublisher(r.Context(), p, p.Meta, name, id)
	}
	if err == nil {
		m.s.addFlash(w, r, "ok", "Trusted publisher removed from "+name+".")
		redirect(w, r, back)
		return
	}
	m.publishingFailed(w, r, err, back, nil)
}

// publishingFailed answers a refused publishing post: a session that
// must re-authenticate is sent to do so, coming back to back; a refusal
// about the form is shown on it by again (when not nil); the rest are
// error pages.
func (m *managePages) publishingFailed(w http.ResponseWriter, r *http.Request, err error, back string, again func(int, formErrors)) {
	if errors.Is(err, auth.ErrReauthRequired) {
		m.s.sendToReauth(w, r, back)
		return
	}
	if status, fe, ok := publishingRefusal(err); ok && again != nil {
		again(status, fe)
		return
	}
	m.s.fail(w, r, err)
}

// managePending lists the account's pending publishers, with the forms
// to add one.
func (m *managePages) managePending(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	m.renderPending(w, r, p, http.StatusOK, publishingView{})
}

func (m *managePages) renderPending(w http.ResponseWriter, r *http.Request, p *index.Principal, status int, v publishingView) {
	svc := m.s.opts.Publish
	pubs, err := svc.ListPending(r.Context(), p)
	if err != nil {
		m.s.fail(w, r, err)
		return
	}
	v.Publishers, v.Kinds, v.Action, v.Base, v.Pending = publisherRows(pubs), publisherKinds(svc), pendingPublishingURL+"add", pendingPublishingURL, true
	m.s.render(w, r, status, "manage_pending_publishers", "Pending trusted publishers", &v)
}

// addPending adds a pending publisher from the form.
func (m *managePages) addPending(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	_ = r.ParseForm()
	spec, err := formSpec(r.PostForm)
	var pub *store.Publisher
	if err == nil {
		pub, err = m.s.opts.Publish.AddPending(r.Context(), p, p.Meta, r.PostForm.Get("project_name"), spec.spec())
	}
	if err == nil {
		m.s.addFlash(w, r, "ok", "Pending trusted publisher added: its first publish creates "+pub.PendingName+".")
		redirect(w, r, pendingPublishingURL)
		return
	}
	m.publishingFailed(w, r, err, pendingPublishingURL, func(status int, fe formErrors) {
		m.renderPending(w, r, p, status, publishingView{formErrors: fe, Form: r.PostForm})
	})
}

// removePending removes one of the account's pending publishers.
func (m *managePages) removePending(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	id, err := publisherID(r)
	if err == nil {
		err = m.s.opts.Publish.RemovePending(r.Context(), p, p.Meta, id)
	}
	if err == nil {
		m.s.addFlash(w, r, "ok", "Pending trusted publisher number "+strconv.FormatInt(id, 10)+" removed.")
		redirect(w, r, pendingPublishingURL)
		return
	}
	m.publishingFailed(w, r, err, pendingPublishingURL, nil)
}
