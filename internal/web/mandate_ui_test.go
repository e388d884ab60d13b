package web

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

const mandatePassword = "a long enough password"

var (
	bannerRE = regexp.MustCompile(`(?s)<section class="mandate-banner".*?</section>`)
	noticeRE = regexp.MustCompile(`(?s)<div class="mandate-notice".*?</div>`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
	spacesRE = regexp.MustCompile(`\s+`)
	punctRE  = regexp.MustCompile(` ([:;,.)])`)
)

// pageText is the text of a piece of HTML, as a person reads it: no tags,
// entities decoded, white space collapsed.
func pageText(h string) string {
	t := spacesRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(h, " ")), " ")
	return strings.TrimSpace(punctRE.ReplaceAllString(t, "$1"))
}

// mandateCast is a project world for the mandate's pages: projects owned
// by "owner", with "maint" as Maintainer of each.
type mandateCast struct {
	s          *testServer
	clk        *clocktest.Clock
	owner, mt  *store.User
	ownerToken string
	projectIDs map[string]int64
}

func newMandateCast(t *testing.T, d store.Dialect, grace time.Duration, projects ...string) *mandateCast {
	t.Helper()
	s, clk := clockServer(t, d, serverConfig{MandateGrace: grace})
	c := &mandateCast{s: s, clk: clk, projectIDs: map[string]int64{}}
	c.owner = s.userWithPassword("owner", mandatePassword)
	c.mt = s.userWithPassword("maint", mandatePassword)
	c.ownerToken = s.token(c.owner)
	ctx := context.Background()
	for _, name := range projects {
		s.uploadDist(c.ownerToken, disttest.Dist{Name: name, Version: "1.0"}, false)
		p, err := s.st.ProjectByName(ctx, name)
		storetest.Must(t, err)
		storetest.Must(t, s.st.AddRole(ctx, p.ID, c.mt.ID, store.RoleMaintainer, p.CreatedAt))
		c.projectIDs[name] = p.ID
	}
	return c
}

// critical makes a project critical since at.
func (c *mandateCast) critical(t *testing.T, name string, at time.Time) {
	t.Helper()
	storetest.Must(t, c.s.st.MarkCritical(context.Background(), c.projectIDs[name], at))
}

// enrol gives the user an authenticator app (in the database: the
// pages only ask whether it has one).
func enrol(t *testing.T, s *testServer, u *store.User, at time.Time) {
	t.Helper()
	storetest.Must(t, s.st.SetTOTP(context.Background(), u.ID, "sealed", 0, at))
}

// signIn signs u in with a new browser. A user with an authenticator app
// would need the second step: the app is set aside for the sign-in.
func signIn(t *testing.T, s *testServer, u *store.User, at time.Time) *browser {
	t.Helper()
	ctx := context.Background()
	has, err := s.tf.HasTwoFactor(ctx, u.ID)
	storetest.Must(t, err)
	if has {
		storetest.Must(t, s.st.RemoveTOTP(ctx, u.ID))
	}
	b := s.browser(t)
	b.login(u.Username, mandatePassword)
	if has {
		enrol(t, s, u, at)
	}
	return b
}

