package store_test

import (
	"context"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestProhibitedLookalikes: a prohibited name blocks its ultranormalized
// form.
func TestProhibitedLookalikes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.Must(t, s.ProhibitName(ctx, "dig", "d1g", "deleted project", time.Now()))
		if bad, err := s.IsProhibited(ctx, "d1g"); err != nil || !bad {
			t.Fatalf("IsProhibited(d1g) = %v, %v", bad, err)
		}
		if bad, _ := s.IsProhibited(ctx, "dug"); bad {
			t.Fatal("dug is prohibited")
		}
	})
}
