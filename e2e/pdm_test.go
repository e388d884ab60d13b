package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestPdm: Debian's pdm (2.2) publishes to the index with an API token,
// then a project whose only source is the index adds the package (`pdm
// add`: it resolves the dependency from the index too, locks every file
// by hash and installs), and a fresh checkout installs from that lock
// (`pdm install`). pdm's finder (unearth) asks for the PEP 691 JSON
// simple API first.
//
// `pdm publish` builds in an isolated environment whose build backend it
// installs from its index (PDM_PYPI_URL, here the test index, which
// serves Debian's setuptools wheel). setuptools 66 names the sdist
// cheese-pdm-1.0.tar.gz, the name before PEP 625 that PyPI and this
// index refuse: pdm uploads the wheel first, then stops on the sdist
// with PyPI's message.
func TestPdm(t *testing.T) {
	t.Parallel()
	requireTool(t, debPdm, "python3-pdm")
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	s, token := startWithUploader(t, serverOptions{})
	if r := twineUpload(t, s, token, append(d.Dep.Files(), d.Setuptools, d.Wheel)...); r.Code != 0 {
		t.Fatalf("twine upload of cheese-dep and the build backend: exit %d\n%s", r.Code, r.Out)
	}
	env := func(extra ...string) []string {
		home := t.TempDir()
		return clientEnv(t, append([]string{"PDM_HOME=" + filepath.Join(home, "pdm"),
			"PDM_CACHE_DIR=" + filepath.Join(home, "cache"), "PDM_CHECK_UPDATE=false"}, extra...)...)
	}

	src := copyProject(t, "cheese-pdm")
	r := runCmd(t, src, env("PDM_PYPI_URL="+s.URL+"/simple/"), debPdm, "publish",
		"--repository", s.URL+"/legacy/", "--username", "__token__", "--password", token)
	wheel := filepath.Join(src, "dist", "cheese_pdm-1.0-py3-none-any.whl")
	if r.Code == 0 || !strings.Contains(r.Out, "Uploading cheese_pdm-1.0-py3-none-any.whl") ||
		!strings.Contains(r.Flat(), "400 Client Error: Filename 'cheese-pdm-1.0.tar.gz' is invalid, should be 'cheese_pdm-1.0.tar.gz'") {
		t.Fatalf("pdm publish: exit %d, want the wheel uploaded and the sdist refused with PyPI's PEP 625 message\n%s", r.Code, r.Out)
	}

	// Add: the index is the only source (a source named "pypi" replaces
	// PyPI).
	pyproject := fmt.Sprintf(`[project]
name = "cheese-consumer"
version = "0.1"
requires-python = ">=3.8"
dependencies = []

[[tool.pdm.source]]
name = "pypi"
url = "%s/simple/"
verify_ssl = true
`, s.URL)
	app := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app, map[string]string{"pyproject.toml": pyproject})
	before := s.metrics(t)
	addEnv := env()
	if r := runCmd(t, app, addEnv, debPdm, "add", "--no-self", "cheese-pdm"); r.Code != 0 {
		t.Fatalf("pdm add cheese-pdm: exit %d\n%s", r.Code, r.Out)
	}
	if json := simpleJSON(s.metrics(t)) - simpleJSON(before); json < 2 {
		t.Errorf("pdm add fetched %v project pages as JSON, want both (cheese-pdm, cheese-dep)", json)
	}
	runScript(t, addEnv, filepath.Join(app, ".venv", "bin", "cheese-pdm"), "cheese-pdm: crumbled")
	lock := readFile(t, filepath.Join(app, "pdm.lock"))
	lockHasHashes(t, "pdm.lock", lock, append([]string{wheel}, d.Dep.Files()...)...)

	// Install: a fresh checkout of the project installs from its lock.
	checkout := filepath.Join(t.TempDir(), "checkout")
	writeFiles(t, checkout, map[string]string{"pyproject.toml": readFile(t, filepath.Join(app, "pyproject.toml")), "pdm.lock": lock})
	installEnv := env()
	if r := runCmd(t, checkout, installEnv, debPdm, "install", "--no-self"); r.Code != 0 {
		t.Fatalf("pdm install: exit %d\n%s", r.Code, r.Out)
	}
	runScript(t, installEnv, filepath.Join(checkout, ".venv", "bin", "cheese-pdm"), "cheese-pdm: crumbled")
}
