// Package blobtest holds the conformance suite every blob.Store backend
// passes, and its benchmarks, so that the folder and the S3 store are held
// to one contract (as athens does for its storage backends).
package blobtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/blob"
)

// Harness tells the suite how to make stores of one backend.
type Harness struct {
	// New returns an empty store of its own (its own folder, or its own
	// prefix in a bucket), closed when tb ends.
	New func(tb testing.TB) blob.Store
	// Age, when set, makes the blob sha look written d ago, so that the
	// suite can check that committing it again refreshes its time. Stores
	// that cannot backdate (S3) leave it nil.
	Age func(tb testing.TB, s blob.Store, sha string, d time.Duration)
}

// Run runs the conformance suite against the backend h makes.
func Run(t *testing.T, h Harness) {
	t.Run("Missing", func(t *testing.T) { t.Parallel(); testMissing(t, h.New(t)) })
	t.Run("StageCommitOpen", func(t *testing.T) { t.Parallel(); testStageCommitOpen(t, h.New(t)) })
	t.Run("StagedInvisible", func(t *testing.T) { t.Parallel(); testStagedInvisible(t, h.New(t)) })
	t.Run("CommitExisting", func(t *testing.T) { t.Parallel(); testCommitExisting(t, h) })
	t.Run("PutSizes", func(t *testing.T) { t.Parallel(); testPutSizes(t, h.New(t)) })
	t.Run("PutRefusesWrongContent", func(t *testing.T) { t.Parallel(); testPutWrong(t, h.New(t)) })
	t.Run("Ranges", func(t *testing.T) { t.Parallel(); testRanges(t, h.New(t)) })
	t.Run("Walk", func(t *testing.T) { t.Parallel(); testWalk(t, h.New(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDelete(t, h.New(t)) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, h.New(t)) })
	t.Run("Probe", func(t *testing.T) { t.Parallel(); testProbe(t, h.New(t)) })
}

// Digest is the hex SHA-256 of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Commit stages data and commits it, failing tb on error. It returns the
// digest.
func Commit(tb testing.TB, s blob.Store, data []byte) string {
	tb.Helper()
	ctx := context.Background()
	st, err := s.Stage(ctx)
	if err != nil {
		tb.Fatalf("Stage: %v", err)
	}
	defer st.Abort()
	if _, err := st.Write(data); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	sha := Digest(data)
	if err := st.Commit(ctx, sha); err != nil {
		tb.Fatalf("Commit: %v", err)
	}
	return sha
}

// ReadAll opens sha and returns its bytes and the object's Size.
func ReadAll(tb testing.TB, s blob.Store, sha string) ([]byte, int64) {
	tb.Helper()
	obj, err := s.Open(context.Background(), sha)
	if err != nil {
		tb.Fatalf("Open(%s): %v", sha, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		tb.Fatalf("read %s: %v", sha, err)
	}
	return b, obj.Size()
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := context.Background()
	sha := Digest([]byte("never written"))
	for _, name := range []string{sha, "", "../../etc/passwd", strings.ToUpper(sha), sha[:63], sha + "0", "sha256/" + sha[:57]} {
		if _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", name, err)
		}
		if _, err := s.Stat(ctx, name); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", name, err)
		}
		if err := s.Delete(ctx, name); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", name, err)
		}
	}
	if ok, err := blob.Exists(ctx, s, sha); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
}

