package index

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestCollectBlobs(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		ctx := context.Background()
		alice := f.user("alice")
		keep := disttest.Dist{Name: "keep", Version: "1.0"}
		gone := disttest.Dist{Name: "keep", Version: "2.0"}
		f.mustWheel(alice, keep)
		f.mustWheel(alice, gone)
		if err := f.svc.DeleteFile(ctx, alice, gone.WheelFilename()); err != nil {
			t.Fatal(err)
		}
		fsBlobs := f.svc.blobs.(*blob.FS)
		// An orphan written just now (an upload in flight) must survive.
		fresh, err := blob.PutBytes(ctx, fsBlobs, []byte("in flight"))
		if err != nil {
			t.Fatal(err)
		}
		// Age every blob but the fresh one.
		old := time.Now().Add(-2 * time.Hour)
		err = fsBlobs.Walk(ctx, func(b blob.Info) error {
			sha := b.SHA256
			if sha == fresh {
				return nil
			}
			return os.Chtimes(filepath.Join(f.dir, "files", "sha256", sha[:2], sha[2:4], sha), old, old)
		})
		if err != nil {
			t.Fatal(err)
		}

		res, err := f.svc.CollectBlobs(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// Seen: keep's wheel and metadata, gone's wheel and metadata, fresh.
		if res.Seen != 5 || res.Removed != 2 || res.Referenced != 2 || res.Recent != 1 {
			t.Fatalf("CollectBlobs = %+v; want 5 seen, 2 removed (the deleted wheel and its metadata), 2 referenced, 1 recent", res)
		}
		view, err := f.svc.LoadProject(ctx, "keep")
		if err != nil {
			t.Fatal(err)
		}
		for _, fv := range view.Files {
			for _, sha := range []string{fv.SHA256, fv.MetadataSHA256} {
				if ok, _ := blob.Exists(ctx, fsBlobs, sha); !ok {
					t.Fatalf("referenced blob %s was removed", sha)
				}
			}
		}
		if ok, _ := blob.Exists(ctx, fsBlobs, fresh); !ok {
			t.Fatal("a blob younger than the grace period was removed")
		}
	})
}
