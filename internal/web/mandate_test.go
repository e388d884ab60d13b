package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// tryUpload uploads a new wheel of p with the token and returns the
// status and the message.
func tryUpload(s *testServer, token, p, version string) (int, string) {
	d := disttest.Dist{Name: p, Version: version}
	content := d.Wheel()
	resp, body := s.do(s.uploadRequest(token, d.Form("bdist_wheel", content), d.WheelFilename(), content))
	return resp.StatusCode, resp.Status + " " + string(body)
}

// TestMandateOptIn: an Owner requires two-factor authentication of its
// project's collaborators; it must have it itself; reads stay open.
func TestMandateOptIn(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		ctx := context.Background()
		tm.project(t, "optin")
		owner := tm.users["owner"]

		resp, body := tm.browsers["owner"].post("/manage/project/optin/settings/two-factor", url.Values{"require": {"on"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "the Owners of &#39;optin&#39; require two-factor authentication") {
			t.Fatalf("an Owner without 2FA opting in: %d, want 403 saying it must have 2FA itself\n%s", resp.StatusCode, body)
		}
		if resp, body := tm.browsers["owner"].post("/manage/project/optin/settings/two-factor", url.Values{"require": {"maybe"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("require=maybe: %d, want a redirect back with the error\n%s", resp.StatusCode, body)
		}
		storetest.Must(t, s.st.SetTOTP(ctx, owner.ID, "sealed", 0, time.Now()))
		if resp, body := tm.browsers["owner"].post("/manage/project/optin/settings/two-factor", url.Values{"require": {"on"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("opting in with 2FA: %d\n%s", resp.StatusCode, body)
		}
		proj, err := s.st.ProjectByName(ctx, "optin")
		storetest.Must(t, err)
		if !proj.Require2FA {
			t.Fatal("the project does not require 2FA after the Owner opted in")
		}
		_, page := tm.browsers["owner"].get("/manage/project/optin/")
		if !strings.Contains(page, "2FA required") || !strings.Contains(page, "Stop requiring two-factor authentication") {
			t.Fatalf("the settings do not show the opt-in:\n%s", page)
		}

		// The Maintainer's token, made before, no longer uploads.
		status, msg := tryUpload(s, tm.tokens["maintainer"], "optin", "3.0")
		if status != http.StatusForbidden || !strings.Contains(msg, "the Owners of 'optin' require two-factor authentication") ||
			!strings.Contains(msg, "/manage/account/two-factor/") {
			t.Fatalf("maintainer upload to an opted-in project: %d %s", status, msg)
		}
		// Reads and downloads are never affected.
		wheel := disttest.Dist{Name: "optin", Version: "1.0"}.WheelFilename()
		_, simple := s.get("/simple/optin/")
		for _, path := range []string{"/simple/optin/", "/pypi/optin/json", "/project/optin/", fileURLPath(t, string(simple), wheel)} {
			if resp, _ := s.get(path); resp.StatusCode != http.StatusOK {
				t.Errorf("anonymous GET %s: %d, want 200", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/manage/project/optin/", "/manage/project/optin/collaboration/", "/manage/project/optin/history/"} {
			if resp, _ := tm.browsers["maintainer"].get(path); resp.StatusCode != http.StatusOK {
				t.Errorf("maintainer without 2FA GET %s: %d, want 200", path, resp.StatusCode)
			}
		}
		// The Maintainer may still leave.
		if resp, body := tm.browsers["maintainer"].post("/manage/project/optin/collaboration/leave", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("maintainer leaving: %d\n%s", resp.StatusCode, body)
		}
		// Opting out is a settings change: it needs 2FA too, which
		// the Owner has; the history tells both.
		if resp, body := tm.browsers["owner"].post("/manage/project/optin/settings/two-factor", url.Values{"require": {"off"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("opting out: %d\n%s", resp.StatusCode, body)
		}
		evs, err := s.st.ProjectEvents(ctx, proj.ID, 50)
		storetest.Must(t, err)
		tags := map[string]bool{}
		for _, e := range evs {
			tags[e.Tag] = true
		}
		for _, tag := range []string{audit.Project2FARequired, audit.Project2FANotRequired, audit.MandateRefused} {
			if !tags[tag] {
				t.Errorf("no %s event in the project's history", tag)
			}
		}
	})
}

// fileURLPath finds the path of a file's link on a simple page.
func fileURLPath(t *testing.T, page, filename string) string {
	t.Helper()
	i := strings.Index(page, "/files/")
	for i >= 0 {
		end := strings.IndexAny(page[i:], "#\"")
		link := page[i : i+end]
		if strings.HasSuffix(link, "/"+filename) {
			return link
		}
		next := strings.Index(page[i+1:], "/files/")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	t.Fatalf("no link to %s on\n%s", filename, page)
	return ""
}

// TestMandateGrace: with --mandate-grace, a newly critical project's
// collaborators may go on without 2FA until the grace period ends.
func TestMandateGrace(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newTestServerWith(t, store.SQLite, serverConfig{Now: clock, MandateGrace: 7 * 24 * time.Hour})
	tm := newTeam(t, s)
	ctx := context.Background()
	tm.project(t, "graceful")
	proj, err := s.st.ProjectByName(ctx, "graceful")
	storetest.Must(t, err)
	storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, now.Add(-24*time.Hour)))
	if status, msg := tryUpload(s, tm.tokens["maintainer"], "graceful", "3.0"); status != http.StatusOK {
		t.Fatalf("upload within the grace period: %d %s", status, msg)
	}
	mu.Lock()
	now = now.Add(6 * 24 * time.Hour)
	mu.Unlock()
	status, msg := tryUpload(s, tm.tokens["maintainer"], "graceful", "3.1")
	if status != http.StatusForbidden || !strings.Contains(msg, "'graceful' is a critical project") {
		t.Fatalf("upload after the grace period: %d %s", status, msg)
	}
}

// TestMandateKeepsLastMethod: a user bound by a mandate cannot remove its
// last second factor; with a second one it can remove either.
func TestMandateKeepsLastMethod(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		tm := newTeam(t, s)
		ctx := context.Background()
		tm.project(t, "bound")
		maint := tm.users["maintainer"]
		storetest.Must(t, s.st.SetTOTP(ctx, maint.ID, "sealed", 0, time.Now()))
		u, err := s.st.UserByID(ctx, maint.ID)
		storetest.Must(t, err)
		// A session that has just proved its identity.
		c := &account.Current{User: u, Session: &store.Session{State: store.SessionActive, AuthenticatedAt: time.Now()}}
		// Not bound yet: the app may go (and comes back).
		storetest.Must(t, s.tf.RemoveTOTP(ctx, c, meta0()))
		storetest.Must(t, s.st.SetTOTP(ctx, maint.ID, "sealed", 0, time.Now()))
		u.HasTOTP = true

		proj, err := s.st.ProjectByName(ctx, "bound")
		storetest.Must(t, err)
		storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, time.Now()))
		err = s.tf.RemoveTOTP(ctx, c, meta0())
		if err == nil || !strings.Contains(err.Error(), "'bound'") || !strings.Contains(err.Error(), "last two-factor method") {
			t.Fatalf("removing the last method while bound: %v", err)
		}
		if has, _ := s.tf.HasTwoFactor(ctx, maint.ID); !has {
			t.Fatal("the method is gone despite the refusal")
		}
	})
}

func meta0() audit.Meta { return audit.Meta{IP: "127.0.0.1", UserAgent: "test"} }
