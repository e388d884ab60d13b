package e2e

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRealClients uploads every test distribution with Debian's twine,
// checks the HTML simple API with a plain HTTP client, then installs from
// the index with Debian's pip in fresh virtual environments, and proves
// from /metrics that pip used the JSON simple API.
func TestRealClients(t *testing.T) {
	t.Parallel()
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	s, token := startWithUploader(t, serverOptions{})

	all := []string{d.FooBar.Wheel, d.FooBar.Sdist, d.Dep.Wheel, d.Dep.Sdist, d.App.Wheel, d.App.Sdist, d.Pip, d.Setuptools, d.Wheel}
	// The upload is the setup of every subtest below (and itself a test
	// of twine): not a subtest, so that -run can pick any of them.
	stop := timed(t, "twine upload of 9 files")
	r := twineUpload(t, s, token, all...)
	stop()
	if r.Code != 0 {
		t.Fatalf("twine upload exited with %d:\n%s", r.Code, r.Out)
	}
	for _, f := range all {
		if !strings.Contains(r.Out, "Uploading "+filepath.Base(f)) {
			t.Errorf("twine's output does not mention %s:\n%s", filepath.Base(f), r.Out)
		}
	}
	if got := uploads(s.metrics(t), "created"); got != float64(len(all)) {
		t.Errorf("cheeseshop_uploads_total{result=\"created\"} = %v, want %d", got, len(all))
	}

	t.Run("html_api", func(t *testing.T) {
		defer timed(t, "HTML API checks")()
		checkProjectHTML(t, s, "cheese-app", d.App)
		checkRootHTML(t, s, []string{"cheese-app", "cheese-dep", "foo-bar-baz", "pip", "setuptools", "wheel"})
	})
	t.Run("json_api", func(t *testing.T) {
		checkProjectJSON(t, s, "cheese-app", d.App)
	})

	// Everything pip does happens between these two scrapes, and nothing
	// else asks for simple pages meanwhile.
	before := s.metrics(t)
	var pipRuns atomic.Int32 // how many of the pip subtests ran (-run may pick some)
	t.Run("pip", func(t *testing.T) {
		index := s.URL + "/simple/"

		t.Run("install_app_pulls_dependency", func(t *testing.T) {
			t.Parallel()
			pipRuns.Add(1)
			v := newVenv(t)
			r := v.mustPip(t, "install", "--index-url", index, "cheese-app")
			for _, want := range []string{"Successfully installed cheese-app-1.0 cheese-dep-1.0",
				s.URL + "/files/" + sha256File(t, d.App.Wheel) + "/" + filepath.Base(d.App.Wheel),
				s.URL + "/files/" + sha256File(t, d.Dep.Wheel) + "/" + filepath.Base(d.Dep.Wheel)} {
				if !strings.Contains(r.Out, want) {
					t.Errorf("pip install's output lacks %q:\n%s", want, r.Out)
				}
			}
			if show := v.mustPip(t, "show", "cheese-dep").Out; !strings.Contains(show, "Required-by: cheese-app") {
				t.Errorf("pip show cheese-dep:\n%s", show)
			}
			if show := v.mustPip(t, "show", "cheese-app").Out; !strings.Contains(show, "Requires: cheese-dep") {
				t.Errorf("pip show cheese-app:\n%s", show)
			}
			out := mustRun(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", "cheese-app")).Out
			if strings.TrimSpace(out) != "cheese-app: crumbled" {
				t.Errorf("the cheese-app script printed %q, want %q", out, "cheese-app: crumbled")
			}
		})

		t.Run("require_hashes", func(t *testing.T) {
			t.Parallel()
			pipRuns.Add(1)
			v := newVenv(t)
			appWheel, appSdist, depWheel, depSdist := sha256File(t, d.App.Wheel), sha256File(t, d.App.Sdist), sha256File(t, d.Dep.Wheel), sha256File(t, d.Dep.Sdist)
			dir := t.TempDir()
			write := func(name, dep1, dep2 string) string {
				p := filepath.Join(dir, name)
				req := "cheese-app==1.0 \\\n    --hash=sha256:" + appWheel + " \\\n    --hash=sha256:" + appSdist + "\n" +
					"cheese-dep==1.0 \\\n    --hash=sha256:" + dep1 + " \\\n    --hash=sha256:" + dep2 + "\n"
				if err := os.WriteFile(p, []byte(req), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			// A hash that matches no cheese-dep file: pip must refuse.
			bad := write("bad.txt", appWheel, appSdist)
			r := v.pip(t, "install", "--index-url", index, "--require-hashes", "-r", bad)
			if r.Code == 0 || !strings.Contains(r.Out, "THESE PACKAGES DO NOT MATCH THE HASHES") || !strings.Contains(r.Out, "cheese-dep") {
				t.Errorf("pip install with a wrong cheese-dep hash: exit %d, want a hash mismatch on cheese-dep:\n%s", r.Code, r.Out)
			}
			good := write("req.txt", depWheel, depSdist)
			r = v.mustPip(t, "install", "--index-url", index, "--require-hashes", "-r", good)
			if !strings.Contains(r.Out, "Successfully installed cheese-app-1.0 cheese-dep-1.0") {
				t.Errorf("pip install --require-hashes:\n%s", r.Out)
			}
			v.python(t, "import cheese_app, cheese_dep; assert cheese_dep.crumble() == 'crumbled'")
		})

		t.Run("sdist_with_build_isolation", func(t *testing.T) {
			t.Parallel()
			pipRuns.Add(1)
			v := newVenv(t)
			// --no-binary :all: would also apply to the build requirements
			// (pip passes it on to the isolated build environment), and
			// setuptools and wheel are on the index as wheels only.
			r := v.mustPip(t, "install", "--index-url", index, "--no-binary", "foo-bar-baz", "foo-bar-baz")
			sdistURL := s.URL + "/files/" + sha256File(t, d.FooBar.Sdist) + "/foo_bar_baz-1.0.tar.gz"
			for _, want := range []string{sdistURL, "Building wheel for"} {
				if !strings.Contains(r.Out, want) {
					t.Errorf("pip install --no-binary's output lacks %q:\n%s", want, r.Out)
				}
			}
			if !installedFooBar.MatchString(r.Out) {
				t.Errorf("pip install --no-binary did not say it installed Foo_Bar.baz 1.0:\n%s", r.Out)
			}
			// The isolated build environment got setuptools and wheel from
			// cheeseshop: the venv has no other index and no find-links.
			for _, f := range []string{d.Setuptools, d.Wheel} {
				want := "path=/files/" + sha256File(t, f) + "/" + filepath.Base(f) + " status=200"
				if !s.waitLog(want) {
					t.Errorf("the server's access log has no %q: the build requirements did not come from the index", want)
				}
			}
			if got := strings.TrimSpace(v.python(t, "import foo_bar_baz; print(foo_bar_baz.hello())")); got != "hello from Foo_Bar.baz" {
				t.Errorf("foo_bar_baz.hello() = %q", got)
			}
		})

		t.Run("non_normalized_name", func(t *testing.T) {
			t.Parallel()
			pipRuns.Add(1)
			v := newVenv(t)
			r := v.mustPip(t, "install", "--index-url", index, "Foo_Bar.baz")
			wheelURL := s.URL + "/files/" + sha256File(t, d.FooBar.Wheel) + "/" + filepath.Base(d.FooBar.Wheel)
			if !strings.Contains(r.Out, wheelURL) {
				t.Errorf("pip install Foo_Bar.baz's output lacks %q:\n%s", wheelURL, r.Out)
			}
			if !installedFooBar.MatchString(r.Out) {
				t.Errorf("pip install Foo_Bar.baz did not say it installed Foo_Bar.baz 1.0:\n%s", r.Out)
			}
			// Debian's setuptools 66 writes the wheel's metadata name as
			// Foo-Bar.baz (pkg_resources.safe_name); any spelling will do.
			show := v.mustPip(t, "show", "FOO.BAR_BAZ").Out
			if m := regexp.MustCompile(`(?m)^Name: (\S+)$`).FindStringSubmatch(show); m == nil || normalizeName(m[1]) != "foo-bar-baz" {
				t.Errorf("pip show FOO.BAR_BAZ:\n%s", show)
			}
			v.python(t, "import foo_bar_baz")
		})
	})
	after := s.metrics(t)

	t.Run("pip_used_json_api", func(t *testing.T) {
		if pipRuns.Load() != 4 {
			t.Skip("needs all four pip subtests")
		}
		jsonPages, htmlPages := simpleJSON(after)-simpleJSON(before), simpleHTML(after)-simpleHTML(before)
		t.Logf("during the pip runs: %v JSON and %v HTML project pages, %v .metadata files (Debian's pip %s ignores core-metadata in JSON)",
			jsonPages, htmlPages, metadataOK(after)-metadataOK(before), "23.0.1")
		// At least: cheese-app and cheese-dep twice, foo-bar-baz twice,
		// setuptools and wheel.
		if jsonPages < 8 {
			t.Errorf("pip fetched %v project pages as JSON (cheeseshop_simple_responses_total{format=\"json\",page=\"project\"}), want at least 8", jsonPages)
		}
		if htmlPages != 0 {
			t.Errorf("pip fetched %v project pages as HTML, want 0: pip asks for PEP 691 JSON first", htmlPages)
		}
	})
}

// installedFooBar matches pip's report of installing Foo_Bar.baz 1.0,
// whichever spelling of the name pip prints.
var installedFooBar = regexp.MustCompile(`Successfully installed (?i:foo[-_.]+bar[-_.]+baz)-1\.0\b`)

var (
	metaVersion = regexp.MustCompile(`<meta\s+name="pypi:repository-version"\s+content="(1\.\d+)"\s*/?>`)
	anchorRE    = regexp.MustCompile(`<a\s([^>]*)>([^<]*)</a>`)
	attrRE      = regexp.MustCompile(`([a-zA-Z_:-]+)="([^"]*)"`)
)

// anchor is a link of a simple page, its attributes as written (still
// HTML-escaped).
type anchor struct {
	Attrs map[string]string
	Text  string
}

func parseAnchors(body string) []anchor {
	var out []anchor
	for _, m := range anchorRE.FindAllStringSubmatch(body, -1) {
		a := anchor{Attrs: map[string]string{}, Text: html.UnescapeString(m[2])}
		for _, am := range attrRE.FindAllStringSubmatch(m[1], -1) {
			a.Attrs[am[1]] = am[2]
		}
		out = append(out, a)
	}
	return out
}

// checkProjectHTML checks /simple/<project>/ as a PEP 503 client sees it.
func checkProjectHTML(t *testing.T, s *server, project string, files pyDist) {
	t.Helper()
	pageURL := s.URL + "/simple/" + project + "/"
	resp, body := s.get(t, pageURL, "Accept", "text/html")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", pageURL, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	if m := metaVersion.FindSubmatch(body); m == nil {
		t.Errorf("no PEP 629 <meta name=\"pypi:repository-version\" content=\"1.x\"> in:\n%s", body)
	}
	anchors := parseAnchors(string(body))
	local := map[string]string{filepath.Base(files.Wheel): files.Wheel, filepath.Base(files.Sdist): files.Sdist}
	var texts []string
	for _, a := range anchors {
		texts = append(texts, a.Text)
	}
	sort.Strings(texts)
	want := []string{filepath.Base(files.Sdist), filepath.Base(files.Wheel)}
	sort.Strings(want)
	if !slices.Equal(texts, want) {
		t.Fatalf("the page links %q, want %q:\n%s", texts, want, body)
	}
	base, _ := url.Parse(pageURL)
	for _, a := range anchors {
		href := html.UnescapeString(a.Attrs["href"])
		u, err := base.Parse(href)
		if err != nil {
			t.Errorf("href %q: %v", href, err)
			continue
		}
		if last := path.Base(u.Path); last != a.Text {
			t.Errorf("anchor text %q is not the last path component of its href %q (%q)", a.Text, href, last)
		}
		fragSHA, ok := strings.CutPrefix(u.Fragment, "sha256=")
		if !ok {
			t.Errorf("href %q has no #sha256= fragment", href)
		}
		u.Fragment = ""
		fresp, content := s.get(t, u.String())
		if fresp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, fresp.Status)
			continue
		}
		if got := hexSHA256(content); got != fragSHA || got != sha256File(t, local[a.Text]) {
			t.Errorf("%s: downloaded sha256 %s, fragment says %s, uploaded file has %s", a.Text, got, fragSHA, sha256File(t, local[a.Text]))
		}
		if rp := a.Attrs["data-requires-python"]; rp != "&gt;=3.8" {
			t.Errorf("%s: data-requires-python=%q, want %q", a.Text, rp, "&gt;=3.8")
		}
		core, hasCore := a.Attrs["data-core-metadata"]
		distInfo, hasDistInfo := a.Attrs["data-dist-info-metadata"]
		if !strings.HasSuffix(a.Text, ".whl") {
			if hasCore || hasDistInfo {
				t.Errorf("sdist %s has metadata attributes: %v", a.Text, a.Attrs)
			}
			continue
		}
		if !hasCore || !hasDistInfo || core != distInfo || !strings.HasPrefix(core, "sha256=") {
			t.Errorf("wheel %s: data-core-metadata=%q data-dist-info-metadata=%q, want both sha256=<hex> (PEP 658, 714)", a.Text, core, distInfo)
			continue
		}
		mresp, meta := s.get(t, u.String()+".metadata")
		if mresp.StatusCode != http.StatusOK {
			t.Errorf("GET %s.metadata: %s", u, mresp.Status)
			continue
		}
		if got := "sha256=" + hexSHA256(meta); got != core {
			t.Errorf("%s.metadata has %s, the page says %s", a.Text, got, core)
		}
		if inWheel := wheelMetadata(t, local[a.Text]); string(meta) != string(inWheel) {
			t.Errorf("%s.metadata differs from the wheel's METADATA:\n%s\n---\n%s", a.Text, meta, inWheel)
		}
	}
	if !strings.Contains(string(body), `data-requires-python="&gt;=3.8"`) {
		t.Errorf("the page does not escape requires-python as &gt;=3.8:\n%s", body)
	}
}

