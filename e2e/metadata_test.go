package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPipUsesCoreMetadata proves that pip uses the PEP 658 .metadata files.
//
// Debian's pip 23.0.1 predates PEP 714: it reads PEP 658 metadata only from
// the HTML data-dist-info-metadata attribute, and cheeseshop's JSON carries
// only core-metadata (the old JSON key crashes pip 23.0.1). So the test
// uploads a pip >= 23.2 (bundled with pyenv's Pythons on this machine),
// lets Debian's pip upgrade itself from cheeseshop, and checks with the
// new pip that a resolution fetches the .metadata files and no wheels, and
// that an install fetches each wheel's .metadata before the wheel.
func TestPipUsesCoreMetadata(t *testing.T) {
	t.Parallel()
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	newPip, newPipVersion := newPipWheel()
	if newPip == "" {
		skipOrFail(t, "no wheel of pip >= 23.2 found (looked for pyenv's ensurepip/_bundled/pip-*.whl): Debian's pip 23.0.1 does not read core-metadata from the JSON API, so the .metadata files cannot be proven used")
	}
	t.Logf("pip wheel to upload: %s", newPip)

	s, token := startWithUploader(t, serverOptions{})
	files := append([]string{newPip}, append(d.Dep.Files(), d.App.Files()...)...)
	if r := twineUpload(t, s, token, files...); r.Code != 0 {
		t.Fatalf("twine upload exited with %d:\n%s", r.Code, r.Out)
	}
	index := s.URL + "/simple/"
	v := newVenv(t)

	upgraded := false
	t.Run("pip_upgrades_itself_from_the_index", func(t *testing.T) {
		old := v.pipVersion(t)
		r := v.mustPip(t, "install", "--upgrade", "--index-url", index, "pip")
		if want := "Successfully installed pip-" + newPipVersion; !strings.Contains(r.Out, want) {
			t.Errorf("pip install --upgrade pip: output lacks %q:\n%s", want, r.Out)
		}
		if got := v.pipVersion(t); got != newPipVersion {
			t.Fatalf("pip is %s after the upgrade from %s, want %s", got, old, newPipVersion)
		}
		upgraded = true
	})
	if !upgraded {
		if !t.Failed() {
			t.Skip("the other subtests need pip_upgrades_itself_from_the_index")
		}
		return
	}

	appWheel, depWheel := wheelPath(t, d.App.Wheel), wheelPath(t, d.Dep.Wheel)

	// metadataFirst checks in the access log written since logStart that
	// pip fetched each wheel's .metadata, and before the wheel if it
	// fetched the wheel at all.
	metadataFirst := func(t *testing.T, logStart int, wheels ...string) {
		t.Helper()
		for _, w := range wheels {
			s.waitLog("path=" + w + ".metadata status=200") // the log arrives asynchronously
		}
		accessLog := s.Log()[logStart:]
		for _, w := range wheels {
			m := strings.Index(accessLog, "path="+w+".metadata status=200")
			f := strings.Index(accessLog, "path="+w+" status=200")
			if m < 0 || (f >= 0 && f < m) {
				t.Errorf("access log: GET %s.metadata at offset %d, GET of the wheel at %d: want the metadata, first", w, m, f)
			}
		}
	}

	t.Run("resolution_reads_metadata", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "report.json")
		logStart := len(s.Log())
		before := s.metrics(t)
		r := v.mustPip(t, "install", "--dry-run", "--report", report, "--index-url", index, "cheese-app")
		after := s.metrics(t)
		for _, want := range []string{"cheese_app-1.0-py3-none-any.whl.metadata", "cheese_dep-1.0-py3-none-any.whl.metadata", "Would install cheese-app-1.0 cheese-dep-1.0"} {
			if !strings.Contains(r.Out, want) {
				t.Errorf("pip install --dry-run's output lacks %q:\n%s", want, r.Out)
			}
		}
		meta, dist := metadataOK(after)-metadataOK(before), distributionOK(after)-distributionOK(before)
		// pip < 25.3 still downloads the wheels after a metadata-only
		// resolution, even with --dry-run (pypa/pip#12603).
		t.Logf("pip %s --dry-run fetched %v .metadata files and %v distributions", newPipVersion, meta, dist)
		if meta < 2 {
			t.Errorf("cheeseshop_file_responses_total{kind=\"metadata\",status=\"2xx\"} grew by %v, want at least 2 (cheese-app and cheese-dep)", meta)
		}
		if j, h := simpleJSON(after)-simpleJSON(before), simpleHTML(after)-simpleHTML(before); j < 2 || h != 0 {
			t.Errorf("pip %s fetched %v JSON and %v HTML project pages, want >= 2 JSON and no HTML", newPipVersion, j, h)
		}
		metadataFirst(t, logStart, appWheel, depWheel)
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Install []struct {
				Metadata     struct{ Name, Version string } `json:"metadata"`
				DownloadInfo struct{ URL string }           `json:"download_info"`
			} `json:"install"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("pip's report: %v", err)
		}
		got := map[string]string{}
		for _, in := range rep.Install {
			got[normalizeName(in.Metadata.Name)] = in.DownloadInfo.URL
		}
		for name, url := range map[string]string{"cheese-app": s.URL + appWheel, "cheese-dep": s.URL + depWheel} {
			if got[name] != url {
				t.Errorf("pip's report installs %s from %q, want %q (report: %s)", name, got[name], url, b)
			}
		}
	})

	t.Run("install_fetches_metadata_before_wheel", func(t *testing.T) {
		logStart := len(s.Log())
		before := s.metrics(t)
		r := v.mustPip(t, "install", "--index-url", index, "cheese-app")
		after := s.metrics(t)
		if !strings.Contains(r.Out, "Successfully installed cheese-app-1.0 cheese-dep-1.0") {
			t.Errorf("pip install:\n%s", r.Out)
		}
		if dist := distributionOK(after) - distributionOK(before); dist != 2 {
			t.Errorf("pip downloaded %v distributions, want 2", dist)
		}
		if meta := metadataOK(after) - metadataOK(before); meta < 2 {
			t.Errorf("pip fetched %v .metadata files, want at least 2", meta)
		}
		metadataFirst(t, logStart, appWheel, depWheel)
		out := mustRun(t, v.Dir, v.env(), filepath.Join(v.Dir, "bin", "cheese-app")).Out
		if strings.TrimSpace(out) != "cheese-app: crumbled" {
			t.Errorf("the cheese-app script printed %q", out)
		}
	})
}

// wheelPath is the path of a file on the index: /files/<sha256>/<name>.
func wheelPath(t testing.TB, file string) string {
	return "/files/" + sha256File(t, file) + "/" + filepath.Base(file)
}
