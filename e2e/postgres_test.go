package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestPostgresSmoke runs the main flow on PostgreSQL: the admin commands,
// twine uploads of two projects, and pip installing one with its
// dependency.
func TestPostgresSmoke(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t, store.Postgres) // skips locally, fails under CI, without a server
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	s := startServer(t, serverOptions{Database: dbURL})
	if !s.waitLog("database=postgres") {
		t.Errorf("the server does not say it runs on PostgreSQL:\n%s", s.Log())
	}
	s.createUser(t, "alice")
	token := s.token(t, "alice")

	files := append(d.Dep.Files(), d.App.Files()...)
	r := twineUpload(t, s, token, files...)
	if r.Code != 0 {
		t.Fatalf("twine upload exited with %d:\n%s", r.Code, r.Out)
	}
	for _, f := range files {
		if !strings.Contains(r.Out, "Uploading "+filepath.Base(f)) {
			t.Errorf("twine's output does not mention %s:\n%s", filepath.Base(f), r.Out)
		}
	}
	if resp, body := s.get(t, "/pypi/cheese-app/json"); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "cheese-dep") {
		t.Errorf("GET /pypi/cheese-app/json: %s\n%s", resp.Status, body)
	}

	v := newVenv(t)
	r = v.mustPip(t, "install", "--index-url", s.URL+"/simple/", "cheese-app")
	if !strings.Contains(r.Out, "Successfully installed cheese-app-1.0 cheese-dep-1.0") {
		t.Errorf("pip install cheese-app:\n%s", r.Out)
	}
	out := mustRun(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", "cheese-app")).Out
	if strings.TrimSpace(out) != "cheese-app: crumbled" {
		t.Errorf("the cheese-app script printed %q", out)
	}
}
