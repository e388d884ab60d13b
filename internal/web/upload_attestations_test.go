package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUploadAttestations: PEP 740 attestations, which cheeseshop cannot
// verify, are refused with PyPI's answer to an API-token upload, whether
// they come as a field (twine upload --attestations) or as a file part;
// nothing is stored.
func TestUploadAttestations(t *testing.T) {
	t.Parallel()
	const want = "400 Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("alice")
		for _, c := range []struct {
			name     string
			filename string // "" for a plain field
		}{
			{"field", ""},
			{"file part", "demo-1.0-py3-none-any.whl.publish.attestation"},
		} {
			dist := disttest.Dist{Name: "attested", Version: "1.0"}
			w := dist.Wheel()
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			form := dist.Form("bdist_wheel", w)
			for _, k := range sortedFormKeys(form) {
				for _, v := range form[k] {
					mw.WriteField(k, v)
				}
			}
			const attestations = `[{"version": 1, "verification_material": {}, "envelope": {}}]`
			if c.filename == "" {
				mw.WriteField("attestations", attestations)
			} else {
				part, _ := mw.CreateFormFile("attestations", c.filename)
				part.Write([]byte(attestations))
			}
			part, _ := mw.CreateFormFile("content", dist.WheelFilename())
			part.Write(w)
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/legacy/", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.SetBasicAuth("__token__", tok)
			if resp, _ := s.do(req); !strings.HasPrefix(resp.Status, want) {
				t.Errorf("%s: %q, want %q", c.name, resp.Status, want)
			}
			if _, err := s.idx.LoadProject(context.Background(), "attested"); err == nil {
				t.Errorf("%s: the project was created", c.name)
			}
		}
	})
}