func testStageCommitOpen(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("hello wheel, hello sdist")
	sha := Digest(data)
	before := time.Now()

	st, err := s.Stage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Write(data[:6])
	st.Write(data[6:])
	buf := make([]byte, 5)
	if _, err := st.ReaderAt().ReadAt(buf, 6); err != nil || string(buf) != "wheel" {
		t.Fatalf("ReaderAt before commit = %q, %v", buf, err)
	}
	if err := st.Commit(ctx, sha); err != nil {
		t.Fatal(err)
	}
	if err := st.Abort(); err != nil {
		t.Fatalf("Abort after Commit = %v, want nil", err)
	}
	if err := st.Commit(ctx, sha); err == nil {
		t.Fatal("a second Commit succeeded")
	}
	got, size := ReadAll(t, s, sha)
	if string(got) != string(data) || size != int64(len(data)) {
		t.Fatalf("Open = %q (size %d)", got, size)
	}
	info, err := s.Stat(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA256 != sha || info.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v", info)
	}
	// The store's clock (an S3 server's) may differ a little from ours.
	if d := info.ModTime.Sub(before); d < -time.Minute || d > time.Minute {
		t.Fatalf("Stat ModTime %v, want about %v", info.ModTime, before)
	}
	obj, err := s.Open(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if !obj.ModTime().Equal(info.ModTime) {
		t.Errorf("Open ModTime %v, Stat ModTime %v", obj.ModTime(), info.ModTime)
	}
	obj.Close()
}

func testStagedInvisible(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("partial upload")
	sha := Digest(data)
	st, err := s.Stage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Write(data)
	assertMissing(t, s, sha)
	if err := st.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := st.Abort(); err != nil {
		t.Fatalf("second Abort = %v", err)
	}
	assertMissing(t, s, sha)
	if err := st.Commit(ctx, sha); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	assertMissing(t, s, sha)
	st2, _ := s.Stage(ctx)
	st2.Write(data)
	if err := st2.Commit(ctx, "not-a-digest"); err == nil {
		t.Fatal("Commit with an invalid digest succeeded")
	}
	st2.Abort()
	if n := walkAll(t, s); len(n) != 0 {
		t.Fatalf("Walk lists %v after aborted uploads", n)
	}
}

func assertMissing(t *testing.T, s blob.Store, sha string) {
	t.Helper()
	if _, err := s.Stat(context.Background(), sha); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat(uncommitted) = %v, want ErrNotFound", err)
	}
	if _, err := s.Open(context.Background(), sha); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(uncommitted) = %v, want ErrNotFound", err)
	}
}

func testCommitExisting(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	data := []byte("the same wheel, uploaded twice")
	sha := Commit(t, s, data)
	first, err := s.Stat(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if h.Age != nil {
		h.Age(t, s, sha, 48*time.Hour)
		if old, _ := s.Stat(ctx, sha); time.Since(old.ModTime) < 47*time.Hour {
			t.Fatalf("Age did not backdate the blob: %v", old.ModTime)
		}
	}
	if again := Commit(t, s, data); again != sha {
		t.Fatal("digest changed")
	}
	if _, err := blob.PutBytes(ctx, s, data); err != nil {
		t.Fatalf("PutBytes of an existing blob: %v", err)
	}
	got, _ := ReadAll(t, s, sha)
	if string(got) != string(data) {
		t.Fatalf("content after recommit = %q", got)
	}
	info, err := s.Stat(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	if info.ModTime.Before(first.ModTime) || time.Since(info.ModTime) > time.Hour {
		t.Fatalf("recommit left ModTime %v (first %v): garbage collection could remove a blob an upload vouches for", info.ModTime, first.ModTime)
	}
}

// patterned is a deterministic, incompressible stream of n bytes.
func patterned(seed uint64, n int64) io.Reader {
	return io.LimitReader(&prngReader{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}, n)
}

type prngReader struct{ r *rand.Rand }

func (p *prngReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.r.Uint32())
	}
	return len(b), nil
}

func digestOf(r io.Reader) string {
	h := sha256.New()
	io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil))
}

const mib = 1 << 20

