package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestPickCoding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		header     string
		gzip, zstd bool
		want       string
	}{
		{"", true, true, codingIdentity},
		{"gzip, deflate", true, true, codingGzip},              // pip (urllib3 1.26), requests
		{"gzip,deflate,zstd", true, true, codingZstd},          // urllib3 2 on Python 3.14
		{"gzip, deflate, br, zstd", true, true, codingZstd},    // browsers, requests with zstd
		{"gzip", true, true, codingGzip},                       // uv (reqwest)
		{"gzip, deflate, zstd", true, false, codingGzip},       // zstd not prepared
		{"gzip, zstd", false, false, codingIdentity},           // nothing prepared
		{"zstd;q=0.5, gzip", true, true, codingGzip},           // gzip preferred
		{"gzip;q=0.8, zstd;q=0.8", true, true, codingZstd},     // equal: zstd
		{"GZIP;Q=1", true, true, codingGzip},                   // case
		{"x-gzip", true, true, codingGzip},                     // RFC 9110 §8.4.1.3
		{"gzip;q=0, zstd;q=0", true, true, codingIdentity},     // refused
		{"*", true, true, codingZstd},                          // anything
		{"*;q=0.5, gzip", true, true, codingGzip},              // gzip named higher
		{"identity, gzip;q=0.5", true, true, codingIdentity},   // identity preferred
		{"identity;q=0.5, gzip;q=0.5", true, true, codingGzip}, // equal: compressed
		{"gzip;q=bogus", true, true, codingIdentity},           // malformed q refuses
		{"deflate, br", true, true, codingIdentity},            // nothing served
		{" zstd ; q=1.0 ", true, true, codingZstd},             // spaces
		{"*;q=0", true, true, codingIdentity},                  // nothing acceptable: identity anyway
	} {
		if got := pickCoding(c.header, c.gzip, c.zstd); got != c.want {
			t.Errorf("pickCoding(%q, gzip %v, zstd %v) = %s, want %s", c.header, c.gzip, c.zstd, got, c.want)
		}
	}
}

// TestRootEncodings: the project list is served in identity, gzip and
// zstd, each with its own validator, to GET and HEAD, and each decodes to
// the identity body, with Go's decoders and with the real gzip and zstd
// tools (required under CI).
func TestRootEncodings(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, token := s.user("alice")
		for _, name := range []string{"alpha", "beta-two", "Gamma.Three"} {
			s.uploadDist(token, disttest.Dist{Name: name, Version: "1.0"}, false)
		}
		for _, accept := range []string{"", mediaJSON} {
			plainResp, plain := s.get("/simple/", "Accept", accept, "Accept-Encoding", "identity")
			if plainResp.StatusCode != http.StatusOK || plainResp.Header.Get("Content-Encoding") != "" || !bytes.Contains(plain, []byte("beta-two")) {
				t.Fatalf("identity: %s %q %s", plainResp.Status, plainResp.Header.Get("Content-Encoding"), plain)
			}
			etags := map[string]string{"identity": plainResp.Header.Get("Etag")}
			for _, c := range []struct{ header, coding string }{{"gzip, deflate", "gzip"}, {"gzip,deflate,zstd", "zstd"}} {
				resp, body := s.get("/simple/", "Accept", accept, "Accept-Encoding", c.header)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != c.coding {
					t.Fatalf("%s: %s, Content-Encoding %q", c.header, resp.Status, resp.Header.Get("Content-Encoding"))
				}
				if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Encoding") {
					t.Errorf("%s: Vary %q", c.coding, v)
				}
				if got := decodeBody(t, c.coding, body); !bytes.Equal(got, plain) {
					t.Errorf("%s body decodes to %q, want %q", c.coding, got, plain)
				}
				checkWithTool(t, c.coding, body, plain)
				etag := resp.Header.Get("Etag")
				for other, e := range etags {
					if e == etag {
						t.Errorf("%s and %s share the entity tag %s", c.coding, other, etag)
					}
				}
				etags[c.coding] = etag
				if resp, _ := s.get("/simple/", "Accept", accept, "Accept-Encoding", c.header, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
					t.Errorf("%s: If-None-Match its tag: %s", c.coding, resp.Status)
				}
				if resp, _ := s.get("/simple/", "Accept", accept, "Accept-Encoding", c.header, "If-None-Match", etags["identity"]); resp.StatusCode != http.StatusOK {
					t.Errorf("%s: If-None-Match the identity tag: %s, want 200", c.coding, resp.Status)
				}
				req, _ := http.NewRequest(http.MethodHead, s.URL+"/simple/", nil)
				req.Header.Set("Accept", accept)
				req.Header.Set("Accept-Encoding", c.header)
				head, hb := s.do(req)
				if head.StatusCode != http.StatusOK || len(hb) != 0 || head.ContentLength != int64(len(body)) || head.Header.Get("Content-Encoding") != c.coding || head.Header.Get("Etag") != etag {
					t.Errorf("HEAD %s: %s, length %d (want %d), %q, %s", c.coding, head.Status, head.ContentLength, len(body), head.Header.Get("Content-Encoding"), head.Header.Get("Etag"))
				}
			}
		}
	})
}

func decodeBody(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", coding, err)
	}
	return out
}

// checkWithTool decodes body with the gzip or zstd command, which must be
// installed under CI (scripts/deps.sh).
func checkWithTool(t *testing.T, coding string, body, want []byte) {
	t.Helper()
	if _, err := exec.LookPath(coding); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed: %v", coding, err)
		}
		t.Logf("%s not installed: not checked with it", coding)
		return
	}
	cmd := exec.Command(coding, "-d", "-c")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -d: %v", coding, err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("%s -d gives %q, want %q", coding, out, want)
	}
}
