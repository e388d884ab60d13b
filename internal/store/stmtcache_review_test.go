package store

import (
	"context"
	"testing"
	"time"
)

// TestStmtCacheSchemaChanges: a cached statement keeps working after
// another connection changes the schema under it (SQLite prepares it
// again, prepare_v2), and fails cleanly when its table is gone.
func TestStmtCacheSchemaChanges(t *testing.T) {
	s, conn := openCacheTest(t)
	ctx := context.Background()
	const get = `SELECT v FROM kv WHERE k = $1`
	read := func() (string, error) {
		var v string
		err := conn.QueryRowContext(ctx, get, 1).Scan(&v)
		return v, err
	}
	if _, err := read(); err != nil {
		t.Fatal(err)
	}
	other, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	steps := []struct {
		ddl     string
		want    string
		wantErr bool
	}{
		{`ALTER TABLE kv ADD COLUMN extra TEXT NOT NULL DEFAULT 'x'`, "v1", false},
		{`CREATE INDEX kv_v ON kv (v)`, "v1", false},
		{`ALTER TABLE kv RENAME TO kv_old`, "", true},
		{`CREATE TABLE kv (v TEXT NOT NULL, k INTEGER PRIMARY KEY)`, "", true}, // empty
		{`INSERT INTO kv (k, v) VALUES (1, 'new')`, "new", false},
	}
	for _, st := range steps {
		if _, err := other.ExecContext(ctx, st.ddl); err != nil {
			t.Fatalf("%s: %v", st.ddl, err)
		}
		v, err := read()
		if (err != nil) != st.wantErr || v != st.want {
			t.Fatalf("after %s: got %q, %v; want %q (error %v)", st.ddl, v, err, st.want, st.wantErr)
		}
	}
}

// TestStmtCacheInterrupted: a statement whose query is interrupted by its
// context mid-step is reset, and the next run on the same connection reads
// from the start with the new arguments.
func TestStmtCacheInterrupted(t *testing.T) {
	_, conn := openCacheTest(t)
	ctx := context.Background()
	const slow = `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $1) SELECT COUNT(*) FROM c`
	for range 3 {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := conn.QueryRowContext(short, slow, 1<<40).Scan(new(int))
		cancel()
		if err == nil {
			t.Fatal("the slow query was not interrupted")
		}
		var n int
		if err := conn.QueryRowContext(ctx, slow, 10).Scan(&n); err != nil || n != 10 {
			t.Fatalf("after an interrupt: %d, %v", n, err)
		}
		if _, err := conn.ExecContext(ctx, `UPDATE kv SET v = $1 WHERE k = $2`, "w", 1); err != nil {
			t.Fatalf("after an interrupt: %v", err)
		}
	}
}

// TestStmtCacheRowsOpenAtCommit: rows of a cached statement left open when
// their transaction ends free the statement (database/sql closes them).
func TestStmtCacheRowsOpenAtCommit(t *testing.T) {
	s, _ := openCacheTest(t)
	ctx := context.Background()
	const list = `SELECT k FROM kv ORDER BY k`
	for range 3 {
		err := s.InTx(ctx, func(tx *Tx) error {
			rows, err := tx.db.QueryContext(ctx, list)
			if err != nil {
				return err
			}
			rows.Next() // left open
			_, err = tx.db.ExecContext(ctx, `UPDATE kv SET v = 'z' WHERE k = 0`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv WHERE v = 'z'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("count: %d, %v", n, err)
		}
	}
}
