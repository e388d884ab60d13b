package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestBrowserJourney is a maintainer's first day, in real Chromium against
// the real server, with Debian's twine and pip: register, confirm the
// email from the outbox, log in, create tokens, upload, invite a
// colleague who accepts, yank a release that pip then skips, and revoke a
// token that twine can no longer use. Screenshots of the main pages are
// saved as artifacts. It runs on SQLite and on PostgreSQL.
func TestBrowserJourney(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		journey(t, startServer(t, serverOptions{}))
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL := storetest.URL(t, store.Postgres) // fails under CI without a server
		journey(t, startServer(t, serverOptions{Database: dbURL}))
	})
}

func journey(t *testing.T, s *server) {
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	outbox := filepath.Join(s.Data, "outbox")
	const password = "correct horse battery staple"

	alice := newTab(t, "alice", s.URL, 1280, 900)
	alice.register(outbox, "alice", password)
	alice.mustSee("verified")

	// Log out, then in again through the form.
	alice.submit(`header form[action="/account/logout/"] button`)
	alice.open("/account/login/")
	alice.screenshot("login")
	alice.fill(`input[name=username]`, "alice", `input[name=password]`, password)
	alice.submit(`main form button[type=submit]`)
	if !strings.Contains(alice.text("header"), "alice") {
		t.Fatalf("not signed in after login: header says %q", alice.text("header"))
	}

	// A token for all of alice's projects creates the project.
	wide := alice.createToken("first upload", "")
	if r := twineUpload(t, s, wide, d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload with alice's token: exit %d\n%s", r.Code, r.Out)
	}
	// A token scoped to cheese-dep uploads its next release, and nothing else.
	scoped := alice.createToken("ci for cheese-dep", "cheese-dep")
	if r := twineUpload(t, s, scoped, d.Dep2.Files()...); r.Code != 0 {
		t.Fatalf("twine upload with the project-scoped token: exit %d\n%s", r.Code, r.Out)
	}
	if r := twineUpload(t, s, scoped, d.App.Wheel); r.Code == 0 || !strings.Contains(r.Flat(), "403") {
		t.Fatalf("a token scoped to cheese-dep uploaded cheese-app: exit %d\n%s", r.Code, r.Out)
	}
	alice.open("/project/cheese-dep/")
	alice.mustSee("cheese-dep", "2.0", "pip install")
	alice.screenshot("project")

	// alice invites bob, who accepts.
	bob := newTab(t, "bob", s.URL, 390, 844) // a phone
	bob.register(outbox, "bob", password+" too")
	alice.open("/manage/project/cheese-dep/collaboration/")
	alice.fill(`form[action$="collaboration/invite"] input[name=username]`, "bob")
	alice.do(chromedp.SetValue(chromedp.CSS(`form[action$="collaboration/invite"] select[name=role]`), "Maintainer"))
	alice.submit(`form[action$="collaboration/invite"] button[type=submit]`)
	alice.mustSee("bob")
	alice.screenshot("collaboration")
	bob.open("/manage/projects/")
	bob.mustSee("cheese-dep")
	bob.screenshot("invitation")
	bob.submit(`form[action$="/invitation/accept"] button`)
	bob.open("/manage/projects/")
	bob.mustSee("cheese-dep", "Maintainer")
	bob.screenshot("projects-phone")
	alice.open("/manage/project/cheese-dep/collaboration/")
	alice.mustSee("bob", "Maintainer")

	// alice yanks 2.0: pip skips it and installs 1.0.
	alice.open("/manage/project/cheese-dep/")
	alice.fill(`form[action$="/release/2.0/yank"] input[name=reason]`, "broken on Python 3.11")
	alice.submit(`form[action$="/release/2.0/yank"] button[type=submit]`)
	alice.open("/project/cheese-dep/2.0/")
	alice.mustSee("broken on Python 3.11")
	alice.screenshot("yanked-release")
	v := newVenv(t)
	r := v.mustPip(t, "install", "--index-url", s.URL+"/simple/", "cheese-dep")
	if !strings.Contains(r.Out, "Successfully installed cheese-dep-1.0") {
		t.Fatalf("pip did not skip the yanked 2.0:\n%s", r.Out)
	}

	// alice revokes the scoped token: twine is refused.
	alice.open("/manage/account/tokens/")
	alice.screenshot("tokens")
	alice.clickJS(`[...document.querySelectorAll("main tr")].find(r => r.cells[0] && r.cells[0].innerText.trim() === "ci for cheese-dep").querySelector("form button")`)
	alice.mustSee("first upload")
	if strings.Contains(alice.text("main table"), "ci for cheese-dep") {
		t.Fatal("the revoked token is still listed")
	}
	if r := twineUpload(t, s, scoped, d.Dep2.Wheel); r.Code == 0 || !strings.Contains(r.Flat(), "403") {
		t.Fatalf("twine with a revoked token: exit %d\n%s", r.Code, r.Out)
	}

	// The other main pages, for the screenshots (and a last look that they render).
	for _, p := range []struct{ path, name, see string }{
		{"/", "home", "cheese-dep"},
		{"/search/?q=cheese", "search", "cheese-dep"},
		{"/user/alice/", "user", "cheese-dep"},
		{"/manage/projects/", "your-projects", "cheese-dep"},
		{"/manage/account/", "account", "alice@example.org"},
		{"/manage/account/security-history/", "security-history", "API token"},
		{"/manage/project/cheese-dep/history/", "project-history", "yanked"},
		{"/help/", "help", "API tokens"},
	} {
		alice.open(p.path)
		alice.mustSee(p.see)
		alice.screenshot(p.name)
	}
	bob.open("/project/cheese-dep/")
	bob.screenshot("project-phone")
}

