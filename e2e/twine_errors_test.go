package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestTwineErrors checks what a developer sees in twine's output when an
// upload is a retry, or is refused.
func TestTwineErrors(t *testing.T) {
	t.Parallel()
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	s, token := startWithUploader(t, serverOptions{})
	if r := twineUpload(t, s, token, append(d.Dep.Files(), d.App.Files()...)...); r.Code != 0 {
		t.Fatalf("twine upload exited with %d:\n%s", r.Code, r.Out)
	}

	// failed checks that twine failed and printed every part of want.
	failed := func(t *testing.T, r cmdResult, want ...string) {
		t.Helper()
		if r.Code == 0 {
			t.Errorf("twine upload succeeded, want a refusal:\n%s", r.Out)
		}
		for _, w := range want {
			if !strings.Contains(r.Flat(), w) {
				t.Errorf("twine's output lacks %q:\n%s", w, r.Out)
			}
		}
	}

	t.Run("identical_reupload_succeeds", func(t *testing.T) {
		before := s.metrics(t)
		r := twineUpload(t, s, token, d.Dep.Wheel)
		if r.Code != 0 {
			t.Fatalf("re-uploading the identical file exited with %d, want 0 (a retry must be harmless):\n%s", r.Code, r.Out)
		}
		after := s.metrics(t)
		if uploads(after, "existing")-uploads(before, "existing") != 1 || uploads(after, "created") != uploads(before, "created") {
			t.Errorf("uploads_total: existing %v→%v, created %v→%v; want existing +1, created unchanged",
				uploads(before, "existing"), uploads(after, "existing"), uploads(before, "created"), uploads(after, "created"))
		}
	})

	t.Run("other_content_under_used_filename", func(t *testing.T) {
		if filepath.Base(d.DepVariantWheel) != filepath.Base(d.Dep.Wheel) || sha256File(t, d.DepVariantWheel) == sha256File(t, d.Dep.Wheel) {
			t.Fatalf("the variant wheel %s should have the name of %s and other content", d.DepVariantWheel, d.Dep.Wheel)
		}
		r := twineUpload(t, s, token, d.DepVariantWheel)
		failed(t, r, "400 Bad Request", "File already exists ('cheese_dep-1.0-py3-none-any.whl'")
		// The index still serves the original.
		_, body := s.get(t, "/simple/cheese-dep/", "Accept", "application/vnd.pypi.simple.v1+json")
		var page struct {
			Files []struct {
				Filename string
				Hashes   map[string]string
			}
		}
		json.Unmarshal(body, &page)
		for _, f := range page.Files {
			if f.Filename == filepath.Base(d.Dep.Wheel) && f.Hashes["sha256"] != sha256File(t, d.Dep.Wheel) {
				t.Errorf("cheese-dep's wheel now has sha256 %s, want the original %s", f.Hashes["sha256"], sha256File(t, d.Dep.Wheel))
			}
		}
	})

	t.Run("scoped_token_other_project", func(t *testing.T) {
		scoped := s.token(t, "alice", "cheese-dep")
		r := twineUpload(t, s, scoped, d.App.Wheel)
		failed(t, r, "403 Forbidden", "isn't allowed to upload to project 'cheese-app'")
		// The same token works for its own project.
		if r := twineUpload(t, s, scoped, d.Dep.Wheel); r.Code != 0 {
			t.Errorf("the token scoped to cheese-dep could not upload to cheese-dep (exit %d):\n%s", r.Code, r.Out)
		}
	})

	t.Run("username_and_password_refused", func(t *testing.T) {
		env := cleanEnv("PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
		r := runCmd(t, "", env, debTwine, "upload", "--repository-url", s.URL+"/legacy/", "--non-interactive",
			"--disable-progress-bar", "-u", "alice", "-p", "secret", d.Dep.Wheel)
		failed(t, r, "403 Forbidden", "Username/Password authentication is no longer supported", "API Tokens", "__token__")
	})

	t.Run("invalid_token_refused", func(t *testing.T) {
		r := twineUpload(t, s, "cheeseshop-NOTATOKEN", d.Dep.Wheel)
		failed(t, r, "403 Forbidden", "Invalid API Token")
	})

	t.Run("sdist_name_not_pep625", func(t *testing.T) {
		// Debian's setuptools 66 names the sdist cheese-dep-1.0.tar.gz.
		if filepath.Base(d.DepRawSdist) != "cheese-dep-1.0.tar.gz" {
			t.Skipf("this setuptools names the sdist %s", filepath.Base(d.DepRawSdist))
		}
		// The release has its sdist: as on PyPI, that is said before the
		// name (TestFlitPublish sees the PEP 625 message).
		r := twineUpload(t, s, token, d.DepRawSdist)
		failed(t, r, "400 Bad Request", "Only one sdist may be uploaded per release.")
	})

	t.Run("nothing_changed", func(t *testing.T) {
		resp, body := s.get(t, "/simple/", "Accept", "application/vnd.pypi.simple.v1+json")
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), `"name"`) != 2 {
			t.Errorf("after the refusals /simple/ is %s:\n%s", resp.Status, body)
		}
	})
}
