package index

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// metaDist is an upload whose core metadata is written by hand: the
// Metadata-Version, Name and Version lines, then headers; files are
// the archive's other members (paths below the wheel's root or the
// sdist's top folder).
type metaDist struct {
	version string
	mv      string // Metadata-Version; "2.4" when empty
	formMV  string // the form's metadata_version, when it differs from mv
	form    Form   // more form fields than twine 4's
	headers string
	files   map[string]string
	sdist   bool
}

const metaName = "meta-demo"

func (d metaDist) metadata() string {
	mv := orDefault(d.mv, "2.4")
	return "Metadata-Version: " + mv + "\nName: " + metaName + "\nVersion: " + d.version + "\n" + d.headers + "\nA description.\n"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// build returns the archive, its file name and filetype.
func (d metaDist) build() ([]byte, string, string) {
	var buf bytes.Buffer
	if d.sdist {
		top := "meta_demo-" + d.version + "/"
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o755})
		files := map[string]string{"PKG-INFO": d.metadata(), "pyproject.toml": "[project]\n"}
		for p, c := range d.files {
			files[p] = c
		}
		for _, p := range sortedKeys(files) {
			tw.WriteHeader(&tar.Header{Name: top + p, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[p]))})
			tw.Write([]byte(files[p]))
		}
		tw.Close()
		gz.Close()
		return buf.Bytes(), "meta_demo-" + d.version + ".tar.gz", "sdist"
	}
	distInfo := "meta_demo-" + d.version + ".dist-info/"
	files := map[string]string{
		"meta_demo/__init__.py": "",
		distInfo + "METADATA":   d.metadata(),
		distInfo + "WHEEL":      "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	for p, c := range d.files {
		files[p] = c
	}
	var record strings.Builder
	for _, p := range sortedKeys(files) {
		sum := sha256.Sum256([]byte(files[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[p]))
	}
	record.WriteString(distInfo + "RECORD,,\n")
	files[distInfo+"RECORD"] = record.String()
	zw := disttest.NewZipWriter(&buf)
	for _, p := range sortedKeys(files) {
		if err := zw.AddBytes(p, zip.Deflate, []byte(files[p])); err != nil {
			panic(err)
		}
	}
	zw.Close()
	return buf.Bytes(), "meta_demo-" + d.version + "-py3-none-any.whl", "bdist_wheel"
}

// upload sends d with the form twine would send.
func (d metaDist) upload(f *fixture, p *Principal) (*UploadResult, error) {
	content, fn, filetype := d.build()
	form := Form(disttest.Dist{Name: metaName, Version: d.version}.Form(filetype, content))
	form["metadata_version"] = []string{orDefault(d.formMV, orDefault(d.mv, "2.4"))}
	for k, v := range d.form {
		form[k] = v
	}
	return f.upload(p, form, fn, content)
}

