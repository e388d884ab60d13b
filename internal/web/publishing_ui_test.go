package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/oidc"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// githubForm is the form adding a GitHub publisher for the repository
// repo of "octo".
func githubForm(repo string) url.Values {
	return url.Values{"kind": {"github"}, "issuer": {"github"}, "owner": {"octo"}, "owner_id": {"4242"}, "repository": {repo},
		"workflow": {"release.yml"}}
}

// TestPublishingPages is the web UI of trusted publishers: an Owner adds
// a GitHub publisher through the project's form, sees it listed and
// removes it; a wrong field is shown beside the form, the values kept
// and escaped; a Maintainer sees the list but no form, and its posts are
// refused; a post without the form token is refused; a stale session is
// sent to re-authenticate and changes nothing; stored fields are shown
// escaped.
func TestPublishingPages(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		tm := newTeam(t, s)
		tm.project(t, "widget")
		owner, maint := tm.browsers["owner"], tm.browsers["maintainer"]
		const page = "/manage/project/widget/publishing/"
		count := func() int {
			pubs, err := s.st.ProjectPublishers(context.Background(), mustProject(t, s, "widget").ID)
			storetest.Must(t, err)
			return len(pubs)
		}

		resp, body := owner.get(page)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "has no trusted publishers") || !strings.Contains(body, `name="owner_id"`) {
			t.Fatalf("the empty page: %d\n%s", resp.StatusCode, body)
		}
		if _, body := owner.get("/manage/project/widget/"); !strings.Contains(body, `href="/manage/project/widget/publishing/"`) {
			t.Error("the project's navigation has no link to the publishing page")
		}

		// A post without the form token changes nothing.
		form := githubForm("widget")
		form.Set("csrf_token", "")
		if resp, _ := owner.post(page+"add", form); resp.StatusCode != http.StatusForbidden || count() != 0 {
			t.Errorf("without the form token: %d, %d publishers", resp.StatusCode, count())
		}

		resp, body = owner.post(page+"add", githubForm("widget"))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page {
			t.Fatalf("add: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if _, body := owner.get(page); !strings.Contains(body, "GitHub octo/widget, workflow release.yml") || !strings.Contains(body, "Trusted publisher added") {
			t.Errorf("the page after the addition:\n%s", body)
		}
		if resp, body := owner.post(page+"add", githubForm("widget")); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "already registered") {
			t.Errorf("the same publisher twice: %d", resp.StatusCode)
		}

		// Wrong fields: the message beside the field, the values kept,
		// escaped.
		for name, tc := range map[string]struct {
			form        url.Values
			field, want string
		}{
			"owner id": {url.Values{"owner_id": {"octo"}}, "owner_id", "numeric id"},
			"workflow": {url.Values{"workflow": {"release.sh"}}, "workflow", "ending in .yml"},
			"script":   {url.Values{"repository": {"<script>alert(1)</script>"}}, "repository", "as GitHub spells them"},
		} {
			form := githubForm("other")
			for k, v := range tc.form {
				form[k] = v
			}
			resp, body := owner.post(page+"add", form)
			at := strings.Index(body, `name="`+tc.field+`"`)
			if resp.StatusCode != http.StatusBadRequest || at < 0 || !strings.Contains(body[at:], tc.want) || strings.Contains(body, "<script>alert") {
				t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
			}
			if name == "script" && !strings.Contains(body, `value="&lt;script&gt;alert(1)&lt;/script&gt;"`) {
				t.Errorf("the refused value is not shown again, escaped:\n%s", body)
			}
		}
		// An environment is free text: stored, and shown escaped.
		form = githubForm("widget")
		form.Set("environment", `<script>alert("env")</script>`)
		if resp, body := owner.post(page+"add", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add with an environment: %d\n%s", resp.StatusCode, body)
		}
		if _, body := owner.get(page); strings.Contains(body, "<script>alert") || !strings.Contains(body, "environment &lt;script&gt;alert(&#34;env&#34;)&lt;/script&gt;") {
			t.Errorf("the environment is not escaped:\n%s", body)
		}
		if count() != 2 {
			t.Fatalf("%d publishers, want 2", count())
		}
		id := strconv.FormatInt(tm.publisherID(t, "widget"), 10)

		// A Maintainer sees the publishers, and changes nothing.
		if resp, body := maint.get(page); resp.StatusCode != http.StatusOK || !strings.Contains(body, "octo/widget") || strings.Contains(body, "publishing/add") ||
			strings.Contains(body, "/remove") {
			t.Errorf("a Maintainer's page: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := maint.post(page+"add", githubForm("mallory")); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a Maintainer adds: %d", resp.StatusCode)
		}
		if resp, _ := maint.post(page+id+"/remove", nil); resp.StatusCode != http.StatusForbidden || count() != 2 {
			t.Errorf("a Maintainer removes: %d, %d publishers", resp.StatusCode, count())
		}

		// A stale session is sent to re-authenticate, and comes back.
		clk.Add(staleAge)
		owner.get(page)
		resp, _ = owner.post(page+id+"/remove", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != reauthURL(page) || count() != 2 {
			t.Errorf("a stale session removes: %d %s, %d publishers", resp.StatusCode, loc, count())
		}
		if resp, _ := owner.post(page+"add", githubForm("late")); resp.Header.Get("Location") != reauthURL(page) || count() != 2 {
			t.Errorf("a stale session adds: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		reauth(t, owner, "", clk)
		owner.get(page)
		if resp, _ := owner.post(page+id+"/remove", nil); resp.StatusCode != http.StatusSeeOther || count() != 1 {
			t.Errorf("remove: %d, %d publishers", resp.StatusCode, count())
		}
		if resp, _ := owner.post(page+id+"/remove", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("removed twice: %d", resp.StatusCode)
		}
	})
}

