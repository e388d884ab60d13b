package web_test

// Benchmarks of the HTTP surface, through the real handler (routing,
// metrics middleware, negotiation, cache) on SQLite, at two index sizes,
// so that a cost that grows with the number of projects shows:
//
//	go test -run='^$' -bench=. -benchmem ./internal/web/
//
// -short skips the 100k-project index. Requests are served by calling
// ServeHTTP with an in-memory response writer that discards the body, so
// the figures are the handler's own cost; the kernel, TCP and HTTP parsing
// are measured end to end by scripts/bench.sh (wrk against a real server).

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

const (
	benchProjectName = "bench-sample" // the project the benchmarks read
	benchReleases    = 10             // its releases, each with a wheel and an sdist
	benchMediaJSON   = "application/vnd.pypi.simple.v1+json"
)

// benchIndex is a served index: benchProjectName with real files, among
// filler projects.
type benchIndex struct {
	st       *store.Store
	blobs    blob.Store
	svc      *index.Service
	srv      http.Handler
	user     *store.User
	token    string
	wheel    string // path of one of the project's wheels, /files/<sha256>/<name>
	versions atomic.Int64
}

// app assembles a server over the index's store and files as serve does
// (internal/app), with cfg's settings; cheap password hashing.
func (ix *benchIndex) app(b *testing.B, cfg app.Config) *app.App {
	b.Helper()
	cfg.BaseURL, cfg.SecretKey, cfg.Password = "http://bench.test", bytes.Repeat([]byte("k"), 32), auth.MinParams
	a, err := app.New(context.Background(), cfg, app.Deps{Store: ix.st, Blobs: ix.blobs,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	return a
}

// benchForSizes runs fn as a sub-benchmark per index size, each on its
// own index, built once for all of fn's sub-benchmarks.
func benchForSizes(b *testing.B, fn func(b *testing.B, ix *benchIndex)) {
	storetest.ForIndexSizes(b, benchNewIndex, fn)
}

// benchNewIndex builds an index of n projects: n-1 fillers inserted
// straight through the store (a project, a release and a file row each, in
// transactions of a few thousand rows: seconds for 100k), and the
// benchmark's project, uploaded through the index's real rules.
func benchNewIndex(b *testing.B, n int) *benchIndex {
	b.Helper()
	ctx := context.Background()
	st := storetest.Open(b, store.SQLite)
	blobs, err := blob.NewFS(filepath.Join(b.TempDir(), "files"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	ix := &benchIndex{st: st, blobs: blobs}
	a := ix.app(b, app.Config{})
	ix.svc, ix.srv = a.Index, a.Server

	u, t, tok := storetest.BenchOwner(b, st)
	ix.user, ix.token = u, tok

	start := time.Now()
	storetest.FillProjects(b, st, u.ID, n-1)
	p := &index.Principal{User: u, Token: t}
	for v := 1; v <= benchReleases; v++ {
		d := disttest.Dist{Name: benchProjectName, Version: fmt.Sprintf("1.%d.0", v), Summary: "A project the benchmarks read",
			RequiresPython: ">=3.9", RequiresDist: []string{"requests>=2", "click"}}
		for _, f := range []struct {
			filetype, name string
			content        []byte
		}{{"bdist_wheel", d.WheelFilename(), d.Wheel()}, {"sdist", d.SdistFilename(), d.Sdist()}} {
			in, err := ix.svc.Receive(ctx, bytes.NewReader(f.content), f.name, "application/octet-stream", d.Name)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ix.svc.Upload(ctx, p, index.Form(d.Form(f.filetype, f.content)), in); err != nil {
				b.Fatal(err)
			}
			in.Close()
			if f.filetype == "bdist_wheel" {
				ix.wheel = "/files/" + disttest.Digest(f.content).SHA256 + "/" + f.name
			}
		}
	}
	b.Logf("index of %d projects built in %s", n, time.Since(start).Round(time.Millisecond))
	return ix
}

// benchWriter is a ResponseWriter that keeps the status and counts the
// body without storing it.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// benchGet benchmarks GET path with the given headers (name, value…).
// Before the loop, one request checks the answer is 200 (and warms the
// cache); every iteration then serves the same request.
func benchGet(b *testing.B, h http.Handler, path string, headers ...string) {
	b.Helper()
	benchGetStatus(b, h, http.StatusOK, path, headers...)
}

// benchGetStatus is benchGet for an answer of the given status.
func benchGetStatus(b *testing.B, h http.Handler, status int, path string, headers ...string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := &benchWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status != status {
		b.Fatalf("GET %s: status %d, want %d", path, w.status, status)
	}
	size := w.n
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(size), "body-bytes")
	if w.status != status || w.n != size {
		b.Fatalf("GET %s: status %d, %d bytes (first: %d bytes)", path, w.status, w.n, size)
	}
}

func BenchmarkSimpleProjectPage(b *testing.B) {
	path := "/simple/" + benchProjectName + "/"
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		b.Run("json", func(b *testing.B) { benchGet(b, ix.srv, path, "Accept", benchMediaJSON) })
		b.Run("html", func(b *testing.B) { benchGet(b, ix.srv, path, "Accept", "text/html") })
		// pip's actual Accept header.
		b.Run("pip-accept", func(b *testing.B) {
			benchGet(b, ix.srv, path, "Accept", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
		})
		// A cache miss on every request: the project is read from the
		// database and rendered (what the first request after an upload
		// pays).
		b.Run("json-uncached", func(b *testing.B) {
			cache := ix.svc.Cache()
			benchGet(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cache.Invalidate(benchProjectName, false)
				ix.srv.ServeHTTP(w, r)
			}), path, "Accept", benchMediaJSON)
		})
	})
}

