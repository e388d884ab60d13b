package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/store"
)

// apiSpec is a trusted publisher as the management API takes it: the
// JSON form of publish.Spec. Only the fields of its kind are read (and
// shown).
type apiSpec struct {
	Kind         string            `json:"kind"` // github, gitlab, google or generic
	Issuer       string            `json:"issuer,omitempty"`
	Owner        string            `json:"owner,omitempty"`
	OwnerID      string            `json:"owner_id,omitempty"`
	Repository   string            `json:"repository,omitempty"`
	Workflow     string            `json:"workflow,omitempty"`
	Instance     string            `json:"instance,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Project      string            `json:"project,omitempty"`
	CIConfigPath string            `json:"ci_config_path,omitempty"`
	Email        string            `json:"email,omitempty"`
	Subject      string            `json:"subject,omitempty"`
	Rules        map[string]string `json:"rules,omitempty"`
	Environment  string            `json:"environment,omitempty"`
}

func (b apiSpec) spec() publish.Spec {
	return publish.Spec{Kind: b.Kind, Issuer: b.Issuer, Owner: b.Owner, OwnerID: b.OwnerID, Repository: b.Repository, Workflow: b.Workflow,
		Instance: b.Instance, Namespace: b.Namespace, Project: b.Project, CIConfigPath: b.CIConfigPath, Email: b.Email, Subject: b.Subject,
		Rules: b.Rules, Environment: b.Environment}
}

// formSpec reads a publisher from a web form whose fields bear the JSON
// names of apiSpec; a generic publisher's rules are lines "claim=value"
// of the field rules.
func formSpec(f url.Values) (apiSpec, error) {
	b := apiSpec{Kind: f.Get("kind"), Issuer: f.Get("issuer"), Owner: f.Get("owner"), OwnerID: f.Get("owner_id"),
		Repository: f.Get("repository"), Workflow: f.Get("workflow"), Instance: f.Get("instance"), Namespace: f.Get("namespace"),
		Project: f.Get("project"), CIConfigPath: f.Get("ci_config_path"), Email: f.Get("email"), Subject: f.Get("subject"),
		Environment: f.Get("environment")}
	for line := range strings.Lines(f.Get("rules")) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			msg := "Give one claim rule a line, as claim=value."
			return b, &problem.Error{Kind: problem.Invalid, Message: msg, Fields: map[string]string{"rules": msg}}
		}
		if b.Rules == nil {
			b.Rules = map[string]string{}
		}
		b.Rules[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return b, nil
}

// apiPublisher is a trusted publisher as the management API shows it.
type apiPublisher struct {
	ID int64 `json:"id"`
	apiSpec
	// Description names the publisher for people (publish.Describe).
	Description string `json:"description"`
	// ProjectName is, for a pending publisher, the project it creates.
	ProjectName string `json:"project_name,omitempty"`
	Created     string `json:"created"`
}

func publisherDoc(p *store.Publisher) apiPublisher {
	d := apiPublisher{ID: p.ID, apiSpec: apiSpec{Kind: p.Kind, Issuer: p.Issuer, Owner: p.RepositoryOwner, OwnerID: p.RepositoryOwnerID,
		Repository: p.RepositoryName, Workflow: p.WorkflowFilename, Instance: p.Instance, Namespace: p.Namespace, Project: p.GitLabProject,
		CIConfigPath: p.CIConfigPath, Email: p.Email, Subject: p.Subject, Environment: p.Environment},
		Description: publish.Describe(p), ProjectName: p.PendingName, Created: p.CreatedAt.Format(time.RFC3339)}
	if p.ClaimRules != "" {
		_ = json.Unmarshal([]byte(p.ClaimRules), &d.Rules) // publish wrote it
	}
	return d
}

func publishersDoc(pubs []*store.Publisher) map[string]any {
	out := []apiPublisher{}
	for _, p := range pubs {
		out = append(out, publisherDoc(p))
	}
	return map[string]any{"publishers": out}
}

// publishing returns the trusted publishing service, or answers that
// trusted publishing is off and returns nil.
func (a *manageAPI) publishing(w http.ResponseWriter, r *http.Request) *publish.Service {
	if a.s.opts.Publish == nil {
		a.s.apiFail(w, r, &problem.Error{Kind: problem.NotFound, Message: "Trusted publishing is not enabled on this index."})
	}
	return a.s.opts.Publish
}

// publisherID parses the {id} of a publisher route.
func publisherID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, &problem.Error{Kind: problem.NotFound, Message: "No such trusted publisher: give its number."}
	}
	return id, nil
}

// apiPublishers lists a project's trusted publishers to its
// collaborators.
func (a *manageAPI) apiPublishers(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	svc := a.publishing(w, r)
	if svc == nil {
		return
	}
	pubs, err := svc.ListPublishers(r.Context(), p, r.PathValue("project"))
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, publishersDoc(pubs))
}

// apiAddPublisher adds a trusted publisher to a project: an Owner's
// session that re-authenticated lately, never an API token (a stolen
// token must not let its thief add a publisher of their own, as on
// PyPI, where only the web UI adds them).
func (a *manageAPI) apiAddPublisher(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	svc := a.publishing(w, r)
	if svc == nil {
		return
	}
	var body apiSpec
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	pub, err := svc.AddPublisher(r.Context(), p, p.Meta, r.PathValue("project"), body.spec())
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, publisherDoc(pub))
}

// apiRemovePublisher takes a trusted publisher from a project (the
// checks of apiAddPublisher).
func (a *manageAPI) apiRemovePublisher(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	svc := a.publishing(w, r)
	if svc == nil {
		return
	}
	id, err := publisherID(r)
	if err == nil {
		err = svc.RemovePublisher(r.Context(), p, p.Meta, r.PathValue("project"), id)
	}
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Trusted publisher removed."})
}

// apiPendingPublishers lists the pending publishers of the signed-in
// account.
func (a *manageAPI) apiPendingPublishers(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	svc := a.publishing(w, r)
	if svc == nil {
		return
	}
	pubs, err := svc.ListPending(r.Context(), p)
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, publishersDoc(pubs))
}

// apiAddPending adds a pending publisher, which creates the project
// named project_name on its first publish: {"project_name": ..., and a
// publisher's fields}.
func (a *manageAPI) apiAddPending(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	svc := a.publishing(w, r)
	if svc == nil {
		return
	}
	var body struct {
		ProjectName string `json:"project_name"`
		apiSpec
	}
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	pub, err := svc.AddPending(r.Context(), p, p.Meta, body.ProjectName, body.spec())
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, publisherDoc(pub))
}

// apiRemovePending removes one of the account's pending publishers.
func (a *manageAPI) apiRemovePending(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	svc := a.publishing(w, r)
	if svc == nil {
		return
	}
	id, err := publisherID(r)
	if err == nil {
		err = svc.RemovePending(r.Context(), p, p.Meta, id)
	}
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Pending trusted publisher removed."})
}
