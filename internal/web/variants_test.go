package web

import (
	"net/http"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// TestVariantValidators checks that every variant of a negotiated simple
// page (its media type and content coding) has its own entity tag, and
// that an If-None-Match of one variant's tag gets the asked variant, not
// a 304: a cache that revalidates with the tags of all it keeps (RFC
// 9111 §4.3.1) would otherwise answer its stored text/html page to a
// client that asked application/vnd.pypi.simple.v1+html (the same bytes
// under another Content-Type), or the identity body to one that asked
// gzip.
func TestVariantValidators(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0"}, false)
	type variant struct{ accept, encoding string }
	var variants []variant
	for _, accept := range []string{mediaLegacyHTML, mediaHTML, mediaJSON} {
		for _, encoding := range []string{"identity", "gzip", "zstd"} {
			variants = append(variants, variant{accept, encoding})
		}
	}
	for _, path := range []string{"/simple/", "/simple/demo/"} {
		tags := map[string]variant{}
		tagOf := map[variant]string{}
		for _, v := range variants {
			resp, _ := s.get(path, "Accept", v.accept, "Accept-Encoding", v.encoding)
			tag := resp.Header.Get("Etag")
			if resp.StatusCode != 200 || tag == "" {
				t.Fatalf("%s %v: %s, ETag %q", path, v, resp.Status, tag)
			}
			tagOf[v] = tag
			if resp.Header.Get("Content-Encoding") == "" && v.encoding != "identity" {
				continue // this page is not sent compressed: the identity variant's tag
			}
			if other, ok := tags[tag]; ok {
				t.Errorf("%s: %v and %v share the ETag %s", path, v, other, tag)
			}
			tags[tag] = v
		}
		for _, v := range variants {
			if resp, _ := s.get(path, "Accept", v.accept, "Accept-Encoding", v.encoding, "If-None-Match", tagOf[v]); resp.StatusCode != 304 {
				t.Errorf("%s %v: If-None-Match of its own ETag: %s, want 304", path, v, resp.Status)
			}
			for _, w := range variants {
				if tagOf[w] == tagOf[v] {
					continue
				}
				if resp, _ := s.get(path, "Accept", v.accept, "Accept-Encoding", v.encoding, "If-None-Match", tagOf[w]); resp.StatusCode != 200 {
					t.Errorf("%s %v: If-None-Match of %v's ETag: %s, want 200", path, v, w, resp.Status)
				}
			}
		}
	}
}

// TestStatsJSONCaching checks the caching headers of the two-factor
// statistics: shareable on a public index, the reader's own on one that
// needs authentication (where the read gate lets only readers in), since
// a shared cache may keep a "public" answer to a request with
// Authorization (RFC 9111 §3.5) and answer it to anybody.
func TestStatsJSONCaching(t *testing.T) {
	t.Parallel()
	for _, mode := range []index.ReadAccess{index.ReadPublic, index.ReadAuthenticated} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s := newTestServerWith(t, store.SQLite, serverConfig{ReadAccess: mode})
			_, tok := s.user("alice")
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/stats/2fa.json", nil)
			req.SetBasicAuth("__token__", tok)
			resp, _ := s.do(req)
			h := resp.Header
			if resp.StatusCode != 200 {
				t.Fatalf("%s", resp.Status)
			}
			if mode == index.ReadPublic {
				if cc := h.Get("Cache-Control"); cc != "public, max-age=30" || h.Get("Access-Control-Allow-Origin") != "*" {
					t.Errorf("Cache-Control %q, Access-Control-Allow-Origin %q", cc, h.Get("Access-Control-Allow-Origin"))
				}
				return
			}
			if cc, vary := h.Get("Cache-Control"), h.Get("Vary"); cc != "private, max-age=30" || vary != "Authorization, Cookie" ||
				h.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("Cache-Control %q, Vary %q, Access-Control-Allow-Origin %q; want the reader's own", cc, vary, h.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

// TestNegotiationReadsEveryLine checks that the variant chosen depends on
// every line of a negotiated header, as the cache that keys it on Vary
// reads it (RFC 9110 §5.3: several lines are one list), not on the first
// line alone: else a client could send a combined header in two lines,
// get the first line's variant, and have a cache keep it for the clients
// that send the same list in one.
func TestNegotiationReadsEveryLine(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0"}, false)
	for _, tc := range []struct {
		path, header string
		lines        []string
		check        string // the answer header that tells the variant
		want         string
	}{
		{"/simple/demo/", "Accept", []string{mediaHTML + ";q=0.5", mediaJSON}, "Content-Type", mediaJSON},
		{"/simple/", "Accept", []string{mediaHTML + ";q=0.5", mediaJSON}, "Content-Type", mediaJSON},
		{"/simple/", "Accept-Encoding", []string{"gzip;q=0.5", "zstd"}, "Content-Encoding", "zstd"},
		{"/simple/", "Accept-Encoding", []string{"identity", "gzip"}, "Content-Encoding", "gzip"},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
		req.Header[tc.header] = tc.lines
		resp, _ := s.do(req)
		if got := resp.Header.Get(tc.check); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("%s with %s lines %q: %s, %s %q, want %q", tc.path, tc.header, tc.lines, resp.Status, tc.check, got, tc.want)
		}
		// The tag of the variant sent matches, on any line.
		tag := resp.Header.Get("Etag")
		req.Header["If-None-Match"] = []string{`"other"`, tag}
		if resp, _ := s.do(req); resp.StatusCode != 304 {
			t.Errorf("%s with %s lines %q and its ETag on a second If-None-Match line: %s, want 304", tc.path, tc.header, tc.lines, resp.Status)
		}
	}
}
