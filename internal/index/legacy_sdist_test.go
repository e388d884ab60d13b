package index

import (
	"context"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// legacyName is the sdist file name setuptools before 69.3 writes for
// nc-hello 0.1.0 (Debian 12's python3 -m build among them).
const legacyName = "nc-hello-0.1.0.tar.gz"

// TestLegacySdistNameRefused: by default, as on PyPI, an sdist whose
// name is not PEP 625's is refused with PyPI's message first, then what
// to do, and the release's wheel, uploaded first, stays.
func TestLegacySdistNameRefused(t *testing.T) {
	t.Parallel()
	d := disttest.Dist{Name: "nc-hello", Version: "0.1.0"}
	tests := []struct {
		name, base, file string
		want, not        []string
	}{
		{name: "legacy name", base: "https://pypi.example.org", file: legacyName, want: []string{
			"Filename 'nc-hello-0.1.0.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'. See https://peps.python.org/pep-0625/ for more information. ",
			"A current build backend writes that name: setuptools 69.3 or later (not Debian 12's 66), hatchling, flit_core, pdm-backend or poetry-core.",
			"Renaming the file is enough for this index, which reads the name and version from its PKG-INFO.",
			"The files of this release already uploaded stay; upload the sdist again.",
			"See https://pypi.example.org/help/#sdist-file-names for more information.",
		}},
		{name: "name spelled otherwise", base: "https://pypi.example.org", file: "NC.Hello-0.1.0.tar.gz", want: []string{
			"Filename 'NC.Hello-0.1.0.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'. See https://peps.python.org/pep-0625/",
			"Renaming the file is enough",
		}},
		{name: "version not normalized", base: "https://pypi.example.org", file: "nc_hello-0.1.00.tar.gz", want: []string{
			"Filename 'nc_hello-0.1.00.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'.", "Renaming the file is enough",
		}},
		{name: "zip", base: "https://pypi.example.org", file: "nc_hello-0.1.0.zip", want: []string{
			"Filename 'nc_hello-0.1.0.zip' is invalid, should be 'nc_hello-0.1.0.tar.gz'.",
			"Upload a .tar.gz sdist, as every current build backend writes.",
		}, not: []string{"Renaming"}},
		// An index that does not know its address links to the path.
		{name: "no base URL", base: "/", file: legacyName, want: []string{
			"Filename 'nc-hello-0.1.0.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'.",
			"See /help/#sdist-file-names for more information.",
		}},
	}
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, dialect, Config{BaseURL: tt.base})
				alice := f.user("alice")
				f.mustWheel(alice, d)
				sdist := d.Sdist()
				_, err := f.upload(alice, d.Form("sdist", sdist), tt.file, sdist)
				if err == nil {
					t.Fatalf("%s accepted, want a refusal", tt.file)
				}
				if problem.KindOf(err) != problem.Invalid {
					t.Errorf("kind = %d, want Invalid (%v)", problem.KindOf(err), err)
				}
				if !strings.HasPrefix(err.Error(), tt.want[0]) {
					t.Errorf("refusal = %q\nwant it to start with %q", err, tt.want[0])
				}
				for _, w := range tt.want[1:] {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("refusal = %q\nwant it to contain %q", err, w)
					}
				}
				for _, w := range tt.not {
					if strings.Contains(err.Error(), w) {
						t.Errorf("refusal = %q\nwant it without %q", err, w)
					}
				}
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("refusal has a line break (it travels in the status line): %q", err)
				}
				files := f.projectFiles("nc-hello")
				if len(files) != 1 || files[0] != d.WheelFilename() {
					t.Errorf("files after the refusal = %v, want the wheel alone", files)
				}
			})
		}
	})
}

