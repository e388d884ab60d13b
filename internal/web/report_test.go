package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/report"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// reporter creates a user with a password whose account is as old as
// age, and signs it in.
func reporter(t *testing.T, s *testServer, name string, age time.Duration) *browser {
	t.Helper()
	hash, err := auth.NewHasher(1, auth.MinParams).Hash(context.Background(), mandatePassword)
	storetest.Must(t, err)
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: hash, EmailVerified: true, CreatedAt: time.Now().Add(-age)}
	storetest.Must(t, s.st.CreateUser(context.Background(), u))
	b := s.browser(t)
	b.login(name, mandatePassword)
	return b
}

// TestReportProject: the report form, its refusals, the administrators'
// queue and its two actions.
func TestReportProject(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("owner")
		for _, name := range []string{"widget", "gadget"} {
			s.uploadDist(tok, disttest.Dist{Name: name, Version: "1.0"}, false)
		}

		// The project page links the form; anonymous visitors sign in
		// first, and come back.
		if _, page := s.get("/project/widget/"); !strings.Contains(string(page), `href="/project/widget/report/"`) {
			t.Errorf("the project page does not link the report form")
		}
		anon := s.browser(t)
		resp, _ := anon.get("/project/Widget/report/")
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/account/login/?next=%2Fproject%2Fwidget%2Freport%2F" {
			t.Errorf("anonymous form: %d %q", resp.StatusCode, loc)
		}
		anon.get("/account/login/") // a page with a form token
		resp, _ = anon.post("/project/widget/report/", url.Values{"kind": {"malware"}, "text": {"x"}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
			t.Errorf("anonymous report: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}

		root := adminWithPassword(t, s, "root") // told of every report
		alice := reporter(t, s, "alice", time.Hour)
		body := getOK(t, alice, "/project/widget/report/")
		for _, want := range []string{`value="dependency-confusion"`, `name="csrf_token"`, `action="/project/widget/report/"`} {
			if !strings.Contains(body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
		if resp, _ := alice.get("/project/nope/report/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("form of an unknown project: %d", resp.StatusCode)
		}
		// No form token, or a forged one: refused, nothing stored.
		resp, _ = alice.post("/project/widget/report/", url.Values{"kind": {"malware"}, "text": {"x"}, "csrf_token": {"forged"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("report with a forged form token: %d", resp.StatusCode)
		}
		const evil = `<script>alert("pwned")</script> runs curl | sh`
		resp, body = alice.post("/project/widget/report/", url.Values{"kind": {"bogus"}, "text": {"x"}})
		wantStatus(t, "unknown kind", resp, body, http.StatusSeeOther)
		if text := pageText(getOK(t, alice, "/project/widget/report/")); !strings.Contains(text, "Say what kind of problem") {
			t.Errorf("unknown kind: no message: %s", text)
		}
		resp, body = alice.post("/project/widget/report/", url.Values{"kind": {"malware"}, "text": {evil}})
		wantStatus(t, "report", resp, body, http.StatusSeeOther)
		if resp.Header.Get("Location") != "/project/widget/" {
			t.Errorf("after the report: %q", resp.Header.Get("Location"))
		}
		if text := pageText(getOK(t, alice, "/project/widget/")); !strings.Contains(text, "Thank you") {
			t.Errorf("no thanks: %s", text)
		}
		alice.get("/project/widget/report/")
		alice.post("/project/widget/report/", url.Values{"kind": {"spam"}, "text": {"again"}})
		if text := pageText(getOK(t, alice, "/project/widget/report/")); !strings.Contains(text, "already reported") {
			t.Errorf("second report: no message: %s", text)
		}
		bob := reporter(t, s, "bob", time.Hour)
		bob.get("/project/gadget/report/")
		resp, body = bob.post("/project/gadget/report/", url.Values{"kind": {"typosquat"}, "text": {"looks like gidget"}})
		wantStatus(t, "bob's report", resp, body, http.StatusSeeOther)
		bob.get("/project/widget/report/")
		bob.post("/project/widget/report/", url.Values{"kind": {"dependency-confusion"}, "text": {"our internal name"}})

		// The queue: hidden from users, 2FA required of administrators.
		if resp, _ := alice.get("/admin/reports/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/admin/reports/ to a user: %d", resp.StatusCode)
		}
		if resp, _ := alice.post("/admin/reports/widget/dismiss", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("dismiss by a user: %d", resp.StatusCode)
		}
		if resp, _ := anon.get("/admin/reports/"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/admin/reports/ to a visitor: %d", resp.StatusCode)
		}
		admin := signIn(t, s, root, time.Now())
		if resp, _ := admin.get("/admin/reports/"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("/admin/reports/ to an administrator without 2FA: %d", resp.StatusCode)
		}
		enrol(t, s, root, time.Now())
		if !strings.Contains(getOK(t, admin, "/admin/"), `href="/admin/reports/"`) {
			t.Errorf("/admin/ does not link the reports")
		}
		body = getOK(t, admin, "/admin/reports/")
		if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
			t.Errorf("the report's text is not escaped:\n%s", body)
		}
		text := pageText(body)
		for _, want := range []string{"widget 2 open reports: malware, dependency confusion", "gadget 1 open report: typosquat", "alice", "bob", "looks like gidget"} {
			if !strings.Contains(text, want) {
				t.Errorf("queue lacks %q: %s", want, text)
			}
		}
		if strings.Index(text, "widget 2 open") > strings.Index(text, "gadget 1 open") {
			t.Errorf("queue not oldest first: %s", text)
		}
		mails := s.mailsTo(t, "root@example.org")
		if len(mails) != 3 || !strings.Contains(mails[0].Text, evil) {
			t.Errorf("administrator's emails: %d %+v", len(mails), mails)
		}

		// Quarantine from the queue; dismiss the other.
		resp, body = admin.post("/admin/reports/widget/quarantine", url.Values{"csrf_token": {"forged"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("quarantine with a forged token: %d", resp.StatusCode)
		}
		admin.get("/admin/reports/")
		resp, body = admin.post("/admin/reports/widget/quarantine", nil)
		wantStatus(t, "quarantine", resp, body, http.StatusSeeOther)
		p, err := s.st.ProjectByName(context.Background(), "widget")
		storetest.Must(t, err)
		if p.Status != store.StatusQuarantined || p.StatusReason != "reported by 2 users (malware, dependency confusion)" {
			t.Errorf("after quarantine: %s %q", p.Status, p.StatusReason)
		}
		if resp, _ := s.get("/simple/widget/"); resp.StatusCode != http.StatusOK {
			t.Errorf("simple page of a quarantined project: %d", resp.StatusCode)
		}
		if m := s.mailsTo(t, "owner@example.org"); len(m) == 0 || !strings.Contains(m[len(m)-1].Subject, "widget is quarantined") {
			t.Errorf("the Owner was not told: %+v", m)
		}
		resp, body = admin.post("/admin/reports/gadget/dismiss", nil)
		wantStatus(t, "dismiss", resp, body, http.StatusSeeOther)
		text = pageText(getOK(t, admin, "/admin/reports/"))
		if !strings.Contains(text, "No open report") {
			t.Errorf("queue after quarantine and dismissal: %s", text)
		}
		resp, body = admin.post("/admin/reports/gadget/dismiss", nil)
		wantStatus(t, "dismiss again", resp, body, http.StatusSeeOther)
		if text := pageText(getOK(t, admin, "/admin/reports/")); !strings.Contains(text, "has no open report") {
			t.Errorf("dismiss again: no message: %s", text)
		}
		evs, err := s.st.ProjectEvents(context.Background(), p.ID+1, 10)
		storetest.Must(t, err)
		var tags []string
		for _, e := range evs {
			tags = append(tags, e.Tag)
		}
		if got := strings.Join(tags, " "); !strings.Contains(got, audit.ReportsDismissed) || !strings.Contains(got, audit.ProjectReported) {
			t.Errorf("gadget's events: %s", got)
		}
	})
}

// TestReportAutoQuarantineParallel: N trusted users report a project at
// once over HTTP; it is quarantined exactly once.
func TestReportAutoQuarantineParallel(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		const n = 4
		s.srv.opts.Reports = report.New(s.st, s.idx, report.Config{QuarantineReporters: n, MinAccountAge: 24 * time.Hour,
			BaseURL: s.URL}, discardLogger(), nil)
		_, tok := s.user("owner")
		s.uploadDist(tok, disttest.Dist{Name: "widget", Version: "1.0"}, false)
		users := make([]*browser, 2*n)
		for i := range users {
			users[i] = reporter(t, s, fmt.Sprintf("u%d", i), 48*time.Hour)
			users[i].get("/project/widget/report/")
		}
		var wg sync.WaitGroup
		for _, b := range users {
			wg.Go(func() {
				resp, body := b.post("/project/widget/report/", url.Values{"kind": {"malware"}, "text": {"steals tokens"}})
				if resp.StatusCode != http.StatusSeeOther {
					t.Errorf("report: %d %s", resp.StatusCode, body)
				}
			})
		}
		wg.Wait()
		p, err := s.st.ProjectByName(context.Background(), "widget")
		storetest.Must(t, err)
		evs, err := s.st.ProjectEvents(context.Background(), p.ID, 100)
		storetest.Must(t, err)
		quarantines := 0
		for _, e := range evs {
			if e.Tag == audit.ProjectQuarantined {
				quarantines++
			}
		}
		if p.Status != store.StatusQuarantined || quarantines != 1 || !strings.Contains(p.StatusReason, "automatically") {
			t.Errorf("status %s %q after %d quarantines; want exactly one", p.Status, p.StatusReason, quarantines)
		}
		if m := s.mailsTo(t, "owner@example.org"); len(m) != 1 {
			t.Errorf("the Owner got %d emails, want 1", len(m))
		}
	})
}
