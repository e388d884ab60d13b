package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestManageCSRF checks that every management form and every unsafe API
// call made with a session cookie is refused without the form token,
// and changes nothing.
func TestManageCSRF(t *testing.T) {
	t.Parallel()
	forms := []struct {
		path string
		form url.Values
	}{
		{"/manage/project/guarded/invitation/accept", nil},
		{"/manage/project/guarded/invitation/decline", nil},
		{"/manage/project/guarded/delete", url.Values{"confirm_name": {"guarded"}}},
		{"/manage/project/guarded/release/1.0/yank", url.Values{"reason": {"x"}}},
		{"/manage/project/guarded/release/1.0/unyank", nil},
		{"/manage/project/guarded/release/1.0/delete", nil},
		{"/manage/project/guarded/release/2.0/file/delete", url.Values{"filename": {"guarded-2.0-py3-none-any.whl"}}},
		{"/manage/project/guarded/collaboration/invite", url.Values{"username": {"invitee"}, "role": {"Owner"}}},
		{"/manage/project/guarded/collaboration/revoke", url.Values{"username": {"invitee"}}},
		{"/manage/project/guarded/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Owner"}}},
		{"/manage/project/guarded/collaboration/remove", url.Values{"username": {"maintainer"}}},
		{"/manage/project/guarded/collaboration/leave", nil},
		{"/manage/account/tokens/", url.Values{"name": {"x"}, "scope": {"all"}}},
		{"/manage/account/tokens/1/revoke", nil},
		{"/manage/project/guarded/publishing/add", githubForm("guarded")},
		{"/manage/project/guarded/publishing/1/remove", nil},
		{"/manage/account/publishing/add", url.Values{"project_name": {"unguarded"}, "kind": {"github"}}},
		{"/manage/account/publishing/1/remove", nil},
	}
	apis := []struct{ method, path string }{
		{"POST", "/api/projects/guarded/releases/1.0/yank"},
		{"POST", "/api/projects/guarded/releases/1.0/unyank"},
		{"POST", "/api/projects/guarded/roles"},
		{"DELETE", "/api/projects/guarded/roles/maintainer"},
		{"POST", "/api/tokens"},
		{"DELETE", "/api/tokens/1"},
		{"POST", "/api/projects/guarded/publishers"},
		{"DELETE", "/api/projects/guarded/publishers/1"},
		{"POST", "/api/publishers/pending"},
		{"DELETE", "/api/publishers/pending/1"},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		tm := newTeam(t, newTestServer(t, d))
		tm.project(t, "guarded")
		tm.invite(t, "guarded", "invitee")
		for _, f := range forms {
			t.Run("form"+f.path, func(t *testing.T) {
				for _, who := range []string{"owner", "invitee"} {
					v := url.Values{"csrf_token": {""}}
					for k, vs := range f.form {
						v[k] = vs
					}
					if resp, _ := tm.browsers[who].post(f.path, v); resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s without a form token: status %d", who, resp.StatusCode)
					}
				}
			})
		}
		for _, a := range apis {
			t.Run("api "+a.method+" "+a.path, func(t *testing.T) {
				b := tm.browsers["owner"]
				req, _ := http.NewRequest(a.method, tm.s.URL+a.path, strings.NewReader(`{"reason":"x","username":"invitee","role":"Owner","name":"x"}`))
				req.Header.Set("Content-Type", "application/json")
				resp, body := b.do(req)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"message"`) {
					t.Errorf("session without X-CSRF-Token: %d %s", resp.StatusCode, body)
				}
			})
		}
		// Nothing changed.
		if tm.release(t, "guarded", "1.0") == nil || tm.release(t, "guarded", "1.0").Yanked || len(tm.release(t, "guarded", "2.0").Files) != 1 {
			t.Error("a release changed")
		}
		if tm.role(t, "guarded", "maintainer") != "Maintainer" || !tm.invited(t, "guarded", "invitee") || tm.role(t, "guarded", "invitee") != "" {
			t.Error("roles changed")
		}
		if ts, _ := tm.s.st.UserTokens(t.Context(), tm.users["owner"].ID); len(ts) != 2 { // the team's upload and management tokens
			t.Errorf("owner has %d tokens", len(ts))
		}
		if pubs, _ := tm.s.st.ProjectPublishers(t.Context(), mustProject(t, tm.s, "guarded").ID); len(pubs) != 0 {
			t.Errorf("guarded has %d trusted publishers", len(pubs))
		}
		if pubs, _ := tm.s.st.PendingPublishersOf(t.Context(), tm.users["owner"].ID); len(pubs) != 0 {
			t.Errorf("owner has %d pending publishers", len(pubs))
		}
		// With the header, a session may use the API.
		b := tm.browsers["owner"]
		req, _ := http.NewRequest("POST", tm.s.URL+"/api/projects/guarded/releases/1.0/yank", strings.NewReader(`{"reason":"x"}`))
		req.Header.Set(headerToken, b.csrf)
		if resp, body := b.do(req); resp.StatusCode != http.StatusOK {
			t.Errorf("session with X-CSRF-Token: %d %s", resp.StatusCode, body)
		}
	})
}