// getOK fetches a page and fails unless it is 200.
func getOK(t *testing.T, b *browser, path string) string {
	t.Helper()
	resp, body := b.get(path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	return body
}

func TestMandateBanner(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		c := newMandateCast(t, d, 0, "critpkg", "optpkg", "plainpkg")
		s, clk := c.s, c.clk
		ctx := context.Background()
		b := signIn(t, s, c.mt, clk.Now())

		// Nothing is critical yet: no banner.
		if body := getOK(t, b, "/manage/projects/"); strings.Contains(body, "mandate-banner") || strings.Contains(body, "mandate-notice") {
			t.Fatalf("a banner before any project requires two-factor authentication\n%s", body)
		}

		c.critical(t, "critpkg", clk.Now().Add(-24*time.Hour)) // Dec 31, 2029
		storetest.Must(t, s.st.SetRequire2FA(ctx, c.projectIDs["optpkg"], true))
		for _, path := range []string{"/manage/projects/", "/", "/help/", "/project/plainpkg/"} {
			body := getOK(t, b, path)
			m := bannerRE.FindString(body)
			if m == "" {
				t.Fatalf("%s: no banner for a maintainer without two-factor authentication\n%s", path, body)
			}
			text := pageText(m)
			for _, want := range []string{
				"Two-factor authentication required",
				"Projects you maintain require two-factor authentication of every owner and maintainer",
				"critpkg: critical project since Dec 31, 2029",
				"optpkg: its Owners require it",
				"Set up two-factor authentication",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: banner lacks %q: %s", path, want, text)
				}
			}
			if strings.Contains(text, "plainpkg") {
				t.Errorf("%s: banner names a project that requires nothing: %s", path, text)
			}
			if !strings.Contains(m, `<a class="button" href="/manage/account/two-factor/">Set up two-factor authentication</a>`) {
				t.Errorf("%s: banner without the set-up link: %s", path, m)
			}
			if !strings.Contains(m, `<a href="/project/critpkg/">critpkg</a>`) {
				t.Errorf("%s: banner does not link the project: %s", path, m)
			}
		}
		// The list of projects carries the badges.
		body := getOK(t, b, "/manage/projects/")
		for name, want := range map[string][]string{
			"critpkg":  {"Critical project"},
			"optpkg":   {"2FA required"},
			"plainpkg": nil,
		} {
			row := regexp.MustCompile(`(?s)<tr>\s*<td><a href="/project/` + name + `/">.*?</tr>`).FindString(body)
			if row == "" {
				t.Fatalf("no row of %s\n%s", name, body)
			}
			for _, badge := range []string{"Critical project", "2FA required"} {
				if got, wanted := strings.Contains(row, badge), len(want) > 0 && want[0] == badge; got != wanted {
					t.Errorf("row of %s: badge %q shown %v, want %v: %s", name, badge, got, wanted, row)
				}
			}
		}
		if !strings.Contains(body, `title="A critical project since Dec 31, 2029: one of the most downloaded projects of this index.`) {
			t.Errorf("the critical badge does not say since when and what it means\n%s", body)
		}

		// Not signed in, or signed in without such a project: nothing.
		if body := getOK(t, s.browser(t), "/"); strings.Contains(body, "mandate-banner") {
			t.Error("a banner for a visitor")
		}
		stranger := s.userWithPassword("stranger", mandatePassword)
		if body := getOK(t, signIn(t, s, stranger, clk.Now()), "/"); strings.Contains(body, "mandate-banner") || strings.Contains(body, "mandate-notice") {
			t.Error("a banner for a user without a role on those projects")
		}

		// With an authenticator app: no banner, but the notice that
		// the project became critical.
		enrol(t, s, c.mt, clk.Now())
		for _, path := range []string{"/manage/projects/", "/"} {
			body := getOK(t, b, path)
			if strings.Contains(body, "mandate-banner") {
				t.Errorf("%s: banner for a maintainer with two-factor authentication", path)
			}
			m := noticeRE.FindString(body)
			text := pageText(m)
			if !strings.Contains(text, "critpkg became a critical project on Dec 31, 2029") {
				t.Errorf("%s: no notice that critpkg became critical: %q\n%s", path, text, body)
			}
			if strings.Contains(text, "optpkg") || strings.Contains(text, "plainpkg") {
				t.Errorf("%s: the notice names a project that did not become critical: %s", path, text)
			}
		}

		// 29 days after the designation it is still news; 31 days
		// after, it is not.
		clk.Add(28 * 24 * time.Hour)
		b = signIn(t, s, c.mt, clk.Now())
		if text := pageText(noticeRE.FindString(getOK(t, b, "/"))); !strings.Contains(text, "critpkg became a critical project on Dec 31, 2029") {
			t.Errorf("29 days later: notice %q, want critpkg's", text)
		}
		clk.Add(2 * 24 * time.Hour)
		b = signIn(t, s, c.mt, clk.Now())
		if body := getOK(t, b, "/"); strings.Contains(body, "mandate-notice") || strings.Contains(body, "mandate-banner") {
			t.Errorf("31 days later: still a notice\n%s", noticeRE.FindString(body))
		}
		// Without two-factor authentication the banner stays, however old.
		storetest.Must(t, s.st.RemoveTOTP(ctx, c.mt.ID))
		if text := pageText(bannerRE.FindString(getOK(t, b, "/"))); !strings.Contains(text, "critpkg: critical project since Dec 31, 2029") {
			t.Errorf("31 days later, without two-factor authentication: banner %q", text)
		}
	})
}

