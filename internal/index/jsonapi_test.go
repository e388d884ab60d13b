package index

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestJSONDocumentAsPyPISendsIt uploads wheels whose metadata is written
// the way build backends write it and compares the JSON API document,
// field by field, with what PyPI sends for the same metadata
// (warehouse/legacy/api/json.py over the values forklift stores).
func TestJSONDocumentAsPyPISendsIt(t *testing.T) {
	t.Parallel()
	type row struct {
		name     string
		metadata string            // core metadata, without Name and Version
		extra    map[string]string // more files in the wheel
		info     map[string]string // info field → the JSON PyPI sends
	}
	rows := []row{
		{
			name: "Sample.Project",
			metadata: `Metadata-Version: 2.4
Summary: A sample Python project
Keywords: sample,setuptools , development
Author-email: "A. Random Developer" <author@example.com>
Maintainer-email: "A. Great Maintainer" <maintainer@example.com>
License-Expression: MIT
License-File: LICENSE.txt
Classifier: Development Status :: 3 - Alpha
Classifier: Programming Language :: Python :: 3
Requires-Python: >= 3.9, <4
Requires-Dist: peppercorn
Requires-Dist: check-manifest; extra == "dev"
Provides-Extra: dev
Provides-Extra: Test_Suite
Project-URL: Bug Reports, https://github.com/pypa/sampleproject/issues
Project-URL: Source, https://github.com/pypa/sampleproject/
Dynamic: requires-dist
Dynamic: license-file
Description-Content-Type: text/markdown

# A sample project
`,
			extra: map[string]string{"sample_project-4.0.0.dist-info/licenses/LICENSE.txt": "MIT License\n"},
			info: map[string]string{
				"name":                     `"Sample.Project"`,
				"version":                  `"4.0.0"`,
				"summary":                  `"A sample Python project"`,
				"description":              `"# A sample project\n"`,
				"description_content_type": `"text/markdown"`,
				"keywords":                 `"sample, setuptools, development"`,
				"license":                  `null`,
				"license_expression":       `"MIT"`,
				"license_files":            `["LICENSE.txt"]`,
				"author":                   `null`,
				"author_email":             `"\"A. Random Developer\" \u003cauthor@example.com\u003e"`,
				"maintainer":               `null`,
				"maintainer_email":         `"\"A. Great Maintainer\" \u003cmaintainer@example.com\u003e"`,
				"classifiers":              `["Development Status :: 3 - Alpha","Programming Language :: Python :: 3"]`,
				"requires_python":          `"<4,>=3.9"`,
				"requires_dist":            `["peppercorn","check-manifest; extra == \"dev\""]`,
				"provides_extra":           `["dev","test-suite"]`,
				"dynamic":                  `["Requires-Dist","License-File"]`,
				"platform":                 `null`,
				"home_page":                `null`,
				"download_url":             `null`,
				"project_url":              `"http://index.test/project/Sample.Project/"`,
				"package_url":              `"http://index.test/project/Sample.Project/"`,
				"release_url":              `"http://index.test/project/Sample.Project/4.0.0/"`,
				"project_urls":             `{"Bug Reports":"https://github.com/pypa/sampleproject/issues","Source":"https://github.com/pypa/sampleproject/"}`,
				"docs_url":                 `null`,
				"bugtrack_url":             `null`,
				"downloads":                `{"last_day":-1,"last_month":-1,"last_week":-1}`,
				"yanked":                   `false`,
				"yanked_reason":            `null`,
			},
		},
		{
			// Nothing but the required fields: every optional one is null.
			name:     "bare",
			metadata: "Metadata-Version: 2.1\n",
			info: map[string]string{
				"summary": `null`, "description": `""`, "description_content_type": `null`, "keywords": `null`,
				"license": `null`, "license_expression": `null`, "license_files": `null`, "author": `null`,
				"author_email": `null`, "maintainer": `null`, "maintainer_email": `null`, "classifiers": `[]`,
				"requires_python": `null`, "requires_dist": `null`, "provides_extra": `null`, "dynamic": `null`,
				"platform": `null`, "home_page": `null`, "download_url": `null`, "project_urls": `null`,
				"project_url": `"http://index.test/project/bare/"`, "release_url": `"http://index.test/project/bare/4.0.0/"`,
			},
		},
		{
			// setuptools before pyproject.toml: Home-page and Download-URL
			// become project URLs, repeated under a Project-URL of the same
			// name they are shown once; only the first Platform is kept;
			// space-separated keywords are one keyword.
			name: "Old_Style",
			metadata: `Metadata-Version: 2.1
Summary: An old-style project
Home-page: https://example.com/home
Download-URL: https://example.com/download
Author: Jane Doe
Author-email: jane@example.com
License: BSD
Keywords: old style keywords
Platform: any
Platform: linux
Project-URL: Home_Page, https://example.com/home
Project-URL: Download-URL, https://example.com/other-download
Project-URL: Documentation, https://docs.example.com
Requires-Python: >=3.7
`,
			info: map[string]string{
				"name": `"Old_Style"`, "summary": `"An old-style project"`, "home_page": `"https://example.com/home"`,
				"download_url": `"https://example.com/download"`, "author": `"Jane Doe"`, "author_email": `"jane@example.com"`,
				"license": `"BSD"`, "keywords": `"old style keywords"`, "platform": `"any"`, "requires_python": `">=3.7"`,
				"project_urls": `{"Documentation":"https://docs.example.com","Download":"https://example.com/download",` +
					`"Download-URL":"https://example.com/other-download","Homepage":"https://example.com/home"}`,
				"project_url": `"http://index.test/project/Old_Style/"`,
			},
		},
		{
			// distutils and old setuptools wrote UNKNOWN for missing
			// fields; PyPI deletes those form values, so they are null.
			name: "ancient",
			metadata: `Metadata-Version: 2.1
Summary: UNKNOWN
Home-page: UNKNOWN
Author: UNKNOWN
Author-email: UNKNOWN
License: UNKNOWN
Platform: UNKNOWN
Classifier: Programming Language :: Python :: 3
Description: UNKNOWN
`,
			info: map[string]string{
				"summary": `null`, "home_page": `null`, "author": `null`, "author_email": `null`, "license": `null`,
				"platform": `null`, "description": `""`, "project_urls": `null`,
				"classifiers": `["Programming Language :: Python :: 3"]`,
			},
		},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		ctx := context.Background()
		alice := f.user("alice")
		for _, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				const version = "4.0.0"
				wheel := wheelWithMetadata(r.name, version, r.metadata, r.extra)
				dist := disttest.Dist{Name: r.name, Version: version}
				if _, err := f.upload(alice, dist.Form("bdist_wheel", wheel), dist.WheelFilename(), wheel); err != nil {
					t.Fatalf("upload refused: %v", err)
				}
				v, err := f.svc.LoadProject(ctx, pep.NormalizeName(r.name))
				storetest.Must(t, err)
				doc, err := f.svc.JSONDocument(ctx, v, "")
				storetest.Must(t, err)
				b, err := json.Marshal(doc)
				storetest.Must(t, err)
				var got struct {
					Info            map[string]json.RawMessage
					URLs            []map[string]json.RawMessage
					Vulnerabilities json.RawMessage
					LastSerial      int64 `json:"last_serial"`
				}
				storetest.Must(t, json.Unmarshal(b, &got))
				for field, want := range r.info {
					if g := got.Info[field]; !sameJSON(g, want) {
						t.Errorf("info.%s = %s, PyPI sends %s", field, g, want)
					}
				}
				if string(got.Vulnerabilities) != "[]" || got.LastSerial <= 0 || len(got.URLs) != 1 {
					t.Errorf("vulnerabilities %s, last_serial %d, %d urls", got.Vulnerabilities, got.LastSerial, len(got.URLs))
				}
				file := got.URLs[0]
				digests := disttest.Digest(wheel)
				for field, want := range map[string]string{
					"filename":        fmt.Sprintf("%q", dist.WheelFilename()),
					"packagetype":     `"bdist_wheel"`,
					"python_version":  `"py3"`,
					"comment_text":    `""`,
					"has_sig":         `false`,
					"downloads":       `-1`,
					"md5_digest":      fmt.Sprintf("%q", digests.MD5),
					"digests":         fmt.Sprintf(`{"blake2b_256":%q,"md5":%q,"sha256":%q}`, digests.Blake2_256, digests.MD5, digests.SHA256),
					"size":            fmt.Sprint(len(wheel)),
					"requires_python": string(got.Info["requires_python"]),
					"yanked":          `false`,
					"yanked_reason":   `null`,
				} {
					if g := file[field]; !sameJSON(g, want) {
						t.Errorf("urls[0].%s = %s, PyPI sends %s", field, g, want)
					}
				}
				if !regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"$`).Match(file["upload_time"]) ||
					!regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z"$`).Match(file["upload_time_iso_8601"]) ||
					!bytes.HasPrefix(file["core-metadata"], []byte(`{"sha256":"`)) {
					t.Errorf("urls[0] times and core-metadata: %s %s %s", file["upload_time"], file["upload_time_iso_8601"], file["core-metadata"])
				}
			})
		}
	})
}

