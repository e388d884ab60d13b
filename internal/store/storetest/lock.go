package storetest

import (
	"context"
	"testing"

	"cheeseshop/internal/store"
)

// HoldWriteLock takes SQLite's write lock on a connection of its own
// (BEGIN EXCLUSIVE), as another process writing would, until release is
// called or the test ends: the store's writes wait out the busy timeout
// and fail with SQLITE_BUSY, while reads go on.
func HoldWriteLock(t testing.TB, s *store.Store) (release func()) {
	t.Helper()
	if s.Dialect() != store.SQLite {
		t.Fatalf("storetest: HoldWriteLock needs SQLite, not %s", s.Dialect())
	}
	ctx := context.Background()
	conn, err := s.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		conn.Close()
		t.Fatalf("storetest: BEGIN EXCLUSIVE: %v", err)
	}
	var released bool
	release = func() {
		if released {
			return
		}
		released = true
		conn.ExecContext(ctx, `ROLLBACK`)
		conn.Close()
	}
	t.Cleanup(release)
	return release
}
