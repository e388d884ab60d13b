package store_test

import (
	"context"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestDownloadWindow checks that the window sums stay equal to the daily
// counts through writes inside and outside the window, shifts forwards
// and backwards, and rebuilds.
func TestDownloadWindow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		var ids []int64
		for _, name := range []string{"a", "b", "c"} {
			p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: now}
			storetest.Must(t, s.CreateProject(ctx, p))
			ids = append(ids, p.ID)
		}
		add := func(counts ...store.DownloadCount) {
			t.Helper()
			storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.AddDownloads(ctx, counts)
				return err
			}))
		}
		// Day d has 10*(d-100)+project downloads for days 100..119.
		for d := store.Day(100); d < 120; d++ {
			for i, id := range ids {
				add(store.DownloadCount{ProjectID: id, Day: d, Downloads: int64(10*(d-100)) + int64(i) + 1})
			}
		}
		want := func(id int64, first, last store.Day) int64 {
			n, err := s.ProjectDownloads(ctx, id, first, last)
			storetest.Must(t, err)
			return n
		}
		move := func(first, last store.Day) {
			t.Helper()
			storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
				w, err := tx.LockDownloads(ctx)
				if err != nil {
					return err
				}
				return tx.MoveWindow(ctx, w, first, last)
			}))
		}
		check := func(step string, first, last store.Day) {
			t.Helper()
			for _, id := range ids {
				got, err := s.WindowDownloads(ctx, id)
				storetest.Must(t, err)
				if w := want(id, first, last); got != w {
					t.Fatalf("%s: project %d: window sum %d, daily sum %d", step, id, got, w)
				}
			}
		}
		move(105, 109) // rebuild
		check("rebuild", 105, 109)
		add(store.DownloadCount{ProjectID: ids[2], Day: 107, Downloads: 1000}, // inside
			store.DownloadCount{ProjectID: ids[2], Day: 110, Downloads: 500}, // outside
			store.DownloadCount{ProjectID: 999999, Day: 107, Downloads: 5})   // no such project: dropped
		check("writes", 105, 109)
		// More rows than one statement takes, each (project, day) twice.
		var many []store.DownloadCount
		for d := store.Day(0); d < 400; d++ {
			many = append(many, store.DownloadCount{ProjectID: ids[0], Day: 1000 + d, Downloads: 1},
				store.DownloadCount{ProjectID: ids[0], Day: 1000 + d, Downloads: 2})
		}
		var kept int
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
			kept, err = tx.AddDownloads(ctx, many)
			return err
		}))
		if got := want(ids[0], 1000, 1399); kept != 400 || got != 1200 {
			t.Fatalf("800 counts on 400 days: kept %d rows and %d downloads, want 400 and 1200", kept, got)
		}
		move(107, 111) // shift forwards by 2
		check("forwards", 107, 111)
		move(104, 108) // shift backwards by 3
		check("backwards", 104, 108)
		move(150, 154) // no overlap: rebuild
		check("far", 150, 154)
		move(100, 119) // longer, overlapping: shifted by the two spans that enter
		check("longer", 100, 119)
		move(102, 117) // shorter inside: the two ends leave
		check("shorter", 102, 117)
		move(99, 118) // both ends move: 99..101 and 118 enter
		check("wider", 99, 118)
		move(100, 119) // 99 leaves, 119 enters
		check("across", 100, 119)
		move(110, 111) // reading 2 days is cheaper than the 18 that leave: rebuild
		check("narrow", 110, 111)
		move(100, 119)
		check("back", 100, 119)

		// The cut: project sums over 100..119 are ordered c > b > a.
		for _, tc := range []struct{ n, want int64 }{{1, want(ids[2], 100, 119)}, {2, want(ids[1], 100, 119)}, {3, want(ids[0], 100, 119)}, {10, want(ids[0], 100, 119)}} {
			cut, err := s.WindowCutoff(ctx, tc.n)
			storetest.Must(t, err)
			if cut != tc.want {
				t.Errorf("WindowCutoff(%d) = %d, want %d", tc.n, cut, tc.want)
			}
		}
		cut, _ := s.WindowCutoff(ctx, 2)
		newly, err := s.NewlyCritical(ctx, cut)
		storetest.Must(t, err)
		if len(newly) != 2 || newly[0].ID != ids[2] || newly[1].ID != ids[1] {
			t.Fatalf("NewlyCritical(%d) = %v, want c and b", cut, newly)
		}
		at := now.Truncate(time.Microsecond)
		storetest.Must(t, s.MarkCritical(ctx, ids[2], at))
		storetest.Must(t, s.MarkCritical(ctx, ids[2], at.Add(time.Hour))) // stays the first date
		p, err := s.ProjectByID(ctx, ids[2])
		storetest.Must(t, err)
		if !p.Critical() || !p.CriticalSince.Equal(at) {
			t.Fatalf("critical since %v, want %v", p.CriticalSince, at)
		}
		if newly, _ := s.NewlyCritical(ctx, cut); len(newly) != 1 || newly[0].ID != ids[1] {
			t.Fatalf("NewlyCritical after marking c = %v, want b", newly)
		}
		move(200, 219) // nothing there
		if cut, err := s.WindowCutoff(ctx, 1); err != nil || cut != 0 {
			t.Fatalf("WindowCutoff of an empty window = %d, %v; want 0", cut, err)
		}

		// The rebuild keeps the window's foreign key (PostgreSQL drops it
		// meanwhile): a deleted project leaves the window with its sum,
		// and a sum of no project is refused.
		move(100, 119)
		storetest.Must(t, s.DeleteProject(ctx, ids[0]))
		var n int
		storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM download_window WHERE project_id = $1`, ids[0]).Scan(&n))
		if n != 0 {
			t.Fatalf("a deleted project keeps %d window rows", n)
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO download_window (project_id, downloads) VALUES (999999, 1)`); err == nil {
			t.Fatal("the window takes the sum of a project that does not exist")
		}
	})
}
