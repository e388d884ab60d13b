package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestLookalikeHeld: with PyPI's popular names imported as protected
// (`admin names protect`), twine uploads cheese-dep, a look-alike of the
// protected cheese-dpe: the upload succeeds but the project is held —
// pip cannot find it, and the uploader is emailed why. An administrator
// approves it in Chromium, and pip installs it.
func TestLookalikeHeld(t *testing.T) {
	requireTool(t, debTwine, "twine")
	requireTool(t, debOathtool, "oathtool")
	t.Run("sqlite", func(t *testing.T) {
		lookalikeHeld(t, serverOptions{})
	})
	t.Run("postgres", func(t *testing.T) {
		lookalikeHeld(t, serverOptions{Database: storetest.URL(t, store.Postgres)})
	})
}

func lookalikeHeld(t *testing.T, opts serverOptions) {
	d := pythonDists(t)
	first := startServer(t, opts)
	protected := filepath.Join(t.TempDir(), "top.tsv.txt")
	if err := os.WriteFile(protected, []byte("name\tversion\trank\ncheese-dpe\t1.0\t1\nrequests\t2.32\t2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := first.admin(t, "names", "protect", protected); !strings.Contains(out, "protected 2 names") {
		t.Fatalf("admin names protect: %q", out)
	}
	rootPW := first.createUserPassword(t, "root", true)
	first.createUser(t, "alice")
	// A server builds its detector at start (and every 10 minutes).
	first.stop()
	s := startServer(t, serverOptions{Data: first.Data, Database: first.Database})
	alice := s.token(t, "alice")

	if r := twineUpload(t, s, alice, d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload of a held look-alike: exit %d\n%s", r.Code, r.Out)
	}
	v := newVenv(t)
	install := func() cmdResult {
		t.Helper()
		return v.pip(t, "download", "--no-deps", "--index-url", s.URL+"/simple/", "-d", t.TempDir(), "cheese-dep")
	}
	if r := install(); r.Code == 0 || !strings.Contains(r.Out, "No matching distribution found for cheese-dep") {
		t.Fatalf("pip found the held project: exit %d\n%s", r.Code, r.Out)
	}
	told := false
	for deadline := time.Now().Add(mailWait); !told && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		msgs, err := mail.ReadOutbox(filepath.Join(s.Data, "outbox"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			told = told || (strings.Contains(m.To, "alice@example.org") && strings.Contains(m.Subject, "cheese-dep is held for review") &&
				strings.Contains(m.Text, "cheese-dpe"))
		}
	}
	if !told {
		t.Fatal("alice was not emailed that cheese-dep is held, and why")
	}

	// The administrator (with an authenticator app, as the admin pages
	// require) approves it.
	admin := newTab(t, "lookalike-admin", s.URL, 1280, 900)
	admin.loginPassword("root", rootPW)
	admin.setUpApp(false)
	admin.open("/admin/lookalikes/")
	admin.mustSee("cheese-dep", "cheese-dpe", "swapped", "alice")
	admin.screenshot("queue")
	admin.submit(`tr[data-project="cheese-dep"] form[action$="/approve"] button[type=submit]`)
	admin.mustSee("cheese-dep approved: it is published now")

	if r := install(); r.Code != 0 {
		t.Fatalf("pip after the approval: exit %d\n%s", r.Code, r.Out)
	}
}
