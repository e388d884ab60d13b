package upstream_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/upstream"
)

// BenchmarkProjectCached reads a proxied page fresh in memory: what every
// read of a proxied project costs between refreshes (the rules are read
// from memory too). Compare with index's BenchmarkProjectLoad (a local
// page loaded and rendered) and web's BenchmarkSimpleProjectPage.
func BenchmarkProjectCached(b *testing.B) {
	ctx := context.Background()
	up := newFakeIndex(b)
	var files []fakeFile
	for i := range 50 {
		files = append(files, wheel("demo", fmt.Sprintf("1.%d", i), t0.Add(-time.Hour)))
	}
	up.set("demo", files...)
	p := newProxyFixture(b, storetest.Open(b, store.SQLite), upstream.ProxyConfig{}, up).proxy(b)
	if _, err := p.Project(ctx, "demo"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Project(ctx, "demo"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBody writes file i of size bytes: a 64 KiB block marked with i,
// repeated.
func benchBody(w io.Writer, i int, size int64) error {
	mark := fmt.Sprintf("file %d ", i)
	block := []byte(strings.Repeat(mark, (64<<10)/len(mark)+1)[:64<<10])
	for size > 0 {
		n := min(size, int64(len(block)))
		if _, err := w.Write(block[:n]); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

// BenchmarkFirstFetch fetches, verifies and stores a new proxied file per
// iteration from an httptest upstream on loopback into an FS blob store:
// the first download of a file through the proxy (MB/s), and how long
// its first byte waited (ms-first-byte): the whole fetch up to 32 MiB,
// one block of a stream above.
func BenchmarkFirstFetch(b *testing.B) {
	for _, size := range []int64{1 << 20, 32 << 20, 128 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			benchFirstFetch(b, size)
		})
	}
}

func benchFirstFetch(b *testing.B, size int64) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /files/bench-1.<i>-py3-none-any.whl
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/files/bench-1."), "-py3-none-any.whl"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		benchBody(w, i, size)
	}))
	b.Cleanup(srv.Close)
	fake := &fakeIndex{Server: srv}
	st := storetest.Open(b, store.SQLite)
	fx := newProxyFixture(b, st, upstream.ProxyConfig{}, fake)
	p := fx.proxy(b)
	rows := make([]*store.UpstreamFile, b.N)
	for i := range rows {
		h := sha256.New()
		benchBody(h, i, size)
		name := fmt.Sprintf("bench-1.%d-py3-none-any.whl", i)
		rows[i] = &store.UpstreamFile{SHA256: hex.EncodeToString(h.Sum(nil)), Filename: name, URL: srv.URL + "/files/" + name,
			Version: fmt.Sprintf("1.%d", i), Size: size, UploadTime: t0.Add(-time.Hour)}
	}
	proj := &store.UpstreamProject{Name: "bench", NormalizedName: "bench", Upstream: fx.cfg.Upstreams[0].String(), Found: true}
	if _, err := st.SaveUpstreamPage(ctx, proj, rows, t0); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	var firstByte time.Duration
	buf := make([]byte, 32<<10)
	for i := range b.N {
		start := time.Now()
		f, err := p.File(ctx, rows[i].SHA256, rows[i].Filename, false)
		if err != nil || f.Size != size {
			b.Fatalf("%v, %+v", err, f)
		}
		if f.Stream == nil {
			firstByte += time.Since(start)
			continue
		}
		if _, err := io.ReadFull(f.Stream, buf[:1]); err != nil {
			b.Fatal(err)
		}
		firstByte += time.Since(start)
		n, err := io.CopyBuffer(io.Discard, f.Stream, buf)
		f.Stream.Close()
		if err != nil || n+1 != size {
			b.Fatalf("streamed %d bytes of %d: %v", n+1, size, err)
		}
	}
	b.ReportMetric(float64(firstByte.Milliseconds())/float64(b.N), "ms-first-byte")
}