// register creates an account through the form, confirms its email with
// the link the server mailed (read from the outbox, as a user reads its
// mail), and logs in on the page the link leads to, leaving the tab
// signed in on its account page.
func (b *tab) register(outbox, username, password string) {
	b.t.Helper()
	email := username + "@example.org"
	b.open("/account/register/")
	b.fill(`input[name=username]`, username, `input[name=email]`, email,
		`input[name=password]`, password, `input[name=password_confirm]`, password)
	if username == "alice" {
		b.screenshot("register")
	}
	b.submit(`main form button[type=submit]`)
	link := mailedLink(b.t, outbox, email, "/account/verify-email/")
	b.do(chromedp.Navigate(link), chromedp.WaitReady(chromedp.CSS("main")))
	b.submit(`main form[action="/account/verify-email/"] button[type=submit]`)
	// Registering does not sign in (it answers alike for an address that
	// already has an account): the link leads to the login form.
	b.fill(`input[name=username]`, username, `input[name=password]`, password)
	b.submit(`main form button[type=submit]`)
}

// createToken makes an API token on the tokens page, for every project
// (project "") or for one, and returns the secret the page shows once.
func (b *tab) createToken(name, project string) string {
	b.t.Helper()
	b.open("/manage/account/tokens/")
	form := `form[action="/manage/account/tokens/"]`
	b.fill(form+` input[name=name]`, name)
	if project != "" {
		b.do(chromedp.Click(chromedp.CSS(form+` input[name=scope][value=projects]`)),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s input[name=project][value=%q]`, form, project))))
	}
	b.submit(form + ` button[type=submit]`)
	secret := strings.TrimSpace(b.text(".secret"))
	if !strings.HasPrefix(secret, "cheeseshop-") {
		b.screenshot("no-token")
		b.t.Fatalf("the tokens page shows no new token (%q):\n%s", secret, b.text("main"))
	}
	if project != "" {
		b.screenshot("token-created")
	}
	return secret
}

// mailedLink finds the link containing path in the newest message to addr.
// The server sends account mail after answering (registrations, reset and
// recovery requests), so the outbox is read again until the message is
// there, for at most mailWait.
func mailedLink(t testing.TB, outbox, addr, path string) string {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		msgs, err := mail.ReadOutbox(outbox)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if !strings.Contains(msgs[i].To, addr) {
				continue
			}
			for _, l := range msgs[i].Links() {
				if strings.Contains(l, path) {
					return l
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message to %s with a link to %s in %s (%d messages) after %s", addr, path, outbox, len(msgs), mailWait)
		}
		time.Sleep(50 * time.Millisecond) // the server's process writes it: nothing to wait on but the folder
	}
}

// mailWait bounds how long mailedLink waits for a message.
const mailWait = 15 * time.Second
