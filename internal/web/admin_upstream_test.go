package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// TestAdminUpstreamPage: /admin/upstream/ lists the rules on upstream
// names, adds (a refusal said on the page, a break glass emailed) and
// removes them; hidden from everybody but administrators.
func TestAdminUpstreamPage(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s := newTestServer(t, d)
		root := adminWithPassword(t, s, "root")
		admin := signIn(t, s, root, time.Now())
		enrol(t, s, root, time.Now())
		someone := s.browser(t)
		if resp, _ := someone.get("/admin/upstream/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/admin/upstream/ to a visitor: %d", resp.StatusCode)
		}
		text := pageText(getOK(t, admin, "/admin/upstream/"))
		if !strings.Contains(text, "No rule") || !strings.Contains(text, "This index proxies no upstream index") {
			t.Fatalf("empty page: %s", text)
		}
		for _, tc := range []struct {
			form url.Values
			says string
		}{
			{url.Values{"pattern": {"Acme_*"}, "action": {"deny"}, "reason": {"ours"}}, "Rule added: deny acme-*."},
			{url.Values{"pattern": {"*"}, "action": {"deny"}}, "'*' is not a rule pattern"},
			{url.Values{"pattern": {"numpy"}, "action": {"allow"}, "expires": {"soon"}}, "'soon' is not an expiry"},
			{url.Values{"pattern": {"NumPy"}, "action": {"allow"}, "skip_min_age": {"1"}, "expires": {"3d"}, "reason": {"CVE fix"}},
				"Rule added: allow numpy, through the minimum release age; every administrator was told."},
		} {
			resp, body := admin.post("/admin/upstream/", tc.form)
			wantStatus(t, "add "+tc.form.Encode(), resp, body, http.StatusSeeOther)
			if text := pageText(getOK(t, admin, "/admin/upstream/")); !strings.Contains(text, tc.says) {
				t.Errorf("add %s: page says %s", tc.form.Encode(), text)
			}
		}
		rs, err := s.st.UpstreamRules(ctx)
		storetest.Must(t, err)
		if len(rs) != 2 || rs[0].Pattern != "acme-*" || rs[0].Reason != "ours" || rs[0].CreatedBy != root.ID ||
			rs[1].Pattern != "numpy" || !rs[1].SkipMinAge || time.Until(rs[1].ExpiresAt) < 71*time.Hour {
			t.Fatalf("rules %+v", rs)
		}
		text = pageText(getOK(t, admin, "/admin/upstream/"))
		if !strings.Contains(text, "acme-* deny never ours") || !strings.Contains(text, "numpy allow skips the minimum age") {
			t.Errorf("page: %s", text)
		}
		if ms := s.mailsTo(t, root.Email); len(ms) != 1 || ms[0].Subject != "Break glass: numpy skips the minimum release age" {
			t.Errorf("emails to root: %+v", ms)
		}
		resp, body := admin.post("/admin/upstream/remove", url.Values{"pattern": {"acme-*"}})
		wantStatus(t, "remove", resp, body, http.StatusSeeOther)
		if text := pageText(getOK(t, admin, "/admin/upstream/")); !strings.Contains(text, "Rule removed: deny acme-*.") {
			t.Errorf("after remove: %s", text)
		}
		if rs, err := s.st.UpstreamRules(ctx); err != nil || len(rs) != 1 {
			t.Fatalf("after remove: %+v, %v", rs, err)
		}
		if resp, _ := someone.post("/admin/upstream/remove", url.Values{"pattern": {"numpy"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("remove by a visitor: %d", resp.StatusCode)
		}

		// A project held under an upstream's name waits in the look-alike
		// queue, said so.
		p := &store.Project{Name: "requests", NormalizedName: "requests", UltraName: "requests", CreatedAt: time.Now()}
		storetest.Must(t, s.st.CreateProject(ctx, p))
		storetest.Must(t, s.st.AddNameReview(ctx, &store.NameReview{ProjectID: p.ID, Target: "https://pypi.org/simple/",
			Kind: store.ReviewUpstreamName, Held: true, CreatedAt: time.Now()}))
		text = pageText(getOK(t, admin, "/admin/lookalikes/"))
		if !strings.Contains(text, "requests held the upstream's project, on https://pypi.org/simple/ upstream-name") ||
			strings.Contains(text, "Delete and prohibit") {
			t.Errorf("look-alike queue: %s", text)
		}
	})
}

// TestAdminUpstreamBreakGlassReauth: a break glass of the minimum release
// age needs a recent re-authentication; other rules do not.
func TestAdminUpstreamBreakGlassReauth(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		ctx := context.Background()
		adminWithPassword(t, s, "root")
		admin := s.browser(t)
		admin.login("root", mandatePassword)
		enrolApp(t, admin, clk)
		clk.Add(twofactor.ReauthWindow + time.Minute)
		getOK(t, admin, "/admin/upstream/")
		resp, body := admin.post("/admin/upstream/", url.Values{"pattern": {"numpy"}, "action": {"allow"}, "skip_min_age": {"1"}})
		wantStatus(t, "a break glass without a recent re-authentication", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != reauthURL("/admin/upstream/") {
			t.Errorf("sent to %q", loc)
		}
		resp, body = admin.post("/admin/upstream/", url.Values{"pattern": {"evil-*"}, "action": {"deny"}})
		wantStatus(t, "a deny rule", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/admin/upstream/" {
			t.Errorf("deny rule: sent to %q", loc)
		}
		rs, err := s.st.UpstreamRules(ctx)
		storetest.Must(t, err)
		if len(rs) != 1 || rs[0].Pattern != "evil-*" {
			t.Fatalf("rules %+v", rs)
		}
	})
}
