package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// newTestFS opens an FS in a new temporary folder, closed when the test
// ends.
func newTestFS(t *testing.T) *FS {
	t.Helper()
	s, err := NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFSStageCommitOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestFS(t)
	data := []byte("hello wheel")
	sha := digest(data)

	st, err := s.Stage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Write(data)
	buf := make([]byte, 5)
	if _, err := st.ReaderAt().ReadAt(buf, 0); err != nil || string(buf) != "hello" {
		t.Fatalf("ReaderAt before commit = %q, %v", buf, err)
	}
	if ok, _ := Exists(ctx, s, sha); ok {
		t.Fatal("a staged blob is visible before commit")
	}
	if err := st.Commit(ctx, sha); err != nil {
		t.Fatal(err)
	}
	if err := st.Abort(); err != nil {
		t.Fatalf("Abort after Commit = %v, want nil", err)
	}
	obj, err := s.Open(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj)
	obj.Close()
	if string(got) != string(data) || obj.Size() != int64(len(data)) {
		t.Fatalf("Open = %q (size %d)", got, obj.Size())
	}

	// Aborted content never becomes visible, and leaves no file behind.
	st2, _ := s.Stage(ctx)
	st2.Write([]byte("partial"))
	st2.Abort()
	if entries, _ := os.ReadDir(s.spool.dir); len(entries) != 0 {
		t.Fatalf("staging folder not empty after abort: %v", entries)
	}
	if _, err := s.Open(ctx, digest([]byte("partial"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(aborted) = %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "../../etc/passwd", "ABCDEF", sha[:63]} {
		if _, err := s.Open(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	if err := st2.Commit(ctx, sha); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	if err := s.Delete(ctx, sha); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(ctx, s, sha); ok {
		t.Fatal("deleted blob still exists")
	}
}

func TestFSPutBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestFS(t)
	sha, err := PutBytes(ctx, s, []byte("Metadata-Version: 2.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sha != digest([]byte("Metadata-Version: 2.1\n")) {
		t.Fatalf("PutBytes digest %s", sha)
	}
	if sha2, err := PutBytes(ctx, s, []byte("Metadata-Version: 2.1\n")); err != nil || sha2 != sha {
		t.Fatalf("second PutBytes = %s, %v", sha2, err)
	}
}

// A process that dies mid-upload leaves its staging folder; the next
// process removes it, but never the folder of a live process.
func TestFSCleanTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	st, _ := live.Stage(context.Background())
	st.Write([]byte("in flight"))

	// Simulate a dead process: a staging folder whose lock nobody holds.
	dead := filepath.Join(dir, "tmp", "pdead")
	os.MkdirAll(dead, 0o750)
	os.WriteFile(filepath.Join(dead, "upload-1"), []byte("half a wheel"), 0o600)
	os.WriteFile(dead+".lock", nil, 0o600)

	next, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	n, err := next.CleanTemp()
	if err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d, %v; want 1 abandoned folder removed", n, err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("abandoned staging folder still there")
	}
	if entries, _ := os.ReadDir(live.spool.dir); len(entries) != 1 {
		t.Fatalf("live process's staged upload was removed: %v", entries)
	}
}
