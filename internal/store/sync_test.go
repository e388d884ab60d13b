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

// On SQLite, InTx returns after the write-ahead log is synced, and a
// failed sync reaches the caller although the transaction is committed.
func TestInTxSyncsSQLiteLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.db")
	s, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var synced []string
	var fail error
	s.walSync.Close()
	s.walSync = groupsync.New(func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		synced = append(synced, p)
		return fail
	})
	write := func(v int) error {
		return s.InTx(ctx, func(tx *Tx) error {
			_, err := tx.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS t (v INTEGER); INSERT INTO t VALUES ($1)", v)
			return err
		})
	}
	if err := write(1); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(synced) != 1 || synced[0] != path+"-wal" {
		t.Fatalf("synced %v, want the log %s once", synced, path+"-wal")
	}
	fail = errors.New("log sync failed")
	mu.Unlock()
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
	path := filepath.Join(t.TempDir(), "sync.db")
	s, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var synced []string
	s.walSync.Close()
	s.walSync = groupsync.New(func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		synced = append(synced, p)
		return nil
	})
	if err := s.AddEvent(ctx, &Event{Tag: "test:event", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(synced) != 1 || synced[0] != path+"-wal" {
		t.Fatalf("synced %v, want the log %s once", synced, path+"-wal")
	}
}
