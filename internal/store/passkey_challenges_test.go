package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestPasskeyChallenges: a challenge is taken once, even by concurrent
// takers, with its data and expiry; the expired ones are deleted.
func TestPasskeyChallenges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		storetest.Must(t, s.PutPasskeyChallenge(ctx, "h1", `{"challenge":"a"}`, now.Add(5*time.Minute)))
		storetest.Must(t, s.PutPasskeyChallenge(ctx, "h2", `{"challenge":"b"}`, now.Add(-time.Second)))
		if err := s.PutPasskeyChallenge(ctx, "h1", "{}", now); !store.IsUniqueViolation(err) {
			t.Fatalf("a second challenge under the same hash: %v", err)
		}

		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []string
		for range 8 {
			wg.Go(func() {
				data, expires, err := s.TakePasskeyChallenge(ctx, "h1")
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil || !expires.Equal(now.Add(5*time.Minute)) {
					t.Errorf("take: %q %v %v", data, expires, err)
				}
				got = append(got, data)
			})
		}
		wg.Wait()
		if len(got) != 1 || got[0] != `{"challenge":"a"}` {
			t.Fatalf("concurrent takes got %q, want the data once", got)
		}

		n, err := s.DeleteExpiredPasskeyChallenges(ctx, now)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d expired challenges (%v), want 1", n, err)
		}
		if _, _, err := s.TakePasskeyChallenge(ctx, "h2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired challenge after the sweep: %v", err)
		}
	})
}
