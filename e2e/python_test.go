package e2e

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
)

// pyDist is a project's wheel and sdist (absolute paths).
type pyDist struct{ Wheel, Sdist string }

// Files lists the wheel and the sdist.
func (d pyDist) Files() []string { return []string{d.Wheel, d.Sdist} }

// distSet is every distribution the tests upload.
type distSet struct {
	// Built from testdata by Debian's python3 -m build (setuptools).
	FooBar, Dep, App pyDist
	// Dep2 is cheese-dep 2.0, a later release of Dep.
	Dep2 pyDist
	// DepVariantWheel has Dep.Wheel's filename but other content.
	DepVariantWheel string
	// DepRawSdist is Dep's sdist as Debian's setuptools 66 names it
	// (cheese-dep-1.0.tar.gz, not PEP 625).
	DepRawSdist string
	// Debian's own wheels of pip and setuptools, and a wheel of wheel
	// repacked from Debian's python3-wheel: what pip needs to build an
	// sdist with build isolation.
	Pip, Setuptools, Wheel string
}

var (
	distsOnce sync.Once
	dists     *distSet
	distsErr  error
	distsTook time.Duration
)

// pythonDists builds the test projects, once for all tests.
func pythonDists(t testing.TB) *distSet {
	t.Helper()
	requirePython(t)
	distsOnce.Do(func() {
		start := time.Now()
		dists, distsErr = buildDists(filepath.Join(sharedDir, "dists"))
		distsTook = time.Since(start)
	})
	if distsErr != nil {
		t.Fatalf("building the Python test distributions: %v", distsErr)
	}
	t.Logf("⏱ python distributions (built once for all tests): %s", distsTook.Round(time.Millisecond))
	return dists
}

func buildDists(root string) (*distSet, error) {
	d := &distSet{}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	do := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	do(func() (err error) { d.FooBar, _, err = buildProject(root, "foo-bar-baz", "", nil); return })
	do(func() (err error) { d.Dep, d.DepRawSdist, err = buildProject(root, "cheese-dep", "", nil); return })
	do(func() (err error) { d.App, _, err = buildProject(root, "cheese-app", "", nil); return })
	do(func() error {
		v, _, err := buildProject(root, "cheese-dep", "variant", map[string]string{
			"src/cheese_dep/variant.py": "# Same name and version as cheese-dep 1.0, other content.\n",
		})
		d.DepVariantWheel = v.Wheel
		return err
	})
	do(func() error {
		pyproject, err := os.ReadFile(filepath.Join("testdata", "cheese-dep", "pyproject.toml"))
		if err != nil {
			return err
		}
		v2 := strings.Replace(string(pyproject), `version = "1.0"`, `version = "2.0"`, 1)
		d.Dep2, _, err = buildProject(root, "cheese-dep", "2", map[string]string{"pyproject.toml": v2})
		return err
	})
	do(func() (err error) { d.Wheel, err = repackDebianWheel(filepath.Join(root, "wheel")); return })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	if d.Pip, err = onlyMatch("/usr/share/python-wheels/pip-*.whl"); err != nil {
		return nil, err
	}
	if d.Setuptools, err = onlyMatch("/usr/share/python-wheels/setuptools-*.whl"); err != nil {
		return nil, err
	}
	return d, nil
}

func onlyMatch(pattern string) (string, error) {
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		return "", fmt.Errorf("want exactly one %s, found %v", pattern, m)
	}
	return m[0], nil
}