func testPutSizes(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for i, n := range []int64{0, 1, 16*mib - 1, 16 * mib, 16*mib + 1, 40 * mib} {
		seed := uint64(i + 1)
		sha := digestOf(patterned(seed, n))
		if err := s.Put(ctx, sha, patterned(seed, n), n); err != nil {
			t.Fatalf("Put(%d bytes): %v", n, err)
		}
		info, err := s.Stat(ctx, sha)
		if err != nil || info.Size != n {
			t.Fatalf("Stat after Put(%d bytes) = %+v, %v", n, info, err)
		}
		obj, err := s.Open(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		got := digestOf(obj)
		obj.Close()
		if got != sha {
			t.Fatalf("Put(%d bytes) read back with digest %s, want %s", n, got, sha)
		}
	}
}

func testPutWrong(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("what the client sent")
	sha := Digest(data)
	other := Digest([]byte("what it claimed"))
	cases := []struct {
		name string
		sha  string
		r    io.Reader
		size int64
	}{
		{"wrong digest", other, strings.NewReader(string(data)), int64(len(data))},
		{"shorter than size", sha, strings.NewReader(string(data[:5])), int64(len(data))},
		{"longer than size", Digest(data[:5]), strings.NewReader(string(data)), 5},
		{"invalid digest", "../x", strings.NewReader(string(data)), int64(len(data))},
		{"failing reader", sha, io.MultiReader(strings.NewReader("what"), errReader{}), int64(len(data))},
	}
	for _, c := range cases {
		if err := s.Put(ctx, c.sha, c.r, c.size); err == nil {
			t.Errorf("Put with %s succeeded", c.name)
		}
	}
	for _, d := range []string{sha, other, Digest(data[:5])} {
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("after refused Puts, Stat(%s) = %v, want ErrNotFound", d, err)
		}
	}
	if n := walkAll(t, s); len(n) != 0 {
		t.Fatalf("Walk lists %v after refused Puts", n)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("client went away") }

func testRanges(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	sha := Commit(t, s, data)
	obj, err := s.Open(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if _, err := obj.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(obj, buf); err != nil || string(buf) != "abcdef" {
		t.Fatalf("Seek(10)+Read = %q, %v", buf, err)
	}
	if _, err := obj.Seek(-3, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(obj); err != nil || string(rest) != "xyz" {
		t.Fatalf("Seek(-3, end)+Read = %q, %v", rest, err)
	}

	etag := `"` + sha + `"`
	cases := []struct {
		header, value string
		status        int
		body          string
	}{
		{"", "", 200, string(data)},
		{"Range", "bytes=5-9", 206, "56789"},
		{"Range", "bytes=-3", 206, "xyz"},
		{"Range", "bytes=30-", 206, "uvwxyz"},
		{"Range", "bytes=100-200", 416, ""},
		{"If-None-Match", etag, 304, ""},
	}
	for _, c := range cases {
		obj, err := s.Open(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/files/x.whl", nil)
		if c.header != "" {
			req.Header.Set(c.header, c.value)
		}
		rec := httptest.NewRecorder()
		rec.Header().Set("ETag", etag)
		http.ServeContent(rec, req, "x.whl", obj.ModTime(), obj)
		obj.Close()
		if rec.Code != c.status || (c.body != "" && rec.Body.String() != c.body) {
			t.Errorf("%s: %s → %d %q, want %d %q", c.header, c.value, rec.Code, rec.Body.String(), c.status, c.body)
		}
	}
	// Two ranges: a multipart answer with both parts.
	obj2, _ := s.Open(ctx, sha)
	req := httptest.NewRequest("GET", "/files/x.whl", nil)
	req.Header.Set("Range", "bytes=0-1,34-35")
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "x.whl", obj2.ModTime(), obj2)
	obj2.Close()
	if body := rec.Body.String(); rec.Code != 206 || !strings.Contains(body, "\r\n\r\n01\r\n") || !strings.Contains(body, "\r\n\r\nyz\r\n") {
		t.Errorf("multi-range → %d %q", rec.Code, body)
	}
}

func walkAll(t *testing.T, s blob.Store) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := s.Walk(context.Background(), func(b blob.Info) error {
		if _, dup := got[b.SHA256]; dup {
			return fmt.Errorf("%s listed twice", b.SHA256)
		}
		got[b.SHA256] = b.Size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

func testWalk(t *testing.T, s blob.Store) {
	ctx := context.Background()
	want := map[string]int64{}
	for i := range 25 {
		data := []byte(strings.Repeat("w", i+1))
		want[Commit(t, s, data)] = int64(len(data))
	}
	st, _ := s.Stage(ctx)
	st.Write([]byte("staged, never committed"))
	defer st.Abort()
	if err := s.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	got := walkAll(t, s)
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Fatalf("Walk = %v\nwant %v", got, want)
	}
	// An error from fn stops the walk and comes back.
	stop := errors.New("stop")
	n := 0
	err := s.Walk(ctx, func(blob.Info) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Walk with a failing fn: %d calls, %v", n, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Walk(cctx, func(blob.Info) error { return nil }); err == nil {
		t.Fatal("Walk with a cancelled context succeeded")
	}
}

func sorted(m map[string]int64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s:%d", k, v))
	}
	sort.Strings(out)
	return out
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	keep := Commit(t, s, []byte("kept"))
	gone := Commit(t, s, []byte("deleted"))
	for range 2 {
		if err := s.Delete(ctx, gone); err != nil {
			t.Fatal(err)
		}
	}
	assertMissing(t, s, gone)
	if got, _ := ReadAll(t, s, keep); string(got) != "kept" {
		t.Fatalf("the other blob reads %q", got)
	}
	if n := walkAll(t, s); len(n) != 1 {
		t.Fatalf("Walk after Delete = %v", n)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	same := []byte("one wheel, sixteen uploaders")
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- commitErr(s, same)
		}()
		go func() {
			defer wg.Done()
			errs <- commitErr(s, fmt.Appendf(nil, "wheel number %d", i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := ReadAll(t, s, Digest(same)); string(got) != string(same) {
		t.Fatalf("shared blob reads %q", got)
	}
	for i := range 16 {
		data := fmt.Appendf(nil, "wheel number %d", i)
		if got, _ := ReadAll(t, s, Digest(data)); string(got) != string(data) {
			t.Fatalf("blob %d reads %q", i, got)
		}
	}
	if n := walkAll(t, s); len(n) != 17 {
		t.Fatalf("Walk lists %d blobs, want 17", len(n))
	}
}

func commitErr(s blob.Store, data []byte) error {
	ctx := context.Background()
	st, err := s.Stage(ctx)
	if err != nil {
		return err
	}
	defer st.Abort()
	if _, err := st.Write(data); err != nil {
		return err
	}
	return st.Commit(ctx, Digest(data))
}

func testProbe(t *testing.T, s blob.Store) {
	for range 3 {
		if err := s.Probe(context.Background()); err != nil {
			t.Fatalf("Probe: %v", err)
		}
	}
	if n := walkAll(t, s); len(n) != 0 {
		t.Fatalf("Probe left %v", n)
	}
}

// Benchmark measures committing and reading blobs of typical and large
// distribution sizes through the backend newStore makes.
func Benchmark(b *testing.B, newStore func(tb testing.TB) blob.Store) {
	for _, size := range []int64{1 * mib, 64 * mib} {
		name := fmt.Sprintf("%dMiB", size/mib)
		b.Run("Commit/"+name, func(b *testing.B) {
			s := newStore(b)
			data := make([]byte, size)
			io.ReadFull(patterned(uint64(size), size), data)
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				// A different blob each time: the last 8 bytes count.
				copy(data[size-8:], fmt.Appendf(nil, "%08d", i%100000000))
				if err := commitErr(s, data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Read/"+name, func(b *testing.B) {
			s := newStore(b)
			data := make([]byte, size)
			io.ReadFull(patterned(uint64(size)+1, size), data)
			sha := Commit(b, s, data)
			b.SetBytes(size)
			for b.Loop() {
				obj, err := s.Open(context.Background(), sha)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, obj); err != nil {
					b.Fatal(err)
				}
				obj.Close()
			}
		})
	}
}
