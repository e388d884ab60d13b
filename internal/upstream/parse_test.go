package upstream_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/upstream"
)

// now is the time of every parse in these tests.
var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// digest is the SHA-256 of s, in hex.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// pypiOptions are the options of a page of holygrail on pypi.org.
func pypiOptions(t testing.TB) upstream.ParseOptions {
	t.Helper()
	up, err := upstream.ParseUpstream("https://pypi.org/simple/")
	if err != nil {
		t.Fatal(err)
	}
	return upstream.ParseOptions{Project: "holygrail", PageURL: up.ProjectURL("holygrail"), Allowed: up.Allowed, Now: now}
}

func readPage(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/pages/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// diffFiles reports the first difference between two file lists.
func diffFiles(t *testing.T, got, want []upstream.File) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d files, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("file %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseJSONGolden(t *testing.T) {
	page, err := upstream.ParseJSON(readPage(t, "holygrail.json"), pypiOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if page.Name != "HolyGrail" || page.Status != "deprecated" || page.StatusReason != "Use holygrail2 instead." ||
		page.Format != "json" || page.Dropped != 1 {
		t.Errorf("page = %q %q %q %q dropped %d (%q)", page.Name, page.Status, page.StatusReason, page.Format, page.Dropped, page.Warnings)
	}
	diffFiles(t, page.Files, []upstream.File{
		{Filename: "holygrail-1.0.tar.gz", Version: "1.0", URL: "https://files.pythonhosted.org/packages/aa/bb/holygrail-1.0.tar.gz",
			SHA256: digest("a"), RequiresPython: ">=3.8", Size: 12345, UploadTime: date("2025-03-01T10:20:30.123456Z")},
		{Filename: "holygrail-1.0-py3-none-any.whl", Version: "1.0", URL: "https://files.pythonhosted.org/packages/cc/dd/holygrail-1.0-py3-none-any.whl",
			SHA256: digest("b"), RequiresPython: ">=3.8", MetadataSHA256: digest("c"), Yanked: true, YankedReason: "Broken on Windows",
			Size: 2048, UploadTime: date("2025-03-01T10:20:31Z")},
		{Filename: "HolyGrail-1.1-py3-none-any.whl", Version: "1.1", URL: "https://pypi.org/packages/ee/ff/HolyGrail-1.1-py3-none-any.whl",
			SHA256: digest("d"), MetadataSHA256: digest("e"), Yanked: true, Size: 4096, UploadTime: date("2025-06-01T00:00:00.5Z")},
		{Filename: "holygrail-0.9-py2-none-any.whl", Version: "0.9", URL: "https://files.pythonhosted.org/packages/00/22/holygrail-0.9-py2-none-any.whl",
			SHA256: digest("e"), Size: -1},
	})
	if got := upstream.Versions(page.Files); strings.Join(got, " ") != "0.9 1.0 1.1" {
		t.Errorf("Versions = %q", got)
	}
}

func TestParseHTMLGolden(t *testing.T) {
	page, err := upstream.ParseHTML(readPage(t, "holygrail.html"), pypiOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if page.Name != "HolyGrail" || page.Status != "archived" || page.StatusReason != "No longer maintained & kept read-only" ||
		page.Format != "html" || page.Dropped != 1 {
		t.Errorf("page = %q %q %q %q dropped %d (%q)", page.Name, page.Status, page.StatusReason, page.Format, page.Dropped, page.Warnings)
	}
	diffFiles(t, page.Files, []upstream.File{
		{Filename: "holygrail-1.0.tar.gz", Version: "1.0", URL: "https://files.pythonhosted.org/packages/aa/bb/holygrail-1.0.tar.gz",
			SHA256: digest("a"), RequiresPython: ">=3.8", Size: -1},
		{Filename: "holygrail-1.0-py3-none-any.whl", Version: "1.0", URL: "https://pypi.org/packages/cc/dd/holygrail-1.0-py3-none-any.whl",
			SHA256: digest("b"), RequiresPython: ">=3.8", MetadataSHA256: digest("c"), Yanked: true, YankedReason: "Broken on Windows", Size: -1},
		{Filename: "HolyGrail-1.1-py3-none-any.whl", Version: "1.1", URL: "https://files.pythonhosted.org/packages/ee/ff/HolyGrail-1.1-py3-none-any.whl",
			SHA256: digest("d"), MetadataSHA256: digest("e"), Yanked: true, Size: -1},
		{Filename: "holygrail-0.9-py2-none-any.whl", Version: "0.9", URL: "https://files.pythonhosted.org/packages/00/22/holygrail-0.9-py2-none-any.whl",
			SHA256: digest("e"), Size: -1},
	})
}

// TestParseMinimal reads pages with only the required parts: relative
// URLs, no title, an unclosed anchor.
func TestParseMinimal(t *testing.T) {
	for _, tc := range []struct {
		file  string
		parse func([]byte, upstream.ParseOptions) (*upstream.Page, error)
		want  []upstream.File
	}{
		{"minimal.json", upstream.ParseJSON, []upstream.File{{Filename: "holygrail-2.0.tar.gz", Version: "2.0",
			URL: "https://pypi.org/packages/holygrail-2.0.tar.gz", SHA256: digest("a"), Size: -1}}},
		{"minimal.html", upstream.ParseHTML, []upstream.File{
			{Filename: "holygrail-2.0.tar.gz", Version: "2.0", URL: "https://pypi.org/packages/holygrail-2.0.tar.gz", SHA256: digest("a"), Size: -1},
			{Filename: "holygrail-2.0-py3-none-any.whl", Version: "2.0", URL: "https://pypi.org/simple/holygrail/holygrail-2.0-py3-none-any.whl", SHA256: digest("b"), Size: -1}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			page, err := tc.parse(readPage(t, tc.file), pypiOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			if page.Name != "holygrail" || page.Status != "active" || page.Dropped != 0 {
				t.Errorf("page = %q %q dropped %d %q", page.Name, page.Status, page.Dropped, page.Warnings)
			}
			diffFiles(t, page.Files, tc.want)
		})
	}
}

// jsonPage builds a PEP 691 page of holygrail with the files entries.
func jsonPage(files ...string) []byte {
	return []byte(`{"meta":{"api-version":"1.1"},"name":"holygrail","files":[` + strings.Join(files, ",") + `]}`)
}

// jsonFile builds a files[] entry; fields overrides or adds keys (a value
// "" removes the key).
func jsonFile(fields map[string]string) string {
	entry := map[string]string{
		"filename":    `"holygrail-1.0.tar.gz"`,
		"url":         `"https://files.pythonhosted.org/p/holygrail-1.0.tar.gz"`,
		"hashes":      `{"sha256":"` + digest("a") + `"}`,
		"size":        `10`,
		"upload-time": `"2025-01-01T00:00:00Z"`,
	}
	for k, v := range fields {
		if v == "" {
			delete(entry, k)
		} else {
			entry[k] = v
		}
	}
	var parts []string
	for k, v := range entry {
		parts = append(parts, fmt.Sprintf("%q:%s", k, v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestParseJSONHostileFiles: every entry an upstream must not get through
// is dropped, every field beyond the limits cut or forgotten.
func TestParseJSONHostileFiles(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name    string
		fields  map[string]string
		dropped bool
		check   func(f upstream.File) bool // on the kept file
	}{
		{name: "well-formed", fields: nil, check: func(f upstream.File) bool { return f.Size == 10 && f.Version == "1.0" }},
		{name: "another project's wheel", fields: map[string]string{"filename": `"acme_private-1.0-py3-none-any.whl"`}, dropped: true},
		{name: "another project's sdist", fields: map[string]string{"filename": `"holygrail2-1.0.tar.gz"`}, dropped: true},
		{name: "a prefix of another project", fields: map[string]string{"filename": `"holygrail-extra-1.0.tar.gz"`}, dropped: true},
		{name: "a wheel without tags", fields: map[string]string{"filename": `"holygrail-1.0.whl"`}, dropped: true},
		{name: "no version", fields: map[string]string{"filename": `"holygrail.tar.gz"`}, dropped: true},
		{name: "not a version", fields: map[string]string{"filename": `"holygrail-latest.tar.gz"`}, dropped: true},
		{name: "a path", fields: map[string]string{"filename": `"../holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "a backslash", fields: map[string]string{"filename": `"x\\holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "a control character", fields: map[string]string{"filename": `"holygrail-1.0\u0000.tar.gz"`}, dropped: true},
		{name: "a hidden file", fields: map[string]string{"filename": `".holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "filename too long", fields: map[string]string{"filename": `"holygrail-1.0` + long + `.tar.gz"`}, dropped: true},
		{name: "no filename", fields: map[string]string{"filename": ""}, dropped: true},
		{name: "no sha256", fields: map[string]string{"hashes": `{"md5":"0cc175b9c0f1b6a831c399e269772661"}`}, dropped: true},
		{name: "no hashes", fields: map[string]string{"hashes": ""}, dropped: true},
		{name: "short sha256", fields: map[string]string{"hashes": `{"sha256":"abc"}`}, dropped: true},
		{name: "sha256 not hex", fields: map[string]string{"hashes": `{"sha256":"` + strings.Repeat("z", 64) + `"}`}, dropped: true},
		{name: "sha256 upper-case", fields: map[string]string{"hashes": `{"sha256":"` + strings.ToUpper(digest("a")) + `"}`},
			check: func(f upstream.File) bool { return f.SHA256 == digest("a") }},
		{name: "hashes not an object", fields: map[string]string{"hashes": `"sha256"`}, dropped: true},
		{name: "javascript URL", fields: map[string]string{"url": `"javascript:alert(1)"`}, dropped: true},
		{name: "file URL", fields: map[string]string{"url": `"file:///etc/passwd"`}, dropped: true},
		{name: "data URL", fields: map[string]string{"url": `"data:application/zip;base64,UEsFBg=="`}, dropped: true},
		{name: "userinfo", fields: map[string]string{"url": `"https://u:p@files.pythonhosted.org/p/holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "another host", fields: map[string]string{"url": `"https://evil.example/holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "a host suffix", fields: map[string]string{"url": `"https://files.pythonhosted.org.evil.example/holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "protocol-relative other host", fields: map[string]string{"url": `"//169.254.169.254/latest/meta-data"`}, dropped: true},
		{name: "http downgrade", fields: map[string]string{"url": `"http://files.pythonhosted.org/p/holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "another port", fields: map[string]string{"url": `"https://files.pythonhosted.org:8443/p/holygrail-1.0.tar.gz"`}, dropped: true},
		{name: "explicit default port", fields: map[string]string{"url": `"https://files.pythonhosted.org:443/p/holygrail-1.0.tar.gz"`},
			check: func(f upstream.File) bool {
				return f.URL == "https://files.pythonhosted.org:443/p/holygrail-1.0.tar.gz"
			}},
		{name: "URL too long", fields: map[string]string{"url": `"https://files.pythonhosted.org/` + strings.Repeat("a", upstream.MaxURLBytes) + `"`}, dropped: true},
		{name: "no URL", fields: map[string]string{"url": ""}, dropped: true},
		{name: "fragment dropped", fields: map[string]string{"url": `"https://files.pythonhosted.org/p/holygrail-1.0.tar.gz#sha256=00"`},
			check: func(f upstream.File) bool { return f.URL == "https://files.pythonhosted.org/p/holygrail-1.0.tar.gz" }},
		{name: "requires-python too long", fields: map[string]string{"requires-python": `">=3.8` + strings.Repeat(" ", upstream.MaxRequiresPython) + `,<4"`}, dropped: true},
		{name: "requires-python two lines", fields: map[string]string{"requires-python": `">=3.8\n<script>"`}, dropped: true},
		{name: "requires-python escaped", fields: map[string]string{"requires-python": `" >=3.8,<4 "`},
			check: func(f upstream.File) bool { return f.RequiresPython == ">=3.8,<4" }},
		{name: "yank reason too long", fields: map[string]string{"yanked": `"` + strings.Repeat("é", 1200) + `"`},
			check: func(f upstream.File) bool {
				return f.Yanked && f.YankedReason == strings.Repeat("é", upstream.MaxYankReason)
			}},
		{name: "yank reason on lines", fields: map[string]string{"yanked": `"bad\nbuild"`},
			check: func(f upstream.File) bool { return f.Yanked && f.YankedReason == "bad build" }},
		{name: "yanked empty string", fields: map[string]string{"yanked": `""`},
			check: func(f upstream.File) bool { return f.Yanked && f.YankedReason == "" }},
		{name: "yanked a number", fields: map[string]string{"yanked": `1`}, dropped: true},
		{name: "negative size", fields: map[string]string{"size": `-5`}, check: func(f upstream.File) bool { return f.Size == -1 }},
		{name: "size a string", fields: map[string]string{"size": `"10"`}, check: func(f upstream.File) bool { return f.Size == -1 }},
		{name: "size a fraction", fields: map[string]string{"size": `10.5`}, check: func(f upstream.File) bool { return f.Size == -1 }},
		{name: "size too big for int64", fields: map[string]string{"size": `99999999999999999999`}, check: func(f upstream.File) bool { return f.Size == -1 }},
		{name: "upload-time far in the future", fields: map[string]string{"upload-time": `"2026-01-01T01:00:01Z"`},
			check: func(f upstream.File) bool { return f.UploadTime.IsZero() }},
		{name: "upload-time a little ahead", fields: map[string]string{"upload-time": `"2026-01-01T00:59:59Z"`},
			check: func(f upstream.File) bool { return f.UploadTime.Equal(date("2026-01-01T00:59:59Z")) }},
		{name: "upload-time with an offset", fields: map[string]string{"upload-time": `"2025-01-01T02:00:00+02:00"`},
			check: func(f upstream.File) bool { return f.UploadTime == date("2025-01-01T00:00:00Z") }},
		{name: "upload-time unparsable", fields: map[string]string{"upload-time": `"yesterday"`},
			check: func(f upstream.File) bool { return f.UploadTime.IsZero() }},
		{name: "upload-time a number", fields: map[string]string{"upload-time": `1700000000`}, dropped: true},
		{name: "metadata true", fields: map[string]string{"core-metadata": `true`}, check: func(f upstream.File) bool { return f.MetadataSHA256 == "" }},
		{name: "metadata bad digest", fields: map[string]string{"core-metadata": `{"sha256":"abc"}`}, check: func(f upstream.File) bool { return f.MetadataSHA256 == "" }},
		{name: "metadata core wins", fields: map[string]string{"core-metadata": `{"sha256":"` + digest("c") + `"}`, "dist-info-metadata": `{"sha256":"` + digest("d") + `"}`},
			check: func(f upstream.File) bool { return f.MetadataSHA256 == digest("c") }},
		{name: "metadata false, dist-info ignored", fields: map[string]string{"core-metadata": `false`, "dist-info-metadata": `{"sha256":"` + digest("d") + `"}`},
			check: func(f upstream.File) bool { return f.MetadataSHA256 == "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := upstream.ParseJSON(jsonPage(jsonFile(tc.fields)), pypiOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.dropped && (len(page.Files) != 0 || page.Dropped != 1):
				t.Fatalf("kept %+v", page.Files)
			case tc.dropped:
				if len(page.Warnings) == 0 {
					t.Error("no warning")
				}
			case len(page.Files) != 1:
				t.Fatalf("dropped: %q", page.Warnings)
			case !tc.check(page.Files[0]):
				t.Fatalf("kept %+v", page.Files[0])
			}
		})
	}
}

// TestParseSkipped: eggs and installers are left out quietly.
func TestParseSkipped(t *testing.T) {
	page, err := upstream.ParseJSON(jsonPage(
		jsonFile(map[string]string{"filename": `"holygrail-1.0-py2.7.egg"`}),
		jsonFile(map[string]string{"filename": `"holygrail-1.0.win32.exe"`}),
		jsonFile(map[string]string{"filename": `"acme_private-1.0.win32.msi"`}),
	), pypiOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != 0 || page.Skipped != 3 || page.Dropped != 0 || len(page.Warnings) != 0 {
		t.Fatalf("page %+v", page)
	}
}

func TestParseJSONDuplicates(t *testing.T) {
	page, err := upstream.ParseJSON(jsonPage(
		jsonFile(nil),
		jsonFile(map[string]string{"hashes": `{"sha256":"` + digest("b") + `"}`}), // same filename
		jsonFile(map[string]string{"filename": `"holygrail-1.1.tar.gz"`}),         // same digest
		jsonFile(map[string]string{"filename": `"holygrail-1.2.tar.gz"`, "hashes": `{"sha256":"` + digest("c") + `"}`}),
	), pypiOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != 2 || page.Files[0].SHA256 != digest("a") || page.Files[1].Filename != "holygrail-1.2.tar.gz" || page.Dropped != 2 {
		t.Fatalf("files %+v, dropped %d", page.Files, page.Dropped)
	}
}

// TestParseJSONHostilePages: pages refused whole, or whose status is
// made safe.
func TestParseJSONHostilePages(t *testing.T) {
	tooMany := jsonPage(strings.Repeat("{},", upstream.MaxFiles) + "{}")
	for _, tc := range []struct {
		name string
		body string
	}{
		{"not JSON", `<html>`},
		{"truncated", `{"meta":{"api-version":"1.0"},"name":"holygrail","files":[`},
		{"an array", `[]`},
		{"api-version 2", `{"meta":{"api-version":"2.0"},"name":"holygrail","files":[]}`},
		{"api-version 10", `{"meta":{"api-version":"10.1"},"name":"holygrail","files":[]}`},
		{"no api-version", `{"meta":{},"name":"holygrail","files":[]}`},
		{"api-version a number", `{"meta":{"api-version":1.0},"name":"holygrail","files":[]}`},
		{"another project", `{"meta":{"api-version":"1.0"},"name":"holygrail2","files":[]}`},
		{"a look-alike project", `{"meta":{"api-version":"1.0"},"name":"ho1ygrail","files":[]}`},
		{"a name that is not a name", `{"meta":{"api-version":"1.0"},"name":"holy grail","files":[]}`},
		{"no name", `{"meta":{"api-version":"1.0"},"files":[]}`},
		{"files not a list", `{"meta":{"api-version":"1.0"},"name":"holygrail","files":{}}`},
		{"too many files", string(tooMany)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if page, err := upstream.ParseJSON([]byte(tc.body), pypiOptions(t)); err == nil {
				t.Fatalf("accepted: %+v", page)
			}
		})
	}
	for _, tc := range []struct {
		name, status     string
		want, wantReason string
	}{
		{"unknown status", `{"status":"hacked","reason":"x"}`, "active", ""},
		{"status not an object", `"archived"`, "active", ""},
		{"quarantined", `{"status":"quarantined","reason":"malware"}`, "quarantined", "malware"},
		{"reason on lines", `{"status":"archived","reason":" gone\r\nfor good "}`, "archived", "gone  for good"},
		{"reason too long", `{"status":"archived","reason":"` + strings.Repeat("x", 500) + `"}`, "archived", strings.Repeat("x", upstream.MaxStatusReason)},
		{"active has no reason", `{"status":"active","reason":"fine"}`, "active", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := upstream.ParseJSON([]byte(`{"meta":{"api-version":"1.4"},"name":"holygrail","project-status":`+tc.status+`,"files":[]}`), pypiOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			if page.Status != tc.want || page.StatusReason != tc.wantReason {
				t.Fatalf("status %q %q", page.Status, page.StatusReason)
			}
		})
	}
}

// htmlPage builds a PEP 503 page of holygrail with the anchors.
func htmlPage(anchors ...string) []byte {
	return []byte("<!DOCTYPE html><html><head><title>Links for holygrail</title></head><body>" + strings.Join(anchors, "<br/>") + "</body></html>")
}

func TestParseHTMLHostile(t *testing.T) {
	a := digest("a")
	good := `https://files.pythonhosted.org/p/holygrail-1.0.tar.gz#sha256=` + a
	for _, tc := range []struct {
		name    string
		anchor  string
		dropped bool
		check   func(f upstream.File) bool
	}{
		{name: "well-formed", anchor: `<a href="` + good + `">holygrail-1.0.tar.gz</a>`,
			check: func(f upstream.File) bool { return f.SHA256 == a && f.Size == -1 && f.UploadTime.IsZero() }},
		{name: "escaped attributes", anchor: `<a href="` + good + `" data-requires-python="&lt;4,&gt;=3.8" data-yanked="bad &amp; old">holygrail-1.0.tar.gz</a>`,
			check: func(f upstream.File) bool {
				return f.RequiresPython == "<4,>=3.8" && f.Yanked && f.YankedReason == "bad & old"
			}},
		{name: "escaped href", anchor: `<a href="https://files.pythonhosted.org/p/holygrail-1.0.tar.gz#sha256=` + a + `&amp;x=1">holygrail-1.0.tar.gz</a>`,
			check: func(f upstream.File) bool { return f.SHA256 == a }},
		{name: "md5 only", anchor: `<a href="https://files.pythonhosted.org/p/holygrail-1.0.tar.gz#md5=0cc175b9c0f1b6a831c399e269772661">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "no fragment", anchor: `<a href="https://files.pythonhosted.org/p/holygrail-1.0.tar.gz">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "no href", anchor: `<a name="x">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "javascript", anchor: `<a href="javascript:alert(1)//#sha256=` + a + `">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "entity-hidden javascript", anchor: `<a href="&#106;avascript:alert(1)#sha256=` + a + `">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "userinfo", anchor: `<a href="https://a:b@files.pythonhosted.org/p/holygrail-1.0.tar.gz#sha256=` + a + `">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "another host", anchor: `<a href="https://evil.example/holygrail-1.0.tar.gz#sha256=` + a + `">holygrail-1.0.tar.gz</a>`, dropped: true},
		{name: "another project", anchor: `<a href="https://files.pythonhosted.org/p/acme_private-1.0.tar.gz#sha256=` + a + `">acme_private-1.0.tar.gz</a>`, dropped: true},
		{name: "text differs from URL", anchor: `<a href="https://files.pythonhosted.org/p/holygrail-1.0.tar.gz#sha256=` + a + `">holygrail-2.0.tar.gz</a>`, dropped: true},
		{name: "self-closing anchor", anchor: `<a href="` + good + `"/>`, check: func(f upstream.File) bool { return f.Filename == "holygrail-1.0.tar.gz" }},
		{name: "metadata true", anchor: `<a href="` + good + `" data-core-metadata="true">holygrail-1.0.tar.gz</a>`,
			check: func(f upstream.File) bool { return f.MetadataSHA256 == "" }},
		{name: "metadata digest", anchor: `<a href="` + good + `" data-dist-info-metadata="sha256=` + digest("c") + `">holygrail-1.0.tar.gz</a>`,
			check: func(f upstream.File) bool { return f.MetadataSHA256 == digest("c") }},
		{name: "yanked reason too long", anchor: `<a href="` + good + `" data-yanked="` + strings.Repeat("y", 2000) + `">holygrail-1.0.tar.gz</a>`,
			check: func(f upstream.File) bool { return len(f.YankedReason) == upstream.MaxYankReason }},
		{name: "requires-python too long", anchor: `<a href="` + good + `" data-requires-python="` + strings.Repeat("1", 2000) + `">holygrail-1.0.tar.gz</a>`, dropped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := upstream.ParseHTML(htmlPage(tc.anchor), pypiOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.dropped && (len(page.Files) != 0 || page.Dropped != 1):
				t.Fatalf("kept %+v", page.Files)
			case tc.dropped:
			case len(page.Files) != 1:
				t.Fatalf("dropped: %q", page.Warnings)
			case !tc.check(page.Files[0]):
				t.Fatalf("kept %+v", page.Files[0])
			}
		})
	}

	for _, tc := range []struct{ name, body string }{
		{"repository version 2", `<meta name="pypi:repository-version" content="2.0"><a href="` + good + `">holygrail-1.0.tar.gz</a>`},
		{"another project's title", `<title>Links for acme-private</title>`},
		{"too many anchors", strings.Repeat("<a>", upstream.MaxFiles+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if page, err := upstream.ParseHTML([]byte(tc.body), pypiOptions(t)); err == nil {
				t.Fatalf("accepted: %+v", page)
			}
		})
	}
}

func TestParseHTMLBase(t *testing.T) {
	body := `<html><head><base href="https://files.pythonhosted.org/packages/"></head><body>` +
		`<a href="aa/holygrail-1.0.tar.gz#sha256=` + digest("a") + `">holygrail-1.0.tar.gz</a></body></html>`
	page, err := upstream.ParseHTML([]byte(body), pypiOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != 1 || page.Files[0].URL != "https://files.pythonhosted.org/packages/aa/holygrail-1.0.tar.gz" {
		t.Fatalf("files %+v (%q)", page.Files, page.Warnings)
	}
}

// TestParseHTMLStatus reads PEP 792's meta tags, unknown status included.
func TestParseHTMLStatus(t *testing.T) {
	for _, tc := range []struct{ status, reason, want, wantReason string }{
		{"quarantined", "malware &amp; worse", "quarantined", "malware & worse"},
		{"deprecated", "", "deprecated", ""},
		{"owned", "x", "active", ""},
	} {
		body := `<meta name="pypi:project-status" content="` + tc.status + `"><meta name="pypi:project-status-reason" content="` + tc.reason + `">`
		page, err := upstream.ParseHTML([]byte(body), pypiOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != tc.want || page.StatusReason != tc.wantReason {
			t.Errorf("%s: status %q %q", tc.status, page.Status, page.StatusReason)
		}
	}
}

// TestParseRelativeToUpstream: relative URLs resolve against the page,
// and stay on its host.
func TestParseRelativeToUpstream(t *testing.T) {
	up, err := upstream.ParseUpstream("http://127.0.0.1:8080/root/simple/")
	if err != nil {
		t.Fatal(err)
	}
	o := upstream.ParseOptions{Project: "holygrail", PageURL: up.ProjectURL("holygrail"), Allowed: up.Allowed, Now: now}
	page, err := upstream.ParseHTML(htmlPage(`<a href="../../packages/holygrail-1.0.tar.gz#sha256=`+digest("a")+`">holygrail-1.0.tar.gz</a>`,
		`<a href="https://127.0.0.1:8081/packages/holygrail-1.1.tar.gz#sha256=`+digest("b")+`">holygrail-1.1.tar.gz</a>`), o)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := url.Parse("http://127.0.0.1:8080/root/packages/holygrail-1.0.tar.gz")
	if len(page.Files) != 1 || page.Files[0].URL != want.String() {
		t.Fatalf("files %+v (%q)", page.Files, page.Warnings)
	}
}
