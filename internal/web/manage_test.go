package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

const managePassword = "correct horse battery staple"

// team is a project's cast: its Owner, a Maintainer, a stranger and an
// invitee, each with a signed-in browser, an upload-only API token and
// an API token with the management scope.
type team struct {
	s            *testServer
	users        map[string]*store.User
	browsers     map[string]*browser
	tokens       map[string]string // upload-only
	manageTokens map[string]string
	cases        int // the cases given a project of their own (caseProject)
}

func newTeam(t *testing.T, s *testServer) *team {
	t.Helper()
	tm := &team{s: s, users: map[string]*store.User{}, browsers: map[string]*browser{}, tokens: map[string]string{}, manageTokens: map[string]string{}}
	for _, name := range []string{"owner", "maintainer", "stranger", "invitee"} {
		tm.users[name] = s.userWithPassword(name, managePassword)
		tm.tokens[name] = s.token(tm.users[name])
		tm.manageTokens[name] = s.manageToken(tm.users[name])
		b := s.browser(t)
		b.login(name, managePassword)
		b.get("/manage/projects/") // the session's form token
		tm.browsers[name] = b
	}
	return tm
}

// project publishes a project (1.0 wheel and sdist, 2.0 wheel) owned by
// owner, with maintainer as Maintainer.
func (tm *team) project(t *testing.T, name string) {
	t.Helper()
	for _, d := range []struct {
		v     string
		sdist bool
	}{{"1.0", false}, {"1.0", true}, {"2.0", false}} {
		tm.s.uploadDist(tm.tokens["owner"], disttest.Dist{Name: name, Version: d.v}, d.sdist)
	}
	ctx := context.Background()
	proj, err := tm.s.st.ProjectByName(ctx, name)
	storetest.Must(t, err)
	storetest.Must(t, tm.s.st.AddRole(ctx, proj.ID, tm.users["maintainer"].ID, store.RoleMaintainer, proj.CreatedAt))
}

// caseProject publishes a project of one case's own (project), named
// prefix and a number, and runs the case's setup on it if any.
func (tm *team) caseProject(t *testing.T, prefix string, setup func(t *testing.T, tm *team, p string)) string {
	t.Helper()
	tm.cases++
	p := fmt.Sprintf("%s%d", prefix, tm.cases)
	tm.project(t, p)
	if setup != nil {
		setup(t, tm, p)
	}
	return p
}

// api sends a management API request with who's management token.
func (tm *team) api(t *testing.T, who, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return tm.s.apiRequest(t, tm.manageTokens[who], method, path, body)
}

