package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPipx: Debian's pipx (1.1.0) installs an application with a console
// script from the index, its dependency too, and the script runs.
//
// On first use pipx creates its shared libraries and upgrades pip,
// setuptools and wheel in them with pip, so the index serves Debian's
// wheels of those three, as a private index mirroring PyPI would. pipx
// 1.1 does not pass `--index-url` (or `--pip-args`) to that pip, which
// then asks pypi.org: with PIP_INDEX_URL in the environment every pip
// that pipx runs uses the index; with `--index-url` alone pipx logs
// "Failed to upgrade shared libraries" and installs the application all
// the same.
func TestPipx(t *testing.T) {
	t.Parallel()
	requireTool(t, debPipx, "pipx")
	requireTool(t, debTwine, "twine")
	d := pythonDists(t)
	s, token := startWithUploader(t, serverOptions{})
	if r := twineUpload(t, s, token, d.Dep.Wheel, d.App.Wheel, d.Pip, d.Setuptools, d.Wheel); r.Code != 0 {
		t.Fatalf("twine upload: exit %d\n%s", r.Code, r.Out)
	}
	index := s.URL + "/simple/"
	// pipxEnv keeps pipx's venvs and the scripts it installs in the
	// test's folders.
	pipxEnv := func(t *testing.T, w *tripwire, extra ...string) (env []string, bin string) {
		home := t.TempDir()
		bin = filepath.Join(home, "bin")
		extra = append([]string{"PIPX_HOME=" + filepath.Join(home, "pipx"), "PIPX_BIN_DIR=" + bin, "PIPX_DEFAULT_PYTHON=" + debPython,
			"PIP_CONFIG_FILE=/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1"}, extra...)
		if w == nil {
			return clientEnv(t, extra...), bin
		}
		return clientEnvVia(t, w, extra...), bin
	}

	t.Run("pip_index_url", func(t *testing.T) {
		t.Parallel()
		env, bin := pipxEnv(t, nil, "PIP_INDEX_URL="+index)
		r := runCmd(t, "", env, debPipx, "install", "cheese-app")
		if r.Code != 0 || strings.Contains(r.Out, "Failed to upgrade shared libraries") ||
			!strings.Contains(r.Out, "installed package cheese-app 1.0") {
			t.Fatalf("pipx install cheese-app: exit %d\n%s", r.Code, r.Out)
		}
		runScript(t, env, filepath.Join(bin, "cheese-app"), "cheese-app: crumbled")
	})

	t.Run("index_url_option", func(t *testing.T) {
		t.Parallel()
		w := newTripwire(t)
		// No retries: the proxy refuses pypi.org at once.
		env, bin := pipxEnv(t, w, "PIP_RETRIES=0")
		r := runCmd(t, "", env, debPipx, "install", "--index-url", index, "cheese-app")
		if r.Code != 0 || !strings.Contains(r.Out, "Failed to upgrade shared libraries") ||
			!strings.Contains(r.Out, "installed package cheese-app 1.0") {
			t.Fatalf("pipx install --index-url: exit %d, want the app installed after pipx failed to upgrade its shared libraries\n%s", r.Code, r.Out)
		}
		if hits := w.Hits(); !slices.ContainsFunc(hits, func(h string) bool { return strings.HasPrefix(h, "CONNECT pypi.org:443 ") }) {
			t.Errorf("pipx's shared-libraries pip asked the proxy for %q, want pypi.org", hits)
		}
		runScript(t, env, filepath.Join(bin, "cheese-app"), "cheese-app: crumbled")
	})
}
