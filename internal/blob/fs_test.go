package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/groupsync"
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

// recordSyncs replaces the store's folder syncs with fn's, for the test.
func recordSyncs(t *testing.T, s *FS, fn func(path string) error) {
	t.Helper()
	s.dirs.Close()
	s.dirs = groupsync.New(fn)
}

// A commit returns after the folders whose entries it changed are synced:
// the blob's folder, and its parents until this process has synced them
// once; and a failed folder sync fails the commit.
func TestFSCommitSyncsFolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestFS(t)
	var mu sync.Mutex
	var synced []string
	var fail error
	recordSyncs(t, s, func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		rel, _ := filepath.Rel(s.dir, p)
		synced = append(synced, filepath.ToSlash(rel))
		return fail
	})
	commit := func(content string) error {
		st, err := s.Stage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Abort()
		st.Write([]byte(content))
		return st.Commit(ctx, digest(content))
	}
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		got := synced
		synced = nil
		slices.Sort(got)
		return got
	}

	sha := digest("first")
	if err := commit("first"); err != nil {
		t.Fatal(err)
	}
	leaf := "sha256/" + sha[:2] + "/" + sha[2:4]
	if got, want := taken(), []string{"sha256", "sha256/" + sha[:2], leaf}; !slices.Equal(got, want) {
		t.Fatalf("new folder: synced %v, want %v", got, want)
	}
	// Committing it again changes only the blob's folder.
	if err := commit("first"); err != nil {
		t.Fatal(err)
	}
	if got := taken(); !slices.Equal(got, []string{leaf}) {
		t.Fatalf("existing folder: synced %v, want %v", got, []string{leaf})
	}
	mu.Lock()
	fail = errors.New("folder sync failed")
	mu.Unlock()
	if err := commit("second"); err == nil || !strings.Contains(err.Error(), "folder sync failed") {
		t.Fatalf("commit with a failing folder sync: %v", err)
	}
	if err := s.Put(ctx, digest("third"), strings.NewReader("third"), 5); err == nil {
		t.Fatal("Put with a failing folder sync succeeded")
	}
}
