package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestFilesAndRegistry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		p := &store.Project{Name: "demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, s.CreateProject(ctx, p))
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", MetadataJSON: []byte(`{}`), CreatedAt: now}
		storetest.Must(t, s.CreateRelease(ctx, r))
		f := &store.File{ReleaseID: r.ID, ProjectID: p.ID, Filename: "demo-1.0.tar.gz", PackageType: "sdist", PythonVersion: "source",
			Size: 10, MD5: "m", SHA256: "s", Blake2_256: "b", UploadTime: now}
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertFile(ctx, f); err != nil {
				return err
			}
			return tx.RegisterFilename(ctx, f.Filename, "sdist:demo-1", now)
		}))
		if err := s.RegisterFilename(ctx, f.Filename, "other", now); !store.IsUniqueViolation(err) {
			t.Fatalf("registering a filename twice: got %v, want a unique violation", err)
		}
		n, err := s.CountSdists(ctx, r.ID)
		storetest.Must(t, err)
		if n != 1 {
			t.Fatalf("CountSdists = %d", n)
		}
		storetest.Must(t, s.DeleteFile(ctx, f))
		used, err := s.FilenameUsed(ctx, f.Filename)
		storetest.Must(t, err)
		if !used {
			t.Fatal("a deleted file's name must stay used")
		}
		serial, err := s.AddJournal(ctx, p.ID, p.NormalizedName, store.ActionAddFile, now)
		storetest.Must(t, err)
		last, err := s.LastSerial(ctx)
		storetest.Must(t, err)
		if last != serial || serial == 0 {
			t.Fatalf("LastSerial = %d, AddJournal = %d", last, serial)
		}
		es, err := s.JournalSince(ctx, 0, 10)
		storetest.Must(t, err)
		if len(es) != 1 || es[0].NormalizedName != "demo" {
			t.Fatalf("JournalSince = %+v", es)
		}
	})
}

func TestReferencedDigests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		p := &store.Project{Name: "demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, s.CreateProject(ctx, p))
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", MetadataJSON: []byte(`{}`), CreatedAt: now}
		storetest.Must(t, s.CreateRelease(ctx, r))
		// Files' own digests, and metadata digests: one shared by two
		// files, one that is also a file's digest, and none.
		for i, f := range []struct{ sha, meta string }{{"b1", "a0"}, {"b2", "a0"}, {"c3", "b1"}, {"d4", ""}, {"e5", "f6"}} {
			storetest.Must(t, s.InsertFile(ctx, &store.File{ReleaseID: r.ID, ProjectID: p.ID, Filename: fmt.Sprintf("demo-1.0-%d.whl", i),
				PackageType: "bdist_wheel", PythonVersion: "py3", SHA256: f.sha, Blake2_256: f.sha, MetadataSHA256: f.meta, UploadTime: now}))
		}
		for _, limit := range []int{1, 2, 3, 100} {
			var got []string
			after := ""
			for {
				page, err := s.ReferencedDigests(ctx, after, limit)
				storetest.Must(t, err)
				if len(page) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1]
			}
			if want := []string{"a0", "b1", "b2", "c3", "d4", "e5", "f6"}; !slices.Equal(got, want) {
				t.Errorf("limit %d: ReferencedDigests pages %q, want %q", limit, got, want)
			}
		}
	})
}

// TestReferencedProxiedDigests: the blobs of proxied files are
// referenced once the proxy stored them (a file, its metadata), and not
// before, so that garbage collection keeps the one and takes the other.
func TestReferencedProxiedDigests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.AddProxiedFile(t, s, "up", storetest.ProxiedFile{Filename: "up-1.0-py3-none-any.whl", SHA256: "b1",
			MetadataSHA256: "a1", Stored: true, MetadataStored: true})
		storetest.AddProxiedFile(t, s, "up", storetest.ProxiedFile{Filename: "up-1.1-py3-none-any.whl", SHA256: "b2",
			MetadataSHA256: "a2", Stored: true})
		storetest.AddProxiedFile(t, s, "up", storetest.ProxiedFile{Filename: "up-1.2.tar.gz", SHA256: "c3"})
		for sha, want := range map[string]bool{"a1": true, "b1": true, "a2": false, "b2": true, "c3": false, "d4": false} {
			got, err := s.BlobReferenced(ctx, sha)
			storetest.Must(t, err)
			if got != want {
				t.Errorf("BlobReferenced(%s) = %v, want %v", sha, got, want)
			}
		}
		for _, limit := range []int{1, 2, 100} {
			var got []string
			after := ""
			for {
				page, err := s.ReferencedDigests(ctx, after, limit)
				storetest.Must(t, err)
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1]
			}
			if want := []string{"a1", "b1", "b2"}; !slices.Equal(got, want) {
				t.Errorf("limit %d: ReferencedDigests %q, want %q", limit, got, want)
			}
		}
	})
}
