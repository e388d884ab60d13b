package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// visibilityIndex is a public index where olive owns alpha (public) and
// beta (made private by olive through the settings form), mia is a
// Maintainer of beta, eve a user of the index and ada an administrator.
type visibilityIndex struct {
	*privateIndex
	mia, eve, ada *store.User
}

const visibilityPassword = "correct horse battery"

func newVisibilityIndex(t *testing.T, d store.Dialect) *visibilityIndex {
	p := newPrivateIndex(t, d, index.ReadPublic)
	v := &visibilityIndex{privateIndex: p}
	ctx := context.Background()
	v.mia = p.userWithPassword("mia", visibilityPassword)
	v.eve = p.userWithPassword("eve", visibilityPassword)
	hash, err := auth.NewHasher(1, auth.MinParams).Hash(ctx, visibilityPassword)
	storetest.Must(t, err)
	v.ada = &store.User{Username: "ada", Email: "ada@example.org", PasswordHash: hash, EmailVerified: true, IsAdmin: true, CreatedAt: time.Now()}
	storetest.Must(t, p.st.CreateUser(ctx, v.ada))
	beta, err := p.st.ProjectByName(ctx, "beta")
	storetest.Must(t, err)
	storetest.Must(t, p.st.AddRole(ctx, beta.ID, v.mia.ID, store.RoleMaintainer, time.Now()))
	v.setVisibility(t, "beta", "private")
	return v
}

