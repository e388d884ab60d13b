package store_test

import (
	"context"
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
