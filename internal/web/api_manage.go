package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// manageAPI serves the JSON management API (/api/…): a project, its
// releases and roles, and the user's API tokens (api_manage.go); the
// project's trusted publishers and the user's pending ones
// (api_publishers.go).
type manageAPI struct {
	s   *Server // shared helpers: JSON errors
	idx *index.Service
}

// maxAPIBody bounds the JSON body of a management API request.
const maxAPIBody = 64 << 10

// apiHandler is a management API handler, called with who is acting.
type apiHandler func(w http.ResponseWriter, r *http.Request, p *index.Principal)

// api wraps a management API handler. A request with an Authorization
// header and no session cookie acts with its API token (Bearer, or Basic
// with the username __token__), which must have been created with the
// management scope (others only upload); it carries no ambient
// credential, so the form token does not apply. Any other request acts
// for the signed-in session, and must then send the form token in the
// X-CSRF-Token header unless it is a GET. Errors are JSON: {"message": ...}.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
		_, cookieErr := r.Cookie(s.cookieName(cookieSession))
		if r.Header.Get("Authorization") != "" && cookieErr != nil {
			token, err := s.credentials(r)
			if err != nil {
				s.apiFail(w, r, err)
				return
			}
			p, err := s.idx.AuthenticateToken(r.Context(), token, meta(r))
			if err != nil {
				s.apiFail(w, r, err)
				return
			}
			p.Meta = meta(r)
			// A read-only or upload-only token (every token made
			// without the management scope) stops here, whatever the
			// route.
			if err := s.idx.CheckWrite(r.Context(), p); err != nil {
				s.apiFail(w, r, err)
				return
			}
			if err := s.idx.CheckManage(r.Context(), p); err != nil {
				s.apiFail(w, r, err)
				return
			}
			if s.gateAPI(w, r, p.User) {
				h(w, r, p)
			}
			return
		}
		st := &uiState{w: w}
		r = r.WithContext(context.WithValue(r.Context(), uiKey{}, st))
		c := s.current(r)
		if c == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cheeseshop"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Authenticate with an API token (Authorization: Bearer <token>) or a signed-in session."})
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if !s.acct.CheckCSRF(s.binding(w, r, false), r.Header.Get(headerToken)) {
				writeJSON(w, http.StatusForbidden, map[string]string{"message": "Send the form token of a page of this site in the " + headerToken + " header."})
				return
			}
		}
		if s.gateAPI(w, r, c.User) {
			h(w, r, &index.Principal{User: c.User, Meta: meta(r), RecentAuth: s.acct.RecentlyAuthenticated(c, twofactor.ReauthWindow)})
		}
	})
}

// gateAPI refuses the management API to a user without two-factor
// authentication while a policy requires it; it returns false when it
// answered.
func (s *Server) gateAPI(w http.ResponseWriter, r *http.Request, u *store.User) bool {
	if s.tf == nil {
		return true
	}
	err := s.tf.MissingError(r.Context(), u)
	if err == nil {
		return true
	}
	if problem.KindOf(err) == 0 {
		s.apiFail(w, r, err)
		return false
	}
	writeJSON(w, http.StatusForbidden, map[string]string{"message": err.Error()})
	return false
}

