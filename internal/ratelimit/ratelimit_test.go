package ratelimit

import (
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestLimiter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		l := New(st, func() time.Time { return now })
		ctx := t.Context()
		fiveMin := Rule{Max: 5, Window: 5 * time.Minute}
		hour := Rule{Max: 20, Window: time.Hour}

		// Four failures a minute apart: still allowed.
		for i := range 4 {
			storetest.Must(t, l.Check(ctx, "k", fiveMin, hour))
			storetest.Must(t, l.Hit(ctx, "k"))
			if i < 3 {
				now = now.Add(time.Minute)
			}
		}
		storetest.Must(t, l.Check(ctx, "k", fiveMin, hour))
		storetest.Must(t, l.Hit(ctx, "k"))
		// Fifth failure at +3m: the oldest (at +0) leaves the window at +5m.
		err := l.Check(ctx, "k", fiveMin, hour)
		var ex *Exceeded
		if !errors.As(err, &ex) || ex.RetryAfter != 2*time.Minute {
			t.Fatalf("Check after 5 hits = %v, want Exceeded with 2m to wait", err)
		}
		if err := l.Check(ctx, "other", fiveMin); err != nil {
			t.Fatalf("another key is limited: %v", err)
		}
		now = now.Add(2 * time.Minute)
		storetest.Must(t, l.Check(ctx, "k", fiveMin, hour))

		// The hour rule: 20 hits spread so that the 5-minute rule never trips.
		for range 16 {
			now = now.Add(2 * time.Minute)
			storetest.Must(t, l.Hit(ctx, "k"))
		}
		err = l.Check(ctx, "k", fiveMin, hour)
		if !errors.As(err, &ex) {
			t.Fatalf("Check after 21 hits in an hour = %v, want Exceeded", err)
		}
		storetest.Must(t, l.Clear(ctx, "k"))
		storetest.Must(t, l.Check(ctx, "k", fiveMin, hour))

		storetest.Must(t, l.Hit(ctx, "old"))
		now = now.Add(48 * time.Hour)
		storetest.Must(t, l.Prune(ctx, 24*time.Hour))
		n, _, err := st.CountHits(ctx, "old", time.Time{})
		storetest.Must(t, err)
		if n != 0 {
			t.Fatalf("after Prune %d hits remain", n)
		}
	})
}
