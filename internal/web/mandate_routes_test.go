package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// mandateRoute is a write route of the HTTP surface (any method but GET
// and HEAD) and what the two-factor mandate does to it.
type mandateRoute struct {
	pattern string // exactly as registered
	// exempt says why the route changes no project (so the mandate does
	// not apply); empty: it changes a project, and do exercises it.
	exempt string
	// who acts: "owner", "maintainer" or "invitee" (invited to p).
	who   string
	setup func(t *testing.T, tm *team, p string)
	// do sends the request about project p with the credential via (see
	// credentials) and returns its status and body.
	do func(t *testing.T, tm *team, via, who, p string) (int, string)
	// ok is the status once the user has two-factor authentication.
	ok int
}

// The kinds of credential a request can act with.
const (
	viaSession     = "session"          // a signed-in browser (pages, and the API with the form token)
	viaUploadToken = "upload token"     // an API token without the management scope
	viaManageToken = "management token" // an API token with the management scope
)

// credentials lists the kinds of credential that can act on a route: the
// upload API takes every token, the management API management tokens and
// sessions (token management: sessions only), the pages sessions only.
func credentials(pattern string) []string {
	_, path, _ := strings.Cut(pattern, " ")
	switch {
	case strings.HasPrefix(path, "/legacy"):
		return []string{viaUploadToken, viaManageToken}
	case strings.HasPrefix(path, "/api/tokens"), strings.Contains(path, "/publishers"):
		return []string{viaSession} // TestPublisherAPITokens
	case strings.HasPrefix(path, "/api/"):
		return []string{viaManageToken, viaSession}
	}
	return []string{viaSession}
}

const (
	exemptAccount = "the user's own account, not a project"
	exemptSetup   = "setting up a second factor is how a refused user gets through"
	exemptGivesUp = "it only gives access up"
)

