package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/groupsync"
)

// syncRecorder is a SQLite store whose log syncs are recorded, not made,
// and fail with fail when it is set.
type syncRecorder struct {
	*Store
	path   string // the database file
	mu     sync.Mutex
	synced []string
	fail   error
}

func newSyncRecorder(t *testing.T) *syncRecorder {
	t.Helper()
	r := &syncRecorder{path: filepath.Join(t.TempDir(), "sync.db")}
	s, err := Open(context.Background(), "sqlite://"+r.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.walSync.Close()
	s.walSync = groupsync.New(func(p string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.synced = append(r.synced, p)
		return r.fail
	})
	r.Store = s
	return r
}

// syncedOnce fails t unless the log was synced exactly once since the
// last call.
func (r *syncRecorder) syncedOnce(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.synced) != 1 || r.synced[0] != r.path+"-wal" {
		t.Fatalf("synced %v, want the log %s once", r.synced, r.path+"-wal")
	}
	r.synced = nil
}

// On SQLite, InTx returns after the write-ahead log is synced, and a
// failed sync reaches the caller although the transaction is committed.
func TestInTxSyncsSQLiteLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSyncRecorder(t)
	write := func(v int) error {
		return s.InTx(ctx, func(tx *Tx) error {
			_, err := tx.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS t (v INTEGER); INSERT INTO t VALUES ($1)", v)
			return err
		})
	}
	if err := write(1); err != nil {
		t.Fatal(err)
	}
	s.syncedOnce(t)
	fail := errors.New("log sync failed")
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
	if err := write(2); err == nil || !errors.Is(err, fail) {
		t.Fatalf("InTx with a failing log sync: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows: %d, %v; want 2 (the commit stands)", n, err)
	}
}

// TestAddEventSyncsSQLiteLog checks that an event recorded outside a
// transaction (after a logout's single-statement delete, say) is made
// durable, with what came before it, before AddEvent returns.
func TestAddEventSyncsSQLiteLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSyncRecorder(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.synced = nil // the migrations' own transactions
	s.mu.Unlock()
	if err := s.AddEvent(ctx, &Event{Tag: "test:event", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.syncedOnce(t)
}
