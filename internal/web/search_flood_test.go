package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"cheeseshop/internal/store"
)

// TestSearchFloodBounded floods the search page with searches that match
// nothing, each of which walks the whole index of names while it holds a
// database connection. The projects table is locked meanwhile (on
// PostgreSQL, whose pg_stat_activity shows the queries waiting), so that
// the searches in flight can be counted: at most searchConcurrency reach
// the database, the others are answered 503 with Retry-After, and the
// searches held back run once the table is free. Before, every search went
// to the database at once: enough of them take every connection of the
// pool (8 on SQLite) and every CPU from the rest of the index.
func TestSearchFloodBounded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.Postgres)
	if s.st.Dialect() != store.Postgres {
		t.Skip("counts the queries in flight in pg_stat_activity")
	}
	ctx := t.Context()
	lock, err := s.st.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE projects IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	const flood = 12
	type answer struct {
		status     int
		retryAfter string
	}
	answers := make(chan answer, flood)
	for i := range flood {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/search/?q=nothing-%d", s.URL, i), nil)
			resp, err := s.client.Do(req)
			if err != nil {
				answers <- answer{}
				return
			}
			resp.Body.Close()
			answers <- answer{resp.StatusCode, resp.Header.Get("Retry-After")}
		}()
	}
	// Count the searches waiting on the lock until every search is
	// either waiting or answered.
	waiting := func() int {
		var n int
		err := s.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var got []answer
	most := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
poll:
	for most+len(got) < flood {
		select {
		case a := <-answers:
			got = append(got, a)
		case <-tick.C:
			most = max(most, waiting())
		case <-deadline:
			break poll
		}
	}
	most = max(most, waiting())
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	for len(got) < flood {
		select {
		case a := <-answers:
			got = append(got, a)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d searches never answered", flood-len(got), flood)
		}
	}
	if most > searchConcurrency {
		t.Errorf("%d searches reached the database at once, want at most %d", most, searchConcurrency)
	}
	ok, busy := 0, 0
	for _, a := range got {
		switch {
		case a.status == http.StatusOK:
			ok++
		case a.status == http.StatusServiceUnavailable && a.retryAfter != "":
			busy++
		default:
			t.Errorf("a search answered %d (Retry-After %q), want 200, or 503 with Retry-After", a.status, a.retryAfter)
		}
	}
	if ok < searchConcurrency || ok+busy != flood {
		t.Errorf("%d searches answered 200 and %d 503, want at least %d 200 and the rest 503", ok, busy, searchConcurrency)
	}
	// The turns are given back: a search now runs at once.
	if resp, _ := s.get("/search/?q=nothing"); resp.StatusCode != http.StatusOK {
		t.Errorf("a search after the flood: %s", resp.Status)
	}
}
