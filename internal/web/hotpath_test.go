package web

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
)

// TestHotRoutesAsMux checks that hotRoutes takes only requests that the
// route table's mux routes to the same pattern, with the same path
// values, and no redirect; and that it does take the plain ones.
func TestHotRoutesAsMux(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	mux := &routeMux{ServeMux: http.NewServeMux()}
	s.srv.routes(mux)
	// The path values as the mux sets them, of the two patterns.
	values := http.NewServeMux()
	var got [2]string
	values.HandleFunc(patternFile, func(_ http.ResponseWriter, r *http.Request) {
		got = [2]string{r.PathValue("sha256"), r.PathValue("filename")}
	})
	values.HandleFunc(patternProject, func(_ http.ResponseWriter, r *http.Request) {
		got = [2]string{r.PathValue("project"), ""}
	})
	for _, tc := range []struct {
		method, target string
		hot            bool
	}{
		{"GET", "/files/0123abcd/demo-1.0-py3-none-any.whl", true},
		{"HEAD", "/files/0123abcd/demo-1.0-py3-none-any.whl", true},
		{"GET", "/files/0123abcd/demo-1.0-py3-none-any.whl.metadata", true},
		{"GET", "/files/0123abcd/demo-1.0.tar.gz?x=1", true},
		{"GET", "/files/a%25b/c%20d.whl", true},
		{"GET", "/simple/demo/", true},
		{"HEAD", "/simple/Demo_Project/", true},
		{"GET", "/simple/demo/?format=application/vnd.pypi.simple.v1%2Bjson", true},
		{"GET", "/simple/d%C3%A9mo/", true},
		{"POST", "/files/0123abcd/demo.whl", false},
		{"DELETE", "/simple/demo/", false},
		{"GET", "/files/0123abcd/", false},
		{"GET", "/files/0123abcd", false},
		{"GET", "/files/", false},
		{"GET", "/files//demo.whl", false},
		{"GET", "/files/./demo.whl", false},
		{"GET", "/files/../simple/demo/", false},
		{"GET", "/files/0123abcd/..", false},
		{"GET", "/files/0123abcd/.", false},
		{"GET", "/files/0123abcd/demo.whl/", false},
		{"GET", "/files/0123abcd/a/b.whl", false},
		{"GET", "/files/0123abcd/a%2Fb.whl", false},
		{"GET", "/files/a%2Fb/c.whl", false},
		{"GET", "/simple/", false},
		{"GET", "/simple", false},
		{"GET", "/simple/demo", false},
		{"GET", "/simple//", false},
		{"GET", "/simple/./", false},
		{"GET", "/simple/../", false},
		{"GET", "/simple/demo//", false},
		{"GET", "/simple/demo/x/", false},
		{"GET", "/simple/a%2Fb/", false},
		{"GET", "/filesx/a/b", false},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		pattern, a, b := hotRoute(r)
		if (pattern != "") != tc.hot {
			t.Errorf("%s %s: hot route %q, want hot %v", tc.method, tc.target, pattern, tc.hot)
		}
		if pattern == "" {
			continue
		}
		if _, muxPattern := mux.Handler(r); muxPattern != pattern {
			t.Errorf("%s %s: hot route %q, the mux's %q", tc.method, tc.target, pattern, muxPattern)
		}
		got = [2]string{"?", "?"}
		values.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.target, nil))
		if got != [2]string{a, b} {
			t.Errorf("%s %s: path values %q, the mux's %q", tc.method, tc.target, [2]string{a, b}, got)
		}
	}
}