func TestMandateBannerGrace(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		c := newMandateCast(t, d, 14*24*time.Hour, "critpkg")
		s, clk := c.s, c.clk
		c.critical(t, "critpkg", clk.Now().Add(-24*time.Hour)) // Dec 31, 2029 12:00: required from Jan 14, 2030 12:00
		b := signIn(t, s, c.mt, clk.Now())
		body := getOK(t, b, "/manage/projects/")
		text := pageText(bannerRE.FindString(body))
		for _, want := range []string{
			"Two-factor authentication will soon be required",
			"A project you maintain will require two-factor authentication",
			"critpkg: critical project since Dec 31, 2029, two-factor authentication required from 2030-01-14 12:00 UTC",
			"Set up two-factor authentication",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("banner lacks %q: %s", want, text)
			}
		}
		if body := getOK(t, b, "/project/critpkg/"); !strings.Contains(body, "need two-factor authentication to change it from 2030-01-14 12:00 UTC.") {
			t.Errorf("the badge does not say when the grace period ends\n%s", body)
		}
		// Once the grace period is over the banner says it is required.
		clk.Add(14 * 24 * time.Hour)
		b = signIn(t, s, c.mt, clk.Now())
		text = pageText(bannerRE.FindString(getOK(t, b, "/")))
		if !strings.Contains(text, "Two-factor authentication required") || strings.Contains(text, "required from") ||
			!strings.Contains(text, "critpkg: critical project since Dec 31, 2029") {
			t.Errorf("after the grace period: banner %q", text)
		}
	})
}

func TestMandateBadges(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		c := newMandateCast(t, d, 0, "critpkg", "optpkg", "plainpkg")
		s, clk := c.s, c.clk
		ctx := context.Background()
		visitor := s.browser(t)
		// Pages seen before the designation (the cached view of the
		// project predates it).
		for _, name := range []string{"critpkg", "optpkg", "plainpkg"} {
			if body := getOK(t, visitor, "/project/"+name+"/"); strings.Contains(body, "badge critical") || strings.Contains(body, "2FA required") {
				t.Fatalf("%s: a badge before any designation", name)
			}
		}
		c.critical(t, "critpkg", clk.Now().Add(-48*time.Hour)) // Dec 30, 2029
		storetest.Must(t, s.st.SetRequire2FA(ctx, c.projectIDs["optpkg"], true))
		for _, tc := range []struct {
			path          string
			critical, opt bool
		}{
			{"/project/critpkg/", true, false},
			{"/project/critpkg/1.0/", true, false},
			{"/project/optpkg/", false, true},
			{"/project/optpkg/1.0/", false, true},
			{"/project/plainpkg/", false, false},
		} {
			body := getOK(t, visitor, tc.path)
			header := regexp.MustCompile(`(?s)<section class="project-header">.*?</section>`).FindString(body)
			crit := strings.Contains(header, `<span class="badge critical" title="A critical project since Dec 30, 2029: one of the most downloaded projects of this index. Its owners and maintainers need two-factor authentication to change it.">Critical project</span>`)
			opt := strings.Contains(header, `>2FA required</span>`)
			if crit != tc.critical || opt != tc.opt {
				t.Errorf("%s: critical badge %v, 2FA badge %v; want %v, %v\n%s", tc.path, crit, opt, tc.critical, tc.opt, header)
			}
		}
	})
}

