package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// openCacheTest opens a migrated SQLite store and one of its connections.
func openCacheTest(t *testing.T) (*Store, *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn
}

// cached returns the connection's statements by query.
func cached(t *testing.T, conn *sql.Conn) map[string]sqliteStmt {
	t.Helper()
	out := map[string]sqliteStmt{}
	if err := conn.Raw(func(dc any) error {
		for q, e := range dc.(*stmtConn).stmts {
			out[q] = e.Value.(*cachedStmt).stmt
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStmtCacheReuses(t *testing.T) {
	_, conn := openCacheTest(t)
	ctx := context.Background()
	const get = `SELECT v FROM kv WHERE k = $1`
	const set = `UPDATE kv SET v = $1 WHERE k = $2`
	for i := range 10 {
		if _, err := conn.ExecContext(ctx, set, fmt.Sprint("w", i), i%5); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := conn.QueryRowContext(ctx, get, i%5).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("w", i); v != want {
			t.Fatalf("round %d: got %q, want %q", i, v, want)
		}
	}
	first := cached(t, conn)
	if first[get] == nil || first[set] == nil {
		t.Fatalf("the queries are not cached: %v", first)
	}
	if err := conn.QueryRowContext(ctx, get, 1).Scan(new(string)); err != nil {
		t.Fatal(err)
	}
	if again := cached(t, conn); again[get] != first[get] {
		t.Error("the query was prepared again")
	}
}

// TestStmtCacheNested runs a query again while its rows are open, in a
// transaction: the second run must not reset the first's statement.
func TestStmtCacheNested(t *testing.T) {
	s, _ := openCacheTest(t)
	ctx := context.Background()
	const list = `SELECT k, v FROM kv WHERE k >= $1 ORDER BY k`
	err := s.InTx(ctx, func(tx *Tx) error {
		outer, err := tx.db.QueryContext(ctx, list, 0)
		if err != nil {
			return err
		}
		defer outer.Close()
		var got []string
		for outer.Next() {
			var k int
			var v string
			if err := outer.Scan(&k, &v); err != nil {
				return err
			}
			inner, err := queryAll(ctx, tx.db, "inner", func(row scanner) (string, error) {
				var k int
				var v string
				err := row.Scan(&k, &v)
				return v, err
			}, list, k)
			if err != nil {
				return err
			}
			if len(inner) != 5-k {
				return fmt.Errorf("inner run from %d read %d rows, want %d", k, len(inner), 5-k)
			}
			got = append(got, v)
		}
		if err := outer.Err(); err != nil {
			return err
		}
		if len(got) != 5 {
			return fmt.Errorf("outer run read %d rows, want 5: %v", len(got), got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStmtCacheBounded(t *testing.T) {
	_, conn := openCacheTest(t)
	ctx := context.Background()
	for i := range stmtCacheSize + 20 {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) + %d FROM kv`, i)
		if err := conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 5+i {
			t.Fatalf("%s: got %d", q, n)
		}
	}
	got := cached(t, conn)
	if len(got) != stmtCacheSize {
		t.Errorf("cache holds %d statements, want %d", len(got), stmtCacheSize)
	}
	if _, ok := got[`SELECT COUNT(*) + 0 FROM kv`]; ok {
		t.Error("the least recently used statement was kept")
	}
	if _, ok := got[fmt.Sprintf(`SELECT COUNT(*) + %d FROM kv`, stmtCacheSize+19)]; !ok {
		t.Error("the last statement is not kept")
	}
}

func TestStmtCacheErrors(t *testing.T) {
	_, conn := openCacheTest(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		query string
	}{
		{"syntax", `SELEC v FROM kv`},
		{"no such table", `SELECT v FROM nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := conn.QueryRowContext(ctx, tt.query).Scan(new(string)); err == nil {
				t.Fatal("no error")
			}
			if _, ok := cached(t, conn)[tt.query]; ok {
				t.Error("a failed query was cached")
			}
		})
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	const get = `SELECT v FROM kv WHERE k = $1`
	if err := conn.QueryRowContext(ctx, get, 1).Scan(new(string)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.QueryContext(canceled, get, 1); err == nil {
		t.Fatal("a canceled query ran")
	}
	if err := conn.Raw(func(dc any) error {
		if dc.(*stmtConn).stmts[get].Value.(*cachedStmt).busy {
			t.Error("a canceled query left its statement busy")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestStmtCacheConcurrent runs the same queries from many goroutines
// through the pool (go test -race).
func TestStmtCacheConcurrent(t *testing.T) {
	s, _ := openCacheTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				err := s.InTx(ctx, func(tx *Tx) error {
					if _, err := tx.db.ExecContext(ctx, `UPDATE kv SET v = $1 WHERE k = $2`, fmt.Sprint(g, i), i%5); err != nil {
						return err
					}
					return tx.db.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`, i%5).Scan(new(string))
				})
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != 5 {
					t.Errorf("count: %d, %v", n, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