// setVisibility sets a project's visibility through olive's settings form.
func (v *visibilityIndex) setVisibility(t *testing.T, project, visibility string) {
	t.Helper()
	b := v.browser(t)
	b.login("olive", visibilityPassword)
	b.get("/manage/project/" + project + "/")
	resp, body := b.post("/manage/project/"+project+"/settings/visibility", url.Values{"visibility": {visibility}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("make %s %s: %d\n%s", project, visibility, resp.StatusCode, body)
	}
	if _, page := b.get("/manage/project/" + project + "/"); !strings.Contains(page, "is "+visibility) {
		t.Fatalf("the settings page does not say %s is %s", project, visibility)
	}
}

// visibilityReader is one reader of TestProjectVisibility.
type visibilityReader struct {
	name   string
	may    bool   // reads beta
	header string // Authorization
	client *http.Client
}

// read reads path as rd, with extra headers (name, value, ...).
func (v *visibilityIndex) read(t *testing.T, rd visibilityReader, method, path, accept string, extra ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, v.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if rd.header != "" {
		req.Header.Set("Authorization", rd.header)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	client := v.client
	if rd.client != nil {
		client = rd.client
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

func tokenHeader(secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("__token__", secret)
	return req.Header.Get("Authorization")
}

// TestProjectVisibility is the table of a private project on a public
// index: every reader (anonymous, sessions of a collaborator, of another
// user and of an administrator, the collaborator's tokens of every kind
// and scope, another user's token) on every read that names the project,
// in both orders (a reader who may read it warms the caches first, and
// the reverse): the status (404 exactly like an unknown project, never
// 403), whether the answer names it, and the caching headers (an answer
// about it is never public).
func TestProjectVisibility(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		v := newVisibilityIndex(t, d)
		ctx := context.Background()
		session := func(name string) *http.Client {
			b := v.browser(t)
			b.login(name, visibilityPassword)
			return b.client
		}
		miaRead, _ := v.readToken(v.mia, time.Time{})
		miaReadBeta, _ := v.readToken(v.mia, time.Time{}, "beta")
		miaReadAlpha, _ := v.readToken(v.mia, time.Time{}, "alpha")
		_, eveToken := v.user("eve")
		readers := []visibilityReader{
			{name: "collaborator session", may: true, client: session("mia")},
			{name: "admin session", may: true, client: session("ada")},
			{name: "owner's upload token", may: true, header: tokenHeader(v.uploadToken)},
			{name: "collaborator's upload token", may: true, header: tokenHeader(v.token(v.mia))},
			{name: "read token", may: true, header: tokenHeader(miaRead)},
			{name: "read token scoped to beta", may: true, header: tokenHeader(miaReadBeta)},
			{name: "read token scoped to alpha", header: tokenHeader(miaReadAlpha)},
			{name: "stranger's token", header: tokenHeader(eveToken)},
			{name: "other user's session", client: session("eve")},
			{name: "anonymous"},
		}
		beta := disttest.Dist{Name: "beta", Version: "1.0"}
		type route struct {
			name, method, path, accept string
			list                       bool // a list: 200 for all, names beta for its readers only
		}
		routes := []route{
			{name: "root html", method: "GET", path: "/simple/", list: true},
			{name: "root json", method: "GET", path: "/simple/", accept: mediaJSON, list: true},
			{name: "simple", method: "GET", path: "/simple/beta/"},
			{name: "simple json", method: "GET", path: "/simple/beta/", accept: mediaJSON},
			{name: "simple head", method: "HEAD", path: "/simple/beta/"},
			{name: "json api", method: "GET", path: "/pypi/beta/json"},
			{name: "release json", method: "GET", path: "/pypi/beta/1.0/json"},
			{name: "file", method: "GET", path: fileURL(beta)},
			{name: "file head", method: "HEAD", path: fileURL(beta)},
			{name: "metadata", method: "GET", path: fileURL(beta) + ".metadata"},
			{name: "project page", method: "GET", path: "/project/beta/"},
			{name: "release page", method: "GET", path: "/project/beta/1.0/"},
			{name: "search", method: "GET", path: "/search/?q=bet", list: true},
			{name: "search exact", method: "GET", path: "/search/?q=beta", list: true},
			{name: "user page", method: "GET", path: "/user/olive/", list: true},
			{name: "home", method: "GET", path: "/", list: true},
		}
		protocol := func(path string) bool {
			return strings.HasPrefix(path, "/simple/") || strings.HasPrefix(path, "/pypi/") || strings.HasPrefix(path, "/files/")
		}
		check := func(t *testing.T, rd visibilityReader, rt route) {
			t.Helper()
			resp, body := v.read(t, rd, rt.method, rt.path, rt.accept)
			h := resp.Header
			cc := h.Get("Cache-Control")
			want := http.StatusOK
			if !rd.may && !rt.list {
				want = http.StatusNotFound
			}
			if resp.StatusCode != want {
				t.Fatalf("%s %s as %s: %d, want %d\n%s", rt.method, rt.path, rd.name, resp.StatusCode, want, body)
			}
			names := strings.Contains(body, "beta")
			switch {
			case want == http.StatusNotFound:
				if cc != "no-store" {
					t.Errorf("%s as %s: 404 with Cache-Control %q", rt.path, rd.name, cc)
				}
				if strings.Contains(body, "beta-1.0") || strings.Contains(body, "beta_1.0") || h.Get("ETag") != "" {
					t.Errorf("%s as %s: the 404 tells of beta: %q %q", rt.path, rd.name, body, h.Get("ETag"))
				}
			case rt.list && rt.name == "user page", rt.list && rt.name == "home", rt.list && rt.name == "search":
				// The pages people browse list no private project.
				if strings.Contains(body, `/project/beta/`) {
					t.Errorf("%s as %s lists beta", rt.path, rd.name)
				}
			case rt.list && rt.name == "search exact":
				if got := strings.Contains(body, `/project/beta/`); got != rd.may {
					t.Errorf("%s as %s: lists beta %v, want %v", rt.path, rd.name, got, rd.may)
				}
			case rt.list:
				if names != rd.may || !strings.Contains(body, "alpha") {
					t.Errorf("%s as %s: names beta %v, want %v\n%s", rt.path, rd.name, names, rd.may, body)
				}
				if vary := h.Get("Vary"); !strings.Contains(vary, "Authorization") || !strings.Contains(vary, "Cookie") {
					t.Errorf("%s as %s: Vary %q, want Authorization and Cookie once a project is private", rt.path, rd.name, vary)
				}
				if rd.may != strings.HasPrefix(cc, "private") {
					t.Errorf("%s as %s: Cache-Control %q", rt.path, rd.name, cc)
				}
			case protocol(rt.path):
				if !strings.HasPrefix(cc, "private") {
					t.Errorf("%s %s as %s: Cache-Control %q, want private", rt.method, rt.path, rd.name, cc)
				}
				if vary := h.Get("Vary"); !strings.Contains(vary, "Authorization") || !strings.Contains(vary, "Cookie") {
					t.Errorf("%s as %s: Vary %q", rt.path, rd.name, vary)
				}
				if h.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("%s as %s: CORS on a private answer", rt.path, rd.name)
				}
			}
			if strings.Contains(cc, "public") && rd.may && !rt.list {
				t.Errorf("%s as %s: Cache-Control %q is shareable", rt.path, rd.name, cc)
			}
		}
		for _, order := range []string{"allowed first", "refused first"} {
			rs := slices.Clone(readers)
			if order == "refused first" {
				slices.Reverse(rs)
			}
			for _, rt := range routes {
				for _, rd := range rs {
					check(t, rd, rt)
				}
			}
		}
		// A public project stays shareable and readable by everybody.
		for _, rd := range readers {
			resp, _ := v.read(t, rd, "GET", "/simple/alpha/", "")
			if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "public") {
				t.Errorf("alpha as %s: %d %q", rd.name, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
		}

		// An ETag is no existence oracle: beta's, from a stranger, is a 404.
		collab, stranger, anon := readers[4], readers[7], readers[9]
		for _, path := range []string{"/simple/beta/", "/pypi/beta/json", fileURL(beta)} {
			resp, _ := v.read(t, collab, "GET", path, "")
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != http.StatusOK || etag == "" {
				t.Fatalf("%s as collaborator: %d %q", path, resp.StatusCode, etag)
			}
			for _, rd := range []visibilityReader{stranger, anon} {
				if resp, _ := v.read(t, rd, "GET", path, "", "If-None-Match", etag); resp.StatusCode != http.StatusNotFound {
					t.Errorf("If-None-Match of %s as %s: %d, want 404", path, rd.name, resp.StatusCode)
				}
			}
		}

		// The report form of a private project does not exist for others.
		eveB := v.browser(t)
		eveB.login("eve", visibilityPassword)
		if resp, _ := eveB.get("/project/beta/report/"); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("report form of beta as eve: %d", resp.StatusCode)
		}

		// A Maintainer may not change the visibility; the API says so.
		miaManage := v.manageToken(v.mia)
		if resp, body := v.apiRequest(t, miaManage, "POST", "/api/projects/beta/visibility", map[string]string{"visibility": "public"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("visibility by a Maintainer: %d %s", resp.StatusCode, body)
		}

		// A removed collaborator reads it no more, at once (its token and
		// session readers were cached a moment ago).
		if err := v.idx.RemoveCollaborator(ctx, &index.Principal{User: v.owner}, audit.Meta{}, "beta", "mia"); err != nil {
			t.Fatal(err)
		}
		for _, rd := range []visibilityReader{readers[0], collab, readers[5], readers[3]} {
			if resp, _ := v.read(t, rd, "GET", "/simple/beta/", ""); resp.StatusCode != http.StatusNotFound {
				t.Errorf("beta as removed %s: %d, want 404", rd.name, resp.StatusCode)
			}
			if resp, body := v.read(t, rd, "GET", "/simple/", ""); strings.Contains(body, "beta") {
				t.Errorf("root as removed %s: %d lists beta", rd.name, resp.StatusCode)
			}
		}

		// Public again through the API: everybody reads it, the list
		// everybody reads names it (a new ETag), and shared caches may
		// keep it again.
		resp, _ := v.read(t, anon, "GET", "/simple/", "")
		before := resp.Header.Get("ETag")
		resp, body := v.apiRequest(t, v.manageToken(v.owner), "POST", "/api/projects/beta/visibility", map[string]string{"visibility": "public"})
		var doc map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil || doc["visibility"] != "public" {
			t.Fatalf("make beta public: %d %s", resp.StatusCode, body)
		}
		resp, page := v.read(t, anon, "GET", "/simple/", "")
		if resp.Header.Get("ETag") == before || !strings.Contains(page, "beta") || strings.Contains(resp.Header.Get("Vary"), "Authorization") {
			t.Errorf("root after beta is public: ETag %q (was %q), Vary %q\n%s", resp.Header.Get("ETag"), before, resp.Header.Get("Vary"), page)
		}
		for _, path := range []string{"/simple/beta/", fileURL(beta)} {
			resp, _ := v.read(t, anon, "GET", path, "")
			if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "public") {
				t.Errorf("%s after beta is public: %d %q", path, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
		}
		proj, err := v.st.ProjectByName(ctx, "beta")
		storetest.Must(t, err)
		evs, err := v.st.ProjectEvents(ctx, proj.ID, 50)
		storetest.Must(t, err)
		var tags []string
		for _, e := range evs {
			tags = append(tags, e.Tag)
		}
		if !slices.Contains(tags, audit.ProjectPrivate) || !slices.Contains(tags, audit.ProjectPublic) {
			t.Errorf("events of beta: %v", tags)
		}
	})
}

// TestPrivateFileRedirect: with --storage-redirect, a private project's
// files are redirected for its readers only (a private redirect), and
// everybody else gets the 404 without a URL of the store being made.
func TestPrivateFileRedirect(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		var ps *presigningFS
		s := newTestServerWith(t, d, serverConfig{
			Blobs:           func(fs *blob.FS) blob.Store { ps = newPresigningFS(t, fs); return ps },
			StorageRedirect: 5 * time.Minute,
		})
		alice, tok := s.user("alice")
		_, eve := s.user("eve")
		dist := disttest.Dist{Name: "demo", Version: "1.0"}
		s.uploadDist(tok, dist, false)
		storetest.Must(t, s.idx.SetVisibility(context.Background(), &index.Principal{User: alice}, audit.Meta{}, "demo", index.VisibilityPrivate))
		ps.takeCalls()
		for _, path := range []string{fileURL(dist), fileURL(dist) + ".metadata"} {
			for _, c := range []struct {
				who, token string
				want       int
			}{{"anonymous", "", http.StatusNotFound}, {"stranger", eve, http.StatusNotFound}, {"owner", tok, http.StatusFound}} {
				req, _ := http.NewRequest("GET", s.URL+path, nil)
				if c.token != "" {
					req.SetBasicAuth("__token__", c.token)
				}
				resp, body := s.do(req)
				calls := ps.takeCalls()
				if resp.StatusCode != c.want {
					t.Fatalf("%s as %s: %d, want %d\n%s", path, c.who, resp.StatusCode, c.want, body)
				}
				cc, vary := resp.Header.Get("Cache-Control"), resp.Header.Get("Vary")
				switch c.want {
				case http.StatusNotFound:
					if len(calls) != 0 || resp.Header.Get("Location") != "" || cc != "no-store" {
						t.Errorf("%s as %s: presigned %v, Location %q, Cache-Control %q", path, c.who, calls, resp.Header.Get("Location"), cc)
					}
				default:
					if len(calls) != 1 || !strings.HasPrefix(cc, "private") || !strings.Contains(vary, "Authorization") {
						t.Errorf("%s as %s: presigned %v, Cache-Control %q, Vary %q", path, c.who, calls, cc, vary)
					}
				}
			}
		}
	})
}

// TestPrivateProjectOnPrivateIndex: with authenticated reads, a private
// project is read by its collaborators' tokens only, though every
// signed-in reader reads the others.
func TestPrivateProjectOnPrivateIndex(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newPrivateIndex(t, d, index.ReadAuthenticated)
		storetest.Must(t, s.idx.SetVisibility(context.Background(), &index.Principal{User: s.owner}, audit.Meta{}, "beta", index.VisibilityPrivate))
		dan, _ := s.user("dan")
		danRead, _ := s.readToken(dan, time.Time{})
		oliveRead, _ := s.readToken(s.owner, time.Time{})
		for _, c := range []struct {
			who, token string
			beta       int
		}{{"another user's read token", danRead, http.StatusNotFound}, {"the Owner's read token", oliveRead, http.StatusOK}} {
			get := func(path string) (*http.Response, string) {
				req, _ := http.NewRequest("GET", s.URL+path, nil)
				req.SetBasicAuth("__token__", c.token)
				resp, body := s.do(req)
				return resp, string(body)
			}
			if resp, _ := get("/simple/alpha/"); resp.StatusCode != http.StatusOK {
				t.Errorf("alpha as %s: %d", c.who, resp.StatusCode)
			}
			if resp, _ := get("/simple/beta/"); resp.StatusCode != c.beta {
				t.Errorf("beta as %s: %d, want %d", c.who, resp.StatusCode, c.beta)
			}
			resp, body := get("/simple/")
			if !strings.Contains(body, "alpha") || strings.Contains(body, "beta") != (c.beta == http.StatusOK) || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
				t.Errorf("root as %s: %q\n%s", c.who, resp.Header.Get("Cache-Control"), body)
			}
		}
	})
}