func BenchmarkRootIndex(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		b.Run("html", func(b *testing.B) { benchGet(b, ix.srv, "/simple/") })
		b.Run("json", func(b *testing.B) { benchGet(b, ix.srv, "/simple/", "Accept", benchMediaJSON) })
		b.Run("html-gzip", func(b *testing.B) { benchGet(b, ix.srv, "/simple/", "Accept-Encoding", "gzip") })
		b.Run("html-zstd", func(b *testing.B) { benchGet(b, ix.srv, "/simple/", "Accept-Encoding", "zstd") })
	})
}

func BenchmarkJSONAPI(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		b.Run("project", func(b *testing.B) { benchGet(b, ix.srv, "/pypi/"+benchProjectName+"/json") })
		b.Run("release", func(b *testing.B) { benchGet(b, ix.srv, "/pypi/"+benchProjectName+"/1.5.0/json") })
	})
}

func BenchmarkFileDownload(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		b.Run("wheel", func(b *testing.B) { benchGet(b, ix.srv, ix.wheel) })
		b.Run("metadata", func(b *testing.B) { benchGet(b, ix.srv, ix.wheel+".metadata") })
		b.Run("range", func(b *testing.B) {
			benchGetStatus(b, ix.srv, http.StatusPartialContent, ix.wheel, "Range", "bytes=0-99")
		})
	})
}

// BenchmarkFileDownloadCounting serves a wheel with download counting off
// and on (an app that counts downloads with a real downloads.Counter),
// from one goroutine and from every CPU at once: the difference is what
// counting costs a download. The counter is not flushed during the loop
// (a flush costs once per interval, not per download: scripts/bench.sh
// downloads measures it with the real server).
func BenchmarkFileDownloadCounting(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		counting := ix.app(b, app.Config{CountDownloads: true})
		// With a per-address limit: every request comes from the same
		// address, so all but the first are over the limit (the lookup in
		// the day's set is the cost).
		limiting := ix.app(b, app.Config{CountDownloads: true, Downloads: downloads.Policy{PerAddress: 1}})
		for _, h := range []struct {
			name string
			srv  http.Handler
		}{{"off", ix.srv}, {"on", counting.Server}, {"limited", limiting.Server}} {
			b.Run("serial/counting="+h.name, func(b *testing.B) { benchGet(b, h.srv, ix.wheel) })
			b.Run("parallel/counting="+h.name, func(b *testing.B) { benchGetParallel(b, h.srv, ix.wheel) })
		}
		if counting.Downloads.Pending() == 0 {
			b.Fatal("nothing counted")
		}
	})
}

// benchGetParallel is benchGet from GOMAXPROCS goroutines at once.
func benchGetParallel(b *testing.B, h http.Handler, path string) {
	b.Helper()
	w := &benchWriter{h: http.Header{}}
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if w.status != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, w.status)
	}
	var failed atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	if n := failed.Load(); n > 0 {
		b.Fatalf("GET %s: %d answers were not 200", path, n)
	}
}

// benchUpload is a ready-to-send upload request body.
type benchUpload struct {
	contentType string
	body        []byte
}

