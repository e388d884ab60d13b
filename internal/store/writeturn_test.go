package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// openTurnTest opens a SQLite store with a counter table.
func openTurnTest(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "turn.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE counter (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO counter (n) VALUES (0)`); err != nil {
		t.Fatal(err)
	}
	return s
}

// Concurrent read-then-write transactions on SQLite all commit, one at a
// time: none is lost and none fails with SQLITE_BUSY.
func TestInTxTakesTurns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTurnTest(t)
	const workers, each = 16, 25
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		inside int // transactions in fn at once
		most   int
	)
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.InTx(ctx, func(tx *Tx) error {
					mu.Lock()
					inside++
					most = max(most, inside)
					mu.Unlock()
					defer func() { mu.Lock(); inside--; mu.Unlock() }()
					var n int
					if err := tx.db.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
						return err
					}
					_, err := tx.db.ExecContext(ctx, `UPDATE counter SET n = $1`, n+1)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers*each || most != 1 {
		t.Errorf("counter %d after %d increments, %d transactions at once at most; want %d and 1", n, workers*each, most, workers*each)
	}
}

// A transaction waiting for its turn gives up when its context ends, and
// after writeWait with a fault the web layer answers 503; a transaction
// begun inside another (a bug) gets that fault rather than hanging.
func TestInTxTurnWait(t *testing.T) {
	t.Parallel()
	s := openTurnTest(t)
	s.writeWait = 50 * time.Millisecond
	err := s.InTx(context.Background(), func(*Tx) error {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.InTx(ctx, func(*Tx) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("InTx with an ended context while another holds the turn: %v, want context.Canceled", err)
		}
		err := s.InTx(context.Background(), func(*Tx) error { return nil })
		if !errors.Is(err, errWriteBusy) || !IsUnavailable(err) {
			t.Errorf("nested InTx: %v, want the busy fault", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The turn was given back: the next transaction runs at once.
	if err := s.InTx(context.Background(), func(*Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// A transaction whose function panics is rolled back at once: its write
// is gone, and the next transaction gets the turn and SQLite's lock
// without waiting for the first one's context to end.
func TestInTxPanicRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTurnTest(t)
	s.writeWait = time.Second
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the function's panic", r)
			}
		}()
		s.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.db.ExecContext(ctx, `UPDATE counter SET n = 42`); err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	}()
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.db.ExecContext(ctx, `UPDATE counter SET n = n + 1`)
		return err
	})
	if err != nil {
		t.Fatalf("InTx after a panic: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("counter %d, want 1: the panicking transaction's write must be rolled back", n)
	}
}
