package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// lookalikes is the test servers' detector: a small table of look-alikes.
func lookalikes(_ context.Context, name string) (*index.NameMatch, error) {
	switch strings.ToLower(name) {
	case "reqests":
		return &index.NameMatch{Target: "requests", TargetRank: 1, Kind: "omission"}, nil
	case "nunpy":
		return &index.NameMatch{Target: "numpy", TargetRank: 2, Kind: "keyboard"}, nil
	}
	return nil, nil
}

// uploadAnswer uploads d's wheel and returns the answer.
func (s *testServer) uploadAnswer(token string, d disttest.Dist) (*http.Response, string) {
	s.t.Helper()
	w := d.Wheel()
	resp, body := s.do(s.uploadRequest(token, d.Form("bdist_wheel", w), d.WheelFilename(), w))
	return resp, string(body)
}

// fileURL is the path of d's wheel on the index.
func fileURL(d disttest.Dist) string {
	sum := sha256.Sum256(d.Wheel())
	return "/files/" + hex.EncodeToString(sum[:]) + "/" + d.WheelFilename()
}

// TestLookalikeHeldOverHTTP: a project created under a look-alike name is
// held: invisible on the simple, JSON, file, search and public pages; its
// uploader is told in the upload's answer, by email and on its
// management page; administrators are emailed, and approve it (it
// appears) or delete it and prohibit its name; prohibitions are lifted;
// every administrators' page is a 404 to others and needs the form token.
func TestLookalikeHeldOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{NameCheck: lookalikes})
		alice := s.userWithPassword("alice", mandatePassword)
		_, tok := s.user("alice")
		root := adminWithPassword(t, s, "root")

		held := disttest.Dist{Name: "reqests", Version: "1.0"}
		resp, body := s.uploadAnswer(tok, held)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "held for review") || !strings.Contains(body, "resembles 'requests'") {
			t.Fatalf("held upload: %s %q", resp.Status, body)
		}
		// Further uploads are accepted and stay held.
		held2 := disttest.Dist{Name: "reqests", Version: "1.1"}
		if resp, body := s.uploadAnswer(tok, held2); resp.StatusCode != http.StatusOK || !strings.Contains(body, "held for review") {
			t.Fatalf("second held upload: %s %q", resp.Status, body)
		}
		s.uploadDist(tok, disttest.Dist{Name: "reqests-client", Version: "1.0"}, false) // no look-alike, for search
		invisible := func(when string) {
			t.Helper()
			for _, path := range []string{"/simple/reqests/", "/pypi/reqests/json", "/pypi/reqests/1.0/json", fileURL(held),
				fileURL(held) + ".metadata", "/project/reqests/"} {
				if resp, _ := s.get(path); resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s: GET %s: %d, want 404", when, path, resp.StatusCode)
				}
			}
			for _, path := range []string{"/simple/", "/search/?q=reqests", "/user/alice/", "/"} {
				resp, body := s.get(path)
				if resp.StatusCode != http.StatusOK || strings.Contains(string(body), ">reqests<") || strings.Contains(string(body), `/reqests/"`) {
					t.Errorf("%s: GET %s: %d, lists the held project:\n%s", when, path, resp.StatusCode, body)
				}
			}
		}
		invisible("held")

		// The uploader is told by email and on the management page.
		if ms := s.mailsTo(t, "alice@example.org"); len(ms) != 1 || !strings.Contains(ms[0].Subject, "reqests is held for review") ||
			!strings.Contains(ms[0].Text, "resembles requests") {
			t.Fatalf("uploader's emails: %+v", ms)
		}
		ab := signIn(t, s, alice, time.Now())
		if body := getOK(t, ab, "/manage/project/reqests/"); !strings.Contains(body, "held for review") || !strings.Contains(body, "How review works") {
			t.Errorf("management page lacks the hold:\n%s", body)
		}
		if ms := s.mailsTo(t, "root@example.org"); len(ms) != 1 || ms[0].Subject != "Look-alike name held: reqests resembles requests" {
			t.Fatalf("administrator's emails: %+v", ms)
		}

		// Not an administrator: every page and action is an unknown path.
		for _, path := range []string{"/admin/", "/admin/lookalikes/", "/admin/names/", "/admin/users/"} {
			if resp, _ := ab.get(path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("non-admin GET %s: %d", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/admin/lookalikes/reqests/approve", "/admin/names/", "/admin/users/root/disable"} {
			if resp, _ := ab.post(path, url.Values{"name": {"x"}}); resp.StatusCode != http.StatusNotFound {
				t.Errorf("non-admin POST %s: %d", path, resp.StatusCode)
			}
		}

		// An administrator needs two-factor authentication.
		b := signIn(t, s, root, time.Now())
		resp2, page := b.get("/admin/lookalikes/")
		wantStatus(t, "admin without 2FA", resp2, page, http.StatusForbidden, "Two-factor authentication required")
		enrol(t, s, root, time.Now())
		page = getOK(t, b, "/admin/")
		if !strings.Contains(page, `<a href="/admin/">Administration</a>`) || strings.Contains(getOK(t, ab, "/manage/projects/"), `href="/admin/"`) {
			t.Error("the link to /admin/ is not for administrators only")
		}
		if text := pageText(page); !strings.Contains(text, "1 held (not published) and 0 flagged") {
			t.Errorf("admin index: %s", text)
		}
		page = getOK(t, b, "/admin/lookalikes/")
		if text := pageText(page); !strings.Contains(text, "reqests held requests rank 1 omission alice") {
			t.Errorf("review queue: %s", text)
		}

		// Without the form token, nothing happens.
		resp2, page = b.post("/admin/lookalikes/reqests/approve", url.Values{"csrf_token": {"forged"}})
		wantStatus(t, "approval without the form token", resp2, page, http.StatusForbidden)
		invisible("after a forged approval")

		// Approval publishes it at once, with both releases.
		resp2, page = b.post("/admin/lookalikes/reqests/approve", nil)
		wantStatus(t, "approval", resp2, page, http.StatusSeeOther)
		for _, path := range []string{"/simple/reqests/", "/pypi/reqests/1.1/json", fileURL(held), "/project/reqests/"} {
			if resp, _ := s.get(path); resp.StatusCode != http.StatusOK {
				t.Errorf("approved: GET %s: %d", path, resp.StatusCode)
			}
		}
		if _, body := s.get("/simple/"); !strings.Contains(string(body), ">reqests<") {
			t.Errorf("approved project not in the root index")
		}
		if !hasEvent(t, s.st, alice.ID, audit.LookalikeApproved) {
			t.Error("no approval event")
		}
		if ms := s.mailsTo(t, "alice@example.org"); len(ms) != 2 || ms[1].Subject != "reqests is approved and published" {
			t.Errorf("uploader's emails after approval: %+v", ms)
		}

		// Delete and prohibit.
		nunpy := disttest.Dist{Name: "nunpy", Version: "1.0"}
		if resp, _ := s.uploadAnswer(tok, nunpy); resp.StatusCode != http.StatusOK {
			t.Fatalf("nunpy: %s", resp.Status)
		}
		// Quarantine from the queue keeps it for evidence: held, and
		// quarantined.
		page = getOK(t, b, "/admin/lookalikes/")
		if !strings.Contains(page, `<input type="hidden" name="reason" value="A look-alike of numpy (`) {
			t.Fatalf("the queue offers no quarantine:\n%s", page)
		}
		resp2, page = b.post("/admin/quarantine/", url.Values{"project": {"nunpy"}, "reason": {"A look-alike of numpy, under review."}})
		wantStatus(t, "quarantine from the queue", resp2, page, http.StatusSeeOther)
		if p, err := s.st.ProjectByName(context.Background(), "nunpy"); err != nil || p.Status != store.StatusQuarantined {
			t.Fatalf("after the queue's quarantine: %+v, %v", p, err)
		}
		getOK(t, b, "/admin/lookalikes/")
		resp2, page = b.post("/admin/lookalikes/nunpy/reject", url.Values{"csrf_token": {""}})
		wantStatus(t, "rejection without the form token", resp2, page, http.StatusForbidden)
		resp2, page = b.post("/admin/lookalikes/nunpy/reject", nil)
		wantStatus(t, "rejection", resp2, page, http.StatusSeeOther)
		if _, err := s.st.ProjectByName(context.Background(), "nunpy"); err == nil {
			t.Fatal("the rejected project is still there")
		}
		if resp, body := s.uploadAnswer(tok, disttest.Dist{Name: "nunpy", Version: "2.0"}); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body, "isn't allowed") {
			t.Fatalf("rejected name taken again: %s %q", resp.Status, body)
		}
		if text := pageText(getOK(t, b, "/admin/names/")); !strings.Contains(text, "nunpy look-alike of numpy") {
			t.Errorf("prohibited names: %s", text)
		}

		// Lift, then prohibit by hand.
		resp2, page = b.post("/admin/names/nunpy/lift", url.Values{"csrf_token": {"forged"}})
		wantStatus(t, "lift without the form token", resp2, page, http.StatusForbidden)
		resp2, page = b.post("/admin/names/nunpy/lift", nil)
		wantStatus(t, "lift", resp2, page, http.StatusSeeOther)
		if resp, body := s.uploadAnswer(tok, disttest.Dist{Name: "nunpy", Version: "2.0"}); resp.StatusCode != http.StatusOK ||
			!strings.Contains(body, "held for review") {
			t.Fatalf("after the lift: %s %q", resp.Status, body)
		}
		getOK(t, b, "/admin/names/")
		resp2, page = b.post("/admin/names/", url.Values{"name": {"Evil_Pkg"}, "reason": {"malware"}})
		wantStatus(t, "prohibit", resp2, page, http.StatusSeeOther)
		if resp, _ := s.uploadAnswer(tok, disttest.Dist{Name: "evi1-pkg", Version: "1.0"}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("prohibited look-alike: %s", resp.Status)
		}
		if text := pageText(getOK(t, b, "/admin/names/")); !strings.Contains(text, "evil-pkg malware") {
			t.Errorf("prohibited names: %s", text)
		}
	})
}

