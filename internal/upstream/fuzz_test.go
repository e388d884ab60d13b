package upstream

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"cheeseshop/internal/pep"
)

// fuzzOptions parse pages of holygrail from pypi.org. The seeds are in
// testdata/fuzz/FuzzParseJSON and FuzzParseHTML: PyPI-shaped pages (PEP
// 691 examples with every field, PEP 503 pages with escaped attributes)
// and hostile variants.
func fuzzOptions(t testing.TB) ParseOptions {
	up, err := ParseUpstream("https://pypi.org/simple/")
	if err != nil {
		t.Fatal(err)
	}
	return ParseOptions{Project: "holygrail", PageURL: up.ProjectURL("holygrail"), Allowed: up.Allowed,
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// checkPage asserts what every parsed page promises, whatever the input.
func checkPage(t *testing.T, page *Page, o ParseOptions) {
	t.Helper()
	if pep.NormalizeName(page.Name) != o.Project {
		t.Fatalf("page of %q", page.Name)
	}
	switch page.Status {
	case "active", "archived", "deprecated", "quarantined":
	default:
		t.Fatalf("status %q", page.Status)
	}
	if utf8.RuneCountInString(page.StatusReason) > MaxStatusReason || !oneLine(page.StatusReason) {
		t.Fatalf("status reason %q", page.StatusReason)
	}
	if len(page.Files) > MaxFiles {
		t.Fatalf("%d files", len(page.Files))
	}
	names, digests := map[string]bool{}, map[string]bool{}
	for _, f := range page.Files {
		if _, reason := checkFilename(f.Filename, o.Project); reason != "" || names[f.Filename] {
			t.Fatalf("file %q: %s", f.Filename, reason)
		}
		if !validDigest(f.SHA256) || digests[f.SHA256] || (f.MetadataSHA256 != "" && !validDigest(f.MetadataSHA256)) {
			t.Fatalf("file %+v: digests", f)
		}
		names[f.Filename], digests[f.SHA256] = true, true
		u, err := url.Parse(f.URL)
		if err != nil || !o.Allowed(u) || u.Fragment != "" || strings.Contains(f.URL, "#") {
			t.Fatalf("file %+v: URL", f)
		}
		if len(f.RequiresPython) > MaxRequiresPython || !oneLine(f.RequiresPython) ||
			utf8.RuneCountInString(f.YankedReason) > MaxYankReason || !oneLine(f.YankedReason) || (!f.Yanked && f.YankedReason != "") {
			t.Fatalf("file %+v: text", f)
		}
		if f.Size < -1 || f.UploadTime.After(o.Now.Add(MaxFutureUploadGap)) {
			t.Fatalf("file %+v: size or time", f)
		}
		if _, err := pep.ParseVersion(f.Version); err != nil {
			t.Fatalf("file %+v: version", f)
		}
	}
}

// oneLine reports whether s is valid UTF-8 without control characters.
func oneLine(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

func FuzzParseJSON(f *testing.F) {
	o := fuzzOptions(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseJSON(body, o)
		if err != nil {
			if page != nil {
				t.Fatal("a page and an error")
			}
			return
		}
		checkPage(t, page, o)
	})
}

func FuzzParseHTML(f *testing.F) {
	o := fuzzOptions(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := ParseHTML(body, o)
		if err != nil {
			if page != nil {
				t.Fatal("a page and an error")
			}
			return
		}
		checkPage(t, page, o)
	})
}
