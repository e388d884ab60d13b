package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// cheeseshop runs the binary with the data folder and database (SQLite in
// data when ""), as an operator would.
func cheeseshop(t testing.TB, data, database string, args ...string) cmdResult {
	t.Helper()
	args = append(args, "--data", data)
	if database != "" {
		args = append(args, "--database", database)
	}
	return runCmd(t, "", cleanEnv(), binPath, args...)
}

// importTarget makes an empty index on dialect with the account alice,
// who owns what is imported into it: its data folder and database URL
// ("" for SQLite in the folder).
func importTarget(t *testing.T, dialect store.Dialect) (data, database string) {
	t.Helper()
	if dialect == store.Postgres {
		database = storetest.URL(t, store.Postgres) // skips locally, fails under CI, without a server
	}
	data = t.TempDir()
	mustRun(t, "", cleanEnv(), binPath, append([]string{"admin", "user", "create", "--username", "alice", "--email", "alice@example.org", "--data", data},
		databaseArgs(database)...)...)
	return data, database
}

// simpleFile is a file of a project's PEP 691 page, as compared between
// the source and the target of an import.
type simpleFile struct {
	SHA256     string
	UploadTime string
	Yanked     string // "" or "yanked: <reason>"
}

// simpleFiles reads the files of a project's PEP 691 page.
func simpleFiles(t testing.TB, s *server, project string, header ...string) map[string]simpleFile {
	t.Helper()
	resp, body := s.get(t, "/simple/"+project+"/", append([]string{"Accept", "application/vnd.pypi.simple.v1+json"}, header...)...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /simple/%s/ on %s: %s\n%s", project, s.URL, resp.Status, body)
	}
	var page struct {
		Files []struct {
			Filename   string            `json:"filename"`
			Hashes     map[string]string `json:"hashes"`
			UploadTime string            `json:"upload-time"`
			Yanked     any               `json:"yanked"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	files := map[string]simpleFile{}
	for _, f := range page.Files {
		sf := simpleFile{SHA256: f.Hashes["sha256"], UploadTime: f.UploadTime}
		switch y := f.Yanked.(type) {
		case string:
			sf.Yanked = "yanked: " + y
		case bool:
			if y {
				sf.Yanked = "yanked: "
			}
		}
		files[f.Filename] = sf
	}
	return files
}

func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestImportFolder imports a pypiserver folder, flat and with a folder
// per project, of wheels and sdists built by Debian's setuptools (one
// sdist under its legacy name), into a target on SQLite and on
// PostgreSQL, then pip installs every project from the target; a second
// import imports nothing.
func TestImportFolder(t *testing.T) {
	t.Parallel()
	d := pythonDists(t)
	dir := t.TempDir()
	when := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	want := map[string]map[string]string{} // project → stored filename → sha256
	place := func(src, rel, project, stored string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dst, when, when); err != nil {
			t.Fatal(err)
		}
		if want[project] == nil {
			want[project] = map[string]string{}
		}
		want[project][stored] = fileSHA256(t, src)
	}
	for _, f := range append(d.App.Files(), d.FooBar.Files()...) {
		project := "cheese-app"
		if strings.HasPrefix(filepath.Base(f), "foo") {
			project = "foo-bar-baz"
		}
		place(f, filepath.Base(f), project, filepath.Base(f))
	}
	place(d.Dep.Wheel, filepath.Join("Cheese_Dep", filepath.Base(d.Dep.Wheel)), "cheese-dep", filepath.Base(d.Dep.Wheel))
	legacy := filepath.Base(d.DepRawSdist)
	if legacy != "cheese-dep-1.0.tar.gz" {
		t.Fatalf("Debian's setuptools named the sdist %s, not with its legacy name", legacy)
	}
	place(d.DepRawSdist, filepath.Join("Cheese_Dep", legacy), "cheese-dep", "cheese_dep-1.0.tar.gz")
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a distribution\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			data, database := importTarget(t, dialect)
			r := cheeseshop(t, data, database, "admin", "import", "--owner", "alice", dir)
			if r.Code != 0 {
				t.Fatalf("admin import exited with %d:\n%s", r.Code, r.Out)
			}
			for _, s := range []string{"imported: 6 files, 3 releases, 3 projects", "stored the legacy sdist name 'cheese-dep-1.0.tar.gz' as 'cheese_dep-1.0.tar.gz'",
				"README.txt: not a distribution", "refused: 0"} {
				if !strings.Contains(r.Out, s) {
					t.Errorf("admin import does not say %q:\n%s", s, r.Out)
				}
			}

			s := startServer(t, serverOptions{Data: data, Database: database})
			for project, files := range want {
				got := simpleFiles(t, s, project)
				if len(got) != len(files) {
					t.Errorf("%s: the target lists %v, want %v", project, got, files)
				}
				for name, sha := range files {
					if got[name].SHA256 != sha {
						t.Errorf("%s: sha256 %q on the target, %q in the folder", name, got[name].SHA256, sha)
					}
					if up, err := time.Parse(time.RFC3339Nano, got[name].UploadTime); err != nil || !up.Equal(when) {
						t.Errorf("%s: upload-time %q, want the file's time %s", name, got[name].UploadTime, when)
					}
				}
			}
			v := newVenv(t)
			r = v.mustPip(t, "install", "--index-url", s.URL+"/simple/", "cheese-app", "foo-bar-baz")
			if !strings.Contains(r.Out, "Successfully installed") || !strings.Contains(r.Out, "cheese-dep-1.0") || !strings.Contains(r.Out, "foo-bar-baz-1.0") {
				t.Errorf("pip install from the target:\n%s", r.Out)
			}

			r = cheeseshop(t, data, database, "admin", "import", "--owner", "alice", dir)
			if r.Code != 0 || !strings.Contains(r.Out, "imported: 0 files, 0 releases, 0 projects") || !strings.Contains(r.Out, "already present (skipped): 6 files") {
				t.Errorf("a second import (exit %d):\n%s", r.Code, r.Out)
			}
		})
	}
}

// TestImportIndex imports another running cheeseshop, private (its
// credentials in the URL), with a yanked release, into a target on
// SQLite and on PostgreSQL: the target lists the same files with the same
// hashes, upload times and yanks, pip installs from it, and a second
// import imports nothing.
func TestImportIndex(t *testing.T) {
	t.Parallel()
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	src := startServer(t, serverOptions{Args: []string{"--read-access=authenticated"}})
	src.createUser(t, "olivia")
	files := append(append(d.Dep.Files(), d.Dep2.Files()...), d.App.Files()...)
	if r := twineUpload(t, src, src.token(t, "olivia"), files...); r.Code != 0 {
		t.Fatalf("twine upload to the source exited with %d:\n%s", r.Code, r.Out)
	}
	body, _ := json.Marshal(map[string]string{"reason": "broken build"})
	req, _ := http.NewRequest("POST", src.URL+"/api/projects/cheese-dep/releases/1.0/yank", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+src.manageToken(t, "olivia"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("yank cheese-dep 1.0 on the source: %s", resp.Status)
	}
	read := strings.TrimSpace(src.admin(t, "token", "create", "--username", "olivia", "--read"))
	auth := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+read))}
	sourceURL := "http://__token__:" + read + "@" + strings.TrimPrefix(src.URL, "http://") + "/simple/"
	projects := []string{"cheese-app", "cheese-dep"}

	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			data, database := importTarget(t, dialect)
			r := cheeseshop(t, data, database, "admin", "import", "--owner", "alice", sourceURL)
			if r.Code != 0 {
				t.Fatalf("admin import exited with %d:\n%s", r.Code, r.Out)
			}
			if strings.Contains(r.Out, read) {
				t.Errorf("admin import printed the source's credentials:\n%s", r.Out)
			}
			if !strings.Contains(r.Out, "imported: 6 files, 3 releases, 2 projects; 1 release yanked as in the source") {
				t.Errorf("admin import's summary:\n%s", r.Out)
			}

			target := startServer(t, serverOptions{Data: data, Database: database})
			for _, project := range projects {
				want, got := simpleFiles(t, src, project, auth...), simpleFiles(t, target, project)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s on the target:\n%v\nwant (the source's):\n%v", project, got, want)
				}
			}
			if got := simpleFiles(t, target, "cheese-dep")["cheese_dep-1.0-py3-none-any.whl"].Yanked; got != "yanked: broken build" {
				t.Errorf("cheese-dep 1.0 on the target: %q, want yanked with the source's reason", got)
			}
			v := newVenv(t)
			r = v.mustPip(t, "install", "--index-url", target.URL+"/simple/", "cheese-app")
			if !strings.Contains(r.Out, "cheese-app-1.0") || !strings.Contains(r.Out, "cheese-dep-2.0") {
				t.Errorf("pip install cheese-app from the target:\n%s", r.Out)
			}
			r = v.mustPip(t, "download", "--no-deps", "-d", t.TempDir(), "--index-url", target.URL+"/simple/", "cheese-dep==1.0")
			if !strings.Contains(r.Out, "yanked") {
				t.Errorf("pip does not warn that cheese-dep 1.0 is yanked on the target:\n%s", r.Out)
			}

			r = cheeseshop(t, data, database, "admin", "import", "--owner", "alice", sourceURL)
			if r.Code != 0 || !strings.Contains(r.Out, "imported: 0 files, 0 releases, 0 projects\n") || !strings.Contains(r.Out, "already present (skipped): 6 files") {
				t.Errorf("a second import (exit %d):\n%s", r.Code, r.Out)
			}
		})
	}
}

// databaseArgs is --database when database is not "".
func databaseArgs(database string) []string {
	if database == "" {
		return nil
	}
	return []string{"--database", database}
}
