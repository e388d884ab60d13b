package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestCriticalMandate runs the mandate end to end: real pip downloads
// push cheese-dep over the cut, the daily computation designates it
// (as of tomorrow, with --as-of: the test never waits for a day), the
// maintainer's token made before the designation no longer uploads with
// twine, and does once the maintainer enrolled an authenticator app in
// Chromium.
func TestCriticalMandate(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		criticalMandate(t, serverOptions{})
	})
	t.Run("postgres", func(t *testing.T) {
		criticalMandate(t, serverOptions{Database: storetest.URL(t, store.Postgres)})
	})
}

func criticalMandate(t *testing.T, opts serverOptions) {
	requireTool(t, debTwine, "twine")
	requireTool(t, debOathtool, "oathtool")
	d := pythonDists(t)
	// Every pip run here comes from 127.0.0.1: without this, the three
	// downloads of cheese-dep would count once (the per-address limit is
	// tested in internal/web, TestDownloadInflation).
	opts.Args = append(opts.Args, "--downloads-per-address=0")
	s := startServer(t, opts)
	outbox := filepath.Join(s.Data, "outbox")

	// olivia owns cheese-dep, cheese-app and foo-bar-baz; max maintains cheese-dep, with a
	// token for all his projects made now, before any designation.
	s.createUser(t, "olivia")
	maxPassword := s.createUserPassword(t, "max", false)
	olivia := s.token(t, "olivia")
	for _, files := range [][]string{d.Dep.Files(), d.FooBar.Files(), {d.App.Wheel}} {
		if r := twineUpload(t, s, olivia, files...); r.Code != 0 {
			t.Fatalf("twine upload by olivia: exit %d\n%s", r.Code, r.Out)
		}
	}
	maxToken := s.token(t, "max")
	invite, _ := json.Marshal(map[string]string{"username": "max", "role": "Maintainer"})
	req, _ := http.NewRequest("POST", s.URL+"/api/projects/cheese-dep/roles", strings.NewReader(string(invite)))
	req.Header.Set("Authorization", "Bearer "+s.manageToken(t, "olivia"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("olivia invites max: %v %v", resp, err)
	}
	resp.Body.Close()
	maxTab := newTab(t, "critical-max", s.URL, 1280, 900)
	maxTab.loginPassword("max", maxPassword)
	maxTab.open("/manage/projects/")
	maxTab.submit(`form[action$="/cheese-dep/invitation/accept"] button`)
	maxTab.open("/manage/projects/")
	maxTab.mustSee("cheese-dep", "Maintainer")

	tomorrow := func() string { return time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly) }
	compute := func(args ...string) string {
		t.Helper()
		return s.admin(t, append([]string{"critical", "compute", "--as-of", tomorrow(), "--base-url", s.URL}, args...)...)
	}
	// Nothing was downloaded: nothing qualifies.
	if out := compute("--dry-run"); !strings.Contains(out, "no project has downloads in the window") {
		t.Fatalf("computation before any download:\n%s", out)
	}

	// Real downloads: pip installs cheese-app (and its dependency
	// cheese-dep), then downloads cheese-dep twice more and foo-bar-baz once.
	v := newVenv(t)
	v.mustPip(t, "install", "--index-url", s.URL+"/simple/", "cheese-app")
	for _, p := range []string{"cheese-dep", "cheese-dep", "foo-bar-baz"} {
		v.mustPip(t, "download", "--no-deps", "--index-url", s.URL+"/simple/", "-d", t.TempDir(), p)
	}
	// The server writes its counts every few seconds and when it stops:
	// stop it (SIGTERM) rather than wait.
	s.stop()
	s = startServer(t, serverOptions{Data: s.Data, Database: s.Database, Args: opts.Args})

	// 3 projects, top 1% = 1: cheese-dep (3 downloads) and nothing else.
	out := compute()
	for _, want := range []string{"projects:   3; top 1% = 1", "cutoff:     3 downloads; 1 projects reach it", "1 became critical", "    cheese-dep"} {
		if !strings.Contains(out, want) {
			t.Fatalf("computation after the downloads does not say %q:\n%s", want, out)
		}
	}
	if out := s.admin(t, "critical", "list"); !strings.Contains(out, "cheese-dep") || !strings.Contains(out, "max\tMaintainer\tno 2FA") {
		t.Fatalf("admin critical list:\n%s", out)
	}
	// Both collaborators were told by email.
	msgs, err := mail.ReadOutbox(outbox)
	if err != nil {
		t.Fatal(err)
	}
	told := map[string]bool{}
	for _, msg := range msgs {
		if msg.Subject == "cheese-dep is now a critical project" {
			told[msg.To] = true
		}
	}
	if !told["max@example.org"] || !told["olivia@example.org"] {
		t.Fatalf("critical notices sent to %v, want max and olivia", told)
	}

	// max's token, made before the designation, is refused, with why and
	// how to fix it.
	r := twineUpload(t, s, maxToken, d.Dep2.Files()...)
	for _, want := range []string{"403", "'cheese-dep' is a critical project", "two-factor", "/manage/account/two-factor/"} {
		if r.Code == 0 || !strings.Contains(r.Flat(), want) {
			t.Fatalf("twine upload by max without 2FA: exit %d, output does not say %q\n%s", r.Code, want, r.Out)
		}
	}
	// A large upload is refused the same way: the server reads the rest
	// of the body without keeping it, so twine shows the message rather
	// than a broken connection.
	big := writeBigWheel(t, t.TempDir(), "cheese_dep", "3.0", 20<<20)
	if r := twineUpload(t, s, maxToken, big.path); r.Code == 0 || !strings.Contains(r.Flat(), "'cheese-dep' is a critical project") {
		t.Fatalf("twine upload of 20 MiB by max without 2FA: exit %d\n%s", r.Code, r.Out)
	}
	// Reads are not affected.
	v.mustPip(t, "download", "--no-deps", "--index-url", s.URL+"/simple/", "-d", t.TempDir(), "cheese-dep")

	// max sees the banner and the badge, enrols an authenticator app
	// (oathtool reads the secret off the page), and the same token uploads.
	maxTab = newTab(t, "critical-max", s.URL, 1280, 900)
	maxTab.loginPassword("max", maxPassword)
	maxTab.open("/manage/projects/")
	maxTab.mustSee("cheese-dep", "critical")
	maxTab.screenshot("critical-banner")
	maxTab.open("/project/cheese-dep/")
	maxTab.mustSee("Critical project")
	maxTab.screenshot("critical-project-page")
	maxTab.setUpApp(false)
	if r := twineUpload(t, s, maxToken, d.Dep2.Files()...); r.Code != 0 {
		t.Fatalf("twine upload by max after enrolling TOTP: exit %d\n%s", r.Code, r.Out)
	}
	if out := s.admin(t, "critical", "list"); !strings.Contains(out, "max\tMaintainer\t2FA") {
		t.Fatalf("admin critical list after max enrolled:\n%s", out)
	}
}