// mandateRoutes lists every write route. A route added to the server
// without a row here fails TestMandateRoutesComplete.
func mandateRoutes() []mandateRoute {
	form := func(path string, vals url.Values) func(t *testing.T, tm *team, via, who, p string) (int, string) {
		return func(t *testing.T, tm *team, via, who, p string) (int, string) {
			v := url.Values{}
			for k, vs := range vals {
				v[k] = slices.Clone(vs)
				for i := range v[k] {
					v[k][i] = strings.ReplaceAll(v[k][i], "{p}", p)
				}
			}
			resp, body := tm.browsers[who].post(strings.ReplaceAll(path, "{p}", p), v)
			return resp.StatusCode, body
		}
	}
	call := func(method, path string, body any) func(t *testing.T, tm *team, via, who, p string) (int, string) {
		return func(t *testing.T, tm *team, via, who, p string) (int, string) {
			if m, ok := body.(map[string]any); ok {
				if _, ok := m["projects"]; ok {
					body = map[string]any{"name": "scoped", "projects": []string{p}}
				}
			}
			path := strings.ReplaceAll(path, "{p}", p)
			if via == viaSession {
				resp, b := tm.browsers[who].sessionAPI(method, path, body)
				return resp.StatusCode, b
			}
			resp, b := tm.api(t, who, method, path, body)
			return resp.StatusCode, string(b)
		}
	}
	token := func(tm *team, via, who string) string {
		if via == viaManageToken {
			return tm.manageTokens[who]
		}
		return tm.tokens[who]
	}
	upload := func(t *testing.T, tm *team, via, who, p string) (int, string) {
		d := disttest.Dist{Name: p, Version: "3.0"}
		content := d.Wheel()
		resp, body := tm.s.do(tm.s.uploadRequest(token(tm, via, who), d.Form("bdist_wheel", content), d.WheelFilename(), content))
		return resp.StatusCode, resp.Status + " " + string(body)
	}
	yank := func(t *testing.T, tm *team, p string) {
		o := &index.Principal{User: tm.users["owner"]}
		storetest.Must(t, tm.s.idx.Yank(context.Background(), o, o.Meta, p, "1.0", "bad"))
	}
	invite := func(t *testing.T, tm *team, p string) { tm.invite(t, p, "invitee") }
	addPublisher := func(t *testing.T, tm *team, p string) { tm.addPublisher(t, p, githubSpec(p)) }
	const proj = "/manage/project/{project}"
	return []mandateRoute{
		{pattern: "POST /legacy/{$}", who: "maintainer", do: upload, ok: http.StatusOK},
		{pattern: "POST /legacy", who: "owner", do: func(t *testing.T, tm *team, via, who, p string) (int, string) {
			d := disttest.Dist{Name: p, Version: "3.1"}
			content := d.Wheel()
			req := tm.s.uploadRequest(token(tm, via, who), d.Form("bdist_wheel", content), d.WheelFilename(), content)
			req.URL.Path = "/legacy"
			resp, body := tm.s.do(req)
			return resp.StatusCode, resp.Status + " " + string(body)
		}, ok: http.StatusOK},

		{pattern: "POST /_/oidc/mint-token", exempt: "exchanges a CI's ID token for an upload token of a trusted publisher: no user acts, and the uploads made with it pass /legacy/'s checks"},
		{pattern: "POST /_/oidc/github/mint-token", exempt: "PyPI's legacy name of /_/oidc/mint-token, the same handler"},
		{pattern: "POST /account/login/{$}", exempt: exemptAccount},
		{pattern: "POST /account/logout/{$}", exempt: exemptAccount},
		{pattern: "POST /account/register/{$}", exempt: exemptAccount},
		{pattern: "POST /account/verify-email/{$}", exempt: exemptAccount},
		{pattern: "POST /account/reset-password/{$}", exempt: exemptAccount},
		{pattern: "POST /account/reset-password/confirm/{$}", exempt: exemptAccount},
		{pattern: "POST /manage/account/email/{$}", exempt: exemptAccount},
		{pattern: "POST /manage/account/password/{$}", exempt: exemptAccount},
		{pattern: "POST /manage/account/resend-verification/{$}", exempt: exemptAccount},
		{pattern: "POST /manage/account/sessions/logout-all/{$}", exempt: exemptAccount},
		{pattern: "POST /manage/account/sessions/{id}/logout", exempt: exemptAccount},

		{pattern: "POST " + proj + "/invitation/accept", who: "invitee", setup: invite, do: form("/manage/project/{p}/invitation/accept", nil), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/invitation/decline", exempt: exemptGivesUp},
		{pattern: "POST " + proj + "/delete", who: "owner", do: form("/manage/project/{p}/delete", url.Values{"confirm_name": {"{p}"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/settings/two-factor", who: "owner", do: form("/manage/project/{p}/settings/two-factor", url.Values{"require": {"on"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/settings/status", who: "owner", do: form("/manage/project/{p}/settings/status", url.Values{"status": {"deprecated"}, "reason": {"use another"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/settings/visibility", who: "owner", do: form("/manage/project/{p}/settings/visibility", url.Values{"visibility": {"private"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/release/{version}/yank", who: "owner", do: form("/manage/project/{p}/release/1.0/yank", url.Values{"reason": {"broken"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/release/{version}/unyank", who: "owner", setup: yank, do: form("/manage/project/{p}/release/1.0/unyank", nil), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/release/{version}/delete", who: "owner", do: form("/manage/project/{p}/release/1.0/delete", nil), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/release/{version}/file/delete", who: "owner", do: func(t *testing.T, tm *team, via, who, p string) (int, string) {
			return form("/manage/project/{p}/release/2.0/file/delete", url.Values{"filename": {disttest.Dist{Name: p, Version: "2.0"}.WheelFilename()}})(t, tm, via, who, p)
		}, ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/collaboration/invite", who: "owner", do: form("/manage/project/{p}/collaboration/invite", url.Values{"username": {"invitee"}, "role": {"Maintainer"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/collaboration/revoke", who: "owner", setup: invite, do: form("/manage/project/{p}/collaboration/revoke", url.Values{"username": {"invitee"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/collaboration/role", who: "owner", do: form("/manage/project/{p}/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Owner"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/collaboration/remove", who: "owner", do: form("/manage/project/{p}/collaboration/remove", url.Values{"username": {"maintainer"}}), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/collaboration/leave", exempt: exemptGivesUp},
		{pattern: "POST " + proj + "/publishing/add", who: "owner", do: form("/manage/project/{p}/publishing/add", githubForm("crit")), ok: http.StatusSeeOther},
		{pattern: "POST " + proj + "/publishing/{id}/remove", who: "owner", setup: addPublisher, do: func(t *testing.T, tm *team, via, who, p string) (int, string) {
			return form("/manage/project/{p}/publishing/"+strconv.FormatInt(tm.publisherID(t, p), 10)+"/remove", nil)(t, tm, via, who, p)
		}, ok: http.StatusSeeOther},
		{pattern: "POST /manage/account/publishing/add", exempt: "the user's own account: the project it names does not exist yet (created on first publish, under the index's name rules)"},
		{pattern: "POST /manage/account/publishing/{id}/remove", exempt: exemptGivesUp},

		{pattern: "POST /manage/account/tokens/{$}", who: "maintainer", do: form("/manage/account/tokens/", url.Values{"name": {"scoped"}, "scope": {"projects"}, "project": {"{p}"}}), ok: http.StatusOK},
		{pattern: "POST /manage/account/tokens/{id}/revoke", exempt: exemptGivesUp},

		{pattern: "POST /api/projects/{project}/status", who: "owner", do: call("POST", "/api/projects/{p}/status", map[string]string{"status": "deprecated"}), ok: http.StatusOK},
		{pattern: "POST /api/projects/{project}/visibility", who: "owner", do: call("POST", "/api/projects/{p}/visibility", map[string]string{"visibility": "public"}), ok: http.StatusOK},
		{pattern: "POST /api/projects/{project}/releases/{version}/yank", who: "owner", do: call("POST", "/api/projects/{p}/releases/1.0/yank", map[string]string{"reason": "broken"}), ok: http.StatusOK},
		{pattern: "POST /api/projects/{project}/releases/{version}/unyank", who: "owner", setup: yank, do: call("POST", "/api/projects/{p}/releases/1.0/unyank", nil), ok: http.StatusOK},
		{pattern: "POST /api/projects/{project}/roles", who: "owner", do: call("POST", "/api/projects/{p}/roles", map[string]string{"username": "invitee", "role": "Maintainer"}), ok: http.StatusCreated},
		{pattern: "DELETE /api/projects/{project}/roles/{username}", who: "owner", do: call("DELETE", "/api/projects/{p}/roles/maintainer", nil), ok: http.StatusOK},
		{pattern: "POST /api/projects/{project}/publishers", who: "owner", do: call("POST", "/api/projects/{p}/publishers", githubSpec("crit")), ok: http.StatusCreated},
		{pattern: "DELETE /api/projects/{project}/publishers/{id}", who: "owner", setup: addPublisher, do: func(t *testing.T, tm *team, via, who, p string) (int, string) {
			return call("DELETE", "/api/projects/{p}/publishers/"+strconv.FormatInt(tm.publisherID(t, p), 10), nil)(t, tm, via, who, p)
		}, ok: http.StatusOK},
		{pattern: "POST /api/publishers/pending", exempt: "the user's own account: the project it names does not exist yet (created on first publish, under the index's name rules)"},
		{pattern: "DELETE /api/publishers/pending/{id}", exempt: exemptGivesUp},
		{pattern: "POST /api/tokens", who: "maintainer", do: call("POST", "/api/tokens", map[string]any{"projects": nil}), ok: http.StatusCreated},
		{pattern: "DELETE /api/tokens/{id}", exempt: exemptGivesUp},

		{pattern: "POST /manage/account/reauth/{$}", exempt: exemptSetup},
		{pattern: "POST /manage/account/reauth/webauthn/options", exempt: exemptSetup},
		{pattern: "POST /manage/account/reauth/webauthn/verify", exempt: exemptSetup},
		{pattern: "POST /manage/account/recovery-codes/{$}", exempt: exemptSetup},
		{pattern: "POST /manage/account/recovery-codes/confirm", exempt: exemptSetup},
		{pattern: "POST /manage/account/totp/begin", exempt: exemptSetup},
		{pattern: "POST /manage/account/totp/confirm", exempt: exemptSetup},
		{pattern: "POST /manage/account/totp/remove", exempt: exemptSetup + " (a user bound by a mandate keeps its last method: TestMandateKeepsLastMethod)"},
		{pattern: "POST /manage/account/webauthn/options", exempt: exemptSetup},
		{pattern: "POST /manage/account/webauthn/register", exempt: exemptSetup},
		{pattern: "POST /manage/account/webauthn/{id}/rename", exempt: exemptSetup},
		{pattern: "POST /manage/account/webauthn/{id}/remove", exempt: exemptSetup + " (see totp/remove)"},
		{pattern: "POST /manage/account/security-keys-giveaway/{$}", exempt: "the user's own account, not a project: it claims a promo code"},
		{pattern: "POST /account/recovery/{$}", exempt: "account recovery: a request about the user's own account, not a project"},
		{pattern: "POST /account/recovery/confirm/{$}", exempt: "account recovery: an emailed link about the user's own account"},
		{pattern: "POST /account/recovery/cancel/{$}", exempt: "account recovery: an emailed link (or the signed-in user) cancelling a request, which only gives access up"},
		{pattern: "POST /admin/quarantine/{$}", exempt: "an administrator's takedown of a project, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/quarantine/{project}/release", exempt: "an administrator's release of a project, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/reports/{project}/quarantine", exempt: "an administrator's takedown of a reported project, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/reports/{project}/dismiss", exempt: "an administrator closes users' reports; the project does not change (administrators with 2FA only)"},
		{pattern: "POST /project/{project}/report/{$}", exempt: "any signed-in user's report to the administrators, not a collaborator's change (a quarantine it may trigger is the reports' rule)"},
		{pattern: "POST /admin/recovery/{id}/approve", exempt: "an administrator's decision on another account, not a project change (administrators with 2FA only)"},
		{pattern: "POST /admin/recovery/{id}/reject", exempt: "an administrator's decision on another account, not a project change (administrators with 2FA only)"},
		{pattern: "POST /admin/lookalikes/{project}/approve", exempt: "an administrator's review of a look-alike name, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/lookalikes/{project}/reject", exempt: "an administrator's review of a look-alike name, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/names/{$}", exempt: "an administrator prohibits a name no project has (administrators with 2FA only)"},
		{pattern: "POST /admin/names/{name}/lift", exempt: "an administrator lifts a name no project has (administrators with 2FA only)"},
		{pattern: "POST /admin/upstream/{$}", exempt: "an administrator's rule on upstream names, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/upstream/remove", exempt: "an administrator's rule on upstream names, not a collaborator's change (administrators with 2FA only)"},
		{pattern: "POST /admin/users/{username}/disable", exempt: "an administrator's decision on another account, not a project change (administrators with 2FA only)"},
		{pattern: "POST /admin/users/{username}/enable", exempt: "an administrator's decision on another account, not a project change (administrators with 2FA only)"},
		{pattern: "POST /account/two-factor/totp/{$}", exempt: "the second step of signing in"},
		{pattern: "POST /account/two-factor/recovery-code/{$}", exempt: "the second step of signing in"},
		{pattern: "POST /account/two-factor/webauthn/options", exempt: "the second step of signing in"},
		{pattern: "POST /account/two-factor/webauthn/verify", exempt: "the second step of signing in"},

		{pattern: "POST /account/login/passkey/options", exempt: "signing in with a passkey, by a visitor not signed in"},
		{pattern: "POST /account/login/passkey/verify", exempt: "signing in with a passkey, by a visitor not signed in"},
		{pattern: "POST /manage/account/webauthn/passkey/options", exempt: exemptSetup},
		{pattern: "POST /manage/account/webauthn/passkey/register", exempt: exemptSetup},
		{pattern: "POST /manage/account/webauthn/{id}/passkey/options", exempt: exemptSetup},
		{pattern: "POST /manage/account/webauthn/{id}/passkey/upgrade", exempt: exemptSetup},
		{pattern: "POST /account/new-device/resend", exempt: "signing in: the emailed confirmation of a new browser"},
		{pattern: "POST /account/confirm-device/{$}", exempt: "signing in: the emailed confirmation of a new browser"},
		{pattern: "POST /manage/account/sessions/devices/{id}/forget", exempt: exemptAccount},
		{pattern: "POST /manage/account/sessions/devices/forget-all/{$}", exempt: exemptAccount},
	}
}

// TestMandateRoutesComplete checks that every write route the server
// registers has its row in mandateRoutes, and every row its route.
func TestMandateRoutesComplete(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	srv := s.srv
	rows := map[string]bool{}
	for _, r := range mandateRoutes() {
		if rows[r.pattern] {
			t.Errorf("route %q listed twice", r.pattern)
		}
		rows[r.pattern] = true
		if (r.exempt == "") == (r.do == nil) {
			t.Errorf("route %q: give either a reason it is exempt or a request that exercises it", r.pattern)
		}
	}
	registered := map[string]bool{}
	for _, p := range srv.patterns {
		registered[p] = true
		method, _, _ := strings.Cut(p, " ")
		if method == http.MethodGet || method == http.MethodHead {
			continue
		}
		if !rows[p] {
			t.Errorf("write route %q is not in mandateRoutes: add it, with a request that proves the two-factor mandate refuses it, or the reason it changes no project", p)
		}
	}
	for p := range rows {
		if !registered[p] {
			t.Errorf("mandateRoutes lists %q, which the server does not register", p)
		}
	}
}

// TestMandateRoutes proves, for every write route that changes a
// project and every kind of credential that can act on it (credentials:
// session, upload token, management token), that a collaborator without
// two-factor authentication is refused on a critical project (with the
// reason and the way out), with a token or session made before the
// designation, and that the same request succeeds once it has two-factor
// authentication. (An upload-only token is refused the management API
// whatever the project: TestTokenScopeRoutes.)
func TestMandateRoutes(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		ctx := context.Background()
		for _, r := range mandateRoutes() {
			if r.exempt != "" {
				continue
			}
			for _, via := range credentials(r.pattern) {
				t.Run(r.pattern+"/"+via, func(t *testing.T) {
					p := tm.caseProject(t, "crit", r.setup)
					proj, err := s.st.ProjectByName(ctx, p)
					storetest.Must(t, err)
					storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, time.Now().Add(-time.Hour)))
					u := tm.users[r.who]
					status, body := r.do(t, tm, via, r.who, p)
					if status != http.StatusForbidden {
						t.Fatalf("without 2FA on a critical project: status %d, want 403\n%s", status, body)
					}
					for _, want := range []string{"'" + p + "' is a critical project", "two-factor authentication", "/manage/account/two-factor/", u.Username} {
						if !strings.Contains(body, want) && !strings.Contains(body, strings.ReplaceAll(want, "'", "&#39;")) {
							t.Fatalf("refusal does not say %q:\n%s", want, body)
						}
					}
					evs, err := s.st.ProjectEvents(ctx, proj.ID, 50)
					storetest.Must(t, err)
					if !slices.ContainsFunc(evs, func(e *store.Event) bool { return e.Tag == audit.MandateRefused && e.UserID == u.ID }) {
						t.Fatalf("no %s event for %s", audit.MandateRefused, u.Username)
					}

					storetest.Must(t, s.st.SetTOTP(ctx, u.ID, "sealed", 0, time.Now()))
					defer func() { storetest.Must(t, s.st.RemoveTOTP(ctx, u.ID)) }()
					if status, body := r.do(t, tm, via, r.who, p); status != r.ok {
						t.Fatalf("with 2FA: status %d, want %d\n%s", status, r.ok, body)
					}
				})
			}
		}
	})
}
