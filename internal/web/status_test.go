package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestProjectStatusOverHTTP drives a project through its statuses (PEP
// 792) over HTTP: an Owner archives it on its settings page (a
// Maintainer cannot, nor a post without the form token), uploads are
// refused with the reason while its files are served, the management API
// deprecates it, and an administrator quarantines it on the
// administrators' page (nothing served, nothing changes, the page says
// why) and releases it (everything back).
func TestProjectStatusOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		tm.project(t, "widget")
		owner, maint := tm.browsers["owner"], tm.browsers["maintainer"]
		_, simple := s.get("/simple/widget/")
		_, href, _ := strings.Cut(string(simple), `href="`)
		href, _, _ = strings.Cut(href, "#")
		fileURL := strings.TrimPrefix(href, s.URL) // a file of 1.0

		// published is what the simple pages, the JSON API and the public
		// page say of the project's status, and how its files fare.
		type published struct {
			HTMLStatus, HTMLReason, JSONStatus, JSONReason, APIStatus, Banner string
			Links, FileStatus                                                 int
		}
		look := func() published {
			t.Helper()
			var p published
			_, html := s.get("/simple/widget/")
			h := string(html)
			p.HTMLStatus = metaContent(h, "pypi:project-status")
			p.HTMLReason = metaContent(h, "pypi:project-status-reason")
			p.Links = strings.Count(h, "<a href=")
			_, js := s.get("/simple/widget/", "Accept", mediaJSON)
			var doc struct {
				Status struct{ Status, Reason string } `json:"project-status"`
			}
			storetest.Must(t, json.Unmarshal(js, &doc))
			p.JSONStatus, p.JSONReason = doc.Status.Status, doc.Status.Reason
			_, api := s.get("/pypi/widget/json")
			var info struct {
				Info struct {
					ProjectStatus struct{ Status string } `json:"project_status"`
				} `json:"info"`
			}
			storetest.Must(t, json.Unmarshal(api, &info))
			p.APIStatus = info.Info.ProjectStatus.Status
			_, page := s.get("/project/widget/")
			if _, rest, ok := strings.Cut(string(page), `status-banner" role="`); ok {
				_, rest, _ = strings.Cut(rest, `data-status="`)
				p.Banner, _, _ = strings.Cut(rest, `"`)
			}
			resp, _ := s.get(fileURL)
			p.FileStatus = resp.StatusCode
			return p
		}
		expect := func(what string, want published) {
			t.Helper()
			if got := look(); got != want {
				t.Errorf("%s: %+v\nwant %+v", what, got, want)
			}
		}
		upload := func(v string) (int, string) {
			t.Helper()
			d := disttest.Dist{Name: "widget", Version: v}
			content := d.Wheel()
			resp, _ := s.do(s.uploadRequest(tm.tokens["maintainer"], d.Form("bdist_wheel", content), d.WheelFilename(), content))
			return resp.StatusCode, resp.Status
		}
		expect("at first", published{"active", "", "active", "", "active", "", 3, http.StatusOK})

		// The settings page offers the status to Owners only.
		body := getOK(t, owner, "/manage/project/widget/")
		if !strings.Contains(body, `action="/manage/project/widget/settings/status"`) || !strings.Contains(pageText(body), "This project is active") {
			t.Errorf("the Owner's settings page has no status form:\n%s", body)
		}
		if body := getOK(t, maint, "/manage/project/widget/"); strings.Contains(body, "settings/status") {
			t.Errorf("the Maintainer's page offers the status form")
		}
		resp, body := maint.post("/manage/project/widget/settings/status", url.Values{"status": {"archived"}})
		wantStatus(t, "a Maintainer archives", resp, body, http.StatusForbidden, "Only an Owner")
		resp, body = owner.post("/manage/project/widget/settings/status", url.Values{"status": {"archived"}, "csrf_token": {"forged"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a post with a forged form token: %d", resp.StatusCode)
		}

		resp, body = owner.post("/manage/project/widget/settings/status", url.Values{"status": {"archived"}, "reason": {"no longer maintained"}})
		wantStatus(t, "archive", resp, body, http.StatusSeeOther)
		expect("archived", published{"archived", "no longer maintained", "archived", "no longer maintained", "archived", "archived", 3, http.StatusOK})
		if code, status := upload("3.0"); code != http.StatusForbidden ||
			status != "403 The user 'maintainer' isn't allowed to upload to project 'widget': the project is archived. See "+s.URL+"/help/#project-archived for more information." {
			t.Errorf("upload to an archived project: %s", status)
		}
		if text := pageText(getOK(t, owner, "/manage/project/widget/")); !strings.Contains(text, "This project is archived (no longer maintained)") || !strings.Contains(text, "Unarchive") {
			t.Errorf("settings page of an archived project: %s", text)
		}
		resp, body = owner.post("/manage/project/widget/settings/status", url.Values{"status": {"active"}})
		wantStatus(t, "unarchive", resp, body, http.StatusSeeOther)
		if code, status := upload("3.0"); code != http.StatusOK {
			t.Errorf("upload after unarchiving: %s", status)
		}

		// The management API deprecates it.
		r, b := tm.api(t, "owner", "POST", "/api/projects/widget/status", map[string]string{"status": "deprecated", "reason": "use gadget"})
		var doc map[string]any
		if r.StatusCode != http.StatusOK || json.Unmarshal(b, &doc) != nil || doc["status"] != "deprecated" || doc["status_reason"] != "use gadget" {
			t.Fatalf("API deprecate: %s %s", r.Status, b)
		}
		r, b = tm.api(t, "maintainer", "POST", "/api/projects/widget/status", map[string]string{"status": "active"})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("API: a Maintainer undeprecates: %s %s", r.Status, b)
		}
		expect("deprecated", published{"deprecated", "use gadget", "deprecated", "use gadget", "deprecated", "deprecated", 4, http.StatusOK})

		// The administrators' page: hidden from others, 2FA required.
		if resp, _ := owner.get("/admin/quarantine/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/admin/quarantine/ to a non-administrator: %d", resp.StatusCode)
		}
		if resp, _ := owner.post("/admin/quarantine/", url.Values{"project": {"widget"}, "reason": {"mine"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("quarantine by a non-administrator: %d", resp.StatusCode)
		}
		root := adminWithPassword(t, s, "root")
		admin := signIn(t, s, root, time.Now())
		if resp, _ := admin.get("/admin/quarantine/"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("/admin/quarantine/ to an administrator without 2FA: %d", resp.StatusCode)
		}
		enrol(t, s, root, time.Now())
		if text := pageText(getOK(t, admin, "/admin/quarantine/")); !strings.Contains(text, "No project is quarantined") {
			t.Errorf("empty quarantine page: %s", text)
		}
		resp, body = admin.post("/admin/quarantine/", url.Values{"project": {"Widget"}, "reason": {"malware in setup.py"}})
		wantStatus(t, "quarantine", resp, body, http.StatusSeeOther)
		expect("quarantined", published{"quarantined", "malware in setup.py", "quarantined", "malware in setup.py", "quarantined", "quarantined", 0, http.StatusNotFound})
		if resp, _ := s.get(fileURL + ".metadata"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("core metadata of a quarantined file: %d", resp.StatusCode)
		}
		if code, status := upload("4.0"); code != http.StatusForbidden || !strings.Contains(status, "quarantined") || !strings.Contains(status, "malware in setup.py") {
			t.Errorf("upload to a quarantined project: %s", status)
		}
		resp, body = owner.post("/manage/project/widget/settings/status", url.Values{"status": {"active"}})
		wantStatus(t, "the Owner undeprecates a quarantined project", resp, body, http.StatusForbidden, "is quarantined")
		resp, body = owner.post("/manage/project/widget/release/1.0/yank", url.Values{"reason": {"hide"}})
		wantStatus(t, "the Owner yanks in a quarantined project", resp, body, http.StatusForbidden, "is quarantined")
		if text := pageText(getOK(t, owner, "/manage/project/widget/")); !strings.Contains(text, "The administrators of this index quarantined this project: malware in setup.py") {
			t.Errorf("settings page of a quarantined project: %s", text)
		}
		body = getOK(t, admin, "/admin/quarantine/")
		if text := pageText(body); !strings.Contains(text, "widget") || !strings.Contains(text, "malware in setup.py deprecated use gadget") {
			t.Errorf("quarantine page: %s", text)
		}
		resp, body = admin.post("/admin/quarantine/", url.Values{"project": {"widget"}, "reason": {"again"}})
		wantStatus(t, "quarantine twice", resp, body, http.StatusSeeOther)
		if text := pageText(getOK(t, admin, "/admin/quarantine/")); !strings.Contains(text, "already quarantined") {
			t.Errorf("quarantine twice: no message: %s", text)
		}

		resp, body = admin.post("/admin/quarantine/widget/release", nil)
		wantStatus(t, "release", resp, body, http.StatusSeeOther)
		expect("released", published{"deprecated", "use gadget", "deprecated", "use gadget", "deprecated", "deprecated", 4, http.StatusOK})
		if code, status := upload("4.0"); code != http.StatusOK {
			t.Errorf("upload after the release: %s", status)
		}
		mails := s.mailsTo(t, "owner@example.org")
		var subjects []string
		for _, m := range mails {
			if strings.HasPrefix(m.Subject, "widget is") {
				subjects = append(subjects, m.Subject)
			}
		}
		if got := strings.Join(subjects, "|"); got != "widget is now archived|widget is active again|widget is now deprecated|widget is quarantined|widget is released from quarantine" {
			t.Errorf("the Owner's emails: %s", got)
		}
		if len(s.mailsTo(t, "maintainer@example.org")) != 0 {
			t.Errorf("the Maintainer was emailed")
		}
	})
}