// adminWithPassword creates an administrator.
func adminWithPassword(t *testing.T, s *testServer, name string) *store.User {
	t.Helper()
	hash, err := auth.NewHasher(1, auth.MinParams).Hash(context.Background(), mandatePassword)
	storetest.Must(t, err)
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: hash, EmailVerified: true, IsAdmin: true, CreatedAt: time.Now()}
	storetest.Must(t, s.st.CreateUser(context.Background(), u))
	return u
}

func TestAdminCritical(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		c := newMandateCast(t, d, 0, "critpkg", "plainpkg", "thirdpkg")
		s, clk := c.s, c.clk
		ctx := context.Background()
		// critpkg becomes critical through the computation: 1% of 3
		// projects is the top one.
		today := store.DayOf(clk.Now())
		storetest.Must(t, s.st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.AddDownloads(ctx, []store.DownloadCount{
				{ProjectID: c.projectIDs["critpkg"], Day: today - 3, Downloads: 1200},
				{ProjectID: c.projectIDs["critpkg"], Day: today - 1, Downloads: 34},
				{ProjectID: c.projectIDs["plainpkg"], Day: today - 2, Downloads: 5},
			})
			return err
		}))
		res, err := s.md.Compute(ctx, today, mandate.ComputeOptions{Trigger: mandate.TriggerAdmin})
		storetest.Must(t, err)
		if res.Newly != 1 || res.Designated[0].Name != "critpkg" {
			t.Fatalf("computation designated %v, want critpkg", res.Designated)
		}
		enrol(t, s, c.owner, clk.Now()) // the Owner has 2FA, the Maintainer not

		// Unknown to visitors and to users who are not administrators,
		// exactly as a path that does not exist.
		resp, unknown := s.browser(t).get("/admin/nothing-here/")
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown path: %d", resp.StatusCode)
		}
		for who, b := range map[string]*browser{"visitor": s.browser(t), "maintainer": signIn(t, s, c.mt, clk.Now()),
			"owner with 2FA": signIn(t, s, c.owner, clk.Now())} {
			resp, body := b.get("/admin/critical/")
			if resp.StatusCode != http.StatusNotFound || body != unknown || strings.Contains(body, "critpkg") {
				t.Errorf("%s: /admin/critical/ answered %d %q, want as an unknown path: 404 %q", who, resp.StatusCode, body, unknown)
			}
		}

		admin := adminWithPassword(t, s, "root")
		b := signIn(t, s, admin, clk.Now())
		resp, body := b.get("/admin/critical/")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("admin without 2FA: %d, want 403\n%s", resp.StatusCode, body)
		}
		if text := pageText(body); !strings.Contains(text, "Administrators need two-factor authentication to see this page") ||
			!strings.Contains(body, `href="/manage/account/two-factor/">Set up two-factor authentication</a>`) || strings.Contains(text, "critpkg") {
			t.Errorf("admin without 2FA: page %q", text)
		}

		enrol(t, s, admin, clk.Now())
		body = getOK(t, b, "/admin/critical/")
		text := pageText(body)
		for _, want := range []string{
			"Last computation as of 2030-01-01 (admin",
			"Window 2029-07-05 to 2029-12-31",
			"Top N 1 of 3 projects",
			"Cutoff 1234 downloads (1 project at or above it, 1 newly critical)",
			"1 of 2 collaborators have 2FA across 1 critical project.",
			"critpkg 2030-01-01 12:00 UTC 1234 1 of 2 collaborators have 2FA owner Owner 2FA maint Maintainer no 2FA",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("admin page lacks %q:\n%s", want, text)
			}
		}
		if !strings.Contains(body, `<a href="/project/critpkg/">critpkg</a>`) || !strings.Contains(body, `<span class="badge no2fa">no 2FA</span>`) {
			t.Errorf("admin page: no link to the project or no warning for the maintainer without 2FA\n%s", body)
		}
		if strings.Contains(text, "plainpkg") {
			t.Errorf("admin page lists a project that is not critical:\n%s", text)
		}
	})
}
