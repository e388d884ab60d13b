package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminCommandsFollowServeRules: the admin commands build their
// services as serve does (withApp), so the rules an operator sets with
// serve's flags hold for them: the upstreams' names for admin import
// (--upstream, --upstream-local-names) and the mandate's grace for the
// management tokens of admin token create (--mandate-grace).
func TestAdminCommandsFollowServeRules(t *testing.T) {
	t.Parallel()
	// An upstream that lists the project "listed" only.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/simple/listed/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><html><body></body></html>"))
	}))
	t.Cleanup(up.Close)
	upstream := "--upstream=" + up.URL + "/simple/"

	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := withDB(dataDir, dbURL)
		st := openStore(t, dbURL)
		folder := func(name string) string {
			dir := t.TempDir()
			dist := disttest.Dist{Name: name, Version: "1.0"}
			storetest.Must(t, os.WriteFile(filepath.Join(dir, dist.WheelFilename()), dist.Wheel(), 0o644))
			return dir
		}
		listed, local := folder("listed"), folder("local")
		if code, _, errs := cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "alice", "--email", "alice@example.org")...); code != 0 {
			t.Fatalf("user create: %s", errs)
		}

		// --upstream-local-names refuse: the import is refused the name,
		// as an upload would be.
		code, out, errs := cli(t, "", args("admin", "import", "--owner", "alice", upstream, "--upstream-local-names", "refuse", listed)...)
		if code == 0 || !strings.Contains(out, "exists on the upstream index") || !strings.Contains(errs, "1 file refused") {
			t.Fatalf("import of an upstream's name under refuse: %d %q %q", code, out, errs)
		}
		if _, err := st.ProjectByName(t.Context(), "listed"); err == nil {
			t.Fatal("the refused import created the project")
		}
		// The default, ask: created, held for an administrator's review.
		if code, out, errs := cli(t, "", args("admin", "import", "--owner", "alice", upstream, listed)...); code != 0 || !strings.Contains(out, "imported: 1 file, 1 release, 1 project") {
			t.Fatalf("import of an upstream's name under ask: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "", args("admin", "lookalike", "list")...)
		if code != 0 || !strings.Contains(out, "listed") || !strings.Contains(out, "held") || !strings.Contains(out, store.ReviewUpstreamName) {
			t.Fatalf("the imported project is not held for review: %d %q %q", code, out, errs)
		}

		// A critical project: a management token needs two-factor
		// authentication, unless --mandate-grace still lets it be.
		if code, _, errs := cli(t, "", args("admin", "import", "--owner", "alice", local)...); code != 0 {
			t.Fatalf("import: %s", errs)
		}
		p, err := st.ProjectByName(t.Context(), "local")
		if err != nil {
			t.Fatal(err)
		}
		storetest.Must(t, st.MarkCritical(t.Context(), p.ID, time.Now()))
		token := []string{"admin", "token", "create", "--username", "alice", "--project", "local", "--manage"}
		if code, _, errs := cli(t, "", args(token...)...); code == 0 || !strings.Contains(errs, "Two-factor authentication required") {
			t.Errorf("a management token of a critical project without 2FA: %d %q", code, errs)
		}
		if code, out, errs := cli(t, "", args(append(token, "--mandate-grace", "30")...)...); code != 0 || !strings.HasPrefix(out, auth.TokenPrefix) {
			t.Errorf("within --mandate-grace: %d %q %q", code, out, errs)
		}
	})
}
