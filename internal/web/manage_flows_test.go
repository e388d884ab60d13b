package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// eachTeam runs fn on both databases with a fresh server and team.
func eachTeam(t *testing.T, fn func(t *testing.T, tm *team)) {
	t.Helper()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		fn(t, newTeam(t, newTestServer(t, d)))
	})
}

func TestManageLastOwner(t *testing.T) {
	t.Parallel()
	eachTeam(t, func(t *testing.T, tm *team) {
		tm.project(t, "solo")
		b := tm.browsers["owner"]
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{"/manage/project/solo/collaboration/role", url.Values{"username": {"owner"}, "role": {"Maintainer"}}},
			{"/manage/project/solo/collaboration/remove", url.Values{"username": {"owner"}}},
			{"/manage/project/solo/collaboration/leave", nil},
		} {
			resp, _ := b.post(c.path, c.form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: status %d", c.path, resp.StatusCode)
			}
			_, body := b.get(resp.Header.Get("Location"))
			if !strings.Contains(body, "at least one Owner") {
				t.Fatalf("%s: no refusal shown", c.path)
			}
			if r := tm.role(t, "solo", "owner"); r != store.RoleOwner {
				t.Fatalf("%s: owner's role is now %q", c.path, r)
			}
		}
		if resp, _ := tm.api(t, "owner", "DELETE", "/api/projects/solo/roles/owner", nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("api: removing the last owner: status %d", resp.StatusCode)
		}
		// With a second Owner, the first may step down and leave.
		b.post("/manage/project/solo/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Owner"}})
		b.post("/manage/project/solo/collaboration/role", url.Values{"username": {"owner"}, "role": {"Maintainer"}})
		if r := tm.role(t, "solo", "owner"); r != store.RoleMaintainer {
			t.Fatalf("owner's role is %q after stepping down", r)
		}
		if resp, _ := tm.browsers["maintainer"].post("/manage/project/solo/collaboration/leave", nil); resp.StatusCode != http.StatusSeeOther || tm.role(t, "solo", "maintainer") != store.RoleOwner {
			t.Fatalf("the last owner could leave: %d", resp.StatusCode)
		}
		if resp, _ := b.post("/manage/project/solo/collaboration/leave", nil); resp.StatusCode != http.StatusSeeOther || tm.role(t, "solo", "owner") != "" {
			t.Fatalf("a maintainer could not leave: %d", resp.StatusCode)
		}
	})
}

func TestManageInvitations(t *testing.T) {
	t.Parallel()
	eachTeam(t, func(t *testing.T, tm *team) {
		tm.project(t, "club")
		owner, inv := tm.browsers["owner"], tm.browsers["invitee"]
		invite := func(role string) {
			t.Helper()
			if resp, _ := owner.post("/manage/project/club/collaboration/invite", url.Values{"username": {"invitee"}, "role": {role}}); resp.StatusCode != http.StatusSeeOther || !tm.invited(t, "club", "invitee") {
				t.Fatalf("invite: %d", resp.StatusCode)
			}
		}

		t.Run("unverified or unknown users cannot be invited", func(t *testing.T) {
			tm.s.user("unverified")
			for _, name := range []string{"unverified", "nobody", "maintainer"} {
				resp, _ := tm.api(t, "owner", "POST", "/api/projects/club/roles", map[string]string{"username": name, "role": "Maintainer"})
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: status %d", name, resp.StatusCode)
				}
			}
		})
		t.Run("decline", func(t *testing.T) {
			invite("Maintainer")
			if _, body := inv.get("/manage/projects/"); !strings.Contains(body, "/manage/project/club/invitation/accept") {
				t.Fatal("the invitation is not shown to the invitee")
			}
			if resp, _ := inv.post("/manage/project/club/invitation/decline", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("decline: %d", resp.StatusCode)
			}
			if tm.invited(t, "club", "invitee") || tm.role(t, "club", "invitee") != "" {
				t.Fatal("declined invitation left a trace")
			}
		})
		t.Run("someone else cannot accept", func(t *testing.T) {
			invite("Owner")
			if resp, _ := tm.browsers["stranger"].post("/manage/project/club/invitation/accept", nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("stranger accepted: %d", resp.StatusCode)
			}
		})
		t.Run("expired", func(t *testing.T) {
			invite("Owner") // replaces the previous one
			_, err := tm.s.st.DB().Exec(`UPDATE role_invitations SET expires_at = $1`, time.Now().Add(-time.Minute).UnixMicro())
			storetest.Must(t, err)
			if _, body := inv.get("/manage/projects/"); strings.Contains(body, "invitation/accept") {
				t.Fatal("an expired invitation is offered")
			}
			resp, _ := inv.post("/manage/project/club/invitation/accept", nil)
			_, body := inv.get(resp.Header.Get("Location"))
			if !strings.Contains(body, "expired") || tm.role(t, "club", "invitee") != "" {
				t.Fatal("an expired invitation was accepted")
			}
		})
		t.Run("accept", func(t *testing.T) {
			invite("Owner")
			if resp, _ := inv.post("/manage/project/club/invitation/accept", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("accept: %d", resp.StatusCode)
			}
			if tm.role(t, "club", "invitee") != store.RoleOwner || tm.invited(t, "club", "invitee") {
				t.Fatal("accepting did not give the role")
			}
			_, body := owner.get("/manage/project/club/history/")
			for _, want := range []string{"owner invited invitee as Owner", "invitee accepted the role Owner", "invitee declined the role Maintainer", "File uploaded by owner", "Project created by owner"} {
				if !strings.Contains(body, want) {
					t.Errorf("history lacks %q", want)
				}
			}
		})
	})
}

