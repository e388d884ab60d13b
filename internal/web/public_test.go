package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// xssDescription is a Markdown description full of attempts to run a
// script on the project page.
const xssDescription = "# Demo\n\nSome **bold** text and ~~old~~ text.\n\n" +
	"<script>alert('raw')</script>\n\n" +
	"<img src=x onerror=alert(1)>\n\n" +
	"[click](javascript:alert(2)) and [ok](https://example.org/ok)\n\n" +
	"<a href=\"javascript:alert(3)\">anchor</a>\n\n" +
	"| a | b |\n|---|---|\n| <b>1</b> | 2 |\n\n- [x] done\n"

// scriptish finds what must never reach a page from user content.
// Text is escaped (html/template escapes < and > in text and attributes
// alike), so a literal "<" starts real markup.
var scriptish = regexp.MustCompile(`(?i)<script|<[a-z][^>]*\son[a-z]+\s*=|href\s*=\s*"?\s*javascript:|<img src=x`)

// assertSafe fails when body has markup that could run a script. The
// layout's own script element is the only one allowed.
func assertSafe(t *testing.T, body string) {
	t.Helper()
	body = strings.Replace(body, `<script src="/static/copy.js" defer></script>`, "", 1)
	if m := scriptish.FindString(body); m != "" {
		i := strings.Index(body, m)
		t.Errorf("page contains %q: …%s…", m, body[max(0, i-200):min(len(body), i+200)])
	}
}

func TestPublicProjectPage(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		u, tok := s.user("alice")
		for _, v := range []string{"1.0", "2.0"} {
			dist := disttest.Dist{Name: "Demo_Pkg", Version: v, Summary: "A demo <b>package</b>", RequiresPython: ">=3.9",
				Description: xssDescription}
			s.uploadDist(tok, dist, false)
			s.uploadDist(tok, dist, true)
		}
		b := s.browser(t)

		resp, body := b.get("/project/demo-pkg/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("project page: %s\n%s", resp.Status, body)
		}
		assertSafe(t, body)
		for _, want := range []string{
			"<h1>Demo_Pkg <span class=\"version\">2.0</span></h1>",
			"A demo &lt;b&gt;package&lt;/b&gt;",
			"pip install --index-url " + s.URL + "/simple/ Demo_Pkg",
			"<strong>bold</strong>", "<del>old</del>", "<table>", `type="checkbox"`,
			`<a href="https://example.org/ok" rel="nofollow ugc noopener">ok</a>`,
			"demo_pkg-2.0-py3-none-any.whl", "demo_pkg-2.0.tar.gz", `class="hash"`,
			`<a href="/user/alice/">alice</a>`, "<code>&gt;=3.9</code>",
			`href="/project/demo-pkg/1.0/"`, `<span class="badge latest">latest</span>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("project page lacks %q", want)
			}
		}
		page, err := s.idx.Cache().Project(context.Background(), "demo-pkg")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.View.Release("2.0").Files {
			if !strings.Contains(body, "SHA256 "+f.SHA256) {
				t.Errorf("project page lacks the sha256 of %s", f.Filename)
			}
		}
		if strings.Contains(body, "demo_pkg-1.0-py3-none-any.whl") {
			t.Error("project page lists files of another release")
		}

		// Yank the latest release with a hostile reason: the page falls
		// back to 1.0 and shows the yank.
		rel2 := page.View.Release("2.0")
		if err := s.st.SetYanked(context.Background(), rel2.ID, true, `<img src=x onerror=alert(9)> broken`); err != nil {
			t.Fatal(err)
		}
		s.idx.Cache().Invalidate("demo-pkg", false)
		_, body = b.get("/project/demo-pkg/")
		assertSafe(t, body)
		for _, want := range []string{`<span class="version">1.0</span>`, `<span class="badge yanked">yanked</span>`,
			"Reason: &lt;img src=x onerror=alert(9)&gt; broken"} {
			if !strings.Contains(body, want) {
				t.Errorf("project page after the yank lacks %q", want)
			}
		}
		resp, body = b.get("/project/demo-pkg/2.0/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("release page: %s", resp.Status)
		}
		assertSafe(t, body)
		for _, want := range []string{"This release has been yanked.", "demo_pkg-2.0.tar.gz", "pip install --index-url " + s.URL + "/simple/ Demo_Pkg==2.0"} {
			if !strings.Contains(body, want) {
				t.Errorf("yanked release page lacks %q", want)
			}
		}
		_, body = b.get("/project/demo-pkg/1.0/")
		if !strings.Contains(body, "latest version") || strings.Contains(body, "This release has been yanked.") {
			t.Error("release page of 1.0 should say it is the latest and not yanked")
		}

		// All yanked: the highest is shown.
		if err := s.st.SetYanked(context.Background(), page.View.Release("1.0").ID, true, ""); err != nil {
			t.Fatal(err)
		}
		s.idx.Cache().Invalidate("demo-pkg", false)
		_, body = b.get("/project/demo-pkg/")
		if !strings.Contains(body, `<span class="version">2.0</span>`) || !strings.Contains(body, "This release has been yanked.") {
			t.Error("with every release yanked, the page should show the highest, yanked")
		}

		// The user's page lists the project.
		resp, body = b.get("/user/alice/")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/project/demo-pkg/">Demo_Pkg</a>`) {
			t.Errorf("user page: %s, lists the project: %v", resp.Status, strings.Contains(body, "Demo_Pkg"))
		}
		_ = u
	})
}