// apiFail answers an error as JSON {"message"} with its status.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	s.logFailure(r, "management API", status, err)
	setRetryAfter(w, status, err)
	writeJSON(w, status, map[string]string{"message": userMessage(err, status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Internal server error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decode reads a JSON request body into v; an empty body leaves v as is.
func decode(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return &problem.Error{Kind: problem.Invalid, Message: "Invalid JSON body: " + err.Error()}
}

type apiRelease struct {
	Version      string   `json:"version"`
	Yanked       bool     `json:"yanked"`
	YankedReason string   `json:"yanked_reason"`
	Files        []string `json:"files"`
	CreatedAt    string   `json:"created"`
}

type apiCollaborator struct {
	Username string `json:"username"`
	Role     string `json:"role"`
}

type apiInvitation struct {
	Username  string `json:"username"`
	Role      string `json:"role"`
	InvitedBy string `json:"invited_by"`
	ExpiresAt string `json:"expires"`
	Expired   bool   `json:"expired"`
}

func roleDoc(m *index.ManagedProject) map[string]any {
	collabs := []apiCollaborator{}
	for _, c := range m.Collaborators {
		collabs = append(collabs, apiCollaborator{c.Username, c.Role})
	}
	invs := []apiInvitation{}
	now := time.Now()
	for _, i := range m.Invitations {
		invs = append(invs, apiInvitation{i.Username, i.Role, i.InvitedBy, i.ExpiresAt.Format(time.RFC3339), !now.Before(i.ExpiresAt)})
	}
	return map[string]any{"collaborators": collabs, "invitations": invs}
}

func projectDoc(m *index.ManagedProject) map[string]any {
	rels := []apiRelease{}
	for _, rv := range m.Releases {
		files := []string{}
		for _, f := range rv.Files {
			files = append(files, f.Filename)
		}
		rels = append(rels, apiRelease{rv.Version, rv.Yanked, rv.YankedReason, files, rv.CreatedAt.Format(time.RFC3339)})
	}
	doc := roleDoc(m)
	doc["name"], doc["role"], doc["releases"] = m.Project.Name, m.Role, rels
	doc["status"], doc["status_reason"] = m.Status(), m.Project.StatusReason
	doc["visibility"] = m.Project.Visibility
	return doc
}

// apiProject shows a project's releases and collaborators to one of them.
func (a *manageAPI) apiProject(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	m, err := a.idx.Managed(r.Context(), p, r.PathValue("project"))
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, projectDoc(m))
}

func (a *manageAPI) apiYank(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	if err := a.idx.Yank(r.Context(), p, p.Meta, r.PathValue("project"), r.PathValue("version"), body.Reason); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	a.apiProject(w, r, p)
}

func (a *manageAPI) apiUnyank(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	if err := a.idx.Unyank(r.Context(), p, p.Meta, r.PathValue("project"), r.PathValue("version")); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	a.apiProject(w, r, p)
}

// apiStatus sets the project's status (PEP 792) as an Owner: {"status":
// "archived" | "deprecated" | "active", "reason": "..."}.
func (a *manageAPI) apiStatus(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	var body struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	if err := a.idx.SetStatus(r.Context(), p, p.Meta, r.PathValue("project"), body.Status, body.Reason); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	a.apiProject(w, r, p)
}

// apiVisibility makes the project private or public as an Owner:
// {"visibility": "private" | "public"}.
func (a *manageAPI) apiVisibility(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	var body struct {
		Visibility string `json:"visibility"`
	}
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	if err := a.idx.SetVisibility(r.Context(), p, p.Meta, r.PathValue("project"), body.Visibility); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	a.apiProject(w, r, p)
}

func (a *manageAPI) apiRoles(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	m, err := a.idx.Managed(r.Context(), p, r.PathValue("project"))
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, roleDoc(m))
}

func (a *manageAPI) apiInvite(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	var body struct {
		Username string `json:"username"`
		Role     string `json:"role"`
	}
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	inv, err := a.idx.InviteCollaborator(r.Context(), p, p.Meta, r.PathValue("project"), body.Username, body.Role)
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiInvitation{inv.Username, inv.Role, inv.InvitedBy, inv.ExpiresAt.Format(time.RFC3339), false})
}

func (a *manageAPI) apiRemoveRole(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	user := r.PathValue("username")
	if err := a.idx.RemoveCollaborator(r.Context(), p, p.Meta, r.PathValue("project"), user); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": user + " removed."})
}

type apiToken struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Prefix   string   `json:"prefix"`
	Scope    string   `json:"scope"` // "all" or "projects"
	Projects []string `json:"projects"`
	// Manage is set on a token that may use this API; others only upload.
	Manage bool `json:"manage"`
	// ReadOnly is set on a token that only reads (installs).
	ReadOnly bool    `json:"read_only"`
	Created  string  `json:"created"`
	LastUsed *string `json:"last_used"`
	Expires  *string `json:"expires"`
	Token    string  `json:"token,omitempty"` // the secret, only when created
}

func tokenDoc(t *store.Token) apiToken {
	opt := func(at time.Time) *string {
		if at.IsZero() {
			return nil
		}
		s := at.Format(time.RFC3339)
		return &s
	}
	d := apiToken{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scope: "all", Projects: []string{}, Manage: t.CanManage, ReadOnly: t.ReadOnly, Created: t.CreatedAt.Format(time.RFC3339),
		LastUsed: opt(t.LastUsedAt), Expires: opt(t.ExpiresAt)}
	if t.Scoped {
		d.Scope = "projects"
		d.Projects = append(d.Projects, t.ProjectNames...)
	}
	return d
}

func (a *manageAPI) apiTokens(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	ts, err := a.idx.ListTokens(r.Context(), p)
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	out := []apiToken{}
	for _, t := range ts {
		out = append(out, tokenDoc(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (a *manageAPI) apiCreateToken(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	var body struct {
		Name          string   `json:"name"`
		Projects      []string `json:"projects"`
		ExpiresInDays int      `json:"expires_in_days"`
		Manage        bool     `json:"manage"`
		ReadOnly      bool     `json:"read_only"`
	}
	if err := decode(r, &body); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	days := ""
	if body.ExpiresInDays != 0 {
		days = strconv.Itoa(body.ExpiresInDays)
	}
	req, err := tokenRequest(body.Name, len(body.Projects) > 0, body.Projects, days)
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	req.Manage = body.Manage
	req.ReadOnly = body.ReadOnly
	nt, err := a.idx.CreateToken(r.Context(), p, p.Meta, req)
	if err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	d := tokenDoc(nt.Token)
	d.Token = nt.Secret
	writeJSON(w, http.StatusCreated, d)
}

func (a *manageAPI) apiRevokeToken(w http.ResponseWriter, r *http.Request, p *index.Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		a.s.apiFail(w, r, &problem.Error{Kind: problem.NotFound, Message: "No such API token."})
		return
	}
	if err := a.idx.RevokeToken(r.Context(), p, p.Meta, id); err != nil {
		a.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "API token revoked."})
}