// buildProject copies testdata/<project> (plus extra files) to a fresh
// folder and builds its wheel and sdist with Debian's setuptools, offline
// (--no-isolation). Wheels are uploaded as built (setuptools 66 writes
// Foo_Bar.baz-1.0-py3-none-any.whl, which PyPI and the index refuse since
// late 2025, so it is renamed to foo_bar_baz-1.0-py3-none-any.whl, as
// setuptools >= 75.8 names it). The sdist is renamed to its PEP 625 name
// (foo_bar_baz-1.0.tar.gz), which the index requires and setuptools >= 69.3
// writes; rawSdist is the sdist as built, under its original name, which
// the index refuses.
func buildProject(root, project, variant string, extra map[string]string) (d pyDist, rawSdist string, err error) {
	work := filepath.Join(root, project+variant)
	src, out, raw := filepath.Join(work, "src"), filepath.Join(work, "dist"), filepath.Join(work, "raw")
	if err := os.CopyFS(src, os.DirFS(filepath.Join("testdata", project))); err != nil {
		return d, "", fmt.Errorf("copy %s: %w", project, err)
	}
	for name, content := range extra {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			return d, "", err
		}
	}
	cmd := exec.Command(debPython, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", out, src)
	cmd.Env = cleanEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return d, "", fmt.Errorf("python3 -m build %s: %v\n%s", project, err, b)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return d, "", err
	}
	for _, e := range entries {
		p := filepath.Join(out, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".whl"):
			if d.Wheel, err = normalizeWheel(p); err != nil {
				return d, "", err
			}
		case strings.HasSuffix(e.Name(), ".tar.gz"):
			if err := os.MkdirAll(raw, 0o755); err != nil {
				return d, "", err
			}
			rawSdist = filepath.Join(raw, e.Name())
			if err := copyFile(p, rawSdist); err != nil {
				return d, "", err
			}
			if d.Sdist, err = normalizeSdist(p); err != nil {
				return d, "", err
			}
		}
	}
	if d.Wheel == "" || d.Sdist == "" {
		return d, "", fmt.Errorf("python3 -m build %s made %v, want a wheel and an sdist", project, entries)
	}
	return d, rawSdist, nil
}

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// normalizeName is PEP 503 normalization.
func normalizeName(name string) string {
	return strings.ToLower(nameSeparators.ReplaceAllString(name, "-"))
}

// distName is the name part of wheel and (PEP 625) sdist filenames.
func distName(name string) string { return strings.ReplaceAll(normalizeName(name), "-", "_") }

// normalizeSdist renames an sdist to its PEP 625 name, top folder
// included (Foo_Bar.baz-1.0.tar.gz becomes foo_bar_baz-1.0.tar.gz), as
// setuptools >= 69.3 names it.
func normalizeSdist(path string) (string, error) {
	stem := strings.TrimSuffix(filepath.Base(path), ".tar.gz")
	i := strings.LastIndexByte(stem, '-')
	name, version := stem[:i], stem[i+1:]
	want := distName(name) + "-" + version
	if stem == want {
		return path, nil
	}
	dst := filepath.Join(filepath.Dir(path), want+".tar.gz")
	if err := renameSdist(path, dst, stem, want); err != nil {
		return "", err
	}
	return dst, os.Remove(path)
}

