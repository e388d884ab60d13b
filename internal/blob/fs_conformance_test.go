package blob_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
)

func newFS(tb testing.TB) blob.Store {
	tb.Helper()
	s, err := blob.NewFS(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestFSConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, blobtest.Harness{
		New: newFS,
		Age: func(tb testing.TB, s blob.Store, sha string, d time.Duration) {
			p := filepath.Join(s.(*blob.FS).String(), filepath.FromSlash(blob.Key(sha)))
			old := time.Now().Add(-d)
			if err := os.Chtimes(p, old, old); err != nil {
				tb.Fatal(err)
			}
		},
	})
}

// A full disk refuses a commit as a storage fault (Full), leaves no blob
// and no spool file, and the store works again once space is freed.
func TestFSFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := blobtest.SmallDisk(t, "4m")
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := bytes.Repeat([]byte("wheel bytes "), 6<<20/12)
	st, err := s.Stage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := st.Write(big)
	if werr == nil {
		werr = st.Commit(ctx, blobtest.Digest(big))
	}
	st.Abort()
	if reason, ok := blob.FaultReason(werr); !ok || reason != blob.Full {
		t.Fatalf("writing 6 MiB to a 4 MiB disk: %v (reason %q), want a Full fault", werr, reason)
	}
	err = s.Put(ctx, blobtest.Digest(big), bytes.NewReader(big), int64(len(big)))
	if reason, _ := blob.FaultReason(err); reason != blob.Full {
		t.Fatalf("Put of 6 MiB to a 4 MiB disk: %v, want a Full fault", err)
	}
	if _, err := s.Stat(ctx, blobtest.Digest(big)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after a failed commit = %v", err)
	}
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("Probe with space left = %v", err)
	}
	small := []byte("a small wheel")
	if got, _ := blobtest.ReadAll(t, s, blobtest.Commit(t, s, small)); !bytes.Equal(got, small) {
		t.Fatalf("after the failure, a small blob reads %q", got)
	}
}

func BenchmarkFS(b *testing.B) { blobtest.Benchmark(b, newFS) }
