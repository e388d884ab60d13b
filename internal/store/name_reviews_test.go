package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestNameReviews: a held project is out of every public list until its
// review row goes; a flagged one stays in them; deleting the project
// takes it out of the queue.
func TestNameReviews(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		u := &store.User{Username: "up", Email: "up@example.com", CreatedAt: now}
		storetest.Must(t, s.CreateUser(ctx, u))
		ids := map[string]int64{}
		for _, name := range []string{"reqests", "flasck", "plain"} {
			p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: now}
			storetest.Must(t, s.CreateProject(ctx, p))
			storetest.Must(t, s.AddRole(ctx, p.ID, u.ID, store.RoleOwner, now))
			ids[name] = p.ID
		}
		storetest.Must(t, s.AddNameReview(ctx, &store.NameReview{ProjectID: ids["reqests"], Target: "requests", TargetRank: 3,
			Kind: "omission", Held: true, UploaderID: u.ID, CreatedAt: now}))
		storetest.Must(t, s.AddNameReview(ctx, &store.NameReview{ProjectID: ids["flasck"], Target: "flask", TargetRank: 9,
			Kind: "insertion", Held: false, UploaderID: u.ID, CreatedAt: now.Add(time.Second)}))

		listed := func() []string {
			t.Helper()
			names, err := s.ListProjectNames(ctx)
			storetest.Must(t, err)
			var out []string
			for _, n := range names {
				out = append(out, n.Normalized)
			}
			slices.Sort(out)
			return out
		}
		if got := listed(); !slices.Equal(got, []string{"flasck", "plain"}) {
			t.Fatalf("listed %v", got)
		}
		for what, f := range map[string]func() ([]store.Listing, error){
			"search": func() ([]store.Listing, error) { return s.SearchProjects(ctx, "e", 0, 10) },
			"recent": func() ([]store.Listing, error) { return s.RecentProjects(ctx, 10) },
			"user":   func() ([]store.Listing, error) { return s.UserProjects(ctx, u.ID, 10, 0) },
		} {
			ls, err := f()
			storetest.Must(t, err)
			for _, l := range ls {
				if l.Normalized == "reqests" {
					t.Errorf("%s lists the held project", what)
				}
			}
		}
		if n, err := s.CountUserProjects(ctx, u.ID); err != nil || n != 2 {
			t.Errorf("CountUserProjects = %d, %v; want 2", n, err)
		}
		q, err := s.NameReviews(ctx)
		storetest.Must(t, err)
		if len(q) != 2 || q[0].Project != "reqests" || q[0].Uploader != "up" || !q[0].Held || q[1].Held || q[1].Target != "flask" {
			t.Fatalf("queue %+v", q)
		}
		if held, err := s.IsHeld(ctx, ids["reqests"]); err != nil || !held {
			t.Fatalf("IsHeld = %v, %v", held, err)
		}
		storetest.Must(t, s.DeleteNameReview(ctx, ids["reqests"]))
		if err := s.DeleteNameReview(ctx, ids["reqests"]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if got := listed(); len(got) != 3 {
			t.Fatalf("after approval: %v", got)
		}
		storetest.Must(t, s.DeleteProject(ctx, ids["flasck"]))
		if _, err := s.NameReviewOf(ctx, ids["flasck"]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("review of a deleted project: %v", err)
		}
	})
}

// TestProtectedNames: the imported list is replaced whole, the better
// rank of a repeated name wins, and the own list ranks projects by their
// downloads in the window.
func TestProtectedNames(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			return tx.ReplaceProtectedNames(ctx, []store.ProtectedName{{Name: "old", Rank: 1}})
		}))
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			return tx.ReplaceProtectedNames(ctx, []store.ProtectedName{{Name: "requests", Rank: 5}, {Name: "numpy", Rank: 2}, {Name: "requests", Rank: 1}})
		}))
		got, err := s.ProtectedNames(ctx)
		storetest.Must(t, err)
		want := []store.ProtectedName{{Name: "requests", Rank: 1, Source: store.ProtectedImported}, {Name: "numpy", Rank: 2, Source: store.ProtectedImported}}
		if !slices.Equal(got, want) {
			t.Fatalf("protected %v, want %v", got, want)
		}

		now := time.Now().UTC()
		var counts []store.DownloadCount
		for i, name := range []string{"low", "high", "none", "mid"} {
			p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: now}
			storetest.Must(t, s.CreateProject(ctx, p))
			counts = append(counts, store.DownloadCount{ProjectID: p.ID, Day: 10, Downloads: []int64{1, 100, 0, 50}[i]})
		}
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			w, err := tx.LockDownloads(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.AddDownloads(ctx, counts); err != nil {
				return err
			}
			return tx.MoveWindow(ctx, w, 1, 10)
		}))
		top, err := s.TopDownloaded(ctx, 2)
		storetest.Must(t, err)
		want = []store.ProtectedName{{Name: "high", Rank: 1, Source: store.ProtectedOwn}, {Name: "mid", Rank: 2, Source: store.ProtectedOwn}}
		if !slices.Equal(top, want) {
			t.Fatalf("top %v, want %v", top, want)
		}
	})
}
