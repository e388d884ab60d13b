package upstream_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/upstream"
)

// bigPage returns a page of holygrail with n files (n/2 releases, a wheel
// and an sdist each) in both formats, as PyPI writes them.
func bigPage(n int) (jsonBody, htmlBody []byte) {
	var j, h strings.Builder
	j.WriteString(`{"meta":{"api-version":"1.4","_last-serial":1},"name":"holygrail","versions":[],"files":[`)
	h.WriteString(`<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.4"><title>Links for holygrail</title></head><body><h1>Links for holygrail</h1>`)
	for i := range n {
		name := fmt.Sprintf("holygrail-1.%d.tar.gz", i/2)
		if i%2 == 1 {
			name = fmt.Sprintf("holygrail-1.%d-py3-none-any.whl", i/2)
		}
		sha := digest(name)
		url := "https://files.pythonhosted.org/packages/" + sha[:2] + "/" + sha[2:4] + "/" + sha[4:] + "/" + name
		if i > 0 {
			j.WriteByte(',')
		}
		fmt.Fprintf(&j, `{"filename":%q,"url":%q,"hashes":{"sha256":%q},"requires-python":">=3.8","size":%d,"upload-time":"2025-01-02T03:04:05.123456Z","yanked":false,"core-metadata":{"sha256":%q},"data-dist-info-metadata":{"sha256":%q}}`,
			name, url, sha, 1000+i, sha, sha)
		fmt.Fprintf(&h, `<a href="%s#sha256=%s" data-requires-python="&gt;=3.8" data-core-metadata="sha256=%s" data-dist-info-metadata="sha256=%s">%s</a><br />`+"\n",
			url, sha, sha, sha, name)
	}
	j.WriteString(`]}`)
	h.WriteString(`</body></html>`)
	return []byte(j.String()), []byte(h.String())
}

// BenchmarkParse parses a page of 2,000 files, what a refresh of a
// large project costs.
func BenchmarkParse(b *testing.B) {
	jsonBody, htmlBody := bigPage(2000)
	o := pypiOptions(b)
	for _, tc := range []struct {
		name  string
		body  []byte
		parse func([]byte, upstream.ParseOptions) (*upstream.Page, error)
	}{{"JSON", jsonBody, upstream.ParseJSON}, {"HTML", htmlBody, upstream.ParseHTML}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				page, err := tc.parse(tc.body, o)
				if err != nil || len(page.Files) != 2000 {
					b.Fatalf("%v, %d files", err, len(page.Files))
				}
			}
		})
	}
}

// BenchmarkFetchFile fetches a file from a loopback upstream into a
// staged blob of a folder store and commits it: the client's part of the
// first fetch of a proxied file (BenchmarkFirstFetch is the Proxy's).
func BenchmarkFetchFile(b *testing.B) {
	store, err := blob.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctx := context.Background()
	for _, size := range []int{1 << 20, 32 << 20, 128 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			content := make([]byte, size)
			for i := range content {
				content[i] = byte(i * 7)
			}
			srv := newBenchServer(b, content)
			up, err := upstream.ParseUpstream(srv + "/simple/")
			if err != nil {
				b.Fatal(err)
			}
			c := upstream.NewClient(up, upstream.Config{})
			defer c.Close()
			f := upstream.File{Filename: "holygrail-1.0.tar.gz", URL: srv + "/packages/holygrail-1.0.tar.gz",
				SHA256: digest(string(content)), Size: int64(size)}
			b.SetBytes(int64(size))
			for b.Loop() {
				st, err := store.Stage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got, err := c.FetchFile(ctx, f, st)
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Commit(ctx, got.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// newBenchServer serves content at every path.
func newBenchServer(b *testing.B, content []byte) string {
	return newServer(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Write(content)
	}).URL
}