// TestPublishingPendingPages is the account's page of pending
// publishers: add one through the form, see it listed, a wrong project
// name shown beside its field, another account cannot remove it, its
// owner can.
func TestPublishingPendingPages(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		tm.project(t, "widget")
		owner, maint := tm.browsers["owner"], tm.browsers["maintainer"]
		const page = "/manage/account/publishing/"

		resp, body := owner.get(page)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "no pending trusted publishers") || !strings.Contains(body, `name="project_name"`) {
			t.Fatalf("the empty page: %d\n%s", resp.StatusCode, body)
		}
		form := githubForm("newthing")
		form.Set("project_name", "newthing")
		if resp, body := owner.post(page+"add", form); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page {
			t.Fatalf("add: %d\n%s", resp.StatusCode, body)
		}
		_, body = owner.get(page)
		if !strings.Contains(body, "<td>newthing</td>") || !strings.Contains(body, "GitHub octo/newthing") {
			t.Errorf("the list:\n%s", body)
		}
		for name, tc := range map[string]struct{ project, want string }{
			"bad name": {"-bad-", "not a valid project name"},
			"exists":   {"widget", "exists already"},
		} {
			form := githubForm("another")
			form.Set("project_name", tc.project)
			resp, body := owner.post(page+"add", form)
			if resp.StatusCode/100 != 4 || !strings.Contains(body, tc.want) || !strings.Contains(body, `value="`+tc.project+`"`) {
				t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
			}
		}
		pubs, err := s.st.PendingPublishersOf(context.Background(), tm.users["owner"].ID)
		storetest.Must(t, err)
		if len(pubs) != 1 {
			t.Fatalf("%d pending publishers, want 1", len(pubs))
		}
		id := strconv.FormatInt(pubs[0].ID, 10)
		if _, body := maint.get(page); strings.Contains(body, "newthing") {
			t.Error("another account sees the pending publisher")
		}
		if resp, _ := maint.post(page+id+"/remove", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another account removes it: %d", resp.StatusCode)
		}
		if resp, _ := owner.post(page+id+"/remove", url.Values{"csrf_token": {""}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("without the form token: %d", resp.StatusCode)
		}
		if resp, _ := owner.post(page+id+"/remove", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("remove: %d", resp.StatusCode)
		}
		if _, body := owner.get(page); strings.Contains(body, "<td>newthing</td>") {
			t.Error("still listed after its removal")
		}
	})
}

// TestPublishingPagesIssuers is the forms' offer as the operator
// configured the issuers: a generic issuer adds the generic form, whose
// rules are lines "claim=value"; a self-managed GitLab adds the choice
// of issuer and the instance to the GitLab form; with trusted
// publishing off, there are no pages and no links to them.
func TestPublishingPagesIssuers(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{OIDCIssuers: []oidc.Issuer{
			{Name: "forge", URL: "https://forge.example", Kind: oidc.Generic},
			{Name: "corp-gitlab", URL: "https://gitlab.corp.example", Kind: oidc.GitLab},
		}})
		tm := newTeam(t, s)
		tm.project(t, "widget")
		owner := tm.browsers["owner"]
		const page = "/manage/project/widget/publishing/"
		_, body := owner.get(page)
		for _, want := range []string{`name="rules"`, `<option>gitlab</option><option>corp-gitlab</option>`, `name="instance"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		generic := url.Values{"kind": {"generic"}, "issuer": {"forge"}, "rules": {"repository = org/widget\r\nref=refs/heads/main\r\n"}}
		if resp, body := owner.post(page+"add", generic); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add a generic publisher: %d\n%s", resp.StatusCode, body)
		}
		if _, body := owner.get(page); !strings.Contains(body, `forge {&#34;ref&#34;:&#34;refs/heads/main&#34;,&#34;repository&#34;:&#34;org/widget&#34;}`) {
			t.Errorf("the generic publisher is not listed:\n%s", body)
		}
		generic.Set("rules", "repository org/widget")
		resp, body := owner.post(page+"add", generic)
		if at := strings.Index(body, `name="rules"`); resp.StatusCode != http.StatusBadRequest || at < 0 || !strings.Contains(body[at:], "claim=value") {
			t.Errorf("a rule without '=': %d\n%s", resp.StatusCode, body)
		}
		gitlab := url.Values{"kind": {"gitlab"}, "issuer": {"corp-gitlab"}, "instance": {"gitlab.corp.example"}, "namespace": {"team/sub"},
			"project": {"widget"}, "ci_config_path": {".gitlab-ci.yml"}}
		if resp, body := owner.post(page+"add", gitlab); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add a self-managed GitLab publisher: %d\n%s", resp.StatusCode, body)
		}
		if _, body := owner.get(page); !strings.Contains(body, "GitLab gitlab.corp.example/team/sub/widget, .gitlab-ci.yml") {
			t.Errorf("the GitLab publisher is not listed:\n%s", body)
		}

		off := newTestServerWith(t, d, serverConfig{NoTrustedPublishing: true})
		otm := newTeam(t, off)
		otm.project(t, "widget")
		b := otm.browsers["owner"]
		if _, body := b.get("/manage/project/widget/"); strings.Contains(body, "publishing/") {
			t.Error("a link to the publishing page with trusted publishing off")
		}
		for _, path := range []string{page, "/manage/account/publishing/"} {
			if resp, _ := b.get(path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s with trusted publishing off: %d", path, resp.StatusCode)
			}
		}
	})
}
