package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestPipenv: Debian's pipenv (2022.12.19) installs an application from
// the index named as the Pipfile's only source: `pipenv install
// cheese-app` resolves cheese-dep from the index too, locks both with the
// hashes of every file the index lists (wheel and sdist), and installs
// them (its pip reads the JSON simple API); a fresh checkout installs
// from that lock with `pipenv sync` (pip --require-hashes).
func TestPipenv(t *testing.T) {
	t.Parallel()
	requireTool(t, debPipenv, "pipenv")
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	s, token := startWithUploader(t, serverOptions{})
	if r := twineUpload(t, s, token, append(d.Dep.Files(), d.App.Files()...)...); r.Code != 0 {
		t.Fatalf("twine upload: exit %d\n%s", r.Code, r.Out)
	}
	env := func() []string {
		return clientEnv(t, "PIPENV_VENV_IN_PROJECT=1", "PIPENV_YES=1", "PIPENV_NOSPIN=1", "PIPENV_IGNORE_VIRTUALENVS=1",
			"PIPENV_DONT_LOAD_ENV=1", "PIPENV_PYTHON="+debPython, "PIPENV_CACHE_DIR="+filepath.Join(t.TempDir(), "cache"),
			"PIP_CONFIG_FILE="+"/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1")
	}

	pipfile := fmt.Sprintf(`[[source]]
url = "%s/simple"
verify_ssl = true
name = "cheese"

[packages]
`, s.URL)
	app := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app, map[string]string{"Pipfile": pipfile})
	installEnv := env()
	before := s.metrics(t)
	if r := runCmd(t, app, installEnv, debPipenv, "install", "cheese-app"); r.Code != 0 {
		t.Fatalf("pipenv install cheese-app: exit %d\n%s", r.Code, r.Out)
	}
	if json := simpleJSON(s.metrics(t)) - simpleJSON(before); json < 2 {
		t.Errorf("pipenv install fetched %v project pages as JSON, want both (cheese-app, cheese-dep)", json)
	}
	runScript(t, installEnv, filepath.Join(app, ".venv", "bin", "cheese-app"), "cheese-app: crumbled")
	lock := readFile(t, filepath.Join(app, "Pipfile.lock"))
	lockHasHashes(t, "Pipfile.lock", lock, append(d.Dep.Files(), d.App.Files()...)...)
	if !strings.Contains(readFile(t, filepath.Join(app, "Pipfile")), `cheese-app = "*"`) {
		t.Errorf("pipenv install did not add cheese-app to the Pipfile:\n%s", readFile(t, filepath.Join(app, "Pipfile")))
	}

	// A fresh checkout installs exactly what is locked, checking hashes.
	checkout := filepath.Join(t.TempDir(), "checkout")
	writeFiles(t, checkout, map[string]string{"Pipfile": readFile(t, filepath.Join(app, "Pipfile")), "Pipfile.lock": lock})
	syncEnv := env()
	if r := runCmd(t, checkout, syncEnv, debPipenv, "sync"); r.Code != 0 {
		t.Fatalf("pipenv sync: exit %d\n%s", r.Code, r.Out)
	}
	runScript(t, syncEnv, filepath.Join(checkout, ".venv", "bin", "cheese-app"), "cheese-app: crumbled")
}
