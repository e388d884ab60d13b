package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
)

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "*/*", "text/html", "application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.01",
		"application/*;q=1.0000", ";;;,,,q=", "text/html;q=NaN", "text/html;q=1e309", "a/b;q=0.1;q=0.9"} {
		f.Add(s, "")
	}
	f.Add("", "application/vnd.pypi.simple.v1 json")
	f.Fuzz(func(t *testing.T, accept, format string) {
		r := httptest.NewRequest("GET", "/simple/", nil)
		r.Header.Set("Accept", accept)
		q := r.URL.Query()
		q.Set("format", format)
		r.URL.RawQuery = q.Encode()
		switch got := negotiate(r); got {
		case mediaJSON, mediaHTML, mediaLegacyHTML:
		default:
			t.Fatalf("negotiate(%q, %q) = %q", accept, format, got)
		}
	})
}

// FuzzPickCoding reads arbitrary Accept-Encoding headers: the coding
// chosen is always one offered (or identity), and never one the header
// refuses by name with q=0.
func FuzzPickCoding(f *testing.F) {
	for _, s := range []string{"", "gzip, deflate", "gzip", "zstd;q=0, gzip", "*;q=0", "identity;q=0, *;q=0",
		"br;q=1.0, zstd;q=0.5, gzip;q=0.9", "x-gzip", "GZIP;Q=0.001", "zstd;q=NaN", "gzip;q=1e309,,;;", "*"} {
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, header string, gzip, zstd bool) {
		got := pickCoding(header, gzip, zstd)
		switch {
		case got == codingIdentity:
		case got == codingGzip && gzip, got == codingZstd && zstd:
		default:
			t.Fatalf("pickCoding(%q, %v, %v) = %q: not offered", header, gzip, zstd, got)
		}
		if got == codingIdentity {
			return
		}
		for part := range strings.SplitSeq(header, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if got == codingGzip && strings.EqualFold(name, "x-gzip") {
				name = codingGzip
			}
			if strings.EqualFold(name, got) && strings.ReplaceAll(strings.ToLower(params), " ", "") == "q=0" {
				refused := true
				for other := range strings.SplitSeq(header, ",") { // named again with a q above 0
					n, _, _ := strings.Cut(other, ";")
					if other != part && strings.EqualFold(strings.TrimSpace(n), got) {
						refused = false
					}
				}
				if refused {
					t.Fatalf("pickCoding(%q) = %q, which the header refuses", header, got)
				}
			}
		}
	})
}

// FuzzUpload sends arbitrary multipart bodies, with valid credentials, to
// the upload handler: whatever arrives, the answer is a clean 200 or 4xx,
// never a 5xx or a panic.
func FuzzUpload(f *testing.F) {
	d := disttest.Dist{Name: "fuzzed", Version: "1.0"}
	w := d.Wheel()
	form := d.Form("bdist_wheel", w)
	var valid bytes.Buffer
	mw := multipart.NewWriter(&valid)
	mw.SetBoundary("BOUNDARY")
	for _, k := range sortedFormKeys(form) {
		for _, v := range form[k] {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("content", d.WheelFilename())
	fw.Write(w)
	mw.Close()
	f.Add(valid.Bytes())
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\":action\"\r\n\r\nfile_upload\r\n--BOUNDARY--\r\n"))
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"content\"; filename=\"../../x.whl\"\r\n\r\nPK\x03\x04\r\n--BOUNDARY--\r\n"))
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"name\"; filename=\"a\"\r\n\r\nx\r\n--BOUNDARY--\r\n"))
	f.Add([]byte("garbage"))

	s := newTestServer(f, store.SQLite)
	_, tok := s.user("fuzzer")
	srv := New(s.idx, s.acct, discardLogger(), newRegistry(), Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=BOUNDARY")
		req.SetBasicAuth("__token__", tok)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}
