package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestCacheFollowsOtherReplicas: two services share a database and a blob
// folder, as two replicas do. What one publishes reaches the other's
// cached pages once it reads the journal.
func TestCacheFollowsOtherReplicas(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		a := newFixture(t, d, Config{})
		blobs, err := blob.NewFS(filepath.Join(a.dir, "files"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { blobs.Close() })
		b := New(a.st, blobs, Config{BaseURL: "http://index.test"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := a.svc.cache.startFollowing(ctx); err != nil {
			t.Fatal(err)
		}

		alice := a.user("alice")
		a.mustWheel(alice, disttest.Dist{Name: "shared", Version: "1.0"})
		page, err := a.svc.Cache().Project(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		root, err := a.svc.Cache().Root(ctx)
		if err != nil || root.Projects != 1 {
			t.Fatalf("root = %+v, %v", root, err)
		}

		// Replica b publishes a new version and a new project.
		for _, d := range []disttest.Dist{{Name: "shared", Version: "2.0"}, {Name: "fresh", Version: "1.0"}} {
			w := d.Wheel()
			in, err := b.Receive(ctx, bytes.NewReader(w), d.WheelFilename(), "application/octet-stream", d.Name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Upload(ctx, alice, Form(d.Form("bdist_wheel", w)), in); err != nil {
				t.Fatal(err)
			}
			in.Close()
		}
		// Until a reads the journal, it serves what it cached.
		if again, _ := a.svc.Cache().Project(ctx, "shared"); again != page {
			t.Fatal("cache reloaded without reading the journal")
		}
		if err := a.svc.cache.catchUp(ctx); err != nil {
			t.Fatal(err)
		}
		page, err = a.svc.Cache().Project(ctx, "shared")
		if err != nil || len(page.View.Files) != 2 {
			t.Fatalf("after catching up: %d files, %v; want 2", len(page.View.Files), err)
		}
		// The list is rebuilt at most every 2× its build cost; this test
		// is about the journal, not that rate limit.
		a.svc.cache.rootCost.Store(0)
		root, err = a.svc.Cache().Root(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if root.Projects != 2 {
			t.Fatalf("root after catching up lists %d projects; want 2", root.Projects)
		}
		// A file deleted through b stops being served by a once it has
		// read the journal.
		fn := disttest.Dist{Name: "shared", Version: "2.0"}.WheelFilename()
		if _, err := a.svc.File(ctx, fn); err != nil {
			t.Fatal(err)
		}
		if err := b.DeleteFile(ctx, alice, fn); err != nil {
			t.Fatal(err)
		}
		if err := a.svc.cache.catchUp(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.File(ctx, fn); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("file deleted by another replica: %v, want ErrNotFound", err)
		}
		if _, err := a.svc.Cache().Project(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown project: %v", err)
		}
	})
}

// TestRootRebuildRate: a project list that is expensive to build is not
// rebuilt more often than twice its cost; the previous list is served
// meanwhile.
func TestRootRebuildRate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, store.SQLite, Config{})
	ctx := context.Background()
	alice := f.user("alice")
	f.mustWheel(alice, disttest.Dist{Name: "one", Version: "1.0"})
	first, err := f.svc.Cache().Root(ctx)
	if err != nil || first.Projects != 1 {
		t.Fatalf("root = %v, %v", first, err)
	}
	f.mustWheel(alice, disttest.Dist{Name: "two", Version: "1.0"})
	f.svc.cache.rootCost.Store(int64(time.Hour)) // pretend the build is slow
	if again, _ := f.svc.Cache().Root(ctx); again != first {
		t.Fatal("an expensive list was rebuilt at once")
	}
	f.svc.cache.rootCost.Store(0)
	if fresh, _ := f.svc.Cache().Root(ctx); fresh.Projects != 2 {
		t.Fatalf("fresh root lists %d projects, want 2", fresh.Projects)
	}
}

// TestRootShowsNewDisplayName: an upload under another spelling of the
// project's name changes the display name the project list shows.
func TestRootShowsNewDisplayName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, store.SQLite, Config{})
	ctx := context.Background()
	alice := f.user("alice")
	f.mustWheel(alice, disttest.Dist{Name: "Cheese_Board", Version: "1.0"})
	if root, err := f.svc.Cache().Root(ctx); err != nil || !bytes.Contains(root.HTML.Bytes(), []byte(">Cheese_Board<")) {
		t.Fatalf("root (%v) does not show Cheese_Board", err)
	}
	f.mustWheel(alice, disttest.Dist{Name: "cheese-board", Version: "1.1"})
	f.svc.cache.rootCost.Store(0) // no wait for the rebuild (TestRootRebuildRate)
	root, err := f.svc.Cache().Root(ctx)
	if err != nil || !bytes.Contains(root.HTML.Bytes(), []byte(">cheese-board<")) {
		t.Fatalf("root (%v) does not show the new display name cheese-board", err)
	}
}

// TestCacheMemoryBound: the project-page cache stays within its byte
// budget, however many projects are read.
func TestCacheMemoryBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, store.SQLite, Config{CacheBytes: 40 << 10})
	ctx := context.Background()
	alice := f.user("alice")
	for i := range 30 {
		name := fmt.Sprintf("proj-%03d", i)
		f.mustWheel(alice, disttest.Dist{Name: name, Version: "1.0"})
		if _, err := f.svc.Cache().Project(ctx, name); err != nil {
			t.Fatal(err)
		}
		pages, bytes := f.svc.Cache().Stats()
		if bytes > 40<<10 || pages == 0 {
			t.Fatalf("after %d projects: %d pages, %d bytes; budget 40 KiB", i+1, pages, bytes)
		}
	}
	pages, bytes := f.svc.Cache().Stats()
	if pages >= 30 {
		t.Fatalf("%d pages cached in %d bytes: nothing was evicted", pages, bytes)
	}
	// Invalidation gives the bytes back.
	f.svc.Cache().Invalidate("proj-001", false)
	for i := range 30 {
		f.svc.Cache().Invalidate(fmt.Sprintf("proj-%03d", i), false)
	}
	if pages, bytes := f.svc.Cache().Stats(); pages != 0 || bytes != 0 {
		t.Fatalf("after invalidating everything: %d pages, %d bytes", pages, bytes)
	}
}
