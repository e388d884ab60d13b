package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestTopDownloadedUpstream: the proxied projects most downloaded
// through the index, over the window of the last critical computation
// only; none before a first computation; projects without downloads in
// the window are not ranked.
func TestTopDownloadedUpstream(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UnixMicro()
		// Rows as the proxy writes them (upstream_projects) and the
		// download counter flushes them (upstream_downloads).
		ids := map[string]int64{}
		for _, name := range []string{"requests", "numpy", "pandas", "idle", "gone"} {
			var id int64
			storetest.Must(t, s.DB().QueryRowContext(ctx, `INSERT INTO upstream_projects (normalized_name, name, upstream, found, checked_at, created_at)
				VALUES ($1, $1, 'https://pypi.org/simple/', $2, $3, $3) RETURNING id`, name, name != "gone", now).Scan(&id))
			ids[name] = id
		}
		for _, d := range []struct {
			name   string
			day, n int64
		}{
			{"requests", 5, 60}, {"requests", 6, 40}, // 100 in the window
			{"numpy", 10, 50}, {"numpy", 11, 1000}, // day 11 is after the window
			{"pandas", 0, 999}, // before it
			{"idle", 5, 0},
			{"gone", 3, 70}, // no longer listed upstream: still installed here
		} {
			_, err := s.DB().ExecContext(ctx, `INSERT INTO upstream_downloads (upstream_project_id, day, downloads) VALUES ($1, $2, $3)`,
				ids[d.name], d.day, d.n)
			storetest.Must(t, err)
		}
		top, err := s.TopDownloadedUpstream(ctx, 10)
		storetest.Must(t, err)
		if len(top) != 0 {
			t.Fatalf("top before any window: %v", top)
		}
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			w, err := tx.LockDownloads(ctx)
			if err != nil {
				return err
			}
			return tx.MoveWindow(ctx, w, 1, 10)
		}))
		top, err = s.TopDownloadedUpstream(ctx, 10)
		storetest.Must(t, err)
		want := []store.ProtectedName{{Name: "requests", Rank: 1, Source: store.ProtectedUpstream},
			{Name: "gone", Rank: 2, Source: store.ProtectedUpstream}, {Name: "numpy", Rank: 3, Source: store.ProtectedUpstream}}
		if !slices.Equal(top, want) {
			t.Fatalf("top %v, want %v", top, want)
		}
		if top, err = s.TopDownloadedUpstream(ctx, 1); err != nil || len(top) != 1 || top[0].Name != "requests" {
			t.Fatalf("top 1: %v, %v", top, err)
		}
	})
}