// renameSdist copies the sdist at src to dst, renaming its top folder
// from to to.
func renameSdist(src, dst, from, to string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	gr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	gw := gzip.NewWriter(out)
	tw := tar.NewWriter(gw)
	tr := tar.NewReader(gr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if hdr.Name == from || strings.HasPrefix(hdr.Name, from+"/") {
			hdr.Name = to + strings.TrimPrefix(hdr.Name, from)
			delete(hdr.PAXRecords, "path") // the name is hdr.Name
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gw.Close(); err != nil {
		return err
	}
	return out.Close()
}

// normalizeWheel renames a wheel whose name part is not normalized
// (Foo_Bar.baz-1.0-py3-none-any.whl) to the normalized name, its .dist-info
// folder and RECORD's paths included, as setuptools >= 75.8 writes it. The
// other members are copied unchanged, so RECORD's hashes still hold.
func normalizeWheel(path string) (string, error) {
	base := filepath.Base(path)
	name, rest, _ := strings.Cut(base, "-")
	version, _, _ := strings.Cut(rest, "-")
	if name == distName(name) {
		return path, nil
	}
	oldInfo, newInfo := name+"-"+version+".dist-info/", distName(name)+"-"+version+".dist-info/"
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	dst := filepath.Join(filepath.Dir(path), distName(name)+"-"+rest)
	out, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	defer out.Close()
	zw := disttest.NewZipWriter(out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return "", err
		}
		member := f.Name
		if after, ok := strings.CutPrefix(member, oldInfo); ok {
			member = newInfo + after
			if after == "RECORD" {
				b = []byte(strings.ReplaceAll(string(b), oldInfo, newInfo))
			}
		}
		if err := zw.AddBytes(member, f.Method, b); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return dst, os.Remove(path)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// repackDebianWheel makes a wheel of `wheel` from Debian's python3-wheel,
// which is installed as files with an .egg-info, not as a .whl: it lays out
// an unpacked wheel (the package and a .dist-info made from the egg-info)
// and lets `python3 -m wheel pack` write it with a correct RECORD.
func repackDebianWheel(root string) (string, error) {
	const site = "/usr/lib/python3/dist-packages"
	infos, _ := filepath.Glob(filepath.Join(site, "wheel-*.egg-info"))
	if len(infos) != 1 {
		return "", fmt.Errorf("want one %s/wheel-*.egg-info (Debian's python3-wheel), found %v", site, infos)
	}
	info := infos[0]
	version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(info), "wheel-"), ".egg-info")
	unpacked := filepath.Join(root, "wheel-"+version)
	distInfo := filepath.Join(unpacked, "wheel-"+version+".dist-info")
	if err := os.MkdirAll(distInfo, 0o755); err != nil {
		return "", err
	}
	err := filepath.WalkDir(filepath.Join(site, "wheel"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(site, p)
		dst := filepath.Join(unpacked, rel)
		switch {
		case e.IsDir() && e.Name() == "__pycache__":
			return filepath.SkipDir
		case e.IsDir():
			return os.MkdirAll(dst, 0o755)
		case strings.HasSuffix(p, ".pyc"):
			return nil
		}
		return copyFile(p, dst)
	})
	if err != nil {
		return "", fmt.Errorf("copy Debian's wheel package: %w", err)
	}
	pkgInfo := filepath.Join(info, "PKG-INFO")
	if fi, err := os.Stat(info); err == nil && !fi.IsDir() {
		pkgInfo = info // an egg-info can be a single file
	}
	if err := copyFile(pkgInfo, filepath.Join(distInfo, "METADATA")); err != nil {
		return "", err
	}
	if ep := filepath.Join(info, "entry_points.txt"); fileExists(ep) {
		if err := copyFile(ep, filepath.Join(distInfo, "entry_points.txt")); err != nil {
			return "", err
		}
	}
	wheelFile := "Wheel-Version: 1.0\nGenerator: cheeseshop-e2e (repacked from Debian's python3-wheel)\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n"
	if err := os.WriteFile(filepath.Join(distInfo, "WHEEL"), []byte(wheelFile), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(root, "dist")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command(debPython, "-m", "wheel", "pack", "--dest-dir", out, unpacked)
	cmd.Env = cleanEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("python3 -m wheel pack: %v\n%s", err, b)
	}
	return onlyMatch(filepath.Join(out, "wheel-"+version+"-py3-none-any.whl"))
}

// newPipWheel finds a wheel of pip >= 23.2 (the first pip to read PEP 714's
// core-metadata key from the JSON simple API), bundled with another Python
// on the machine (pyenv's ensurepip). It returns the newest one, or "".
func newPipWheel() (path string, version string) {
	var dirs []string
	pyenv := os.Getenv("PYENV_ROOT")
	if pyenv == "" {
		if home, err := os.UserHomeDir(); err == nil {
			pyenv = filepath.Join(home, ".pyenv")
		}
	}
	if pyenv != "" {
		m, _ := filepath.Glob(filepath.Join(pyenv, "versions", "*", "lib", "python3*", "ensurepip", "_bundled"))
		dirs = append(dirs, m...)
	}
	// The python3 on PATH, when it is not Debian's (whose ensurepip uses
	// /usr/share/python-wheels).
	if out, err := exec.Command("python3", "-c", "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))").Output(); err == nil {
		dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), "_bundled"))
	}
	var best []int
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "pip-*-py3-none-any.whl"))
		for _, p := range m {
			v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "pip-"), "-py3-none-any.whl")
			n := versionNumbers(v)
			if n == nil || compareVersions(n, []int{23, 2}) < 0 {
				continue
			}
			if best == nil || compareVersions(n, best) > 0 {
				best, path, version = n, p, v
			}
		}
	}
	return path, version
}

