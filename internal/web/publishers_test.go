package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/index"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// githubSpec is a GitHub publisher's configuration, for the repository
// repo of the owner "octo", as the management API takes it.
func githubSpec(repo string) map[string]any {
	return map[string]any{"kind": "github", "owner": "octo", "owner_id": "4242", "repository": repo, "workflow": "release.yml"}
}

// pendingSpec is a pending GitHub publisher that creates project.
func pendingSpec(project, repo string) map[string]any {
	m := githubSpec(repo)
	m["project_name"] = project
	return m
}

// addPublisher adds a GitHub publisher to project p as its owner would,
// straight through the publish service.
func (tm *team) addPublisher(t *testing.T, p string, spec map[string]any) {
	t.Helper()
	o := &index.Principal{User: tm.users["owner"], RecentAuth: true}
	_, err := tm.s.srv.opts.Publish.AddPublisher(context.Background(), o, o.Meta, p, publish.Spec{Kind: store.PublisherGitHub,
		Owner: spec["owner"].(string), OwnerID: spec["owner_id"].(string), Repository: spec["repository"].(string), Workflow: spec["workflow"].(string)})
	storetest.Must(t, err)
}

// publisherID is the id of project p's first publisher.
func (tm *team) publisherID(t *testing.T, p string) int64 {
	t.Helper()
	ctx := context.Background()
	proj, err := tm.s.st.ProjectByName(ctx, p)
	storetest.Must(t, err)
	pubs, err := tm.s.st.ProjectPublishers(ctx, proj.ID)
	storetest.Must(t, err)
	if len(pubs) == 0 {
		t.Fatalf("%s has no publisher", p)
	}
	return pubs[0].ID
}

// publisherList decodes a {"publishers": [...]} answer.
func publisherList(t *testing.T, raw string) []apiPublisher {
	t.Helper()
	var out struct{ Publishers []apiPublisher }
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return out.Publishers
}

// TestPublisherAPI is the management API of trusted publishers: an
// Owner's fresh session adds, lists and removes a project's publishers
// and the account's pending ones; a Maintainer sees them and changes
// nothing; a stale session is sent to re-authenticate; a critical
// project's Owner without two-factor authentication is refused.
func TestPublisherAPI(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		tm := newTeam(t, s)
		tm.project(t, "widget")
		ctx := context.Background()
		owner, maint := tm.browsers["owner"], tm.browsers["maintainer"]

		resp, raw := owner.sessionAPI("POST", "/api/projects/widget/publishers", githubSpec("widget"))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("add: %d %s", resp.StatusCode, raw)
		}
		var added apiPublisher
		storetest.Must(t, json.Unmarshal([]byte(raw), &added))
		if added.ID == 0 || added.Kind != "github" || added.OwnerID != "4242" || added.Description != "GitHub octo/widget, workflow release.yml" {
			t.Errorf("added: %+v", added)
		}
		if resp, raw := owner.sessionAPI("POST", "/api/projects/widget/publishers", githubSpec("widget")); resp.StatusCode != http.StatusConflict ||
			!strings.Contains(raw, "already registered") {
			t.Errorf("the same publisher twice: %d %s", resp.StatusCode, raw)
		}
		for name, spec := range map[string]map[string]any{
			"no owner id":  {"kind": "github", "owner": "octo", "repository": "widget", "workflow": "release.yml"},
			"unknown kind": {"kind": "jenkins"},
			"no rules":     {"kind": "generic", "issuer": "github"},
		} {
			if resp, raw := owner.sessionAPI("POST", "/api/projects/widget/publishers", spec); resp.StatusCode != http.StatusBadRequest || !strings.Contains(raw, `"message"`) {
				t.Errorf("%s: %d %s, want 400 with a message", name, resp.StatusCode, raw)
			}
		}

		for who, b := range map[string]*browser{"owner": owner, "maintainer": maint} {
			resp, raw := b.sessionAPI("GET", "/api/projects/widget/publishers", nil)
			if pubs := publisherList(t, raw); resp.StatusCode != http.StatusOK || len(pubs) != 1 || pubs[0].ID != added.ID {
				t.Errorf("%s lists: %d %s", who, resp.StatusCode, raw)
			}
		}
		if resp, raw := tm.browsers["stranger"].sessionAPI("GET", "/api/projects/widget/publishers", nil); resp.StatusCode/100 != 4 || strings.Contains(raw, "octo") {
			t.Errorf("a stranger lists: %d %s", resp.StatusCode, raw)
		}
		id := strconv.FormatInt(added.ID, 10)
		if resp, raw := maint.sessionAPI("POST", "/api/projects/widget/publishers", githubSpec("other")); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a Maintainer adds: %d %s", resp.StatusCode, raw)
		}
		if resp, raw := maint.sessionAPI("DELETE", "/api/projects/widget/publishers/"+id, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a Maintainer removes: %d %s", resp.StatusCode, raw)
		}

		// A session that proved its identity 21 minutes ago is sent to
		// re-authenticate, and changes nothing.
		clk.Add(staleAge)
		if resp, raw := owner.sessionAPI("DELETE", "/api/projects/widget/publishers/"+id, nil); resp.StatusCode != http.StatusForbidden ||
			!strings.Contains(raw, "/manage/account/reauth/") {
			t.Errorf("a stale session removes: %d %s", resp.StatusCode, raw)
		}
		if resp, raw := owner.sessionAPI("POST", "/api/publishers/pending", pendingSpec("newthing", "newthing")); resp.StatusCode != http.StatusForbidden ||
			!strings.Contains(raw, "re-authenticate") {
			t.Errorf("a stale session adds a pending publisher: %d %s", resp.StatusCode, raw)
		}
		reauth(t, owner, "", clk)
		reauth(t, maint, "", clk)

		if resp, raw := owner.sessionAPI("DELETE", "/api/projects/widget/publishers/"+id, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("remove: %d %s", resp.StatusCode, raw)
		}
		if _, raw := owner.sessionAPI("GET", "/api/projects/widget/publishers", nil); len(publisherList(t, raw)) != 0 {
			t.Errorf("after the removal: %s", raw)
		}
		if resp, raw := owner.sessionAPI("DELETE", "/api/projects/widget/publishers/"+id, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("removed twice: %d %s", resp.StatusCode, raw)
		}
		proj, err := s.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		evs, err := s.st.ProjectEvents(ctx, proj.ID, 50)
		storetest.Must(t, err)
		var tags []string
		for _, e := range evs {
			if strings.HasPrefix(e.Tag, "project:publisher:") {
				tags = append(tags, e.Tag)
			}
		}
		if strings.Join(tags, " ") != audit.PublisherRemoved+" "+audit.PublisherAdded {
			t.Errorf("the project's publisher events: %v", tags)
		}

		// Pending publishers: the account's own.
		resp, raw = owner.sessionAPI("POST", "/api/publishers/pending", pendingSpec("newthing", "newthing"))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("add pending: %d %s", resp.StatusCode, raw)
		}
		var pending apiPublisher
		storetest.Must(t, json.Unmarshal([]byte(raw), &pending))
		if pending.ProjectName != "newthing" || pending.Repository != "newthing" {
			t.Errorf("pending: %+v", pending)
		}
		if resp, raw := owner.sessionAPI("POST", "/api/publishers/pending", pendingSpec("widget", "x")); resp.StatusCode != http.StatusConflict {
			t.Errorf("pending for an existing project: %d %s", resp.StatusCode, raw)
		}
		if _, raw := owner.sessionAPI("GET", "/api/publishers/pending", nil); len(publisherList(t, raw)) != 1 {
			t.Errorf("pending list: %s", raw)
		}
		if _, raw := maint.sessionAPI("GET", "/api/publishers/pending", nil); len(publisherList(t, raw)) != 0 {
			t.Errorf("another account sees the pending publisher: %s", raw)
		}
		pid := strconv.FormatInt(pending.ID, 10)
		if resp, raw := maint.sessionAPI("DELETE", "/api/publishers/pending/"+pid, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another account removes the pending publisher: %d %s", resp.StatusCode, raw)
		}
		if resp, raw := owner.sessionAPI("DELETE", "/api/publishers/pending/"+pid, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("remove pending: %d %s", resp.StatusCode, raw)
		}
		if _, raw := owner.sessionAPI("GET", "/api/publishers/pending", nil); len(publisherList(t, raw)) != 0 {
			t.Errorf("pending list after the removal: %s", raw)
		}

		// The mandate: a critical project's Owner without two-factor
		// authentication is refused, with the reason.
		storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, clk.Now().Add(-time.Hour)))
		if resp, raw := owner.sessionAPI("POST", "/api/projects/widget/publishers", githubSpec("widget")); resp.StatusCode != http.StatusForbidden ||
			!strings.Contains(raw, "critical project") {
			t.Errorf("critical project without 2FA: %d %s", resp.StatusCode, raw)
		}
		if pubs, err := s.st.ProjectPublishers(ctx, proj.ID); err != nil || len(pubs) != 0 {
			t.Errorf("publishers after the refusal: %d (%v)", len(pubs), err)
		}
	})
}

