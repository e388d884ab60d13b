package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
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

// Committed, aborted and refused content leaves nothing in the spool.
func TestFSSpoolEmptyAfterUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestFS(t)
	st, _ := s.Stage(ctx)
	st.Write([]byte("committed"))
	if err := st.Commit(ctx, digest("committed")); err != nil {
		t.Fatal(err)
	}
	st2, _ := s.Stage(ctx)
	st2.Write([]byte("aborted"))
	st2.Abort()
	if err := s.Put(ctx, digest("put"), strings.NewReader("put"), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, digest("put"), strings.NewReader("refused"), 7); err == nil {
		t.Fatal("Put with a wrong digest succeeded")
	}
	if err := s.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(s.spool.dir); len(entries) != 0 {
		t.Fatalf("spool not empty: %v", entries)
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
