package importer_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/importer"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// target is an index on a fresh database, with the importing user.
type target struct {
	st    *store.Store
	idx   *index.Service
	owner *store.User
}

func newTarget(t *testing.T, st *store.Store) *target {
	t.Helper()
	blobs, err := blob.NewFS(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	idx := index.New(st, blobs, index.Config{BaseURL: "http://index.test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &target{st: st, idx: idx, owner: newUser(t, st, "importer")}
}

func newUser(t *testing.T, st *store.Store, name string) *store.User {
	t.Helper()
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", CreatedAt: time.Now()}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (tg *target) run(t *testing.T, only []string, srcs ...importer.Source) *importer.Summary {
	t.Helper()
	im := &importer.Importer{Index: tg.idx, Owner: tg.owner, Only: only}
	sum, err := im.Run(context.Background(), srcs...)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// legacySdist is an sdist as setuptools < 69.3 names it:
// "nc-hello-0.1.0.tar.gz", its top folder spelled alike.
func legacySdist(name, version string) (string, []byte) {
	stem := name + "-" + version
	meta := fmt.Sprintf("Metadata-Version: 1.1\nName: %s\nVersion: %s\nSummary: legacy\n\n", name, version)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mod := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tw.WriteHeader(&tar.Header{Name: stem + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mod})
	for _, f := range []struct{ name, body string }{{stem + "/PKG-INFO", meta}, {stem + "/setup.py", "from setuptools import setup\nsetup()\n"}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body)), ModTime: mod})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return stem + ".tar.gz", buf.Bytes()
}

func write(t *testing.T, path string, content []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestFolder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tg := newTarget(t, st)
		dir := t.TempDir()
		when := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
		alpha := disttest.Dist{Name: "alpha", Version: "1.0"}
		write(t, filepath.Join(dir, alpha.WheelFilename()), alpha.Wheel(), when)
		write(t, filepath.Join(dir, alpha.SdistFilename()), alpha.Sdist(), when)
		legacyName, legacy := legacySdist("nc-hello", "0.1.0")
		write(t, filepath.Join(dir, legacyName), legacy, when)
		write(t, filepath.Join(dir, "README.txt"), []byte("not a distribution"), when)
		beta := disttest.Dist{Name: "Beta_Pkg", Version: "2.0"}
		write(t, filepath.Join(dir, "beta-pkg", beta.WheelFilename()), beta.Wheel(), when)
		// A file of another project in beta's folder is refused.
		stray := disttest.Dist{Name: "gamma", Version: "1.0"}
		write(t, filepath.Join(dir, "beta-pkg", stray.WheelFilename()), stray.Wheel(), when)

		src, err := importer.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		sum := tg.run(t, nil, src)
		if sum.Files != 4 || sum.Releases != 3 || sum.Projects != 3 || sum.Present != 0 {
			t.Fatalf("first import: %+v", sum)
		}
		if len(sum.Refused) != 1 || sum.Refused[0].File != stray.WheelFilename() {
			t.Fatalf("refused: %+v", sum.Refused)
		}
		if len(sum.Skipped) != 1 || sum.Skipped[0].File != "README.txt" {
			t.Fatalf("skipped: %+v", sum.Skipped)
		}
		if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0].Reason, "nc_hello-0.1.0.tar.gz") {
			t.Fatalf("warnings: %+v", sum.Warnings)
		}
		f, err := st.FileByFilename(ctx, "nc_hello-0.1.0.tar.gz")
		if err != nil {
			t.Fatalf("the legacy sdist is stored under its PEP 625 name: %v", err)
		}
		if !f.UploadTime.Equal(when) {
			t.Errorf("upload time %v, want the file's %v", f.UploadTime, when)
		}
		proj, err := st.ProjectByName(ctx, "beta-pkg")
		if err != nil {
			t.Fatal(err)
		}
		if role, err := st.RoleOf(ctx, proj.ID, tg.owner.ID); err != nil || role != store.RoleOwner {
			t.Errorf("role of the owner: %q, %v", role, err)
		}
		events, err := st.ProjectEvents(ctx, proj.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range events {
			found = found || e.Tag == audit.ProjectImported
		}
		if !found {
			t.Errorf("no %s event: %+v", audit.ProjectImported, events)
		}

		// Again: nothing is imported.
		src, _ = importer.OpenFolder(dir)
		sum = tg.run(t, nil, src)
		if sum.Files != 0 || sum.Present != 4 || len(sum.Refused) != 1 {
			t.Fatalf("second import: %+v", sum)
		}

		// Only the projects asked for.
		sum = tg.run(t, []string{"ALPHA"}, src)
		if sum.Present != 2 || len(sum.Refused) != 0 {
			t.Fatalf("--project alpha: %+v", sum)
		}

		// The same name with other content: a conflict.
		other := disttest.Dist{Name: "alpha", Version: "1.0", Summary: "changed"}
		write(t, filepath.Join(dir, alpha.WheelFilename()), other.Wheel(), when)
		src, _ = importer.OpenFolder(dir)
		sum = tg.run(t, []string{"alpha"}, src)
		if len(sum.Refused) != 1 || !strings.Contains(sum.Refused[0].Reason, "different file") {
			t.Fatalf("conflict: %+v", sum.Refused)
		}
	})
}

