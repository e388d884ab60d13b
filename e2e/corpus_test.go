package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// corpusProject is a project of testdata/corpus: a realistic source tree
// for one of Debian's build backends, using the features real projects
// use (rST and Markdown READMEs, classifiers, extras, console scripts and
// other entry points, package data, license files, a namespace package,
// Requires-Python, project URLs, dependencies on the other projects).
type corpusProject struct {
	name, version string
	// backend is the Python module of the build backend and pkg the
	// Debian package that ships it.
	backend, pkg string
	// module is what the project installs, to import.
	module string
	// script runs an installed console script, whose output holds want.
	script []string
	want   string
}

// corpus is every project the corpus test builds. The dependencies
// between them (roquefort → camembert → gouda, brie → gouda,
// stilton → emmental-tools) make pip resolve across backends from the
// index.
var corpus = []corpusProject{
	// setuptools, declarative setup.cfg with a setup.py shim: rST README
	// and changelog, package data, entry points, extras with markers.
	{"gouda", "1.4.2", "setuptools", "python3-setuptools", "gouda",
		[]string{"gouda", "--weeks", "12"}, "Gouda aged 12 weeks: jong belegen"},
	// setuptools, PEP 621 pyproject.toml: Markdown README, a PEP 420
	// namespace package (cheesecorp.brie), the license text as License,
	// a non-ASCII author.
	{"brie", "2.0.1", "setuptools", "python3-setuptools", "cheesecorp.brie",
		[]string{"brie", "Melun"}, "Brie de Melun — fromage à pâte molle (with gouda 1.4.2)"},
	// setuptools, setup.py only (the legacy backend): one module, a
	// script file, a description without a content type (rendered as
	// reStructuredText by PyPI).
	{"cheddar", "3.1", "setuptools", "python3-setuptools", "cheddar",
		[]string{"cheddar-grade", "12"}, "Cheddar 12 months: mature"},
	// hatchling: dynamic version, License-Expression, license-files.
	{"emmental-tools", "0.7.0", "hatchling", "python3-hatchling", "emmental_tools",
		[]string{"emmental", "120"}, "emmental-tools 0.7.0: 1200 holes"},
	// flit_core (in Debian's flit): a module whose docstring and
	// __version__ are the dynamic description and version, rST README,
	// a pytest11 entry point.
	{"stilton", "0.9.1", "flit_core", "flit", "stilton",
		[]string{"stilton", "3"}, "blue blue blue and 10 holes"},
	// poetry-core: [tool.poetry], caret dependencies, an optional
	// dependency behind an extra, Home-page and repository URLs.
	{"camembert", "0.3.0", "poetry.core", "python3-poetry-core", "camembert",
		[]string{"camembert", "21"}, "Camembert after 21 days: à cœur (gouda 1.4.2 for comparison)"},
	// pdm-pep517: PEP 621, src layout found by itself, license as text.
	{"roquefort", "1.2.0", "pdm.pep517", "python3-pdm-pep517", "roquefort",
		[]string{"roquefort"}, "roquefort 1.2.0 from Combalou beside camembert 0.3.0"},
}