// TestFileAnswers checks the answers to GETs and HEADs of a file, sent
// from memory and from the blob store: a plain request (sendPlain) gets
// the same headers as one that goes through http.ServeContent (with an
// If-None-Match that does not match), and ranges, validators and
// preconditions keep their meaning.
func TestFileAnswers(t *testing.T) {
	t.Parallel()
	eachFileSource(t, func(t *testing.T, s *testServer, path string, wheel []byte) {
		plain, body := s.get(path)
		if plain.StatusCode != 200 || !bytes.Equal(body, wheel) {
			t.Fatalf("GET: %s, %d bytes", plain.Status, len(body))
		}
		etag, lastMod := plain.Header.Get("Etag"), plain.Header.Get("Last-Modified")
		for k, want := range map[string]string{
			"Content-Type": "application/zip", "Content-Length": strconv.Itoa(len(wheel)), "Accept-Ranges": "bytes",
			"Etag": `"` + disttest.Digest(wheel).SHA256 + `"`, "Cache-Control": "public, max-age=31536000, immutable",
		} {
			if got := plain.Header.Get(k); got != want {
				t.Errorf("GET: %s %q, want %q", k, got, want)
			}
		}
		if _, err := http.ParseTime(lastMod); err != nil {
			t.Errorf("GET: Last-Modified %q: %v", lastMod, err)
		}
		// The same headers as http.ServeContent's answer.
		slow, _ := s.get(path, "If-None-Match", `"other"`)
		sameHeaders(t, "GET", plain.Header, slow.Header)
		head, hbody := headReq(s, path)
		slowHead, _ := headReq(s, path, "If-None-Match", `"other"`)
		if head.StatusCode != 200 || len(hbody) != 0 {
			t.Errorf("HEAD: %s, %d bytes", head.Status, len(hbody))
		}
		sameHeaders(t, "HEAD", head.Header, slowHead.Header)
		sameHeaders(t, "HEAD against GET", head.Header, plain.Header)

		for _, tc := range []struct {
			name    string
			headers []string
			status  int
			body    []byte
		}{
			{"range", []string{"Range", "bytes=10-19"}, 206, wheel[10:20]},
			{"suffix range", []string{"Range", "bytes=-64"}, 206, wheel[len(wheel)-64:]},
			{"unsatisfiable range", []string{"Range", "bytes=999999-"}, 416, nil},
			{"range, If-Range of the ETag", []string{"Range", "bytes=0-9", "If-Range", etag}, 206, wheel[:10]},
			{"range, stale If-Range", []string{"Range", "bytes=0-9", "If-Range", `"stale"`}, 200, wheel},
			{"If-None-Match of the ETag", []string{"If-None-Match", etag}, 304, nil},
			{"If-None-Match *", []string{"If-None-Match", "*"}, 304, nil},
			{"If-Modified-Since Last-Modified", []string{"If-Modified-Since", lastMod}, 304, nil},
			{"If-Modified-Since long ago", []string{"If-Modified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"}, 200, wheel},
			{"If-Match of the ETag", []string{"If-Match", etag}, 200, wheel},
			{"If-Match of another", []string{"If-Match", `"other"`}, 412, nil},
			{"If-Unmodified-Since long ago", []string{"If-Unmodified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"}, 412, nil},
		} {
			resp, body := s.get(path, tc.headers...)
			if resp.StatusCode != tc.status || (tc.body != nil && !bytes.Equal(body, tc.body)) {
				t.Errorf("%s: %s, %d bytes", tc.name, resp.Status, len(body))
			}
		}
	})
}

// eachFileSource runs fn as parallel subtests, on a server that answers a
// small wheel from memory and on one that reads it from the blob store,
// with the wheel's path and bytes.
func eachFileSource(t *testing.T, fn func(t *testing.T, s *testServer, path string, wheel []byte)) {
	t.Helper()
	for _, held := range []bool{true, false} {
		name := "from the blob store"
		if held {
			name = "from memory"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newTestServerWith(t, store.SQLite, serverConfig{Options: func(o *Options) {
				if !held {
					o.FileCacheBytes = 0
				}
			}})
			_, tok := s.user("alice")
			d := disttest.Dist{Name: "demo", Version: "1.0"}
			s.uploadDist(tok, d, false)
			wheel := d.Wheel()
			fn(t, s, "/files/"+disttest.Digest(wheel).SHA256+"/"+d.WheelFilename(), wheel)
		})
	}
}

// sameHeaders compares two answers' headers, but for Date.
func sameHeaders(t *testing.T, what string, a, b http.Header) {
	t.Helper()
	for _, h := range []http.Header{a, b} {
		h.Del("Date")
	}
	keys, bkeys := slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))
	if !slices.Equal(keys, bkeys) {
		t.Errorf("%s: headers %v, want %v", what, keys, bkeys)
		return
	}
	for _, k := range keys {
		if strings.Join(a[k], ",") != strings.Join(b[k], ",") {
			t.Errorf("%s: %s %q, want %q", what, k, a[k], b[k])
		}
	}
}

// headReq sends a HEAD of path with optional header pairs.
func headReq(s *testServer, path string, headers ...string) (*http.Response, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodHead, s.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return s.do(req)
}
