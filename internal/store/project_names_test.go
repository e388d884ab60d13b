package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestListProjectNames: the list of the root page has every published
// public project once, with its display name, and nothing else; and no
// project at all is an empty list.
func TestListProjectNames(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if names, err := s.ListProjectNames(ctx); err != nil || len(names) != 0 {
			t.Fatalf("empty index: %v, %v", names, err)
		}
		now := time.Now().UTC()
		u := &store.User{Username: "up", Email: "up@example.com", CreatedAt: now}
		storetest.Must(t, s.CreateUser(ctx, u))
		ids := map[string]int64{}
		for _, name := range []string{"Django", "zope.interface", "plain", "x_Y-z", "held", "flagged", "secret", "a"} {
			norm := strings.ToLower(strings.NewReplacer(".", "-", "_", "-").Replace(name))
			p := &store.Project{Name: name, NormalizedName: norm, UltraName: norm, CreatedAt: now}
			storetest.Must(t, s.CreateProject(ctx, p))
			ids[name] = p.ID
		}
		storetest.Must(t, s.AddNameReview(ctx, &store.NameReview{ProjectID: ids["held"], Target: "help", TargetRank: 3,
			Kind: "omission", Held: true, UploaderID: u.ID, CreatedAt: now}))
		storetest.Must(t, s.AddNameReview(ctx, &store.NameReview{ProjectID: ids["flagged"], Target: "flag", TargetRank: 3,
			Kind: "omission", Held: false, UploaderID: u.ID, CreatedAt: now}))
		storetest.Must(t, s.SetProjectVisibility(ctx, ids["secret"], store.VisibilityPrivate))
		names, err := s.ListProjectNames(ctx)
		storetest.Must(t, err)
		slices.SortFunc(names, func(a, b store.ProjectName) int { return strings.Compare(a.Normalized, b.Normalized) })
		want := []store.ProjectName{{Name: "a", Normalized: "a"}, {Name: "Django", Normalized: "django"}, {Name: "flagged", Normalized: "flagged"},
			{Name: "plain", Normalized: "plain"}, {Name: "x_Y-z", Normalized: "x-y-z"}, {Name: "zope.interface", Normalized: "zope-interface"}}
		if !slices.Equal(names, want) {
			t.Errorf("listed %v, want %v", names, want)
		}
	})
}
