package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoetry: Debian's poetry (1.3) publishes to the index with an API
// token, then a project whose only source is the index adds the package
// (`poetry add`, which resolves its dependency from the index too, locks
// every file by hash and installs), and a fresh checkout installs from
// that lock (`poetry install`). Poetry 1.3 reads the simple API as PEP 503
// HTML only (it sends no Accept header), which the index serves by default.
func TestPoetry(t *testing.T) {
	t.Parallel()
	requireTool(t, debPoetry, "python3-poetry")
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	s, token := startWithUploader(t, serverOptions{})
	if r := twineUpload(t, s, token, d.Dep.Files()...); r.Code != 0 {
		t.Fatalf("twine upload of cheese-dep: exit %d\n%s", r.Code, r.Out)
	}
	// Poetry keeps its configuration, caches and virtual environments in
	// the test's folders, and creates a project's venv in the project.
	env := func(extra ...string) []string {
		home := t.TempDir()
		return clientEnv(t, append([]string{"POETRY_CONFIG_DIR=" + filepath.Join(home, "config"),
			"POETRY_CACHE_DIR=" + filepath.Join(home, "cache"), "POETRY_VIRTUALENVS_IN_PROJECT=true"}, extra...)...)
	}

	// Publish: the repository and its credentials from the environment,
	// as poetry's documentation says for CI.
	src := copyProject(t, "cheese-poetry")
	publishEnv := env("POETRY_REPOSITORIES_CHEESE_URL="+s.URL+"/legacy/",
		"POETRY_HTTP_BASIC_CHEESE_USERNAME=__token__", "POETRY_HTTP_BASIC_CHEESE_PASSWORD="+token)
	r := runCmd(t, src, publishEnv, debPoetry, "publish", "--build", "--repository", "cheese", "--no-interaction")
	if r.Code != 0 {
		t.Fatalf("poetry publish: exit %d\n%s", r.Code, r.Out)
	}
	// poetry-core 1.4 names the sdist as PEP 625 says.
	built := []string{filepath.Join(src, "dist", "cheese_poetry-1.0-py3-none-any.whl"), filepath.Join(src, "dist", "cheese_poetry-1.0.tar.gz")}
	for _, f := range built {
		if !strings.Contains(r.Out, "Uploading "+filepath.Base(f)) || !fileExists(f) {
			t.Errorf("poetry publish did not build and upload %s:\n%s", filepath.Base(f), r.Out)
		}
	}

	// Add: the index is the only source (default = true replaces PyPI).
	pyproject := fmt.Sprintf(`[tool.poetry]
name = "cheese-consumer"
version = "0.1"
description = "A project that uses cheese-poetry"
authors = ["Bob <bob@example.org>"]
packages = []

[tool.poetry.dependencies]
python = ">=3.8"

[[tool.poetry.source]]
name = "cheese"
url = "%s/simple/"
default = true
`, s.URL)
	before := s.metrics(t)
	app := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app, map[string]string{"pyproject.toml": pyproject})
	addEnv := env()
	if r := runCmd(t, app, addEnv, debPoetry, "add", "--no-interaction", "cheese-poetry"); r.Code != 0 {
		t.Fatalf("poetry add cheese-poetry: exit %d\n%s", r.Code, r.Out)
	}
	runScript(t, addEnv, filepath.Join(app, ".venv", "bin", "cheese-poetry"), "cheese-poetry: crumbled")
	lock := readFile(t, filepath.Join(app, "poetry.lock"))
	lockHasHashes(t, "poetry.lock", lock, append(built, d.Dep.Files()...)...)
	after := s.metrics(t)
	if html, json := simpleHTML(after)-simpleHTML(before), simpleJSON(after)-simpleJSON(before); html < 2 || json != 0 {
		t.Errorf("poetry add fetched %v project pages as HTML and %v as JSON, want both (cheese-poetry, cheese-dep) as HTML only", html, json)
	}
	if !strings.Contains(lock, `url = "`+s.URL+`/simple"`) {
		t.Errorf("poetry.lock does not name the index as the packages' source:\n%s", lock)
	}

	// Install: a fresh checkout of the project installs from its lock.
	checkout := filepath.Join(t.TempDir(), "checkout")
	writeFiles(t, checkout, map[string]string{"pyproject.toml": readFile(t, filepath.Join(app, "pyproject.toml")), "poetry.lock": lock})
	installEnv := env()
	if r := runCmd(t, checkout, installEnv, debPoetry, "install", "--no-interaction"); r.Code != 0 {
		t.Fatalf("poetry install: exit %d\n%s", r.Code, r.Out)
	}
	runScript(t, installEnv, filepath.Join(checkout, ".venv", "bin", "cheese-poetry"), "cheese-poetry: crumbled")
}