// TestPrivateProjectReportAsUnknown: a report of a private project by a
// user who may not read it is answered exactly as a report of a project
// that does not exist, whether the form is valid or not (a refused kind
// must not tell the two apart), and uses none of the reporter's quota.
func TestPrivateProjectReportAsUnknown(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		v := newVisibilityIndex(t, d)
		eve := v.browser(t)
		eve.login("eve", visibilityPassword)
		for _, form := range []url.Values{
			{"kind": {"malware"}, "text": {"it steals keys"}},
			{"kind": {"bogus"}, "text": {"x"}},
			{"text": {"x"}},
		} {
			answer := func(project string) string {
				eve.get("/project/alpha/report/") // a page with a form token
				resp, body := eve.post("/project/"+project+"/report/", url.Values(maps.Clone(form)))
				body = csrfField.ReplaceAllString(body, "")
				return fmt.Sprintf("%d %q %s", resp.StatusCode, resp.Header.Get("Location"), strings.ReplaceAll(body, project, "P"))
			}
			if got, want := answer("beta"), answer("zeta"); got != want {
				t.Errorf("report %v of private beta:\n%s\nwant as unknown zeta:\n%s", form, got, want)
			}
		}
	})
}

// TestPrivateProjectUploadAsUnknown: over HTTP (where the refusal comes
// before the file is read), an upload to a private project by a token
// scoped elsewhere is answered exactly as an upload to a name that does
// not exist, and a stranger's unscoped token is refused without the
// project's own spelling of its name.
func TestPrivateProjectUploadAsUnknown(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		olive, oliveTok := s.user("olive")
		s.uploadDist(oliveTok, disttest.Dist{Name: "Secret.Tool", Version: "1.0"}, false)
		storetest.Must(t, s.idx.SetVisibility(context.Background(), &index.Principal{User: olive}, audit.Meta{}, "secret-tool", index.VisibilityPrivate))
		eve, eveTok := s.user("eve")
		s.uploadDist(eveTok, disttest.Dist{Name: "mine", Version: "1.0"}, false)
		upload := func(token, name string) string {
			dist := disttest.Dist{Name: name, Version: "2.0"}
			content := dist.Wheel()
			resp, body := s.do(s.uploadRequest(token, dist.Form("bdist_wheel", content), dist.WheelFilename(), content))
			return strings.ReplaceAll(resp.Status+" "+string(body), name, "NAME")
		}
		scoped := s.token(eve, "mine")
		if got, want := upload(scoped, "secret-tool"), upload(scoped, "nosuch-tool"); got != want {
			t.Errorf("upload to private secret-tool by a scoped token:\n%s\nwant as a new name:\n%s", got, want)
		}
		if got := upload(eveTok, "secret-tool"); !strings.HasPrefix(got, "403") || strings.Contains(got, "Secret.Tool") {
			t.Errorf("upload to private secret-tool by a stranger: %s", got)
		}
	})
}