// TestCorpus builds every corpus project with Debian's build backends
// (python3 -m build, offline), uploads the wheels and sdists with twine
// exactly as built, together with the wheels Debian ships in
// /usr/share/python-wheels, and installs them with pip from the index:
// the wheels with their dependencies from the index, the sdists built
// again by pip with the same backends. It is the safety net for the
// upload rules: a distribution a real backend writes must go through.
func TestCorpus(t *testing.T) {
	t.Parallel()
	requirePython(t)
	requireTool(t, debTwine, "twine")
	for _, p := range corpus {
		if out, err := exec.Command(debPython, "-c", "import "+p.backend).CombinedOutput(); err != nil {
			skipOrFail(t, "%s cannot import the build backend %s (%v: %s): `make test` installs %s (scripts/deps.sh)",
				debPython, p.backend, err, strings.TrimSpace(string(out)), p.pkg)
		}
	}
	defer timed(t, "corpus test")()
	built := buildCorpus(t)
	debWheels, _ := filepath.Glob("/usr/share/python-wheels/*.whl")
	if len(debWheels) < 3 {
		skipOrFail(t, "want the pip, setuptools and wheel wheels in /usr/share/python-wheels, found %v: `make test` installs python3-pip-whl python3-setuptools-whl python3-wheel-whl (scripts/deps.sh)", debWheels)
	}
	s, token := startWithUploader(t, serverOptions{})

	// twine check renders each description as PyPI does.
	var files []string
	for _, p := range corpus {
		files = append(files, built[p.name].Files()...)
	}
	mustRun(t, "", cleanEnv(), debTwine, append([]string{"check"}, files...)...)

	t.Run("upload", func(t *testing.T) {
		for _, p := range corpus {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				if r := twineUpload(t, s, token, built[p.name].Files()...); r.Code != 0 {
					t.Errorf("twine upload of %s (built by %s): exit %d\n%s", p.name, p.pkg, r.Code, r.Out)
				}
			})
		}
		t.Run("debian-wheels", func(t *testing.T) {
			t.Parallel()
			if r := twineUpload(t, s, token, debWheels...); r.Code != 0 {
				t.Errorf("twine upload of %v: exit %d\n%s", debWheels, r.Code, r.Out)
			}
		})
	})
	if t.Failed() {
		return
	}

	t.Run("install", func(t *testing.T) {
		t.Run("wheels", func(t *testing.T) {
			t.Parallel()
			v := newBareVenv(t, false)
			// Only what the index has: every dependency must come from it.
			args := []string{"install", "--index-url", s.URL + "/simple/", "--only-binary", ":all:", "wheel==0.38.4"}
			for _, p := range corpus {
				args = append(args, p.name+"=="+p.version)
			}
			v.pipFromWheel(t, args...)
			for _, p := range corpus {
				r := runCmd(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", p.script[0]), p.script[1:]...)
				if r.Code != 0 || !strings.Contains(r.Out, p.want) {
					t.Errorf("%s (from the %s wheel): exit %d, output %q, want %q", strings.Join(p.script, " "), p.name, r.Code, r.Out, p.want)
				}
			}
			out := v.python(t, `import cheesecorp, gouda, importlib.resources as r, wheel
print(getattr(cheesecorp, "__file__", None), list(cheesecorp.__path__)[0].endswith("cheesecorp"))
print(r.files("gouda").joinpath("py.typed").is_file(), wheel.__version__)`)
			if want := "None True\nTrue 0.38.4\n"; out != want {
				t.Errorf("namespace package, package data and Debian's wheel: %q, want %q", out, want)
			}
		})
		t.Run("sdists", func(t *testing.T) {
			t.Parallel()
			// pip builds each sdist with Debian's backends: a venv that
			// sees them, and no build isolation (nothing from the
			// network).
			v := newBareVenv(t, true)
			args := []string{"install", "--index-url", s.URL + "/simple/", "--no-binary", ":all:", "--no-build-isolation", "--no-deps"}
			for _, p := range corpus {
				args = append(args, p.name+"=="+p.version)
			}
			v.pipFromWheel(t, args...)
			code := "import importlib, importlib.metadata as m\n"
			for _, p := range corpus {
				code += fmt.Sprintf("importlib.import_module(%q); print(m.version(%q))\n", p.module, p.name)
			}
			var want string
			for _, p := range corpus {
				want += p.version + "\n"
			}
			if out := v.python(t, code); out != want {
				t.Errorf("versions installed from the sdists: %q, want %q", out, want)
			}
		})
	})

	t.Run("json", func(t *testing.T) {
		for _, p := range corpus {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				checkJSONAgainstMetadata(t, s, p.name, built[p.name])
			})
		}
	})
}

