package index

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestImportedSdistName(t *testing.T) {
	for _, tc := range []struct {
		fn, name, version string
		want              bool
	}{
		{"nc-hello-0.1.0.tar.gz", "nc-hello", "0.1.0", true},
		{"NC.Hello-0.1.0.tar.gz", "nc-hello", "0.1.0", true},
		{"foo-1.0-1.tar.gz", "foo", "1.0.post1", true},
		{"foo_bar-1.0.tar.gz", "Foo.Bar", "1.0", true},
		{"foo-1.0.zip", "foo", "1.0", false},
		{"foo-2.0.tar.gz", "foo", "1.0", false},
		{"bar-1.0.tar.gz", "foo", "1.0", false},
		{"foo.tar.gz", "foo", "1.0", false},
	} {
		v, err := pep.ParseVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		if got := importedSdistName(tc.fn, tc.name, v); got != tc.want {
			t.Errorf("importedSdistName(%q, %q, %s) = %v, want %v", tc.fn, tc.name, tc.version, got, tc.want)
		}
	}
}

// importFile stages content and imports it for owner.
func (f *fixture) importFile(owner *store.User, filename string, content []byte) (*ImportResult, error) {
	f.t.Helper()
	ctx := context.Background()
	in, err := f.svc.Receive(ctx, bytes.NewReader(content), filename, "application/octet-stream", "")
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return f.svc.Import(ctx, owner, in, ImportFile{Source: "test"})
}

func TestImportRules(t *testing.T) {
	renamed := func(d disttest.Dist, from, to string) []byte {
		files := map[string][]byte{}
		for name, b := range wheelFiles(d) {
			files[strings.Replace(name, from, to, 1)] = b
		}
		return zipOf(zip.Deflate, files)
	}
	legacy := disttest.Dist{Name: "Foo_Bar", Version: "1.0"}
	for _, tc := range []struct {
		name     string
		filename string
		content  []byte
		setup    func(t *testing.T, f *fixture, owner *store.User)
		kind     problem.Kind // 0: imported
		warning  string       // a warning the result holds
	}{
		{name: "metadata 1.0", filename: "old-1.0-py3-none-any.whl",
			content: disttest.Dist{Name: "old", Version: "1.0", MetadataVersion: "1.0", DescriptionContentType: disttest.NoContentType}.Wheel()},
		{name: "a wheel name not normalized", filename: "Foo_Bar-1.0-py3-none-any.whl",
			content: renamed(legacy, "foo_bar-1.0.dist-info", "Foo_Bar-1.0.dist-info"), warning: "does not spell the project normalized"},
		{name: "a classifier PyPI refuses", filename: "cls-1.0-py3-none-any.whl",
			content: disttest.Dist{Name: "cls", Version: "1.0", Headers: "Classifier: Not :: A :: Classifier\n"}.Wheel(), warning: "kept metadata"},
		{name: "a local version", filename: "loc-1.0+local-py3-none-any.whl",
			content: disttest.Dist{Name: "loc", Version: "1.0+local"}.Wheel(), kind: problem.Invalid},
		{name: "a standard-library name", filename: "json-1.0-py3-none-any.whl",
			content: disttest.Dist{Name: "json", Version: "1.0"}.Wheel(), kind: problem.Invalid},
		{name: "a prohibited name", filename: "banned-1.0-py3-none-any.whl",
			content: disttest.Dist{Name: "banned", Version: "1.0"}.Wheel(), kind: problem.Invalid,
			setup: func(t *testing.T, f *fixture, owner *store.User) {
				if err := f.svc.ProhibitName(context.Background(), owner, audit.Meta{}, "banned", "malware"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "a quarantined project", filename: "q-2.0-py3-none-any.whl",
			content: disttest.Dist{Name: "q", Version: "2.0"}.Wheel(), kind: problem.Forbidden,
			setup: func(t *testing.T, f *fixture, owner *store.User) {
				if _, err := f.importFile(owner, "q-1.0-py3-none-any.whl", disttest.Dist{Name: "q", Version: "1.0"}.Wheel()); err != nil {
					t.Fatal(err)
				}
				if err := f.svc.Quarantine(context.Background(), nil, audit.Meta{}, "q", "malware"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "an sdist whose name is another project's", filename: "other-1.0.tar.gz",
			content: disttest.Dist{Name: "mine", Version: "1.0"}.Sdist(), kind: problem.Invalid},
		{name: "not a distribution", filename: "notes.txt", content: []byte("hello"), kind: problem.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
				f := newFixture(t, d, Config{})
				owner := f.user("owner").User
				if tc.setup != nil {
					tc.setup(t, f, owner)
				}
				res, err := f.importFile(owner, tc.filename, tc.content)
				if tc.kind != 0 {
					if problem.KindOf(err) != tc.kind {
						t.Fatalf("import: %v (kind %v), want a refusal of kind %v", err, problem.KindOf(err), tc.kind)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.Existing || !res.CreatedProject || !res.CreatedRelease {
					t.Errorf("result %+v", res)
				}
				if tc.warning != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tc.warning) {
					t.Errorf("warnings %q lack %q", res.Warnings, tc.warning)
				}
				// Again: the identical file is present, nothing changes.
				res, err = f.importFile(owner, tc.filename, tc.content)
				if err != nil || !res.Existing {
					t.Fatalf("again: %+v, %v", res, err)
				}
			})
		})
	}
}