// sameJSON reports whether got and want encode the same value.
func sameJSON(got json.RawMessage, want string) bool {
	var g, w any
	return json.Unmarshal(got, &g) == nil && json.Unmarshal([]byte(want), &w) == nil && reflect.DeepEqual(g, w)
}

// wheelWithMetadata builds a pure-Python wheel of name and version whose
// METADATA is metadata with Name and Version added after its first line,
// with extra files and a RECORD listing every file.
func wheelWithMetadata(name, version, metadata string, extra map[string]string) []byte {
	first, rest, _ := strings.Cut(metadata, "\n")
	metadata = first + "\nName: " + name + "\nVersion: " + version + "\n" + rest
	distInfo := disttest.Escaped(name) + "-" + version + ".dist-info/"
	files := map[string]string{
		disttest.Escaped(name) + "/__init__.py": "",
		distInfo + "METADATA":                   metadata,
		distInfo + "WHEEL":                      "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	for p, c := range extra {
		files[p] = c
	}
	var record strings.Builder
	for _, p := range sortedKeys(files) {
		sum := sha256.Sum256([]byte(files[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[p]))
	}
	files[distInfo+"RECORD"] = record.String() + distInfo + "RECORD,,\n"
	var buf bytes.Buffer
	zw := disttest.NewZipWriter(&buf)
	for _, p := range sortedKeys(files) {
		if err := zw.AddBytes(p, zip.Deflate, []byte(files[p])); err != nil {
			panic(err)
		}
	}
	zw.Close()
	return buf.Bytes()
}

// TestJSONValueFormatting checks the helpers that turn stored metadata into
// PyPI's stored values.
func TestJSONValueFormatting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"keywords split and stripped", joinKeywords, "a,b , c", "a, b, c"},
		{"keywords with spaces only", joinKeywords, "a b c", "a b c"},
		{"keywords empty", joinKeywords, "", ""},
		{"keywords empty item kept", joinKeywords, "a,,b", "a, , b"},
		{"specifiers sorted", specifierSet, ">=3.8, <4", "<4,>=3.8"},
		{"specifier spaces dropped", specifierSet, ">= 3.8", ">=3.8"},
		{"specifiers deduplicated", specifierSet, ">=3.8,>=3.8 ,", ">=3.8"},
		{"arbitrary equality", specifierSet, "=== 1.0", "===1.0"},
		{"compatible release", specifierSet, "~=3.9, !=3.9.1", "!=3.9.1,~=3.9"},
		{"specifiers empty", specifierSet, "", ""},
		{"title dash", func(s string) string { return titleCase([]string{s})[0] }, "license-file", "License-File"},
		{"title upper", func(s string) string { return titleCase([]string{s})[0] }, "REQUIRES-DIST", "Requires-Dist"},
		{"title digit", func(s string) string { return titleCase([]string{s})[0] }, "a1b", "A1B"},
	} {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("%s: %q → %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	for in, want := range map[time.Time]string{
		time.Date(2024, 11, 6, 22, 37, 9, 220617000, time.UTC):          "2024-11-06T22:37:09.220617Z",
		time.Date(2024, 11, 6, 22, 37, 9, 220617999, time.UTC):          "2024-11-06T22:37:09.220617Z",
		time.Date(2024, 11, 6, 22, 37, 9, 0, time.UTC):                  "2024-11-06T22:37:09Z",
		time.Date(2024, 11, 6, 22, 37, 9, 999, time.UTC):                "2024-11-06T22:37:09Z",
		time.Date(2024, 11, 7, 0, 7, 9, 5000, time.FixedZone("", 3600)): "2024-11-06T23:07:09.000005Z",
	} {
		if got := isoformat(in); got != want {
			t.Errorf("isoformat(%v) = %q, want %q", in, got, want)
		}
	}
}
