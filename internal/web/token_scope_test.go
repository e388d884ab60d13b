package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// apiRoute is a request on a route of the management API, about project
// {p} (a project of the team's owner).
type apiRoute struct {
	method, path string
	body         any
}

// apiRoutes lists every route of the management API, by its pattern as
// registered. A route added under /api/ without a row here fails
// TestTokenScopeRoutes.
func apiRoutes() map[string]apiRoute {
	return map[string]apiRoute{
		"GET /api/projects/{project}/{$}":                        {"GET", "/api/projects/{p}/", nil},
		"POST /api/projects/{project}/releases/{version}/yank":   {"POST", "/api/projects/{p}/releases/1.0/yank", map[string]string{"reason": "pwned"}},
		"POST /api/projects/{project}/releases/{version}/unyank": {"POST", "/api/projects/{p}/releases/1.0/unyank", nil},
		"POST /api/projects/{project}/status":                    {"POST", "/api/projects/{p}/status", map[string]string{"status": "archived"}},
		"POST /api/projects/{project}/visibility":                {"POST", "/api/projects/{p}/visibility", map[string]string{"visibility": "private"}},
		"GET /api/projects/{project}/roles":                      {"GET", "/api/projects/{p}/roles", nil},
		"POST /api/projects/{project}/roles":                     {"POST", "/api/projects/{p}/roles", map[string]string{"username": "stranger", "role": "Owner"}},
		"DELETE /api/projects/{project}/roles/{username}":        {"DELETE", "/api/projects/{p}/roles/maintainer", nil},
		"GET /api/projects/{project}/publishers":                 {"GET", "/api/projects/{p}/publishers", nil},
		"POST /api/projects/{project}/publishers":                {"POST", "/api/projects/{p}/publishers", githubSpec("mallory")},
		"DELETE /api/projects/{project}/publishers/{id}":         {"DELETE", "/api/projects/{p}/publishers/1", nil},
		"GET /api/publishers/pending":                            {"GET", "/api/publishers/pending", nil},
		"POST /api/publishers/pending":                           {"POST", "/api/publishers/pending", pendingSpec("squat", "mallory")},
		"DELETE /api/publishers/pending/{id}":                    {"DELETE", "/api/publishers/pending/1", nil},
		"GET /api/tokens":                                        {"GET", "/api/tokens", nil},
		"POST /api/tokens":                                       {"POST", "/api/tokens", map[string]any{"name": "minted", "manage": true}},
		"DELETE /api/tokens/{id}":                                {"DELETE", "/api/tokens/{id}", nil},
	}
}

