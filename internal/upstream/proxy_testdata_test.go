package upstream_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/upstream"
)

// TestProxyTestdataPages proxies the minimal pages of testdata, PEP 691
// JSON and PEP 503 HTML with relative file URLs, and fetches their files.
func TestProxyTestdataPages(t *testing.T) {
	for _, tc := range []struct {
		page, contentType string
		files             map[string]string // filename → body
	}{
		{"minimal.json", "application/vnd.pypi.simple.v1+json", map[string]string{"holygrail-2.0.tar.gz": "a"}},
		{"minimal.html", "text/html", map[string]string{"holygrail-2.0.tar.gz": "a", "holygrail-2.0-py3-none-any.whl": "b"}},
	} {
		t.Run(tc.page, func(t *testing.T) {
			body, err := os.ReadFile("testdata/pages/" + tc.page)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/simple/holygrail/":
					w.Header().Set("Content-Type", tc.contentType)
					w.Write(body)
				case "/packages/holygrail-2.0.tar.gz":
					io.WriteString(w, "a")
				case "/simple/holygrail/holygrail-2.0-py3-none-any.whl":
					io.WriteString(w, "b")
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				p := newProxyFixture(t, st, upstream.ProxyConfig{}, &fakeIndex{Server: srv}).proxy(t)
				page, err := p.Project(ctx, "holygrail")
				if err != nil {
					t.Fatal(err)
				}
				if got := len(parsePage(t, page).Files); got != len(tc.files) {
					t.Fatalf("%d files listed, want %d:\n%s", got, len(tc.files), page.JSON.Body)
				}
				for name, content := range tc.files {
					f, err := p.File(ctx, sum([]byte(content)), name, false)
					if err != nil || f.Size != int64(len(content)) {
						t.Fatalf("%s: %v, %+v", name, err, f)
					}
				}
			})
		})
	}
}
