package index

import (
	"context"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/readme"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestStoredMetadataCountsTowardProjectSize: a wheel of a few kilobytes
// can carry a description of hundreds of kilobytes (it compresses), which
// the index stores twice (the metadata, the rendering). The project's size
// limit counts that as it counts files, and deleting the release gives it
// back. Before, only the files counted: releases of tiny wheels stored
// megabytes each without limit.
func TestStoredMetadataCountsTowardProjectSize(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{MaxProjectSize: 2 << 20})
		ctx := context.Background()
		alice := f.user("alice")
		desc := strings.Repeat("many words of a long description ", 700<<10/33)
		first := disttest.Dist{Name: "wordy", Version: "1.0", Description: desc}
		f.mustWheel(alice, first)
		proj, err := f.st.ProjectByName(ctx, "wordy")
		storetest.Must(t, err)
		if wheel := int64(len(first.Wheel())); wheel > 64<<10 || proj.TotalSize < 2*int64(len(desc)) {
			t.Fatalf("a wheel of %d bytes charged %d bytes, want at least twice its %d-byte description", wheel, proj.TotalSize, len(desc))
		}
		second := disttest.Dist{Name: "wordy", Version: "2.0", Description: desc}
		if _, err := f.uploadWheel(alice, second); err == nil || !strings.Contains(err.Error(), "Project size too large") {
			t.Fatalf("a second release of %d bytes of metadata past the 2 MiB limit: %v", 2*len(desc), err)
		}
		// Another file of the same release adds only its bytes.
		if _, err := f.uploadSdist(alice, first); err != nil {
			t.Fatalf("an sdist of the existing release: %v", err)
		}
		if err := f.svc.DeleteRelease(ctx, alice, audit.Meta{}, "wordy", "1.0"); err != nil {
			t.Fatal(err)
		}
		proj, err = f.st.ProjectByName(ctx, "wordy")
		storetest.Must(t, err)
		if proj.TotalSize != 0 {
			t.Errorf("after deleting the only release the project still counts %d bytes", proj.TotalSize)
		}
		f.mustWheel(alice, second)
		// A rendering stored at first view (releases from before
		// renderings were stored) is charged too.
		rel, err := f.st.ReleaseByCanonicalVersion(ctx, proj.ID, "2")
		storetest.Must(t, err)
		proj, _ = f.st.ProjectByName(ctx, "wordy")
		before := proj.TotalSize
		_, err = f.st.DB().Exec(`UPDATE releases SET description_html = NULL WHERE id = $1`, rel.ID)
		storetest.Must(t, err)
		storetest.Must(t, f.st.SetReleaseDescriptionHTML(ctx, rel.ID, "<p>rendered later</p>", readme.Version))
		proj, _ = f.st.ProjectByName(ctx, "wordy")
		if proj.TotalSize != before+int64(len("<p>rendered later</p>")) {
			t.Errorf("a rendering stored later: size %d, want %d", proj.TotalSize, before+int64(len("<p>rendered later</p>")))
		}
	})
}