// TestTokenScopeRoutes is the attack of a leaked API token on the
// management API, over HTTP: a token made without the management scope
// (every token made before it existed) is refused every route of the
// management API with a message saying it is upload-only, whether it is
// for all the user's projects or scoped to the project, and changes
// nothing; no token, even one with the management scope, creates, lists
// or revokes tokens; and tokens act on no page of the web UI.
func TestTokenScopeRoutes(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		ctx := context.Background()
		tm.project(t, "target")
		owner := tm.users["owner"]
		scopedUpload := s.token(owner, "target")
		scopedManage := s.manageToken(owner, "target")
		victim, err := s.st.UserTokens(ctx, owner.ID)
		storetest.Must(t, err)
		expand := func(r apiRoute) string {
			return strings.NewReplacer("{p}", "target", "{id}", fmt.Sprint(victim[0].ID)).Replace(r.path)
		}

		// Every route of the management API has its row.
		routes := apiRoutes()
		registered := map[string]bool{}
		for _, p := range s.srv.patterns {
			_, path, _ := strings.Cut(p, " ")
			if !strings.HasPrefix(path, "/api/") {
				continue
			}
			registered[p] = true
			if _, ok := routes[p]; !ok {
				t.Errorf("management API route %q is not in apiRoutes: add it, so that upload-only tokens are proven refused", p)
			}
		}
		for p := range routes {
			if !registered[p] {
				t.Errorf("apiRoutes lists %q, which the server does not register", p)
			}
		}

		for pattern, r := range routes {
			for name, tok := range map[string]string{"upload-only token for all projects": tm.tokens["owner"], "upload-only token scoped to the project": scopedUpload} {
				t.Run(pattern+"/"+name, func(t *testing.T) {
					resp, body := s.apiRequest(t, tok, r.method, expand(r), r.body)
					var out struct{ Message string }
					_ = json.Unmarshal(body, &out)
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(out.Message, "upload-only") {
						t.Fatalf("%d %s, want 403 saying the token is upload-only", resp.StatusCode, body)
					}
				})
			}
			if !strings.HasPrefix(r.path, "/api/tokens") {
				continue
			}
			for name, tok := range map[string]string{"management token for all projects": tm.manageTokens["owner"], "management token scoped to the project": scopedManage} {
				t.Run(pattern+"/"+name, func(t *testing.T) {
					resp, body := s.apiRequest(t, tok, r.method, expand(r), r.body)
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "API tokens cannot create, list or revoke API tokens") {
						t.Fatalf("%d %s, want 403: no token handles tokens", resp.StatusCode, body)
					}
				})
			}
		}
		// Nothing changed.
		if rel := tm.release(t, "target", "1.0"); rel.Yanked {
			t.Error("an upload-only token yanked a release")
		}
		if tm.invited(t, "target", "stranger") || tm.role(t, "target", "maintainer") != store.RoleMaintainer {
			t.Error("an upload-only token changed the collaborators")
		}
		if !hasEvent(t, s.st, owner.ID, audit.TokenRefused) {
			t.Error("the refused attempts are not in the owner's security history")
		}
		after, err := s.st.UserTokens(ctx, owner.ID)
		storetest.Must(t, err)
		if len(after) != len(victim) {
			t.Errorf("tokens minted or revoked through tokens: %d before, %d after", len(victim), len(after))
		}
		// Upload-only tokens still upload; management tokens manage.
		mustUpload := func(tok, v string) {
			t.Helper()
			if status, msg := tryUpload(s, tok, "target", v); status != http.StatusOK {
				t.Errorf("upload with an upload-only token: %d %s", status, msg)
			}
		}
		mustUpload(tm.tokens["owner"], "5.0")
		mustUpload(scopedUpload, "5.1")
		if resp, body := s.apiRequest(t, scopedManage, "POST", "/api/projects/target/releases/1.0/yank", map[string]string{"reason": "ok"}); resp.StatusCode != http.StatusOK {
			t.Errorf("yank with a management token: %d %s", resp.StatusCode, body)
		}

		// A token acts on no page of the web UI: without the session
		// cookie and the form token, every write route is refused.
		for _, p := range s.srv.patterns {
			method, path, _ := strings.Cut(p, " ")
			if method == http.MethodGet || method == http.MethodHead || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/legacy") ||
				strings.HasPrefix(path, "/_/oidc/") { // no UI page: TestTrustedPublishingMintToken
				continue
			}
			path = strings.NewReplacer("{project}", "target", "{version}", "1.0", "{username}", "maintainer", "{id}", "1", "{$}", "").Replace(path)
			req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(url.Values{"confirm_name": {"target"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+tm.manageTokens["owner"])
			// Administrators' routes answer 404 to anyone else, as an
			// unknown path does; the rest 403.
			want := http.StatusForbidden
			if strings.HasPrefix(path, "/admin/") {
				want = http.StatusNotFound
			}
			if resp, body := s.do(req); resp.StatusCode != want {
				t.Errorf("%s with a management token and no session: %d, want %d\n%s", p, resp.StatusCode, want, body)
			}
		}
		if _, err := s.st.ProjectByName(ctx, "target"); err != nil {
			t.Fatalf("the project is gone: %v", err)
		}
	})
}

