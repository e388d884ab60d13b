package index

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestCollectProxiedBlobs: garbage collection keeps the blobs of proxied
// files (and metadata) the proxy stored, and takes a blob whose proxied
// file is listed but was never marked stored (a fetch that died before
// its row said so).
func TestCollectProxiedBlobs(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		ctx := context.Background()
		fsBlobs := f.svc.blobs.(*blob.FS)
		put := func(s string) string {
			sha, err := blob.PutBytes(ctx, fsBlobs, []byte(s))
			storetest.Must(t, err)
			old := time.Now().Add(-2 * time.Hour)
			storetest.Must(t, os.Chtimes(filepath.Join(f.dir, "files", "sha256", sha[:2], sha[2:4], sha), old, old))
			return sha
		}
		file, meta, unstored := put("a proxied wheel"), put("its metadata"), put("a wheel never marked stored")
		storetest.AddProxiedFile(t, f.st, "proxied", storetest.ProxiedFile{Filename: "proxied-1.0-py3-none-any.whl", SHA256: file,
			MetadataSHA256: meta, Stored: true, MetadataStored: true})
		storetest.AddProxiedFile(t, f.st, "proxied", storetest.ProxiedFile{Filename: "proxied-1.1-py3-none-any.whl", SHA256: unstored})
		res, err := f.svc.CollectBlobs(ctx, time.Hour, false, nil)
		storetest.Must(t, err)
		if res.Seen != 3 || res.Referenced != 2 || res.Removed != 1 {
			t.Fatalf("CollectBlobs = %+v; want 3 seen, 2 referenced, 1 removed", res)
		}
		for sha, want := range map[string]bool{file: true, meta: true, unstored: false} {
			if ok, _ := blob.Exists(ctx, fsBlobs, sha); ok != want {
				t.Errorf("blob %s exists: %v, want %v", sha, ok, want)
			}
		}
	})
}