// metaContent is the content of the named meta tag of a simple page.
func metaContent(page, name string) string {
	_, rest, ok := strings.Cut(page, `<meta name="`+name+`" content="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// TestQuarantinedProjectListings checks where a quarantined project
// shows over HTTP: still in the root simple index, HTML and JSON (PEP 792
// changes no root response), but out of search (its exact name
// included), the home page's recent list and its users' pages, and its
// own page offers no pip command; released, it is back everywhere.
func TestQuarantinedProjectListings(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		tm.project(t, "widget")
		type shown struct{ RootHTML, RootJSON, Search, Exact, Recent, User, Install bool }
		look := func() shown {
			t.Helper()
			var v shown
			_, html := s.get("/simple/")
			v.RootHTML = strings.Contains(string(html), ">widget</a>")
			_, js := s.get("/simple/", "Accept", mediaJSON)
			var root struct{ Projects []struct{ Name string } }
			storetest.Must(t, json.Unmarshal(js, &root))
			for _, p := range root.Projects {
				v.RootJSON = v.RootJSON || p.Name == "widget"
			}
			_, search := s.get("/search/?q=widg")
			v.Search = strings.Contains(string(search), `href="/project/widget/"`)
			_, exact := s.get("/search/?q=widget")
			v.Exact = strings.Contains(string(exact), `href="/project/widget/"`)
			_, home := s.get("/")
			v.Recent = strings.Contains(string(home), `href="/project/widget/"`)
			_, user := s.get("/user/owner/")
			v.User = strings.Contains(string(user), `href="/project/widget/"`)
			_, page := s.get("/project/widget/")
			v.Install = strings.Contains(string(page), "pip install --index-url "+s.URL+"/simple/ widget")
			return v
		}
		everywhere := shown{true, true, true, true, true, true, true}
		if got := look(); got != everywhere {
			t.Fatalf("active: %+v", got)
		}
		root := adminWithPassword(t, s, "root")
		admin := signIn(t, s, root, time.Now())
		enrol(t, s, root, time.Now())
		getOK(t, admin, "/admin/quarantine/")
		resp, body := admin.post("/admin/quarantine/", url.Values{"project": {"widget"}, "reason": {"malware"}})
		wantStatus(t, "quarantine", resp, body, http.StatusSeeOther)
		if got, want := look(), (shown{RootHTML: true, RootJSON: true}); got != want {
			t.Errorf("quarantined: %+v\nwant %+v", got, want)
		}
		resp, body = admin.post("/admin/quarantine/widget/release", nil)
		wantStatus(t, "release", resp, body, http.StatusSeeOther)
		if got := look(); got != everywhere {
			t.Errorf("released: %+v", got)
		}
	})
}