// TestLegacySdistNames: with Config.LegacySdistNames, an sdist named after
// the project and version in a legacy spelling is stored under its PEP
// 625 name, with its digests unchanged; every check of used names sees
// that name; anything else is refused as without the setting.
func TestLegacySdistNames(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, dialect, Config{LegacySdistNames: true})
		alice := f.user("alice")
		d := disttest.Dist{Name: "nc-hello", Version: "0.1.0", Summary: "first"}
		f.mustWheel(alice, d)
		sdist := d.Sdist()
		digests := disttest.Digest(sdist)

		// Not the project's name or version, or not a .tar.gz: refused as
		// without the setting.
		for file, want := range map[string]string{
			"nc-hello-0.2.0.tar.gz": "Filename 'nc-hello-0.2.0.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'. See https://peps.python.org/pep-0625/",
			"nc-hello-0.1.0.zip":    "Filename 'nc-hello-0.1.0.zip' is invalid, should be 'nc_hello-0.1.0.tar.gz'. See https://peps.python.org/pep-0625/",
			"nc-other-0.1.0.tar.gz": "Start filename for 'nc-hello' with 'nc_hello'.",
			"nc_hello-0.1.tar.gz":   "Filename 'nc_hello-0.1.tar.gz' is invalid, should be 'nc_hello-0.1.0.tar.gz'.",
		} {
			if _, err := f.upload(alice, d.Form("sdist", sdist), file, sdist); err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: %v, want a refusal starting with %q", file, err, want)
			}
		}

		res, err := f.upload(alice, d.Form("sdist", sdist), legacyName, sdist)
		if err != nil {
			t.Fatalf("legacy name refused with the setting: %v", err)
		}
		if res.Existing || res.Filename != "nc_hello-0.1.0.tar.gz" || res.Project != "nc-hello" {
			t.Fatalf("upload = %+v, want a new file nc_hello-0.1.0.tar.gz", res)
		}
		stored, err := f.st.FileByFilename(ctx, "nc_hello-0.1.0.tar.gz")
		if err != nil {
			t.Fatalf("no file row under the PEP 625 name: %v", err)
		}
		if stored.SHA256 != digests.SHA256 || stored.Blake2_256 != digests.Blake2_256 || stored.Size != int64(len(sdist)) {
			t.Errorf("stored file = %+v, want the upload's digests %+v", stored, digests)
		}
		if _, err := f.st.FileByFilename(ctx, legacyName); err == nil {
			t.Errorf("a file row has the legacy name %s", legacyName)
		}

		// The pages and the JSON API know the PEP 625 name only.
		page, err := f.svc.Cache().Project(ctx, "nc-hello")
		if err != nil {
			t.Fatal(err)
		}
		api, err := f.svc.JSONAPIPage(ctx, page, "")
		if err != nil {
			t.Fatal(err)
		}
		for what, body := range map[string][]byte{"simple HTML": page.HTML.Body, "simple JSON": page.JSON.Body, "JSON API": api.Body} {
			if !strings.Contains(string(body), "nc_hello-0.1.0.tar.gz") || strings.Contains(string(body), "nc-hello-0.1.0") {
				t.Errorf("%s lists the sdist otherwise than as nc_hello-0.1.0.tar.gz:\n%s", what, body)
			}
		}

		// The used-name checks see the PEP 625 name, whatever the spelling.
		other := d
		other.Summary = "other content"
		otherSdist := other.Sdist()
		tests := []struct {
			name, file string
			content    []byte
			existing   bool   // an identical retry: accepted, nothing changes
			want       string // the refusal, "" if accepted
		}{
			{name: "identical, legacy name again", file: legacyName, content: sdist, existing: true},
			{name: "identical, another spelling", file: "NC.Hello-0.1.0.tar.gz", content: sdist, existing: true},
			{name: "identical, PEP 625 name", file: "nc_hello-0.1.0.tar.gz", content: sdist, existing: true},
			{name: "other content, legacy name", file: legacyName, content: otherSdist,
				want: "File already exists ('nc_hello-0.1.0.tar.gz', with blake2_256 hash '" + disttest.Digest(otherSdist).Blake2_256 + "')."},
			{name: "other content, PEP 625 name", file: "nc_hello-0.1.0.tar.gz", content: otherSdist, want: "File already exists ('nc_hello-0.1.0.tar.gz'"},
			{name: "zip", file: "nc-hello-0.1.0.zip", content: sdist, want: "Only one sdist may be uploaded per release."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := f.upload(alice, d.Form("sdist", tt.content), tt.file, tt.content)
				switch {
				case tt.want == "" && err != nil:
					t.Fatalf("refused: %v", err)
				case tt.want == "":
					if res.Existing != tt.existing || res.Filename != "nc_hello-0.1.0.tar.gz" {
						t.Fatalf("upload = %+v, want Existing %v under nc_hello-0.1.0.tar.gz", res, tt.existing)
					}
				case err == nil:
					t.Fatalf("accepted (%+v), want %q", res, tt.want)
				case !strings.HasPrefix(err.Error(), tt.want):
					t.Fatalf("refusal = %q\nwant it to start with %q", err, tt.want)
				}
			})
		}

		// A deleted sdist's name stays burned, in every spelling.
		if err := f.svc.DeleteFile(ctx, alice, "nc_hello-0.1.0.tar.gz"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.upload(alice, d.Form("sdist", sdist), legacyName, sdist); err == nil ||
			!strings.HasPrefix(err.Error(), "This filename was previously used by a file that has since been deleted.") {
			t.Fatalf("legacy name of a deleted sdist: %v, want the reuse refusal", err)
		}
		if files := f.projectFiles("nc-hello"); len(files) != 1 || files[0] != d.WheelFilename() {
			t.Errorf("files at the end = %v, want the wheel alone", files)
		}
	})
}

// projectFiles lists the file names of a project, as its page lists them.
func (f *fixture) projectFiles(normalized string) []string {
	f.t.Helper()
	page, err := f.svc.Cache().Project(context.Background(), normalized)
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, file := range page.View.Files {
		names = append(names, file.Filename)
	}
	return names
}
