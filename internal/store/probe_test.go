package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestProbeWrite: the probe rewrites its one row; on SQLite, with the
// write lock held elsewhere, it waits (at most until its context ends:
// the readiness check gives it a deadline shorter than the busy timeout)
// and fails, and works again when the lock is gone.
func TestProbeWrite(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
		storetest.Must(t, s.ProbeWrite(ctx, at))
		var n int
		var checked int64
		storetest.Must(t, s.DB().QueryRowContext(ctx, `SELECT count(*), max(checked_at) FROM readiness_probe`).Scan(&n, &checked))
		if n != 1 || checked != at.UnixMicro() {
			t.Fatalf("readiness_probe: %d rows, checked_at %d; want 1 row at %d", n, checked, at.UnixMicro())
		}
		if s.Dialect() != store.SQLite {
			return
		}
		release := storetest.HoldWriteLock(t, s)
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err := s.ProbeWrite(pctx, at)
		if waited := time.Since(start); waited < 400*time.Millisecond {
			t.Errorf("probe with the write lock held elsewhere failed after %s, before its deadline", waited)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("probe with the write lock held elsewhere: %v; want it to wait until its deadline", err)
		}
		release()
		storetest.Must(t, s.ProbeWrite(ctx, at))
	})
}
