package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestReleaseDescriptionVersions checks that a stored rendering is
// replaced only by one of a newer renderer version, and that the project
// is charged exactly the stored rendering's length, even when replicas
// replace it at once.
func TestReleaseDescriptionVersions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		p := &store.Project{Name: "demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, s.CreateProject(ctx, p))
		old := "<p>old</p>"
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", MetadataJSON: []byte(`{}`), CreatedAt: now,
			DescriptionHTML: &old, DescriptionVersion: 1}
		storetest.Must(t, s.CreateRelease(ctx, r))
		// The upload charges what it stores.
		_, err := s.DB().ExecContext(ctx, `UPDATE projects SET total_size = $2 WHERE id = $1`, p.ID, r.StoredMetadataSize())
		storetest.Must(t, err)
		base := int64(len(r.MetadataJSON))

		// check asserts the stored rendering and the project's charge.
		check := func(step, wantHTML string, wantVersion int) {
			t.Helper()
			html, version, ok, err := s.ReleaseDescriptionHTML(ctx, r.ID)
			storetest.Must(t, err)
			if !ok || html != wantHTML || version != wantVersion {
				t.Fatalf("%s: stored %q version %d (ok %v), want %q version %d", step, html, version, ok, wantHTML, wantVersion)
			}
			proj, err := s.ProjectByID(ctx, p.ID)
			storetest.Must(t, err)
			if want := base + int64(len(wantHTML)); proj.TotalSize != want {
				t.Fatalf("%s: project charged %d bytes, want %d", step, proj.TotalSize, want)
			}
		}
		check("at upload", old, 1)

		// An older or equal version does not replace it.
		storetest.Must(t, s.SetReleaseDescriptionHTML(ctx, r.ID, "<p>same version</p>", 1))
		storetest.Must(t, s.SetReleaseDescriptionHTML(ctx, r.ID, "<p>older</p>", 0))
		check("same and older versions", old, 1)

		// A newer version replaces it, charged by the difference, longer
		// or shorter.
		longer := "<h1>rendered again, longer</h1>"
		storetest.Must(t, s.SetReleaseDescriptionHTML(ctx, r.ID, longer, 2))
		check("newer version, longer", longer, 2)
		storetest.Must(t, s.SetReleaseDescriptionHTML(ctx, r.ID, "<p/>", 3))
		check("newer version, shorter", "<p/>", 3)
		storetest.Must(t, s.SetReleaseDescriptionHTML(ctx, r.ID, longer, 2))
		check("a replica of an older version", "<p/>", 3)

		// Replicas replacing it at once: one wins, the charge is its
		// length alone.
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				errs[i] = s.SetReleaseDescriptionHTML(ctx, r.ID, "<p>"+strings.Repeat("x", i+1)+"</p>", 4)
			})
		}
		wg.Wait()
		for _, err := range errs {
			storetest.Must(t, err)
		}
		html, _, _, err := s.ReleaseDescriptionHTML(ctx, r.ID)
		storetest.Must(t, err)
		check("concurrent replacements", html, 4)

		// A release without a rendering (uploaded before renderings were
		// stored) is charged for the first one.
		r2 := &store.Release{ProjectID: p.ID, Version: "2.0", CanonicalVersion: "2", MetadataJSON: []byte(`{}`), CreatedAt: now}
		storetest.Must(t, s.CreateRelease(ctx, r2))
		if _, _, ok, err := s.ReleaseDescriptionHTML(ctx, r2.ID); err != nil || ok {
			t.Fatalf("a release without a rendering: ok %v, %v", ok, err)
		}
		storetest.Must(t, s.SetReleaseDescriptionHTML(ctx, r2.ID, "<p>first</p>", 1))
		base += int64(len("<p>first</p>"))
		check("first rendering of another release", html, 4)
	})
}