// benchNewUpload builds what twine sends for a new tiny wheel of the
// benchmark's project: the metadata fields, then the file.
func (ix *benchIndex) benchNewUpload(b *testing.B) benchUpload {
	d := disttest.Dist{Name: benchProjectName, Version: fmt.Sprintf("2.0.%d", ix.versions.Add(1)), Summary: "A project the benchmarks read",
		RequiresPython: ">=3.9", RequiresDist: []string{"requests>=2"}}
	content := d.Wheel()
	form := d.Form("bdist_wheel", content)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			mw.WriteField(k, v)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="content"; filename="`+d.WheelFilename()+`"`)
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		b.Fatal(err)
	}
	pw.Write(content)
	mw.Close()
	return benchUpload{contentType: mw.FormDataContentType(), body: buf.Bytes()}
}

// benchPost sends one upload through the handler and fails on a non-200.
func (ix *benchIndex) benchPost(b *testing.B, u benchUpload, auth string) {
	req := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(u.body))
	req.Header.Set("Content-Type", u.contentType)
	req.Header.Set("Authorization", auth)
	w := &benchWriter{h: http.Header{}}
	ix.srv.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		b.Errorf("upload: status %d", w.status)
	}
}

// BenchmarkUpload uploads a new version of a small wheel per iteration
// through the full HTTP upload handler (multipart parsing, token
// authentication, archive inspection, blobs with their fsyncs, database
// transaction), serially and with 4 concurrent uploaders. The request
// bodies are built before the timer starts.
func BenchmarkUpload(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+ix.token))
		b.Run("serial", func(b *testing.B) {
			ups := make([]benchUpload, b.N)
			for i := range ups {
				ups[i] = ix.benchNewUpload(b)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ix.benchPost(b, ups[i], auth)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
		})
		b.Run("concurrent=4", func(b *testing.B) {
			ups := make(chan benchUpload, b.N)
			for range b.N {
				ups <- ix.benchNewUpload(b)
			}
			close(ups)
			b.ReportAllocs()
			b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0))) // 4 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ix.benchPost(b, <-ups, auth)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
		})
	})
}

// benchUpstream is an index.Upstream serving one prepared proxied page
// from memory: what a proxied read costs once the proxy holds the page
// (the resolution and the handler), without the proxy's own work.
type benchUpstream struct{ page *index.ProxiedPage }

func (u benchUpstream) Project(_ context.Context, normalized string) (*index.ProxiedPage, error) {
	if normalized != u.page.Name {
		return nil, store.ErrNotFound
	}
	return u.page, nil
}

func (benchUpstream) File(context.Context, string, string, bool) (*index.ProxiedFile, error) {
	return nil, store.ErrNotFound
}

func (benchUpstream) Name(context.Context, string) (index.UpstreamName, error) {
	return index.UpstreamName{}, nil
}

func (benchUpstream) Quarantine(context.Context, *store.User, audit.Meta, string, string) error {
	return nil
}
func (benchUpstream) Release(context.Context, *store.User, audit.Meta, string) error { return nil }
func (benchUpstream) Invalidate(string)                                              {}

// BenchmarkSimpleProxiedCached reads a proxied project's page held in
// memory by the proxy (the same bodies as the local project's), next to
// the local project's page on the same server with the proxy on: the
// resolution of a proxied name (remembered, no database query) and of a
// local one must cost about what the local read costs without a proxy
// (BenchmarkSimpleProjectPage).
func BenchmarkSimpleProxiedCached(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		local, err := ix.svc.Cache().Project(context.Background(), benchProjectName)
		if err != nil {
			b.Fatal(err)
		}
		up := benchUpstream{page: &index.ProxiedPage{UpstreamProjectID: 1, Name: "bench-proxied", LastSerial: 1,
			HTML: local.HTML, JSON: local.JSON}}
		a, err := app.New(context.Background(), app.Config{BaseURL: "http://bench.test", SecretKey: bytes.Repeat([]byte("k"), 32),
			Password: auth.MinParams}, app.Deps{Store: ix.st, Blobs: ix.blobs, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Registry: prometheus.NewRegistry(), Upstream: up})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(a.Close)
		b.Run("proxied-json", func(b *testing.B) { benchGet(b, a.Server, "/simple/bench-proxied/", "Accept", benchMediaJSON) })
		b.Run("local-json", func(b *testing.B) { benchGet(b, a.Server, "/simple/"+benchProjectName+"/", "Accept", benchMediaJSON) })
	})
}
