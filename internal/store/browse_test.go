package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestListingsReadBoundedFields: what the list pages read of a release is
// bounded by the database, whatever was stored (a summary stored before
// the limits had megabytes).
func TestListingsReadBoundedFields(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		p := &store.Project{Name: "demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, s.CreateProject(ctx, p))
		huge := strings.Repeat("é", 2<<20) // 4 MiB
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", Summary: huge,
			MetadataJSON: []byte(`{"Description":"` + strings.Repeat("d", 4<<20) + `"}`), CreatedAt: now}
		storetest.Must(t, s.CreateRelease(ctx, r))
		briefs, err := s.ReleasesOf(ctx, []int64{p.ID})
		storetest.Must(t, err)
		if len(briefs[p.ID]) != 1 || briefs[p.ID][0].ID != r.ID || briefs[p.ID][0].Version != "1.0" {
			t.Fatalf("ReleasesOf = %+v", briefs)
		}
		sums, err := s.ReleaseSummaries(ctx, []int64{r.ID})
		storetest.Must(t, err)
		if got := sums[r.ID]; got != strings.Repeat("é", store.MaxListedSummary) {
			t.Fatalf("ReleaseSummaries gave %d bytes, want %d characters", len(got), store.MaxListedSummary)
		}
	})
}
