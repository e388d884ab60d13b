package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// followInterval is the replicas' --follow-interval in TestProjectStatus.
const followInterval = 500 * time.Millisecond

// TestProjectStatus runs a project's statuses (PEP 792) with the real
// clients on two replicas of one database: archived, twine's upload is
// refused with PyPI's message while pip still installs from both; once
// `cheeseshop admin project quarantine` ran, both replicas stop serving
// the files within the follow interval, pip finds nothing to install and
// twine's upload is refused with the reason; released, pip installs and
// twine uploads again.
func TestProjectStatus(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		projectStatus(t, serverOptions{})
	})
	t.Run("postgres", func(t *testing.T) {
		projectStatus(t, serverOptions{Database: storetest.URL(t, store.Postgres)})
	})
}

func projectStatus(t *testing.T, opts serverOptions) {
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	opts.Args = append(opts.Args, "--follow-interval="+followInterval.String())
	a := startServer(t, opts)
	b := startServer(t, serverOptions{Data: a.Data, Database: a.Database, Args: opts.Args})
	replicas := []*server{a, b}

	a.createUser(t, "olivia")
	olivia := a.token(t, "olivia")
	if r := twineUpload(t, a, olivia, d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload: exit %d\n%s", r.Code, r.Out)
	}
	v := newVenv(t)
	pipDownload := func(s *server) cmdResult {
		t.Helper()
		return v.pip(t, "download", "--no-deps", "--index-url", s.URL+"/simple/", "-d", t.TempDir(), "cheese-dep")
	}
	setStatus := func(status, reason string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"status": status, "reason": reason})
		req, _ := http.NewRequest("POST", a.URL+"/api/projects/cheese-dep/status", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+a.manageToken(t, "olivia"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("olivia sets the status %s: %v %v", status, resp, err)
		}
		resp.Body.Close()
	}
	// served waits until every replica's simple page of cheese-dep says
	// the status and lists files (or none), and returns how long it took.
	served := func(status string, files bool) time.Duration {
		t.Helper()
		start := time.Now()
		for _, s := range replicas {
			for {
				_, body := s.get(t, "/simple/cheese-dep/")
				page := string(body)
				if strings.Contains(page, `<meta name="pypi:project-status" content="`+status+`">`) && strings.Contains(page, "<a href=") == files {
					break
				}
				if time.Since(start) > 10*time.Second {
					t.Fatalf("%s: after 10s the simple page still says:\n%s", s.URL, page)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		return time.Since(start)
	}

	// Archived: uploads refused with PyPI's message, installs work.
	setStatus("archived", "no longer maintained")
	served("archived", true)
	r := twineUpload(t, a, olivia, d.Dep2.Files()...)
	if r.Code == 0 || !strings.Contains(r.Flat(), "403") ||
		!strings.Contains(r.Flat(), "The user 'olivia' isn't allowed to upload to project 'cheese-dep': the project is archived.") {
		t.Fatalf("twine upload to an archived project: exit %d\n%s", r.Code, r.Out)
	}
	for _, s := range replicas {
		if r := pipDownload(s); r.Code != 0 {
			t.Fatalf("pip download of an archived project from %s: exit %d\n%s", s.URL, r.Code, r.Out)
		}
	}
	setStatus("active", "")

	// Quarantined from the command line: every replica follows.
	if out := a.admin(t, "project", "quarantine", "cheese-dep", "--reason", "malware in setup.py", "--base-url", a.URL); !strings.Contains(out, "quarantined cheese-dep") {
		t.Fatalf("admin project quarantine said %q", out)
	}
	took := served("quarantined", false)
	t.Logf("both replicas stopped serving cheese-dep %s after the quarantine", took.Round(time.Millisecond))
	if took > 2*followInterval+time.Second {
		t.Errorf("the replicas took %s to follow the quarantine, want about the follow interval (%s)", took, followInterval)
	}
	for _, s := range replicas {
		r := pipDownload(s)
		if r.Code == 0 || !strings.Contains(r.Flat(), "No matching distribution found for cheese-dep") {
			t.Fatalf("pip download of a quarantined project from %s: exit %d\n%s", s.URL, r.Code, r.Out)
		}
	}
	r = twineUpload(t, a, olivia, d.Dep2.Files()...)
	if r.Code == 0 || !strings.Contains(r.Flat(), "quarantined") || !strings.Contains(r.Flat(), "malware in setup.py") {
		t.Fatalf("twine upload to a quarantined project: exit %d\n%s", r.Code, r.Out)
	}

	// Released: as it was.
	if out := a.admin(t, "project", "release", "cheese-dep", "--base-url", a.URL); !strings.Contains(out, "released cheese-dep") {
		t.Fatalf("admin project release said %q", out)
	}
	served("active", true)
	for _, s := range replicas {
		if r := pipDownload(s); r.Code != 0 {
			t.Fatalf("pip download after the release from %s: exit %d\n%s", s.URL, r.Code, r.Out)
		}
	}
	if r := twineUpload(t, a, olivia, d.Dep2.Files()...); r.Code != 0 {
		t.Fatalf("twine upload after the release: exit %d\n%s", r.Code, r.Out)
	}
}