// TestAdminUsersOverHTTP: administrators disable and enable accounts
// (its tokens refused at once), never their own; with the form token.
func TestAdminUsersOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		bob, tok := s.user("bob")
		root := adminWithPassword(t, s, "root")
		enrol(t, s, root, time.Now())
		b := signIn(t, s, root, time.Now())
		if text := pageText(getOK(t, b, "/admin/users/?user=BOB")); !strings.Contains(text, "State enabled") {
			t.Fatalf("user page: %s", text)
		}
		resp, page := b.post("/admin/users/bob/disable", url.Values{"csrf_token": {"forged"}})
		wantStatus(t, "disable without the form token", resp, page, http.StatusForbidden)
		resp, page = b.post("/admin/users/bob/disable", nil)
		wantStatus(t, "disable", resp, page, http.StatusSeeOther)
		if resp, _ := s.uploadAnswer(tok, disttest.Dist{Name: "bobpkg", Version: "1.0"}); resp.StatusCode == http.StatusOK {
			t.Fatal("a disabled account uploaded")
		}
		if !hasEvent(t, s.st, bob.ID, audit.AccountDisabled) {
			t.Error("no event")
		}
		if text := pageText(getOK(t, b, "/admin/users/?user=bob")); !strings.Contains(text, "State disabled") {
			t.Fatalf("user page: %s", text)
		}
		resp, page = b.post("/admin/users/bob/enable", nil)
		wantStatus(t, "enable", resp, page, http.StatusSeeOther)
		s.uploadDist(tok, disttest.Dist{Name: "bobpkg", Version: "1.0"}, false)
		getOK(t, b, "/admin/users/?user=root")
		resp, page = b.post("/admin/users/root/disable", nil)
		wantStatus(t, "disable oneself", resp, page, http.StatusSeeOther)
		if u, err := s.st.UserByUsername(context.Background(), "root"); err != nil || u.Disabled {
			t.Fatalf("the administrator disabled itself: %v", err)
		}
	})
}

