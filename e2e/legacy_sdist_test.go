package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// legacySdist is the file name setuptools before 69.3 (Debian 12's 66)
// gives the sdist of nc-hello 0.1.0; PEP 625 wants nc_hello-0.1.0.tar.gz.
const (
	legacySdist = "nc-hello-0.1.0.tar.gz"
	pep625Sdist = "nc_hello-0.1.0.tar.gz"
)

// TestLegacySdistName follows a developer on Debian 12 whose sdist has
// the legacy name: twine's upload is refused with the message that says
// what to do, though the wheel is published; then, on the same index
// restarted with --legacy-sdist-names, the same twine command publishes
// the sdist under its PEP 625 name, which pip installs with the hash of
// the file uploaded. On SQLite and PostgreSQL.
func TestLegacySdistName(t *testing.T) {
	t.Parallel()
	requirePython(t)
	requireTool(t, debTwine, "twine")
	wheel, sdist := buildLegacyHello(t)
	sum := sha256File(t, sdist)

	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			db := storetest.URL(t, dialect) // PostgreSQL: skips locally, fails under CI, without a server
			data := t.TempDir()

			// The default, as on PyPI: refused, with what to do.
			s := startServer(t, serverOptions{Data: data, Database: db})
			s.createUser(t, "alice")
			token := s.token(t, "alice")
			r := twineUpload(t, s, token, wheel, sdist)
			if r.Code == 0 {
				t.Fatalf("twine upload of %s succeeded, want the PEP 625 refusal:\n%s", legacySdist, r.Out)
			}
			t.Logf("twine's output:\n%s", r.Out)
			for _, want := range []string{
				"400 Bad Request",
				"Filename 'nc-hello-0.1.0.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'. See https://peps.python.org/pep-0625/ for more information.",
				"setuptools 69.3 or later", "hatchling", "Renaming the file is enough for this index",
				"The files of this release already uploaded stay",
				s.URL + "/help/#sdist-file-names",
			} {
				if !strings.Contains(r.Flat(), want) {
					t.Errorf("twine's output lacks %q:\n%s", want, r.Out)
				}
			}
			if got := simpleFiles(t, s, "nc-hello"); len(got) != 1 || got[filepath.Base(wheel)].SHA256 == "" {
				t.Errorf("after the refusal nc-hello has %+v, want the wheel %s alone", got, filepath.Base(wheel))
			}
			if _, body := s.get(t, "/help/"); !strings.Contains(string(body), `id="sdist-file-names"`) ||
				!strings.Contains(flat(body), "This index refuses such a file") {
				t.Errorf("the help page does not explain sdist file names as refused here:\n%s", body)
			}
			s.stop()

			// The same index, database and command with the setting.
			s = startServer(t, serverOptions{Data: data, Database: db, Args: []string{"--legacy-sdist-names"}})
			for range 2 { // the second time, both files are identical retries
				if r := twineUpload(t, s, token, wheel, sdist); r.Code != 0 {
					t.Fatalf("twine upload with --legacy-sdist-names exited with %d:\n%s", r.Code, r.Out)
				}
			}
			var sdists []string
			for name := range simpleFiles(t, s, "nc-hello") {
				if strings.HasSuffix(name, ".tar.gz") {
					sdists = append(sdists, name)
				}
			}
			if got := simpleFiles(t, s, "nc-hello")[pep625Sdist]; len(sdists) != 1 || got.SHA256 != sum {
				t.Fatalf("the simple page lists the sdists %v (%s: %+v), want %s alone with sha256 %s", sdists, pep625Sdist, got, pep625Sdist, sum)
			}
			for _, path := range []string{"/simple/nc-hello/", "/pypi/nc-hello/json", "/pypi/nc-hello/0.1.0/json", "/project/nc-hello/"} {
				resp, body := s.get(t, path)
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), pep625Sdist) || strings.Contains(string(body), "nc-hello-0.1.0") {
					t.Errorf("GET %s: %s, want the sdist as %s only:\n%s", path, resp.Status, pep625Sdist, body)
				}
			}
			if _, body := s.get(t, "/help/"); !strings.Contains(flat(body), "This index accepts such a file") {
				t.Errorf("the help page of a server with --legacy-sdist-names does not say it accepts legacy names:\n%s", body)
			}

			// pip installs the sdist (built here with Debian's setuptools),
			// checking the hash of the file uploaded.
			v := newBareVenv(t, true)
			req := filepath.Join(t.TempDir(), "requirements.txt")
			if err := os.WriteFile(req, []byte("nc-hello==0.1.0 --hash=sha256:"+sum+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r = v.pipFromWheel(t, "install", "--index-url", s.URL+"/simple/", "--no-binary", ":all:", "--no-build-isolation",
				"--no-deps", "--require-hashes", "-r", req)
			if url := s.URL + "/files/" + sum + "/" + pep625Sdist; !strings.Contains(r.Out, url) {
				t.Errorf("pip did not download %s:\n%s", url, r.Out)
			}
			if got := strings.TrimSpace(v.python(t, "import nc_hello; print(nc_hello.hello())")); got != "hello from nc-hello" {
				t.Errorf("nc_hello.hello() = %q", got)
			}
		})
	}
}

// flat is body with runs of white space squashed to single spaces.
func flat(body []byte) string { return strings.Join(strings.Fields(string(body)), " ") }

// buildLegacyHello builds nc-hello 0.1.0 with Debian's `python3 -m build`
// (offline: --no-isolation, Debian's setuptools) and returns its wheel and
// its sdist under the legacy name. Debian 12's setuptools 66 writes that
// name; should a later setuptools write the PEP 625 name, the sdist is
// repacked under the legacy name (top folder included, as old setuptools
// lays it out), so that the test never depends on the setuptools at hand.
func buildLegacyHello(t *testing.T) (wheel, sdist string) {
	t.Helper()
	defer timed(t, "python3 -m build nc-hello")()
	work := t.TempDir()
	src, out := filepath.Join(work, "src"), filepath.Join(work, "dist")
	for name, content := range map[string]string{
		"pyproject.toml": `[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "nc-hello"
version = "0.1.0"
description = "Says hello, from an sdist with a legacy name"
requires-python = ">=3.8"
`,
		"src/nc_hello/__init__.py": "def hello():\n    return \"hello from nc-hello\"\n",
	} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, "", cleanEnv(), debPython, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", out, src)
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(out, e.Name())
		switch {
		case e.Name() == "nc_hello-0.1.0-py3-none-any.whl":
			wheel = p
		case e.Name() == legacySdist:
			sdist = p
		case e.Name() == pep625Sdist:
			t.Logf("this setuptools writes the PEP 625 name %s: repacking it as %s", pep625Sdist, legacySdist)
			sdist = filepath.Join(work, legacySdist)
			if err := renameSdist(p, sdist, "nc_hello-0.1.0", "nc-hello-0.1.0"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if wheel == "" || sdist == "" {
		t.Fatalf("python3 -m build made %v, want nc_hello-0.1.0-py3-none-any.whl and %s or %s", entries, legacySdist, pep625Sdist)
	}
	return wheel, sdist
}