// TestUploadMetadataValues has a row per metadata rule of an upload, each
// with PyPI's message, and rows of metadata real tools write that pass.
func TestUploadMetadataValues(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		f := newFixture(t, dialect, Config{})
		alice := f.user("alice")
		const help = " See https://packaging.python.org/specifications/core-metadata for more information."
		rows := []struct {
			name string
			dist metaDist
			want string // the whole message; "" for an accepted upload
		}{
			{"modern wheel", metaDist{headers: "License-Expression: mit OR Apache-2.0\nLicense-File: LICENSE\nLicense-File: sub/NOTICE\n" +
				"Classifier: Programming Language :: Python :: 3.14\nProject-URL: Source, https://example.org\nDynamic: Requires-Dist\n",
				files: map[string]string{"meta_demo-%s.dist-info/licenses/LICENSE": "MIT", "meta_demo-%s.dist-info/licenses/sub/NOTICE": "n"}}, ""},
			{"modern sdist", metaDist{sdist: true, headers: "License-Expression: MIT\nLicense-File: LICENSE\n",
				files: map[string]string{"LICENSE": "MIT"}}, ""},
			{"setuptools 2.1 with License-File outside licenses/", metaDist{mv: "2.1", headers: "License: MIT\nLicense-File: LICENSE\n",
				files: map[string]string{"meta_demo-%s.dist-info/LICENSE": "MIT"}}, ""},
			{"wheel lacks a license file", metaDist{headers: "License-Expression: MIT\nLicense-File: LICENSE\n",
				files: map[string]string{"meta_demo-%s.dist-info/LICENSE": "MIT"}},
				"License-File LICENSE does not exist in distribution file meta_demo-%s-py3-none-any.whl at meta_demo-%s.dist-info/licenses/LICENSE"},
			{"sdist lacks a license file", metaDist{sdist: true, headers: "License-Expression: MIT\nLicense-File: COPYING\n"},
				"License-File COPYING does not exist in distribution file meta_demo-%s.tar.gz at meta_demo-%s/COPYING"},
			{"unknown classifier", metaDist{headers: "Classifier: Programming Language :: Cobol\n"},
				"'Programming Language :: Cobol' is not a valid classifier." + help},
			{"deprecated classifier", metaDist{headers: "Classifier: Natural Language :: Ukranian\n"},
				"The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead." + help},
			{"private classifier", metaDist{headers: "Classifier: Private :: Do Not Upload\n"},
				"'Private :: Do Not Upload' is not a valid classifier. Classifiers starting with 'Private ::' mark a project that is never meant " +
					"for a public index: this index refuses them unless its operator allows them." + help},
			{"invalid license expression", metaDist{headers: "License-Expression: MIT or GPL\n"},
				"'MIT or GPL' is invalid for license-expression." + help},
			{"hatchling 1.12: License-Expression in 2.1, not sent", metaDist{mv: "2.1", headers: "License-Expression: MIT\nLicense-File: LICENSE\n",
				files: map[string]string{"meta_demo-%s.dist-info/license_files/LICENSE": "MIT"}}, ""},
			{"License-Expression in 2.1, sent", metaDist{mv: "2.1", headers: "License-Expression: MIT\n",
				form: Form{"license_expression": {"MIT"}}},
				"license-expression introduced in metadata version 2.4, not 2.1." + help},
			{"License-File in 2.1, sent", metaDist{mv: "2.1", headers: "License-File: LICENSE\n",
				form: Form{"license_file": {"LICENSE"}}},
				"license-file introduced in metadata version 2.4, not 2.1." + help},
			{"license with license expression", metaDist{headers: "License: MIT\nLicense-Expression: MIT\n"},
				"License is deprecated when License-Expression is present. Only License-Expression should be present." + help},
			{"direct dependency", metaDist{headers: "Requires-Dist: foo @ https://example.org/foo-1.0.tar.gz\n"},
				"Can't have direct dependency: foo@ https://example.org/foo-1.0.tar.gz." + help},
			{"bad home page", metaDist{headers: "Home-page: example.org\n"}, "'example.org' is not a valid url." + help},
			{"bad email", metaDist{headers: "Author-email: Ann <ann.example.org>\n"},
				"'ann.example.org' is not a valid email address: The email address is not valid. It must have exactly one @-sign." + help},
			{"dynamic version", metaDist{headers: "Dynamic: Version\n"}, "'version' is not allowed as a dynamic field." + help},
			{"metadata version 2.0 in the file", metaDist{mv: "2.0", formMV: "2.1"}, "'2.0' is not a valid metadata version." + help},
			{"import name keyword", metaDist{mv: "2.5", headers: "Import-Name: meta_demo.lambda\n"},
				"'meta_demo.lambda' is invalid for import-name; 'lambda' is a keyword." + help},
		}
		for i, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				r.dist.version = fmt.Sprintf("1.%d", i)
				files := make(map[string]string, len(r.dist.files))
				for p, c := range r.dist.files {
					files[strings.ReplaceAll(p, "%s", r.dist.version)] = c
				}
				r.dist.files = files
				_, err := r.dist.upload(f, alice)
				want := strings.ReplaceAll(r.want, "%s", r.dist.version)
				switch {
				case want == "" && err != nil:
					t.Fatalf("refused: %v", err)
				case want == "":
				case err == nil:
					t.Fatalf("accepted, want %q", want)
				case err.Error() != want || problem.KindOf(err) != problem.Invalid:
					t.Fatalf("refusal:\n got %q\nwant %q", err, want)
				}
			})
		}

		// An operator of a private index allows private classifiers.
		private := newFixture(t, dialect, Config{AllowPrivateClassifiers: true})
		d := metaDist{version: "1.0", headers: "Classifier: Private :: Do Not Upload\n"}
		if _, err := d.upload(private, private.user("alice")); err != nil {
			t.Errorf("private classifier on a private index: %v", err)
		}
	})
}

// TestUploadStoresCanonicalMetadata: the release stores the canonical
// License-Expression and the metadata 2.5 import names.
func TestUploadStoresCanonicalMetadata(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		f := newFixture(t, dialect, Config{})
		ctx := context.Background()
		d := metaDist{version: "2.0", mv: "2.5", headers: "License-Expression: (mit OR apache-2.0)\n" +
			"Import-Name: meta_demo\nImport-Name: meta_demo._core; private\nImport-Namespace: meta\n"}
		if _, err := d.upload(f, f.user("alice")); err != nil {
			t.Fatal(err)
		}
		proj, err := f.st.ProjectByName(ctx, metaName)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := f.st.ReleaseByCanonicalVersion(ctx, proj.ID, "2")
		if err != nil {
			t.Fatal(err)
		}
		var m pep.Metadata
		if err := json.Unmarshal(rel.MetadataJSON, &m); err != nil {
			t.Fatal(err)
		}
		if m.LicenseExpression != "(MIT OR Apache-2.0)" {
			t.Errorf("stored License-Expression %q", m.LicenseExpression)
		}
		if !slices.Equal(m.ImportNames, []string{"meta_demo", "meta_demo._core; private"}) || !slices.Equal(m.ImportNamespaces, []string{"meta"}) {
			t.Errorf("stored import names %q, namespaces %q", m.ImportNames, m.ImportNamespaces)
		}
	})
}