// buildCorpus builds every corpus project, all at once, each in a copy of
// its folder, and returns its wheel and sdist by project name. Like
// `python3 -m build` with no options, it builds the sdist and then the
// wheel from the sdist, so that an incomplete sdist fails here.
// --skip-dependency-check: Debian's hatchling declares a dependency on
// editables, which bookworm does not package (hatchling only needs it
// for editable installs).
func buildCorpus(t *testing.T) map[string]pyDist {
	t.Helper()
	defer timed(t, fmt.Sprintf("build %d corpus projects", len(corpus)))()
	root := t.TempDir()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	built := map[string]pyDist{}
	for _, p := range corpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := buildCorpusProject(root, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", p.name, p.pkg, err))
			}
			built[p.name] = d
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return built
}

func buildCorpusProject(root string, p corpusProject) (pyDist, error) {
	var d pyDist
	src, out := filepath.Join(root, p.name, "src"), filepath.Join(root, p.name, "dist")
	if err := os.CopyFS(src, os.DirFS(filepath.Join("testdata", "corpus", p.name))); err != nil {
		return d, err
	}
	cmd := exec.Command(debPython, "-m", "build", "--no-isolation", "--skip-dependency-check", "--outdir", out, src)
	cmd.Env = cleanEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return d, fmt.Errorf("python3 -m build: %v\n%s", err, b)
	}
	stem := distName(p.name) + "-" + p.version
	d = pyDist{Wheel: filepath.Join(out, stem+"-py3-none-any.whl"), Sdist: filepath.Join(out, stem+".tar.gz")}
	for _, f := range d.Files() {
		if !fileExists(f) {
			entries, _ := os.ReadDir(out)
			return d, fmt.Errorf("python3 -m build made no %s (made %v)", filepath.Base(f), entries)
		}
	}
	return d, nil
}

// newBareVenv is a virtual environment without pip, made in a fraction of
// the time newVenv takes (which installs pip into it); systemSite lets
// it see the Python packages Debian installed (the build backends). Run
// pip in it with pipFromWheel.
func newBareVenv(t testing.TB, systemSite bool) *venv {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "venv")
	args := []string{"-m", "venv", "--without-pip", dir}
	if systemSite {
		args = append(args, "--system-site-packages")
	}
	mustRun(t, "", cleanEnv(), debPython, args...)
	return &venv{Dir: dir}
}

