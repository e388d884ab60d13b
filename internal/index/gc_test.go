package index

import (
	"cmp"
	"context"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// incompleteStore is a blob store with incomplete uploads, as S3 keeps
// the multipart uploads of a crashed process.
type incompleteStore struct {
	blob.Store
	uploads []blob.Incomplete
	aborted []string
}

func (s *incompleteStore) Incomplete(ctx context.Context, fn func(blob.Incomplete) error) error {
	for _, u := range s.uploads {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

func (s *incompleteStore) AbortIncomplete(ctx context.Context, key string) error {
	s.aborted = append(s.aborted, key)
	s.uploads = slices.DeleteFunc(s.uploads, func(u blob.Incomplete) bool { return u.Key == key })
	return nil
}

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
		goneRow, err := f.st.FileByFilename(ctx, gone.WheelFilename())
		if err != nil {
			t.Fatal(err)
		}
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
		// Incomplete uploads a crashed process left (S3 multipart): the
		// old one goes, the new one stays.
		inc := &incompleteStore{Store: fsBlobs, uploads: []blob.Incomplete{
			{Key: "p/sha256/aa/bb/old", Started: old}, {Key: "p/sha256/aa/bb/new", Started: time.Now()}}}
		f.svc.blobs = inc

		type line struct {
			sha   string
			inc   bool
			state StrayState
		}
		order := func(a, b line) int {
			return cmp.Or(cmp.Compare(a.state, b.state), cmp.Compare(a.sha, b.sha))
		}
		for _, dryRun := range []bool{true, false} {
			var lines []line
			res, err := f.svc.CollectBlobs(ctx, time.Hour, dryRun, func(s Stray) {
				if s.Incomplete != (s.Size == -1) {
					t.Errorf("stray %+v: size -1 is for incomplete uploads only", s)
				}
				lines = append(lines, line{s.SHA256, s.Incomplete, s.State})
			})
			if err != nil {
				t.Fatal(err)
			}
			// Seen: keep's wheel and metadata, gone's wheel and metadata, fresh.
			if res.Seen != 5 || res.Removed != 2 || res.Referenced != 2 || res.Recent != 1 || res.Aborted != 1 || res.IncompleteRecent != 1 {
				t.Fatalf("CollectBlobs(dryRun %v) = %+v; want 5 seen, 2 removed (the deleted wheel and its metadata), 2 referenced, 1 recent; 1 incomplete upload aborted, 1 kept",
					dryRun, res)
			}
			removed := StrayRemoved
			if dryRun {
				removed = StrayWouldRemove
			}
			want := []line{{fresh, false, StrayRecent}, {goneRow.SHA256, false, removed}, {goneRow.MetadataSHA256, false, removed},
				{"p/sha256/aa/bb/new", true, StrayRecent}, {"p/sha256/aa/bb/old", true, removed}}
			slices.SortFunc(want, order)
			slices.SortFunc(lines, order)
			if !slices.Equal(lines, want) {
				t.Errorf("CollectBlobs(dryRun %v) reported\n%v, want\n%v", dryRun, lines, want)
			}
			for _, sha := range []string{goneRow.SHA256, goneRow.MetadataSHA256} {
				if ok, _ := blob.Exists(ctx, fsBlobs, sha); ok != dryRun {
					t.Errorf("dryRun %v: stray %s exists: %v", dryRun, sha, ok)
				}
			}
			if dryRun && len(inc.aborted) != 0 || !dryRun && !slices.Equal(inc.aborted, []string{"p/sha256/aa/bb/old"}) {
				t.Errorf("dryRun %v: aborted %q", dryRun, inc.aborted)
			}
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

// TestCollectBlobsS3 collects the blobs of a bucket, and the multipart
// upload a crashed process left there. S3's times cannot be backdated:
// the collector's clock runs two hours ahead instead.
func TestCollectBlobsS3(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	f := newFixture(t, store.SQLite, Config{})
	bucket := s3.Open(t)
	f.svc = New(f.st, bucket, Config{BaseURL: "http://index.test"}, f.svc.log)
	ctx := context.Background()
	alice := f.user("alice")
	keep := disttest.Dist{Name: "keep", Version: "1.0"}
	gone := disttest.Dist{Name: "keep", Version: "2.0"}
	f.mustWheel(alice, keep)
	f.mustWheel(alice, gone)
	goneRow, err := f.st.FileByFilename(ctx, gone.WheelFilename())
	if err != nil {
		t.Fatal(err)
	}
	meta, err := bucket.Stat(ctx, goneRow.MetadataSHA256)
	if err != nil {
		t.Fatal(err)
	}
	goneBytes := goneRow.Size + meta.Size
	if err := f.svc.DeleteFile(ctx, alice, gone.WheelFilename()); err != nil {
		t.Fatal(err)
	}
	// A multipart upload a process killed during a Commit left.
	u, err := url.Parse(s3.URL)
	if err != nil {
		t.Fatal(err)
	}
	endpoint, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil {
		t.Fatal(err)
	}
	core, err := minio.NewCore(endpoint.Host, &minio.Options{Creds: s3.Credentials(), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	killed := strings.Repeat("ab", 32)
	killedKey := strings.Trim(u.Path, "/") + "/" + blob.Key(killed)
	if _, err := core.NewMultipartUpload(ctx, u.Host, killedKey, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		ahead   time.Duration
		dryRun  bool
		removed StrayState
		want    GCResult
	}{
		{0, true, StrayRecent, GCResult{Seen: 4, Referenced: 2, Recent: 2, IncompleteRecent: 1}},
		{2 * time.Hour, true, StrayWouldRemove, GCResult{Seen: 4, Referenced: 2, Removed: 2, RemovedBytes: goneBytes, Aborted: 1}},
		{2 * time.Hour, false, StrayRemoved, GCResult{Seen: 4, Referenced: 2, Removed: 2, RemovedBytes: goneBytes, Aborted: 1}},
	} {
		f.svc.now = func() time.Time { return time.Now().Add(c.ahead) }
		got := map[string]StrayState{}
		res, err := f.svc.CollectBlobs(ctx, time.Hour, c.dryRun, func(s Stray) { got[s.SHA256] = s.State })
		if err != nil {
			t.Fatal(err)
		}
		if res != c.want {
			t.Errorf("%s ahead, dry run %v: %+v, want %+v", c.ahead, c.dryRun, res, c.want)
		}
		want := map[string]StrayState{goneRow.SHA256: c.removed, goneRow.MetadataSHA256: c.removed, killedKey: c.removed}
		if !maps.Equal(got, want) {
			t.Errorf("%s ahead, dry run %v: strays %v, want %v", c.ahead, c.dryRun, got, want)
		}
	}
	for _, sha := range []string{goneRow.SHA256, goneRow.MetadataSHA256} {
		if ok, err := blob.Exists(ctx, bucket, sha); ok || err != nil {
			t.Errorf("a collected blob exists: %v, %v", ok, err)
		}
	}
	n := 0
	if err := bucket.(blob.Incompleter).Incomplete(ctx, func(blob.Incomplete) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("after the collection: %d incomplete uploads, %v", n, err)
	}
}