func TestManageYankAndDelete(t *testing.T) {
	t.Parallel()
	eachTeam(t, func(t *testing.T, tm *team) {
		tm.project(t, "shaky")
		b := tm.browsers["owner"]
		const reason = `<script>alert(1)</script>`
		b.get("/simple/shaky/") // warm the cache: the yank must invalidate it
		if resp, _ := b.post("/manage/project/shaky/release/1.0/yank", url.Values{"reason": {reason}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("yank: %d", resp.StatusCode)
		}
		_, body := tm.s.get("/simple/shaky/")
		if !strings.Contains(string(body), `data-yanked="&lt;script&gt;alert(1)&lt;/script&gt;"`) {
			t.Fatalf("simple page does not show the yank:\n%s", body)
		}
		_, js := tm.s.get("/simple/shaky/", "Accept", "application/vnd.pypi.simple.v1+json")
		var doc struct {
			Files []struct {
				Filename string `json:"filename"`
				Yanked   any    `json:"yanked"`
			} `json:"files"`
		}
		storetest.Must(t, json.Unmarshal(js, &doc))
		for _, f := range doc.Files {
			if want := strings.Contains(f.Filename, "-1.0"); (f.Yanked == reason) != want {
				t.Errorf("%s: yanked = %v", f.Filename, f.Yanked)
			}
		}
		_, pj := tm.s.get("/pypi/shaky/1.0/json")
		if !strings.Contains(string(pj), `"yanked":true`) {
			t.Errorf("JSON API does not show the yank: %s", pj)
		}
		_, page := b.get("/manage/project/shaky/")
		if strings.Contains(page, reason) || !strings.Contains(page, "&lt;script&gt;") {
			t.Error("the yank reason is not escaped on the management page")
		}

		if resp, _ := b.post("/manage/project/shaky/release/1.0/unyank", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("unyank: %d", resp.StatusCode)
		}
		if _, body := tm.s.get("/simple/shaky/"); strings.Contains(string(body), "data-yanked") {
			t.Fatal("unyank not reflected in the simple page")
		}

		// A deleted release's filenames are burned.
		if resp, _ := b.post("/manage/project/shaky/release/1.0/delete", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete release: %d", resp.StatusCode)
		}
		if _, body := tm.s.get("/simple/shaky/"); strings.Contains(string(body), "shaky-1.0") {
			t.Fatal("deleted release still listed")
		}
		d := disttest.Dist{Name: "shaky", Version: "1.0"}
		content := d.Wheel()
		resp, body3 := tm.s.do(tm.s.uploadRequest(tm.tokens["owner"], d.Form("bdist_wheel", content), d.WheelFilename(), content))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body3), "previously used") {
			t.Fatalf("re-upload of a deleted file: %s %s", resp.Status, body3)
		}

		// Deleting the project needs its name typed, and reserves it.
		if resp, _ := b.post("/manage/project/shaky/delete", url.Values{"confirm_name": {"wrong"}}); resp.StatusCode != http.StatusSeeOther || tm.release(t, "shaky", "2.0") == nil {
			t.Fatal("deleted without the right confirmation")
		}
		if resp, _ := b.post("/manage/project/shaky/delete", url.Values{"confirm_name": {"Shaky"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete project: %d", resp.StatusCode)
		}
		if resp, _ := tm.s.get("/simple/shaky/"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("deleted project: simple page %d", resp.StatusCode)
		}
		if _, root := tm.s.get("/simple/"); strings.Contains(string(root), "shaky") {
			t.Fatal("deleted project still in the root index")
		}
		d = disttest.Dist{Name: "shaky", Version: "3.0"}
		content = d.Wheel()
		if resp, body := tm.s.do(tm.s.uploadRequest(tm.tokens["stranger"], d.Form("bdist_wheel", content), d.WheelFilename(), content)); resp.StatusCode == http.StatusOK {
			t.Fatalf("someone took over a deleted project's name: %s", body)
		}
	})
}

var secretBox = regexp.MustCompile(`<p class="secret">([^<]+)</p>`)

func TestManageTokens(t *testing.T) {
	t.Parallel()
	eachTeam(t, func(t *testing.T, tm *team) {
		tm.project(t, "tokened")
		b := tm.browsers["maintainer"]
		const name = `<script>alert(1)</script>`
		resp, body := b.post("/manage/account/tokens/", url.Values{"name": {name}, "scope": {"projects"}, "project": {"tokened"}, "expires_days": {"30"}})
		m := secretBox.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("create token: %d\n%s", resp.StatusCode, body)
		}
		secret := m[1]
		if strings.Contains(body, name) || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("the token name is not escaped")
		}
		if _, again := b.get("/manage/account/tokens/"); strings.Contains(again, secret) || !strings.Contains(again, "tokened") {
			t.Error("the secret is shown twice, or the scope is missing")
		}

		// The token uploads to its project, and not elsewhere.
		tm.s.uploadDist(secret, disttest.Dist{Name: "tokened", Version: "3.0"}, false)
		other := disttest.Dist{Name: "other", Version: "1.0"}
		if resp, _ := tm.s.do(tm.s.uploadRequest(secret, other.Form("bdist_wheel", other.Wheel()), other.WheelFilename(), other.Wheel())); resp.StatusCode != http.StatusForbidden {
			t.Errorf("scoped token created a project: %d", resp.StatusCode)
		}
		tm.project(t, "elsewhere")
		req, _ := http.NewRequest("POST", tm.s.URL+"/api/projects/tokened/releases/1.0/yank", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		if resp, _ := tm.s.do(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a maintainer's token yanked: %d", resp.StatusCode)
		}
		req, _ = http.NewRequest("GET", tm.s.URL+"/api/projects/elsewhere/", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		if resp, _ := tm.s.do(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a scoped token reached another project: %d", resp.StatusCode)
		}

		// The token's use is recorded, then it is revoked and refused.
		evs, err := tm.s.st.UserEvents(context.Background(), tm.users["maintainer"].ID, 50)
		storetest.Must(t, err)
		tags := map[string]bool{}
		for _, e := range evs {
			tags[e.Tag] = true
		}
		if !tags["account:api_token:created"] || !tags["account:api_token:used"] {
			t.Errorf("token events missing: %v", tags)
		}
		ts, err := tm.s.st.UserTokens(context.Background(), tm.users["maintainer"].ID)
		storetest.Must(t, err)
		var id int64
		for _, tk := range ts {
			if tk.Name == name {
				id = tk.ID
			}
		}
		if resp, _ := tm.browsers["stranger"].post("/manage/account/tokens/"+strconv.FormatInt(id, 10)+"/revoke", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("someone else revoked the token: %d", resp.StatusCode)
		}
		if resp, _ := b.post("/manage/account/tokens/"+strconv.FormatInt(id, 10)+"/revoke", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		d := disttest.Dist{Name: "tokened", Version: "4.0"}
		content := d.Wheel()
		if resp, _ := tm.s.do(tm.s.uploadRequest(secret, d.Form("bdist_wheel", content), d.WheelFilename(), content)); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("revoked token uploaded: %d", resp.StatusCode)
		}

		// The JSON API creates, lists and revokes tokens too, for a
		// signed-in session.
		ob := tm.browsers["owner"]
		resp, raw := ob.sessionAPI("POST", "/api/tokens", map[string]any{"name": "ci", "projects": []string{"tokened"}})
		var created apiToken
		if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(raw), &created) != nil || created.Token == "" || created.Scope != "projects" || created.Manage {
			t.Fatalf("api create token: %d %s", resp.StatusCode, raw)
		}
		if resp, raw := ob.sessionAPI("GET", "/api/tokens", nil); resp.StatusCode != http.StatusOK || strings.Contains(raw, created.Token) || !strings.Contains(raw, `"ci"`) {
			t.Fatalf("api list tokens: %d %s", resp.StatusCode, raw)
		}
		// A read-only token: made and listed as such, refused for uploads.
		resp, raw = ob.sessionAPI("POST", "/api/tokens", map[string]any{"name": "installer", "read_only": true})
		var reader apiToken
		if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(raw), &reader) != nil || !reader.ReadOnly || reader.Manage {
			t.Fatalf("api create read-only token: %d %s", resp.StatusCode, raw)
		}
		if resp, raw := ob.sessionAPI("GET", "/api/tokens", nil); !strings.Contains(raw, `"read_only":true`) || !strings.Contains(raw, `"read_only":false`) {
			t.Fatalf("api list tokens does not tell read-only ones: %d %s", resp.StatusCode, raw)
		}
		d2 := disttest.Dist{Name: "tokened", Version: "4.1"}
		c2 := d2.Wheel()
		if resp, body := tm.s.do(tm.s.uploadRequest(reader.Token, d2.Form("bdist_wheel", c2), d2.WheelFilename(), c2)); resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Status+string(body), "only read") {
			t.Fatalf("read-only token uploading: %s %s", resp.Status, body)
		}
		if resp, raw := ob.sessionAPI("POST", "/api/tokens", map[string]any{"name": "both", "read_only": true, "manage": true}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("api create a read-only managing token: %d %s", resp.StatusCode, raw)
		}
		if resp, _ := ob.sessionAPI("DELETE", "/api/tokens/"+strconv.FormatInt(created.ID, 10), nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("api revoke: %d", resp.StatusCode)
		}
		if resp, raw := tm.api(t, "nobody", "GET", "/api/tokens", nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(raw), `"message"`) {
			t.Fatalf("api without a valid token: %d %s", resp.StatusCode, raw)
		}
	})
}
