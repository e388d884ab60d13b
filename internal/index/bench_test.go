package index

// Benchmarks of the index below HTTP, on SQLite, at two index sizes:
//
//	go test -run='^$' -bench=. -benchmem ./internal/index/
//
// -short skips the 100k-project index. The HTTP-level benchmarks are in
// internal/web/bench_test.go; scripts/bench.sh runs both.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"cheeseshop/internal/audit"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

const (
	benchProjectName = "bench-sample"
	benchReleases    = 10 // each with a wheel and an sdist
)

// benchIndex is an index of filler projects plus benchProjectName, which
// has real files.
type benchIndex struct {
	st       *store.Store
	svc      *Service
	p        *Principal
	token    string
	versions atomic.Int64
}

// benchForSizes runs fn as a sub-benchmark per index size, each on its
// own index, built once for all of fn's sub-benchmarks.
func benchForSizes(b *testing.B, fn func(b *testing.B, ix *benchIndex)) {
	storetest.ForIndexSizes(b, benchNewIndex, fn)
}

func benchNewIndex(b *testing.B, n int) *benchIndex {
	b.Helper()
	st := storetest.Open(b, store.SQLite)
	blobs, err := blob.NewFS(filepath.Join(b.TempDir(), "files"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	svc := New(st, blobs, Config{BaseURL: "http://bench.test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	u, t, tok := storetest.BenchOwner(b, st)
	ix := &benchIndex{st: st, svc: svc, p: &Principal{User: u, Token: t}, token: tok}
	storetest.FillProjects(b, st, u.ID, n-1)
	for v := 1; v <= benchReleases; v++ {
		d := disttest.Dist{Name: benchProjectName, Version: fmt.Sprintf("1.%d.0", v), Summary: "A project the benchmarks read",
			RequiresPython: ">=3.9", RequiresDist: []string{"requests>=2", "click"}}
		if err := ix.benchUpload(d, "bdist_wheel", d.WheelFilename(), d.Wheel()); err != nil {
			b.Fatal(err)
		}
		if err := ix.benchUpload(d, "sdist", d.SdistFilename(), d.Sdist()); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}

// benchUpload uploads a file as the HTTP layer does: Receive, then Upload.
func (ix *benchIndex) benchUpload(d disttest.Dist, filetype, filename string, content []byte) error {
	ctx := context.Background()
	in, err := ix.svc.Receive(ctx, bytes.NewReader(content), filename, "application/octet-stream", d.Name)
	if err != nil {
		return err
	}
	defer in.Close()
	res, err := ix.svc.Upload(ctx, ix.p, Form(d.Form(filetype, content)), in)
	if err != nil {
		return fmt.Errorf("upload of %s: %w", filename, err)
	}
	if res.Existing {
		return fmt.Errorf("upload of %s: the file was already there", filename)
	}
	return nil
}

// BenchmarkRootBuild is the cost of rebuilding the /simple/ project list
// (database read, sort, HTML and JSON rendering, gzip of both), which the
// cache pays after a project is created or removed.
func BenchmarkRootBuild(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		ctx := context.Background()
		b.ReportAllocs()
		var p *RootPage
		for b.Loop() {
			var err error
			if p, err = ix.svc.cache.buildRoot(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(p.HTML.Len()), "html-bytes")
	})
}

// BenchmarkProjectLoad is a project-page cache miss: the project read
// from the database and rendered as HTML and JSON.
func BenchmarkProjectLoad(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			v, err := ix.svc.LoadProject(ctx, benchProjectName)
			if err != nil {
				b.Fatal(err)
			}
			renderProjectHTML(v)
			renderProjectJSON(v)
		}
	})
}

// BenchmarkAuthenticateToken is the token check every upload starts with
// (a lookup, and a write: the token's last use).
func BenchmarkAuthenticateToken(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ix.svc.AuthenticateToken(ctx, ix.token, audit.Meta{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchWheel is a ready upload: the form and the file.
type benchWheel struct {
	d       disttest.Dist
	content []byte
}

func (ix *benchIndex) benchNextWheel() benchWheel {
	d := disttest.Dist{Name: benchProjectName, Version: fmt.Sprintf("2.0.%d", ix.versions.Add(1)), Summary: "A project the benchmarks read",
		RequiresPython: ">=3.9", RequiresDist: []string{"requests>=2"}}
	return benchWheel{d: d, content: d.Wheel()}
}

// BenchmarkServiceUpload uploads a new version of a small wheel per
// iteration through index.Service (Receive, then Upload), without HTTP:
// serially, and with 4 concurrent uploaders. The wheels are built before
// the timer starts.
func BenchmarkServiceUpload(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		b.Run("serial", func(b *testing.B) {
			ws := make([]benchWheel, b.N)
			for i := range ws {
				ws[i] = ix.benchNextWheel()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for _, w := range ws {
				if err := ix.benchUpload(w.d, "bdist_wheel", w.d.WheelFilename(), w.content); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
		})
		b.Run("concurrent=4", func(b *testing.B) {
			ws := make(chan benchWheel, b.N)
			for range b.N {
				ws <- ix.benchNextWheel()
			}
			close(ws)
			b.ReportAllocs()
			b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := <-ws
					if err := ix.benchUpload(w.d, "bdist_wheel", w.d.WheelFilename(), w.content); err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
		})
	})
}