func TestPublicRedirectsAndNotFound(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("Alice")
		s.uploadDist(tok, disttest.Dist{Name: "Foo.Bar", Version: "1.0.0"}, false)
		disabled, _ := s.user("gone")
		if err := s.st.SetUserDisabled(context.Background(), disabled.ID, true); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t)
		tests := []struct {
			path     string
			status   int
			location string
		}{
			{"/project/foo-bar/", 200, ""},
			{"/project/Foo.Bar/", 301, "/project/foo-bar/"},
			{"/project/foo_bar/1.0.0/", 301, "/project/foo-bar/1.0.0/"},
			{"/project/foo-bar/1.0/", 301, "/project/foo-bar/1.0.0/"},
			{"/project/foo-bar", 301, "/project/foo-bar/"},
			{"/project/foo-bar/1.0.0", 301, "/project/foo-bar/1.0.0/"},
			{"/project/foo-bar/1.0.0/", 200, ""},
			{"/project/nope/", 404, ""},
			{"/project/Nope/", 404, ""},
			{"/project/foo-bar/9.9/", 404, ""},
			{"/project/foo-bar/not-a-version/", 404, ""},
			{"/user/Alice/", 200, ""},
			{"/user/alice/", 301, "/user/Alice/"},
			{"/user/Alice", 301, "/user/Alice/"},
			{"/user/nobody/", 404, ""},
			{"/user/gone/", 404, ""},
			{"/search", 301, "/search/"},
		}
		for _, tt := range tests {
			resp, body := b.get(tt.path)
			if resp.StatusCode != tt.status {
				t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("GET %s: Location %q, want %q", tt.path, got, tt.location)
			}
			if tt.status == 404 && !strings.Contains(body, `class="error-message"`) {
				t.Errorf("GET %s: no error page", tt.path)
			}
		}
	})
}

// hostileNames inserts rows whose display names are markup, as no upload
// could (names are validated), to show that pages escape them anyway.
func hostileNames(t *testing.T, s *testServer) {
	t.Helper()
	ctx := context.Background()
	u := &store.User{Username: `mal"><script>alert(1)</script>`, Email: "m@example.org", PasswordHash: "!", CreatedAt: time.Now()}
	if err := s.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	p := &store.Project{Name: `Evil<script>alert(1)</script>`, NormalizedName: "evil-thing", UltraName: "evi1thing", CreatedAt: time.Now()}
	if err := s.st.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.st.AddRole(ctx, p.ID, u.ID, store.RoleOwner, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestPublicEscapesNames(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		hostileNames(t, s)
		b := s.browser(t)
		for _, path := range []string{"/project/evil-thing/", "/search/?q=evil", "/", "/user/mal%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
			"/project/%3Cscript%3E/", "/search/?q=%3Cscript%3Ealert(1)%3C/script%3E", "/user/%3Cscript%3E/"} {
			resp, body := b.get(path)
			if resp.StatusCode >= 500 {
				t.Errorf("GET %s: %s", path, resp.Status)
			}
			assertSafe(t, body)
		}
		_, body := b.get("/project/evil-thing/")
		if !strings.Contains(body, "Evil&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("project page does not show the escaped name")
		}
	})
}