// TestPublisherAPITokens is the attack of a stolen API token, even one
// with the management scope, on trusted publishers: as on PyPI, where
// only the web UI adds them, it cannot add its thief's publisher to the
// project, remove one, nor touch pending publishers; it may list the
// project's publishers, as it may read the project.
func TestPublisherAPITokens(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		tm.project(t, "target")
		tm.addPublisher(t, "target", githubSpec("target"))
		id := strconv.FormatInt(tm.publisherID(t, "target"), 10)
		scoped := s.manageToken(tm.users["owner"], "target")
		for name, tok := range map[string]string{"management token": tm.manageTokens["owner"], "scoped management token": scoped} {
			for _, r := range []apiRoute{
				{"POST", "/api/projects/target/publishers", githubSpec("mallory")},
				{"DELETE", "/api/projects/target/publishers/" + id, nil},
				{"GET", "/api/publishers/pending", nil},
				{"POST", "/api/publishers/pending", pendingSpec("squat", "mallory")},
				{"DELETE", "/api/publishers/pending/" + id, nil},
			} {
				resp, raw := s.apiRequest(t, tok, r.method, r.path, r.body)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(raw), "web UI") {
					t.Errorf("%s: %s %s: %d %s, want 403 sending to the web UI", name, r.method, r.path, resp.StatusCode, raw)
				}
			}
			resp, raw := s.apiRequest(t, tok, "GET", "/api/projects/target/publishers", nil)
			if pubs := publisherList(t, string(raw)); resp.StatusCode != http.StatusOK || len(pubs) != 1 || pubs[0].Repository != "target" {
				t.Errorf("%s lists: %d %s", name, resp.StatusCode, raw)
			}
		}
		pubs, err := s.st.ProjectPublishers(context.Background(), mustProject(t, s, "target").ID)
		storetest.Must(t, err)
		if len(pubs) != 1 || pubs[0].RepositoryName != "target" {
			t.Errorf("the publishers changed: %+v", pubs)
		}
		if !hasEvent(t, s.st, tm.users["owner"].ID, audit.TokenRefused) {
			t.Error("the refused attempts are not in the owner's security history")
		}
	})
}

func mustProject(t *testing.T, s *testServer, name string) *store.Project {
	t.Helper()
	p, err := s.st.ProjectByName(context.Background(), name)
	storetest.Must(t, err)
	return p
}
