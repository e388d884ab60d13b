package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUploadContentPartType: the file part's Content-Type as PyPI reads
// it. flit sends none, which multipart/form-data makes text/plain
// (RFC 7578, 4.4) and PyPI accepts; an image type, or a header present
// but empty, is refused with PyPI's message.
func TestUploadContentPartType(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("alice")
		for i, c := range []struct {
			name   string
			header []string // nil: no Content-Type header at all
			status int
		}{
			{"no header (flit)", nil, http.StatusOK},
			{"application/octet-stream (twine)", []string{"application/octet-stream"}, http.StatusOK},
			{"text/plain", []string{"text/plain"}, http.StatusOK},
			{"image/png", []string{"image/png"}, http.StatusBadRequest},
			{"empty header", []string{""}, http.StatusBadRequest},
		} {
			dist := disttest.Dist{Name: "parts", Version: "1." + string(rune('0'+i))}
			w := dist.Wheel()
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			form := dist.Form("bdist_wheel", w)
			for _, k := range sortedFormKeys(form) {
				for _, v := range form[k] {
					mw.WriteField(k, v)
				}
			}
			h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="content"; filename="` + dist.WheelFilename() + `"`}}
			if c.header != nil {
				h["Content-Type"] = c.header
			}
			part, err := mw.CreatePart(h)
			if err != nil {
				t.Fatal(err)
			}
			part.Write(w)
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/legacy/", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.SetBasicAuth("__token__", tok)
			resp, _ := s.do(req)
			if resp.StatusCode != c.status {
				t.Errorf("%s: %s, want %d", c.name, resp.Status, c.status)
			}
			if c.status == http.StatusBadRequest && !strings.HasPrefix(resp.Status, "400 Invalid distribution file.") {
				t.Errorf("%s: status line %q, want PyPI's \"Invalid distribution file.\"", c.name, resp.Status)
			}
		}
	})
}