func TestPublicSearch(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		_, tok := s.user("alice")
		s.uploadDist(tok, disttest.Dist{Name: "Alpha", Version: "3.1", Summary: "The exact one"}, false)
		names := []string{"alpha-one", "Alpha_Two", "beta.alpha", "gamma", "alp%ha", "alp_ha-x"}
		for i := range 43 {
			names = append(names, fmt.Sprintf("pag-%02d", i))
		}
		names = append(names, "pag")
		for i, n := range names {
			p := &store.Project{Name: n, NormalizedName: pep.NormalizeName(n), UltraName: fmt.Sprintf("u%d", i), CreatedAt: time.Now()}
			if err := s.st.CreateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		b := s.browser(t)
		results := func(body string) []string {
			var out []string
			for _, m := range regexp.MustCompile(`class="project-name" href="/project/([^/]+)/"`).FindAllStringSubmatch(body, -1) {
				out = append(out, m[1])
			}
			return out
		}
		tests := []struct {
			q    string
			want []string
		}{
			{"ALPHA", []string{"alpha", "alpha-one", "alpha-two", "beta-alpha"}},
			{"alpha.two", []string{"alpha-two"}},
			{"pha_t", []string{"alpha-two"}},
			{"p%h", []string{"alp%25ha"}}, // a wildcard is a character like any other
			{"%", nil},                    // too short to be looked for inside names
			{"al", []string{"alp%25ha", "alp-ha-x", "alpha", "alpha-one", "alpha-two"}},
			{"alp_ha", []string{"alp-ha-x"}},
			{"zzz", nil},
		}
		for _, tt := range tests {
			resp, body := b.get("/search/?q=" + strings.ReplaceAll(tt.q, "%", "%25"))
			if resp.StatusCode != 200 {
				t.Fatalf("search %q: %s", tt.q, resp.Status)
			}
			if got := results(body); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("search %q: %v, want %v", tt.q, got, tt.want)
			}
		}
		_, body := b.get("/search/?q=alpha")
		if !strings.Contains(body, `<span class="version small">3.1</span>`) || !strings.Contains(body, "The exact one") {
			t.Error("search results lack the latest version and summary")
		}

		// 43 matches plus the exact one: pages of 20, 20 and 4.
		seen := map[string]bool{}
		for page, want := range []int{20, 20, 4} {
			path := "/search/?q=pag"
			if page > 0 {
				path += fmt.Sprintf("&page=%d", page+1)
			}
			_, body := b.get(path)
			got := results(body)
			if len(got) != want {
				t.Errorf("page %d: %d results, want %d", page+1, len(got), want)
			}
			if page == 0 && (len(got) == 0 || got[0] != "pag") {
				t.Errorf("page 1 does not start with the exact match: %v", got)
			}
			for _, n := range got {
				if seen[n] {
					t.Errorf("%s on two pages", n)
				}
				seen[n] = true
			}
			hasNext := strings.Contains(body, `rel="next"`)
			if hasNext != (page < 2) {
				t.Errorf("page %d: next link %v", page+1, hasNext)
			}
			if hasPrev := strings.Contains(body, `rel="prev"`); hasPrev != (page > 0) {
				t.Errorf("page %d: previous link %v", page+1, hasPrev)
			}
		}
		if len(seen) != 44 {
			t.Errorf("%d distinct results over the pages, want 44", len(seen))
		}

		for _, path := range []string{"/search/", "/search/?q=", "/search/?q=+"} {
			_, body := b.get(path)
			if !strings.Contains(body, "Type a project name") || len(results(body)) != 0 {
				t.Errorf("GET %s: no hint", path)
			}
		}
		if _, body := b.get("/search/?q=pag&page=9999"); !strings.Contains(body, "too far") {
			t.Error("a page too deep is not refused")
		}
	})
}

