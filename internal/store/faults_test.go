package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestIsUnavailableSQLite: the ways a SQLite database really fails to
// take a write (locked by another writer, opened read-only, full, not
// there) are faults that may pass; a violated constraint or bad SQL is
// not.
func TestIsUnavailableSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	var path string
	storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path))
	// conn opens the store's file on a connection of its own, with dsn's
	// options.
	conn := func(options string) *sql.Conn {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+path+"?"+options)
		storetest.Must(t, err)
		t.Cleanup(func() { db.Close() })
		c, err := db.Conn(ctx)
		storetest.Must(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	insert := func(c *sql.Conn, n int) error {
		_, err := c.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, 1)`,
			fmt.Sprintf("probe-%d", n), strings.Repeat("x", 4000))
		return err
	}

	faults := map[string]func() error{
		"locked by another writer": func() error {
			release := storetest.HoldWriteLock(t, st)
			defer release()
			_, err := conn("_pragma=busy_timeout(0)").ExecContext(ctx, `BEGIN IMMEDIATE`)
			return err
		},
		"opened read-only": func() error { return insert(conn("mode=ro"), 0) },
		"full": func() error {
			c := conn("_pragma=busy_timeout(10000)")
			var pages int64
			storetest.Must(t, c.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages))
			if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
				t.Fatal(err)
			}
			for n := range 100 {
				if err := insert(c, n); err != nil {
					return err
				}
			}
			t.Fatal("100 rows of 4 kB fit in 2 more pages")
			return nil
		},
		"not there": func() error {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "no-such-folder", "x.db")+"?mode=rw")
			storetest.Must(t, err)
			defer db.Close()
			return db.PingContext(ctx)
		},
	}
	for name, fail := range faults {
		err := fail()
		t.Logf("%s: %v", name, err)
		if err == nil || !store.IsUnavailable(err) {
			t.Errorf("%s: %v; want a fault (IsUnavailable)", name, err)
		}
	}
	bugs := map[string]func() error{
		"a constraint violated": func() error {
			c := conn("_pragma=busy_timeout(10000)")
			if err := insert(c, 1000); err != nil {
				return fmt.Errorf("the first insert failed: %w", err)
			}
			return insert(c, 1000)
		},
		"bad SQL": func() error {
			_, err := st.DB().ExecContext(ctx, `SELEKT 1`)
			return err
		},
	}
	for name, fail := range bugs {
		if err := fail(); err == nil || store.IsUnavailable(err) {
			t.Errorf("%s: %v; want an error that is no fault", name, err)
		}
	}
}
