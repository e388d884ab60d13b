package web

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUploadRecordWarning: a wheel with a member its RECORD does not list
// is published, as on PyPI, and the answer's body (200) says so.
func TestUploadRecordWarning(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("alice")
		dist := disttest.Dist{Name: "recwarn", Version: "1.0"}
		zr, err := zip.NewReader(bytes.NewReader(dist.Wheel()), int64(len(dist.Wheel())))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw := disttest.NewZipWriter(&buf)
		for _, f := range zr.File {
			if err := zw.Add(f.Name, zip.Deflate, func(w io.Writer) error {
				rc, err := f.Open()
				if err != nil {
					return err
				}
				defer rc.Close()
				_, err = io.Copy(w, rc)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.AddBytes("recwarn/unlisted.py", zip.Deflate, []byte("x = 1\n")); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		w := buf.Bytes()
		resp, body := s.do(s.uploadRequest(tok, dist.Form("bdist_wheel", w), dist.WheelFilename(), w))
		want := "Warning: wheel 'recwarn-1.0-py3-none-any.whl' has a RECORD that does not match its contents: RECORD does not list 'recwarn/unlisted.py'."
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("got %s %q, want 200 with %q", resp.Status, body, want)
		}
	})
}