func TestPublicHome(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		b := s.browser(t)
		if _, body := b.get("/"); !strings.Contains(body, "No projects yet.") {
			t.Error("empty home page")
		}
		_, tok := s.user("alice")
		for i := range 12 {
			s.uploadDist(tok, disttest.Dist{Name: fmt.Sprintf("proj-%02d", i), Version: "1.0", Summary: "number " + fmt.Sprint(i)}, false)
		}
		s.uploadDist(tok, disttest.Dist{Name: "proj-00", Version: "2.0b1"}, false)
		_, body := b.get("/")
		got := regexp.MustCompile(`class="project-name" href="/project/([^/]+)/"`).FindAllStringSubmatch(body, -1)
		if len(got) != 10 {
			t.Fatalf("home lists %d projects, want 10", len(got))
		}
		if got[0][1] != "proj-00" || got[1][1] != "proj-11" {
			t.Errorf("home does not list the most recently updated first: %v", got[:2])
		}
		// proj-00's latest is the final 1.0, not the pre-release.
		if !strings.Contains(body, `href="/project/proj-00/">proj-00</a> <span class="version small">1.0</span>`) {
			t.Error("home shows the wrong latest version of proj-00")
		}
	})
}

func TestProjectLinks(t *testing.T) {
	t.Parallel()
	m := pep.Metadata{HomePage: "https://example.org", DownloadURL: "UNKNOWN", ProjectURLs: []string{
		"Docs, https://docs.example.org", "Evil, javascript:alert(1)", "Same, https://example.org", "Bad", "Data, data:text/html,x",
		" , https://code.example.org/x",
	}}
	got := projectLinks(m)
	want := []projectLink{{"Homepage", "https://example.org"}, {"Docs", "https://docs.example.org"}, {"code.example.org", "https://code.example.org/x"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("projectLinks = %v, want %v", got, want)
	}
}

// TestUserPagePaginated: a user with very many projects costs a page no
// more than any other: 100 projects a page, links to the others, and no
// pages beyond the 100th. Before, the page listed every project at once.
func TestUserPagePaginated(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		u, _ := s.user("hoarder")
		now := time.Now()
		for i := range 250 {
			name := fmt.Sprintf("hoard-%03d", i)
			p := &store.Project{Name: name, NormalizedName: name, UltraName: pep.UltraNormalizeName(name), CreatedAt: now}
			storetest.Must(t, s.st.CreateProject(ctx, p))
			storetest.Must(t, s.st.AddRole(ctx, p.ID, u.ID, store.RoleOwner, now))
		}
		for _, tc := range []struct {
			page, rows int
			first      string
			prev, next bool
		}{{1, 100, "hoard-000", false, true}, {2, 100, "hoard-100", true, true}, {3, 50, "hoard-200", true, false}} {
			resp, body := s.get(fmt.Sprintf("/user/hoarder/?page=%d", tc.page))
			page := string(body)
			if resp.StatusCode != 200 || strings.Count(page, `class="project-name"`) != tc.rows || !strings.Contains(page, "250 projects") {
				t.Fatalf("page %d: %d, %d projects listed, want %d of 250", tc.page, resp.StatusCode, strings.Count(page, `class="project-name"`), tc.rows)
			}
			if !strings.Contains(page, `href="/project/`+tc.first+`/"`) ||
				strings.Contains(page, `rel="prev"`) != tc.prev || strings.Contains(page, `rel="next"`) != tc.next {
				t.Errorf("page %d: first %s, prev %v, next %v expected", tc.page, tc.first, tc.prev, tc.next)
			}
		}
		if resp, _ := s.get("/user/hoarder/?page=101"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("page 101: %d, want 400", resp.StatusCode)
		}
	})
}