// pipFromWheel runs Debian's pip in the venv straight from its wheel (as
// get-pip and newVenv do to install pip) and fails the test on a non-zero
// exit.
func (v *venv) pipFromWheel(t testing.TB, args ...string) cmdResult {
	t.Helper()
	wheel, err := onlyMatch("/usr/share/python-wheels/pip-*.whl")
	if err != nil {
		t.Fatal(err)
	}
	return mustRun(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", "python"), append([]string{filepath.Join(wheel, "pip")}, args...)...)
}

// checkJSONAgainstMetadata compares the JSON API document of a project
// with the METADATA of its wheel, field by field, each derived from the
// metadata as PyPI derives it (absent fields null, keywords joined with
// ", ", Requires-Python as a sorted specifier set, Home-page and
// Download-URL among the project URLs), and its files with the files
// uploaded.
func checkJSONAgainstMetadata(t *testing.T, s *server, name string, d pyDist) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(wheelMetadata(t, d.Wheel))))
	if err != nil {
		t.Fatalf("METADATA of %s: %v", d.Wheel, err)
	}
	h := msg.Header
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp, raw := s.get(t, "/pypi/"+name+"/json")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /pypi/%s/json: %s", name, resp.Status)
	}
	var doc struct {
		Info map[string]any
		URLs []struct {
			Filename       string
			PackageType    string `json:"packagetype"`
			PythonVersion  string `json:"python_version"`
			Digests        map[string]string
			Size           int64
			RequiresPython any `json:"requires_python"`
		} `json:"urls"`
		Vulnerabilities []any
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	// one is a single-use field, or nil when absent.
	one := func(key string) any {
		if v := h.Get(key); v != "" {
			return v
		}
		return nil
	}
	// all is a multiple-use field, or nil when absent.
	all := func(key string) any {
		var out []any
		for _, v := range h[textproto.CanonicalMIMEHeaderKey(key)] {
			out = append(out, v)
		}
		if out == nil {
			return nil
		}
		return out
	}
	var keywords any
	if k := h.Get("Keywords"); k != "" {
		words := strings.Split(k, ",")
		for i, w := range words {
			words[i] = strings.TrimSpace(w)
		}
		keywords = strings.Join(words, ", ")
	}
	var requiresPython any
	if rp := h.Get("Requires-Python"); rp != "" {
		specs := strings.Split(strings.ReplaceAll(rp, " ", ""), ",")
		slices.Sort(specs)
		requiresPython = strings.Join(specs, ",")
	}
	urls := map[string]any{}
	if u := h.Get("Home-page"); u != "" {
		urls["Homepage"] = u
	}
	if u := h.Get("Download-URL"); u != "" {
		urls["Download"] = u
	}
	for _, pu := range h[textproto.CanonicalMIMEHeaderKey("Project-URL")] {
		label, u, _ := strings.Cut(pu, ",")
		urls[strings.TrimSpace(label)] = strings.TrimSpace(u)
	}
	var projectURLs any
	if len(urls) > 0 {
		projectURLs = urls
	}
	classifiers := []any{}
	if c, ok := all("Classifier").([]any); ok {
		classifiers = c
	}
	var platform any
	if p, ok := all("Platform").([]any); ok {
		platform = p[0]
	}
	// A multi-line License keeps its line breaks in the index, and
	// net/mail unfolds it: compare its words.
	if l, ok := doc.Info["license"].(string); ok {
		doc.Info["license"] = strings.Join(strings.Fields(l), " ")
	}
	license := one("License")
	if l, ok := license.(string); ok {
		license = strings.Join(strings.Fields(l), " ")
	}
	version := h.Get("Version")
	for field, want := range map[string]any{
		"name":                     h.Get("Name"),
		"version":                  version,
		"summary":                  one("Summary"),
		"description":              string(body),
		"description_content_type": one("Description-Content-Type"),
		"author":                   one("Author"),
		"author_email":             one("Author-email"),
		"maintainer":               one("Maintainer"),
		"maintainer_email":         one("Maintainer-email"),
		"license":                  license,
		"license_expression":       one("License-Expression"),
		"license_files":            all("License-File"),
		"home_page":                one("Home-page"),
		"download_url":             one("Download-URL"),
		"keywords":                 keywords,
		"platform":                 platform,
		"classifiers":              classifiers,
		"requires_python":          requiresPython,
		"requires_dist":            all("Requires-Dist"),
		"provides_extra":           all("Provides-Extra"),
		"project_urls":             projectURLs,
		"dynamic":                  nil,
		"project_url":              s.URL + "/project/" + name + "/",
		"release_url":              s.URL + "/project/" + name + "/" + version + "/",
	} {
		if got := doc.Info[field]; !reflect.DeepEqual(got, want) {
			t.Errorf("info.%s = %#v, the METADATA says %#v", field, got, want)
		}
	}
	if doc.Vulnerabilities == nil || len(doc.URLs) != 2 {
		t.Fatalf("vulnerabilities %v, %d files: %s", doc.Vulnerabilities, len(doc.URLs), raw)
	}
	for _, f := range doc.URLs {
		local, kind, pyVersion := d.Wheel, "bdist_wheel", "py3"
		if strings.HasSuffix(f.Filename, ".tar.gz") {
			local, kind, pyVersion = d.Sdist, "sdist", "source"
		}
		fi, err := os.Stat(local)
		if err != nil {
			t.Fatal(err)
		}
		if f.Filename != filepath.Base(local) || f.PackageType != kind || f.PythonVersion != pyVersion ||
			f.Digests["sha256"] != sha256File(t, local) || f.Size != fi.Size() || f.RequiresPython != requiresPython {
			t.Errorf("file %+v does not match the uploaded %s", f, local)
		}
	}
}
