package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestPrivateProjectAsUnknown is an attacker's view of a private project:
// for everybody who may not read it (anonymous, a stranger's session and
// tokens of every kind, a collaborator's tokens scoped to another
// project, a removed collaborator's session and token), on a public and
// an authenticated index, every route that takes a project's name (the
// PyPI protocol, the pages, the management pages and API, token scopes,
// pending publishers, invitations, the report form) answers private beta
// exactly as unknown zeta: the same status, headers (but Date and
// cookies) and body once the names are swapped, and, for a form, the
// same redirect and the page it leads to.
func TestPrivateProjectAsUnknown(t *testing.T) {
	t.Parallel()
	for _, mode := range []index.ReadAccess{index.ReadPublic, index.ReadAuthenticated} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
				testPrivateProjectAsUnknown(t, d, mode)
			})
		})
	}
}

// oracleReader is who asks: a token in the Authorization header, or a
// signed-in browser.
type oracleReader struct {
	name, auth string
	b          *browser
}

func testPrivateProjectAsUnknown(t *testing.T, d store.Dialect, mode index.ReadAccess) {
	ctx := t.Context()
	p := newPrivateIndex(t, d, mode)
	beta, err := p.st.ProjectByName(ctx, "beta")
	storetest.Must(t, err)
	mia := p.userWithPassword("mia", visibilityPassword)
	rob := p.userWithPassword("rob", visibilityPassword)
	eve := p.userWithPassword("eve", visibilityPassword)
	storetest.Must(t, p.st.AddRole(ctx, beta.ID, mia.ID, store.RoleMaintainer, time.Now()))
	storetest.Must(t, p.st.AddRole(ctx, beta.ID, rob.ID, store.RoleOwner, time.Now()))
	storetest.Must(t, p.idx.SetVisibility(ctx, &index.Principal{User: p.owner}, audit.Meta{}, "beta", index.VisibilityPrivate))
	robManage := p.manageToken(rob)
	robB := p.browser(t)
	robB.login("rob", visibilityPassword)
	storetest.Must(t, p.idx.RemoveCollaborator(ctx, &index.Principal{User: p.owner}, audit.Meta{}, "beta", "rob"))
	eveB := p.browser(t)
	eveB.login("eve", visibilityPassword)
	eveRead, _ := p.readToken(eve, time.Time{})
	miaReadAlpha, _ := p.readToken(mia, time.Time{}, "alpha")
	readers := []oracleReader{
		{name: "anonymous"},
		{name: "stranger's session", b: eveB},
		{name: "stranger's read token", auth: tokenHeader(eveRead)},
		{name: "stranger's upload token", auth: tokenHeader(p.token(eve))},
		{name: "stranger's management token", auth: "Bearer " + p.manageToken(eve)},
		{name: "collaborator's read token scoped elsewhere", auth: tokenHeader(miaReadAlpha)},
		{name: "collaborator's management token scoped elsewhere", auth: "Bearer " + p.manageToken(mia, "alpha")},
		{name: "removed collaborator's session", b: robB},
		{name: "removed collaborator's management token", auth: "Bearer " + robManage},
	}
	// {p} is the name, {P} a spelling to normalize, {file} a file's URL;
	// "FORM" routes are posted from a page by the browsers only.
	routes := []string{
		"GET /simple/{p}/", "GET /simple/{p}", "GET /simple/{P}/", "HEAD /simple/{p}/",
		"GET /simple/{p}/?format=application/vnd.pypi.simple.v1+json",
		"GET /pypi/{p}/json", "GET /pypi/{P}/json", "GET /pypi/{p}/json/", "GET /pypi/{p}/1.0/json", "GET /pypi/{p}/9.9/json",
		"GET {file}", "HEAD {file}", "GET {file}.metadata",
		"GET /project/{p}/", "GET /project/{p}", "GET /project/{P}/", "GET /project/{p}/1.0/", "GET /project/{p}/report/",
		"GET /search/?q={p}",
		"GET /manage/project/{p}/", "GET /manage/project/{p}/collaboration/", "GET /manage/project/{p}/history/",
		"GET /manage/project/{p}/release/1.0/", "GET /manage/project/{p}/publishing/",
		"GET /api/projects/{p}/", "GET /api/projects/{p}/roles", "GET /api/projects/{p}/publishers",
		"POST /api/projects/{p}/visibility", "POST /api/projects/{p}/status", "POST /api/projects/{p}/releases/1.0/yank",
		"POST /api/projects/{p}/roles", "DELETE /api/projects/{p}/roles/olive",
		"POST /api/tokens", "POST /api/publishers/pending",
		"FORM /manage/project/{p}/invitation/accept", "FORM /manage/project/{p}/collaboration/leave",
		"FORM /manage/project/{p}/release/1.0/file/delete", "FORM /manage/project/{p}/settings/visibility",
		"FORM /manage/project/{p}/collaboration/invite", "FORM /manage/account/tokens/", "FORM /project/{p}/report/",
	}
	answer := func(rd oracleReader, route, name string) string {
		t.Helper()
		dist := disttest.Dist{Name: name, Version: "1.0"}
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{p}", name, "{P}", strings.ToUpper(name[:1])+name[1:], "{file}", fileURL(dist)).Replace(path)
		if method == "FORM" {
			rd.b.get("/manage/projects/") // a page with a form token
			resp, body := rd.b.post(path, url.Values{"filename": {dist.WheelFilename()}, "visibility": {"public"}, "username": {"mia"},
				"role": {"Owner"}, "kind": {"malware"}, "text": {"bad"}, "name": {"ci"}, "scope": {"projects"}, "project": {name}})
			loc := resp.Header.Get("Location")
			if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/") {
				_, next := rd.b.get(loc) // the flash message
				body += "\n" + next
			}
			return fmt.Sprintf("%d %s\n%s", resp.StatusCode, loc, csrfField.ReplaceAllString(body, ""))
		}
		var body *strings.Reader
		if method == "POST" {
			body = strings.NewReader(fmt.Sprintf(`{"visibility":"public","status":"archived","username":"eve","role":"Owner",
				"name":"ci","projects":[%q],"project_name":%[1]q,"repository_owner":"o","repository":"r","workflow_filename":"w.yml"}`, name))
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, p.URL+path, body)
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		var text string
		if rd.b != nil {
			rd.b.get("/manage/projects/")
			req.Header.Set("X-CSRF-Token", rd.b.csrf)
			req.Header.Set("Origin", p.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, text = rd.b.do(req)
		} else {
			if rd.auth != "" {
				req.Header.Set("Authorization", rd.auth)
			}
			var b []byte
			resp, b = p.do(req)
			text = string(b)
		}
		var hs []string
		for k, vs := range resp.Header {
			if k != "Date" && k != "Set-Cookie" {
				hs = append(hs, k+": "+strings.Join(vs, ", "))
			}
		}
		slices.Sort(hs)
		return fmt.Sprintf("%d\n%s\n%s", resp.StatusCode, strings.Join(hs, "\n"), csrfField.ReplaceAllString(text, ""))
	}
	sums := strings.NewReplacer(fileURL(disttest.Dist{Name: "zeta", Version: "1.0"}), fileURL(disttest.Dist{Name: "beta", Version: "1.0"}),
		"zeta", "beta", "Zeta", "Beta")
	for _, route := range routes {
		for _, rd := range readers {
			if strings.HasPrefix(route, "FORM ") && rd.b == nil {
				continue
			}
			private, unknown := answer(rd, route, "beta"), sums.Replace(answer(rd, route, "zeta"))
			if private != unknown {
				t.Errorf("%s as %s tells private beta from unknown zeta:\n--- beta\n%.1500s\n--- zeta\n%.1500s", route, rd.name, private, unknown)
			}
		}
	}
}