// TestAdminReauthOverHTTP: rejecting a look-alike (the project deleted,
// its name prohibited) and disabling an account need a recent
// re-authentication of the administrator, as approving an account
// recovery does: without one the browser is sent to re-authenticate and
// nothing happens; after it, both are done.
func TestAdminReauthOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{NameCheck: lookalikes})
		ctx := context.Background()
		_, tok := s.user("alice")
		if resp, body := s.uploadAnswer(tok, disttest.Dist{Name: "reqests", Version: "1.0"}); !strings.Contains(body, "held for review") {
			t.Fatalf("held upload: %s %q", resp.Status, body)
		}
		s.user("bob")
		adminWithPassword(t, s, "root")
		admin := s.browser(t)
		admin.login("root", mandatePassword)
		_, secret := enrolApp(t, admin, clk)
		clk.Add(twofactor.ReauthWindow + time.Minute)

		actions := []struct{ page, post, back string }{
			{"/admin/lookalikes/", "/admin/lookalikes/reqests/reject", "/admin/lookalikes/"},
			{"/admin/users/?user=bob", "/admin/users/bob/disable", "/admin/users/?user=bob"},
		}
		done := func() (rejected, disabled bool) {
			t.Helper()
			_, err := s.st.ProjectByName(ctx, "reqests")
			bob, err2 := s.st.UserByUsername(ctx, "bob")
			storetest.Must(t, err2)
			return errors.Is(err, store.ErrNotFound), bob.Disabled
		}
		for _, a := range actions {
			getOK(t, admin, a.page)
			resp, body := admin.post(a.post, nil)
			wantStatus(t, a.post+" without a recent re-authentication", resp, body, http.StatusSeeOther)
			if loc := resp.Header.Get("Location"); loc != reauthURL(a.back) {
				t.Errorf("%s without a recent re-authentication: sent to %q", a.post, loc)
			}
		}
		if rejected, disabled := done(); rejected || disabled {
			t.Fatalf("done without a recent re-authentication: rejected %v, disabled %v", rejected, disabled)
		}

		admin.get(reauthURL("/admin/lookalikes/"))
		resp, body := admin.post("/manage/account/reauth/", url.Values{"method": {"totp"}, "code": {totpCode(t, secret, clk.Now())}, "next": {"/admin/lookalikes/"}})
		wantStatus(t, "re-authentication", resp, body, http.StatusSeeOther)
		for _, a := range actions {
			getOK(t, admin, a.page)
			resp, body := admin.post(a.post, nil)
			wantStatus(t, a.post+" after a re-authentication", resp, body, http.StatusSeeOther)
			if loc := resp.Header.Get("Location"); loc != a.back {
				t.Errorf("%s after a re-authentication: sent to %q", a.post, loc)
			}
		}
		if rejected, disabled := done(); !rejected || !disabled {
			t.Errorf("after a re-authentication: rejected %v, disabled %v", rejected, disabled)
		}
	})
}