// versionNumbers parses a plain release version like 23.2.1.
func versionNumbers(v string) []int {
	var n []int
	for part := range strings.SplitSeq(v, ".") {
		i, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		n = append(n, i)
	}
	return n
}

func compareVersions(a, b []int) int {
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// sha256File is the hex SHA-256 of a file.
func sha256File(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReader(f)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// venv is a fresh virtual environment made by Debian's Python, with
// Debian's pip (23.0.1 on bookworm).
type venv struct {
	Dir string
}

// newVenv makes a virtual environment with `python3 -m venv`. It installs
// pip from the very wheel ensurepip would use (/usr/share/python-wheels),
// but without compiling pip's bytecode, which is most of the time
// `python3 -m venv` takes.
func newVenv(t testing.TB) *venv {
	t.Helper()
	defer timed(t, "new venv with Debian's pip")()
	dir := filepath.Join(t.TempDir(), "venv")
	mustRun(t, "", cleanEnv(), debPython, "-m", "venv", "--without-pip", dir)
	v := &venv{Dir: dir}
	wheel, err := onlyMatch("/usr/share/python-wheels/pip-*.whl")
	if err != nil {
		t.Fatal(err)
	}
	runFromWheel := filepath.Join(wheel, "pip") // pip runs from its own wheel, as get-pip does
	mustRun(t, dir, v.env(), filepath.Join(dir, "bin", "python"), runFromWheel, "install", "--no-index", "--no-compile", "--quiet", wheel)
	return v
}

// env is the environment pip runs in: no configuration file, no cache,
// no find-links or index from the environment, no prompts.
func (v *venv) env() []string {
	return cleanEnv("PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_CACHE_DIR=1",
		"PIP_NO_INPUT=1", "PIP_DEFAULT_TIMEOUT=60", "VIRTUAL_ENV="+v.Dir, "PATH="+filepath.Join(v.Dir, "bin")+":"+os.Getenv("PATH"))
}

// pip runs `python -m pip ARGS` in the venv.
func (v *venv) pip(t testing.TB, args ...string) cmdResult {
	t.Helper()
	return runCmd(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", "python"), append([]string{"-m", "pip"}, args...)...)
}

// mustPip is pip that fails the test on a non-zero exit.
func (v *venv) mustPip(t testing.TB, args ...string) cmdResult {
	t.Helper()
	r := v.pip(t, args...)
	if r.Code != 0 {
		t.Fatalf("pip %s exited with %d:\n%s", strings.Join(args, " "), r.Code, r.Out)
	}
	return r
}

// python runs Python code in the venv and returns its output.
func (v *venv) python(t testing.TB, code string) string {
	t.Helper()
	return mustRun(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", "python"), "-c", code).Out
}

// pipVersion is the version of the venv's pip.
func (v *venv) pipVersion(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(v.python(t, "import pip; print(pip.__version__)"))
}

// twineUpload runs Debian's twine against the server's legacy API with an
// API token, as a developer would.
func twineUpload(t testing.TB, s *server, token string, files ...string) cmdResult {
	t.Helper()
	env := cleanEnv("TWINE_USERNAME=__token__", "TWINE_PASSWORD="+token, "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
	args := append([]string{"upload", "--repository-url", s.URL + "/legacy/", "--non-interactive", "--disable-progress-bar"}, files...)
	return runCmd(t, "", env, debTwine, args...)
}