// checkRootHTML checks that /simple/ lists exactly the projects, in HTML
// and JSON.
func checkRootHTML(t *testing.T, s *server, projects []string) {
	t.Helper()
	resp, body := s.get(t, "/simple/", "Accept", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /simple/: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if metaVersion.Find(body) == nil {
		t.Errorf("/simple/ has no PEP 629 meta:\n%s", body)
	}
	var hrefs []string
	for _, a := range parseAnchors(string(body)) {
		hrefs = append(hrefs, a.Attrs["href"])
		if want := "/simple/" + normalizeName(a.Text) + "/"; a.Attrs["href"] != want {
			t.Errorf("/simple/ links %q to %q, want %q", a.Text, a.Attrs["href"], want)
		}
	}
	var want []string
	for _, p := range projects {
		want = append(want, "/simple/"+p+"/")
	}
	sort.Strings(hrefs)
	sort.Strings(want)
	if !slices.Equal(hrefs, want) {
		t.Errorf("/simple/ links %q, want %q", hrefs, want)
	}

	resp, body = s.get(t, "/simple/", "Accept", "application/vnd.pypi.simple.v1+json")
	var root struct {
		Projects []struct{ Name string } `json:"projects"`
	}
	if err := json.Unmarshal(body, &root); err != nil || resp.Header.Get("Content-Type") != "application/vnd.pypi.simple.v1+json" {
		t.Fatalf("GET /simple/ as JSON: %s %q %v:\n%s", resp.Status, resp.Header.Get("Content-Type"), err, body)
	}
	var names []string
	for _, p := range root.Projects {
		names = append(names, normalizeName(p.Name))
	}
	sort.Strings(names)
	if !slices.Equal(names, projects) {
		t.Errorf("/simple/ JSON lists %q, want %q", names, projects)
	}
}

// checkProjectJSON checks a PEP 691 project page: files, hashes,
// requires-python, and PEP 714's core-metadata (never the old
// dist-info-metadata key, which crashes Debian's pip 23.0.1).
func checkProjectJSON(t *testing.T, s *server, project string, files pyDist) {
	t.Helper()
	resp, body := s.get(t, "/simple/"+project+"/", "Accept", "application/vnd.pypi.simple.v1+json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.pypi.simple.v1+json" {
		t.Fatalf("GET /simple/%s/ as JSON: %s, Content-Type %q", project, resp.Status, resp.Header.Get("Content-Type"))
	}
	var page struct {
		Name  string                       `json:"name"`
		Files []map[string]json.RawMessage `json:"files"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("%v:\n%s", err, body)
	}
	if page.Name != project || len(page.Files) != 2 {
		t.Fatalf("JSON page for %s: name %q, %d files:\n%s", project, page.Name, len(page.Files), body)
	}
	for _, f := range page.Files {
		var filename, rp string
		var hashes map[string]string
		json.Unmarshal(f["filename"], &filename)
		json.Unmarshal(f["requires-python"], &rp)
		json.Unmarshal(f["hashes"], &hashes)
		local := files.Sdist
		if strings.HasSuffix(filename, ".whl") {
			local = files.Wheel
		}
		if filename != filepath.Base(local) || hashes["sha256"] != sha256File(t, local) || rp != ">=3.8" {
			t.Errorf("JSON file entry %s: sha256 %s requires-python %q; want %s %s >=3.8", filename, hashes["sha256"], rp, filepath.Base(local), sha256File(t, local))
		}
		if _, ok := f["dist-info-metadata"]; ok {
			t.Errorf("JSON file entry %s has dist-info-metadata: PEP 714 says JSON carries only core-metadata", filename)
		}
		var core any
		json.Unmarshal(f["core-metadata"], &core)
		if strings.HasSuffix(filename, ".whl") {
			if m, ok := core.(map[string]any); !ok || m["sha256"] == nil {
				t.Errorf("wheel %s: core-metadata = %s, want {\"sha256\": ...}", filename, f["core-metadata"])
			}
		} else if core != nil && core != false {
			t.Errorf("sdist %s: core-metadata = %s, want false or absent", filename, f["core-metadata"])
		}
	}
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// wheelMetadata is the .dist-info/METADATA of a wheel.
func wheelMetadata(t testing.TB, wheel string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dir, name, _ := strings.Cut(f.Name, "/")
		if strings.HasSuffix(dir, ".dist-info") && name == "METADATA" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("%s has no .dist-info/METADATA", wheel)
	return nil
}
