package store_test

import (
	"context"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUpstreamDownloads: downloads of proxied projects add up per day,
// those of a proxied project gone meanwhile are dropped, and none of them
// reaches the local downloads or the window of the critical projects.
func TestUpstreamDownloads(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		id := storetest.AddProxiedFile(t, s, "up", storetest.ProxiedFile{Filename: "up-1.0.tar.gz", SHA256: "b1"})
		day := store.Day(20000)
		for range 2 {
			storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
				kept, err := tx.AddUpstreamDownloads(ctx, []store.DownloadCount{
					{ProjectID: id, Day: day, Downloads: 3}, {ProjectID: id, Day: day, Downloads: 1},
					{ProjectID: id, Day: day + 1, Downloads: 2}, {ProjectID: id + 100, Day: day, Downloads: 5}})
				if kept != 2 {
					t.Errorf("kept %d counts, want 2 (the gone project's dropped)", kept)
				}
				return err
			}))
		}
		for _, c := range []struct {
			first, last store.Day
			want        int64
		}{{day, day, 8}, {day, day + 1, 12}, {day + 2, day + 9, 0}} {
			n, err := s.UpstreamProjectDownloads(ctx, id, c.first, c.last)
			storetest.Must(t, err)
			if n != c.want {
				t.Errorf("downloads %s..%s = %d, want %d", c.first, c.last, n, c.want)
			}
		}
		if n, err := s.ProjectDownloads(ctx, id, day, day+1); err != nil || n != 0 {
			t.Errorf("local downloads of project %d = %d, %v; want none", id, n, err)
		}
	})
}