func TestNotOwned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tg := newTarget(t, st)
		someone := newUser(t, st, "someone")
		dir := t.TempDir()
		d := disttest.Dist{Name: "taken", Version: "1.0"}
		write(t, filepath.Join(dir, d.WheelFilename()), d.Wheel(), time.Now())
		src, _ := importer.OpenFolder(dir)
		im := &importer.Importer{Index: tg.idx, Owner: someone}
		if _, err := im.Run(ctx, src); err != nil {
			t.Fatal(err)
		}
		d2 := disttest.Dist{Name: "taken", Version: "2.0"}
		write(t, filepath.Join(dir, d2.WheelFilename()), d2.Wheel(), time.Now())
		src, _ = importer.OpenFolder(dir)
		sum := tg.run(t, nil, src)
		if sum.Files != 0 || len(sum.Skipped) != 1 || !strings.Contains(sum.Skipped[0].Reason, "not an Owner") {
			t.Fatalf("%+v", sum)
		}
		if sum.Failed() {
			t.Error("a project skipped is not a refusal")
		}
	})
}

// source is an index's simple API served by a test server: PEP 691 JSON
// or PEP 503 HTML as asked (html forces HTML), behind basic auth.
type source struct {
	files map[string][]byte // filename → content
	html  bool
	bad   string // a file whose listed sha256 is wrong
}