// apiRequest sends a management API request with a token.
func (s *testServer) apiRequest(t *testing.T, token, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, jsonBody(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return s.do(req)
}

// sessionAPI sends a management API request as the browser's signed-in
// session does from a page: with the page's form token in X-CSRF-Token.
func (b *browser) sessionAPI(method, path string, body any) (*http.Response, string) {
	b.t.Helper()
	if b.csrf == "" {
		b.get("/manage/projects/")
	}
	req, _ := http.NewRequest(method, b.s.URL+path, jsonBody(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// jsonBody is body as JSON (nil: empty).
func jsonBody(body any) *strings.Reader {
	if body == nil {
		return strings.NewReader("")
	}
	b, _ := json.Marshal(body)
	return strings.NewReader(string(b))
}

func (tm *team) release(t *testing.T, project, version string) *index.ReleaseView {
	t.Helper()
	v, err := tm.s.idx.LoadProject(context.Background(), project)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	storetest.Must(t, err)
	return v.Release(version)
}

func (tm *team) role(t *testing.T, project, who string) string {
	t.Helper()
	ctx := context.Background()
	proj, err := tm.s.st.ProjectByName(ctx, project)
	storetest.Must(t, err)
	role, err := tm.s.st.RoleOf(ctx, proj.ID, tm.users[who].ID)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	storetest.Must(t, err)
	return role
}

func (tm *team) invited(t *testing.T, project, who string) bool {
	t.Helper()
	ctx := context.Background()
	proj, err := tm.s.st.ProjectByName(ctx, project)
	storetest.Must(t, err)
	_, err = tm.s.st.InvitationOf(ctx, proj.ID, tm.users[who].ID)
	return err == nil
}

func (tm *team) invite(t *testing.T, project, who string) {
	t.Helper()
	p := &index.Principal{User: tm.users["owner"]}
	if _, err := tm.s.idx.InviteCollaborator(context.Background(), p, p.Meta, project, who, store.RoleMaintainer); err != nil {
		t.Fatal(err)
	}
}

// TestManagePermissions drives every management action, through the web
// forms and the JSON API, as each role, and checks who may do what.
func TestManagePermissions(t *testing.T) {
	t.Parallel()
	type action struct {
		name   string
		api    bool
		setup  func(t *testing.T, tm *team, p string)
		do     func(t *testing.T, tm *team, who, p string) int
		done   func(t *testing.T, tm *team, p string) bool // nil: no lasting effect to check
		public bool                                        // maintainers may do it too
	}
	form := func(path string, vals url.Values) func(t *testing.T, tm *team, who, p string) int {
		return func(t *testing.T, tm *team, who, p string) int {
			v := url.Values{}
			for k, vs := range vals {
				v[k] = vs
			}
			if v.Get("confirm_name") == "*" {
				v.Set("confirm_name", p)
			}
			resp, _ := tm.browsers[who].post(strings.ReplaceAll(path, "{p}", p), v)
			return resp.StatusCode
		}
	}
	page := func(path string) func(t *testing.T, tm *team, who, p string) int {
		return func(t *testing.T, tm *team, who, p string) int {
			resp, _ := tm.browsers[who].get(strings.ReplaceAll(path, "{p}", p))
			return resp.StatusCode
		}
	}
	call := func(method, path string, body any) func(t *testing.T, tm *team, who, p string) int {
		return func(t *testing.T, tm *team, who, p string) int {
			resp, _ := tm.api(t, who, method, strings.ReplaceAll(path, "{p}", p), body)
			return resp.StatusCode
		}
	}
	yanked := func(t *testing.T, tm *team, p string) bool { return tm.release(t, p, "1.0").Yanked }
	yank := func(t *testing.T, tm *team, p string) {
		o := &index.Principal{User: tm.users["owner"]}
		storetest.Must(t, tm.s.idx.Yank(context.Background(), o, o.Meta, p, "1.0", "bad"))
	}
	actions := []action{
		{name: "view project page", do: page("/manage/project/{p}/"), public: true},
		{name: "view release page", do: page("/manage/project/{p}/release/1.0/"), public: true},
		{name: "view collaboration page", do: page("/manage/project/{p}/collaboration/"), public: true},
		{name: "view history page", do: page("/manage/project/{p}/history/"), public: true},
		{name: "yank", do: form("/manage/project/{p}/release/1.0/yank", url.Values{"reason": {"broken"}}), done: yanked},
		{name: "unyank", setup: yank, do: form("/manage/project/{p}/release/1.0/unyank", nil),
			done: func(t *testing.T, tm *team, p string) bool { return !yanked(t, tm, p) }},
		{name: "delete file", do: func(t *testing.T, tm *team, who, p string) int {
			return form("/manage/project/{p}/release/2.0/file/delete", url.Values{"filename": {disttest.Dist{Name: p, Version: "2.0"}.WheelFilename()}})(t, tm, who, p)
		}, done: func(t *testing.T, tm *team, p string) bool { return len(tm.release(t, p, "2.0").Files) == 0 }},
		{name: "delete release", do: form("/manage/project/{p}/release/1.0/delete", nil),
			done: func(t *testing.T, tm *team, p string) bool { return tm.release(t, p, "1.0") == nil }},
		{name: "delete project", do: form("/manage/project/{p}/delete", url.Values{"confirm_name": {"*"}}),
			done: func(t *testing.T, tm *team, p string) bool {
				_, err := tm.s.st.ProjectByName(context.Background(), p)
				return errors.Is(err, store.ErrNotFound)
			}},
		{name: "invite", do: form("/manage/project/{p}/collaboration/invite", url.Values{"username": {"invitee"}, "role": {"Owner"}}),
			done: func(t *testing.T, tm *team, p string) bool { return tm.invited(t, p, "invitee") }},
		{name: "revoke invitation", setup: func(t *testing.T, tm *team, p string) { tm.invite(t, p, "invitee") },
			do:   form("/manage/project/{p}/collaboration/revoke", url.Values{"username": {"invitee"}}),
			done: func(t *testing.T, tm *team, p string) bool { return !tm.invited(t, p, "invitee") }},
		{name: "change role", do: form("/manage/project/{p}/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Owner"}}),
			done: func(t *testing.T, tm *team, p string) bool { return tm.role(t, p, "maintainer") == store.RoleOwner }},
		{name: "remove collaborator", do: form("/manage/project/{p}/collaboration/remove", url.Values{"username": {"maintainer"}}),
			done: func(t *testing.T, tm *team, p string) bool { return tm.role(t, p, "maintainer") == "" }},
		{name: "api: get project", api: true, do: call("GET", "/api/projects/{p}/", nil), public: true},
		{name: "api: get roles", api: true, do: call("GET", "/api/projects/{p}/roles", nil), public: true},
		{name: "api: yank", api: true, do: call("POST", "/api/projects/{p}/releases/1.0/yank", map[string]string{"reason": "broken"}), done: yanked},
		{name: "api: unyank", api: true, setup: yank, do: call("POST", "/api/projects/{p}/releases/1.0/unyank", nil),
			done: func(t *testing.T, tm *team, p string) bool { return !yanked(t, tm, p) }},
		{name: "api: invite", api: true, do: call("POST", "/api/projects/{p}/roles", map[string]string{"username": "invitee", "role": "Maintainer"}),
			done: func(t *testing.T, tm *team, p string) bool { return tm.invited(t, p, "invitee") }},
		{name: "api: remove role", api: true, do: call("DELETE", "/api/projects/{p}/roles/maintainer", nil),
			done: func(t *testing.T, tm *team, p string) bool { return tm.role(t, p, "maintainer") == "" }},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		for _, a := range actions {
			for _, who := range []string{"owner", "maintainer", "stranger"} {
				allowed := who == "owner" || (who == "maintainer" && a.public)
				t.Run(a.name+"/"+who, func(t *testing.T) {
					p := tm.caseProject(t, "perm", a.setup)
					got := a.do(t, tm, who, p)
					want := map[bool]int{true: http.StatusSeeOther, false: http.StatusForbidden}[allowed]
					if a.public || a.api {
						want = map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[allowed]
					}
					if a.api && allowed && strings.Contains(a.name, "invite") {
						want = http.StatusCreated
					}
					if got != want {
						t.Fatalf("status %d, want %d", got, want)
					}
					if a.done != nil && a.done(t, tm, p) != allowed {
						t.Fatalf("effect happened = %v, want %v", !allowed, allowed)
					}
				})
			}
		}
	})
}