// TestManageTokenNeedsFreshAuth is the attack of a session cookie stolen
// 21 minutes after its owner (who has two-factor authentication) signed
// in: it cannot mint an API token (a management one above all), neither
// on the page nor through the JSON API, nor with the password instead of
// the second factor; after a re-authentication with the second factor it
// can, and the user is emailed about every token. A user bound by the
// mandate without two-factor authentication cannot make a management
// token that covers the critical project.
func TestManageTokenNeedsFreshAuth(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		ctx := context.Background()
		u := s.userWithPassword("keeper", managePassword)
		s.uploadDist(s.token(u), disttest.Dist{Name: "kept", Version: "1.0"}, false)
		b := s.browser(t)
		b.login("keeper", managePassword)
		_, secret := enrolApp(t, b, clk)
		count := func() int {
			ts, err := s.st.UserTokens(ctx, u.ID)
			storetest.Must(t, err)
			return len(ts)
		}
		before := count()

		clk.Add(staleAge)
		b.get("/manage/account/tokens/")
		for _, form := range []url.Values{
			{"name": {"ops"}, "scope": {"all"}, "manage": {"on"}},
			{"name": {"ci"}, "scope": {"all"}},
		} {
			resp, body := b.post("/manage/account/tokens/", form)
			wantReauthRedirect(t, "creating a token ("+form.Get("name")+") on the page", resp, body)
		}
		for _, body := range []map[string]any{{"name": "ops", "manage": true}, {"name": "ci"}} {
			resp, raw := b.sessionAPI("POST", "/api/tokens", body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(raw, "re-authenticate in the web UI") || !strings.Contains(raw, "/manage/account/reauth/") {
				t.Fatalf("creating a token (%v) through the API with a stale session: %d %s", body["name"], resp.StatusCode, raw)
			}
		}
		// The password is no second factor.
		b.get("/manage/account/reauth/")
		if resp, body := b.post("/manage/account/reauth/", url.Values{"method": {"password"}, "password": {managePassword}, "next": {"/manage/account/tokens/"}}); resp.StatusCode == http.StatusSeeOther {
			t.Fatalf("re-authenticated with the password despite an authenticator app\n%s", body)
		}
		if n := count(); n != before {
			t.Fatalf("%d tokens minted by the stale session", n-before)
		}

		clk.Add(30 * time.Second) // a new code
		reauth(t, b, secret, clk)
		b.get("/manage/account/tokens/")
		resp, body := b.post("/manage/account/tokens/", url.Values{"name": {"ops"}, "scope": {"all"}, "manage": {"on"}})
		if resp.StatusCode != http.StatusOK || secretBox.FindStringSubmatch(body) == nil || !strings.Contains(body, "Upload and manage") {
			t.Fatalf("creating a management token after re-authenticating: %d\n%s", resp.StatusCode, body)
		}
		resp, raw := b.sessionAPI("POST", "/api/tokens", map[string]any{"name": "ci"})
		var created apiToken
		if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(raw), &created) != nil || created.Manage {
			t.Fatalf("creating an upload-only token through the API after re-authenticating: %d %s", resp.StatusCode, raw)
		}
		msgs, err := mail.ReadOutbox(s.outbox)
		storetest.Must(t, err)
		var notices []string
		for _, m := range msgs {
			if strings.Contains(m.To, u.Email) && strings.HasPrefix(m.Subject, "API token created") {
				notices = append(notices, m.Subject+"\n"+m.Text)
			}
		}
		if len(notices) != 2 || !strings.Contains(notices[0], "upload and manage") || !strings.Contains(notices[1], "upload only") {
			t.Fatalf("token notices: %q, want one per token with its permission", notices)
		}

		// The mandate: a collaborator of the critical project without
		// two-factor authentication gets no management token for it.
		proj, err := s.st.ProjectByName(ctx, "kept")
		storetest.Must(t, err)
		nofa := s.userWithPassword("nofa", managePassword)
		storetest.Must(t, s.st.AddRole(ctx, proj.ID, nofa.ID, store.RoleMaintainer, clk.Now()))
		storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, clk.Now().Add(-time.Hour)))
		nb := s.browser(t)
		nb.login("nofa", managePassword)
		nb.get("/manage/account/tokens/")
		for _, form := range []url.Values{
			{"name": {"all"}, "scope": {"all"}, "manage": {"on"}},
			{"name": {"kept"}, "scope": {"projects"}, "project": {"kept"}, "manage": {"on"}},
		} {
			resp, body := nb.post("/manage/account/tokens/", form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "&#39;kept&#39; is a critical project") {
				t.Fatalf("management token (%s) of a bound user without 2FA: %d\n%s", form.Get("name"), resp.StatusCode, body)
			}
		}
	})
}