func (s *source) handler(t *testing.T) http.Handler {
	when := "2022-05-06T07:08:09.123456Z"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		json691 := !s.html && strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json")
		switch {
		case r.URL.Path == "/simple/":
			if json691 {
				w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
				fmt.Fprint(w, `{"meta":{"api-version":"1.1"},"projects":[{"name":"Alpha"}]}`)
				return
			}
			fmt.Fprint(w, `<html><body><a href="alpha/">Alpha</a></body></html>`)
		case r.URL.Path == "/simple/alpha/":
			type jf struct {
				Filename   string            `json:"filename"`
				URL        string            `json:"url"`
				Hashes     map[string]string `json:"hashes"`
				UploadTime string            `json:"upload-time"`
				Yanked     any               `json:"yanked"`
			}
			var files []jf
			var links strings.Builder
			for name, content := range s.files {
				sum := sha256.Sum256(content)
				digest := hex.EncodeToString(sum[:])
				if name == s.bad {
					digest = strings.Repeat("0", 64)
				}
				var yanked any = false
				attr := ""
				if strings.Contains(name, "-0.9") || strings.HasSuffix(name, "-0.8-py3-none-any.whl") {
					yanked, attr = "broken", ` data-yanked="broken"`
				}
				files = append(files, jf{name, "../../files/" + name, map[string]string{"sha256": digest}, when, yanked})
				fmt.Fprintf(&links, `<a href="../../files/%s#sha256=%s"%s>%s</a>`, name, digest, attr, name)
			}
			if json691 {
				w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
				json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": "alpha", "files": files})
				return
			}
			fmt.Fprintf(w, "<html><body>%s</body></html>", links.String())
		case strings.HasPrefix(r.URL.Path, "/files/"):
			content, ok := s.files[strings.TrimPrefix(r.URL.Path, "/files/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(content)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestSimple(t *testing.T) {
	for _, format := range []string{"json", "html"} {
		t.Run(format, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				tg := newTarget(t, st)
				v1 := disttest.Dist{Name: "alpha", Version: "1.0"}
				v09 := disttest.Dist{Name: "alpha", Version: "0.9"}
				v08 := disttest.Dist{Name: "alpha", Version: "0.8"} // its wheel alone is yanked
				bad := disttest.Dist{Name: "alpha", Version: "2.0"}
				s := &source{html: format == "html", bad: bad.WheelFilename(), files: map[string][]byte{
					v1.WheelFilename(): v1.Wheel(), v1.SdistFilename(): v1.Sdist(),
					v09.WheelFilename(): v09.Wheel(), bad.WheelFilename(): bad.Wheel(),
					v08.WheelFilename(): v08.Wheel(), v08.SdistFilename(): v08.Sdist(),
				}}
				srv := httptest.NewServer(s.handler(t))
				defer srv.Close()
				src, err := importer.NewSimple(strings.Replace(srv.URL, "http://", "http://reader:s3cret@", 1) + "/simple/")
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(src.String(), "s3cret") {
					t.Fatalf("the source's name shows the password: %s", src)
				}
				sum := tg.run(t, nil, src)
				if sum.Files != 5 || sum.Releases != 3 || sum.Projects != 1 || sum.Yanked != 1 {
					t.Fatalf("first import: %+v", sum)
				}
				if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0].Reason, "release 0.8: 1 of its 2 files are yanked") {
					t.Errorf("warnings: %+v", sum.Warnings)
				}
				if len(sum.Refused) != 1 || sum.Refused[0].File != bad.WheelFilename() || !strings.Contains(sum.Refused[0].Reason, "sha256") {
					t.Fatalf("refused: %+v", sum.Refused)
				}
				proj, err := st.ProjectByName(ctx, "alpha")
				if err != nil {
					t.Fatal(err)
				}
				rel, err := st.ReleaseByCanonicalVersion(ctx, proj.ID, "0.9")
				if err != nil {
					t.Fatal(err)
				}
				if !rel.Yanked || rel.YankedReason != "broken" {
					t.Errorf("0.9: yanked %v %q, want yanked with the source's reason", rel.Yanked, rel.YankedReason)
				}
				f, err := st.FileByFilename(ctx, v1.WheelFilename())
				if err != nil {
					t.Fatal(err)
				}
				want := time.Date(2022, 5, 6, 7, 8, 9, 123456000, time.UTC)
				if format == "json" && !f.UploadTime.Equal(want) {
					t.Errorf("upload time %v, want the source's %v", f.UploadTime, want)
				}
				sum = tg.run(t, nil, src)
				if sum.Files != 0 || sum.Present != 5 || sum.Yanked != 0 {
					t.Fatalf("second import: %+v", sum)
				}
				sum = tg.run(t, []string{"nothere"}, src)
				if len(sum.Refused) != 1 || !strings.Contains(sum.Refused[0].Reason, "404") {
					t.Fatalf("a project the source lacks: %+v", sum)
				}
			})
		})
	}
}

func TestSimpleDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/simple/"
	srv.Close()
	src, err := importer.NewSimple(url)
	if err != nil {
		t.Fatal(err)
	}
	im := &importer.Importer{}
	_, err = im.Run(context.Background(), src)
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Fatalf("error %v does not name %s", err, url)
	}
}

// cancelAfter cancels the import after n files.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Source(importer.Source, int)     {}
func (c *cancelAfter) Project(*importer.ProjectReport) {}
func (c *cancelAfter) File(string, string) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
}

func TestInterrupted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		tg := newTarget(t, st)
		dir := t.TempDir()
		for _, d := range []disttest.Dist{{Name: "one", Version: "1.0"}, {Name: "one", Version: "2.0"}, {Name: "two", Version: "1.0"}} {
			write(t, filepath.Join(dir, d.WheelFilename()), d.Wheel(), time.Now())
			write(t, filepath.Join(dir, d.SdistFilename()), d.Sdist(), time.Now())
		}
		src, err := importer.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		im := &importer.Importer{Index: tg.idx, Owner: tg.owner, Progress: &cancelAfter{n: 3, cancel: cancel}}
		first, err := im.Run(ctx, src)
		if err == nil {
			t.Fatal("the interrupted import says nothing")
		}
		if first.Files != 3 {
			t.Fatalf("interrupted after %d files, want 3: %+v", first.Files, first)
		}
		again := tg.run(t, nil, src)
		if again.Files != 3 || again.Present != 3 || again.Failed() {
			t.Fatalf("run again: %+v", again)
		}
		for _, name := range []string{"one", "two"} {
			proj, err := st.ProjectByName(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			files, err := st.ListFiles(context.Background(), proj.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"one": 4, "two": 2}[name]; len(files) != want {
				t.Errorf("%s has %d files, want %d", name, len(files), want)
			}
		}
	})
}
