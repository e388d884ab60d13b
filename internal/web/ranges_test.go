package web

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/store"
)

// manyRanges is a Range header of n one-byte ranges, all of the first
// byte: the overlapping multi-range request of "Apache Killer"
// (CVE-2011-3192), whose answer costs a multipart part per range.
func manyRanges(n int) string {
	return "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", n), ",")
}

// TestRangeAbuse checks the answers to hostile range and precondition
// requests of the files served with http.ServeContent (distribution
// files from memory and from the blob store, and the static files): a
// Range of more than maxRanges ranges is ignored (the whole content,
// 200, as RFC 9110 §14.2 allows), where net/http would build one
// multipart part per range (16,000 one-byte ranges in a 64 KiB header
// cost 0.2 s of CPU each, 150 times a whole download); and an error
// answer (412, 416) is never cacheable, where it kept the content's
// year-long public Cache-Control, so that a shared cache could store a
// 412 under the file's URL for everybody (cache-poisoned denial of
// service).
func TestRangeAbuse(t *testing.T) {
	t.Parallel()
	eachFileSource(t, func(t *testing.T, s *testServer, path string, wheel []byte) {
		checkRangeAbuse(t, s, path, wheel, true)
	})
	t.Run("static", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, store.SQLite)
		_, css := s.get("/static/style.css")
		checkRangeAbuse(t, s, "/static/style.css", css, false)
	})
}

// checkRangeAbuse sends the hostile requests of TestRangeAbuse for path,
// whose content is body, sent with a Last-Modified when modTime.
func checkRangeAbuse(t *testing.T, s *testServer, path string, body []byte, modTime bool) {
	t.Helper()
	if len(body) < 2*maxRanges {
		t.Fatalf("%s: %d bytes, too short to test", path, len(body))
	}
	var disjoint []string // maxRanges ranges that do not overlap
	for i := range maxRanges {
		disjoint = append(disjoint, strconv.Itoa(2*i)+"-"+strconv.Itoa(2*i))
	}
	for _, tc := range []struct {
		name    string
		method  string
		headers []string
		status  int
		whole   bool // the whole content, not parts
	}{
		{"one range", "GET", []string{"Range", "bytes=0-9"}, 206, false},
		{"maxRanges ranges", "GET", []string{"Range", "bytes=" + strings.Join(disjoint, ",")}, 206, false},
		{"one range more than maxRanges", "GET", []string{"Range", manyRanges(maxRanges + 1)}, 200, true},
		{"16,000 overlapping ranges", "GET", []string{"Range", manyRanges(16000)}, 200, true},
		{"16,000 overlapping ranges, HEAD", "HEAD", []string{"Range", manyRanges(16000)}, 200, false},
		{"If-Match of another", "GET", []string{"If-Match", `"other"`}, 412, false},
		{"If-Unmodified-Since long ago", "GET", []string{"If-Unmodified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"}, 412, false},
		{"If-Range of another, many ranges", "GET", []string{"Range", manyRanges(maxRanges + 1), "If-Range", `"other"`}, 200, true},
		{"many ranges, If-Match of another", "GET", []string{"Range", manyRanges(16000), "If-Match", `"other"`}, 412, false},
		{"unsatisfiable range", "GET", []string{"Range", "bytes=999999999-"}, 416, false},
	} {
		if !modTime && strings.HasPrefix(tc.name, "If-Unmodified-Since") {
			continue // the embedded static files have no time
		}
		var resp *http.Response
		var got []byte
		if tc.method == http.MethodHead {
			resp, got = headReq(s, path, tc.headers...)
		} else {
			resp, got = s.get(path, tc.headers...)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %s, want %d", path, tc.name, resp.Status, tc.status)
			continue
		}
		if tc.whole && !bytes.Equal(got, body) {
			t.Errorf("%s %s: %d bytes, want the whole %d", path, tc.name, len(got), len(body))
		}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); tc.status == 206 && tc.name != "one range" && mt != "multipart/byteranges" {
			t.Errorf("%s %s: Content-Type %q, want multipart/byteranges", path, tc.name, mt)
		}
		if cc := resp.Header.Get("Cache-Control"); resp.StatusCode >= 400 && cc != "no-store" {
			t.Errorf("%s %s: %s with Cache-Control %q, want no-store", path, tc.name, resp.Status, cc)
		}
	}
}
