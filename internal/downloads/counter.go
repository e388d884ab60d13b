package downloads

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"cheeseshop/internal/store"
)

// FlushTimeout bounds each flush that Run makes. A flush that takes
// longer (the database is unreachable, or another writer holds the
// downloads lock) fails and keeps its counts for the next one. The last
// flush, once Run's context is done, gets a fresh context with this
// limit.
const FlushTimeout = 10 * time.Second

// countKey is a project on a day.
type countKey struct {
	project int64
	day     store.Day
}

// Counter counts the downloads served by this process in memory, per
// project and UTC day, and writes them to the store in batches: Flush
// writes every pending count in one transaction, Run flushes at an
// interval and once more at the end. Counting is a map increment under a
// mutex, so serving a file does not wait for the database.
//
// A crash (or a kill) loses the counts not flushed yet: at most one
// flush interval of downloads. A flush that fails keeps its counts for
// the next one, so an unavailable database delays counts without losing
// them (unless the process ends before it is back). A commit whose
// outcome is unknown (the connection broke after the commit was sent) is
// taken as failed, so its counts may be written twice.
type Counter struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex
	pending map[countKey]int64
	total   int64 // sum of pending

	flushMu sync.Mutex // one flush at a time
}

// NewCounter returns a Counter that writes to st and logs to log.
func NewCounter(st *store.Store, log *slog.Logger) *Counter {
	return &Counter{st: st, log: log, pending: make(map[countKey]int64)}
}

// Count counts one download of the project at the given time; its day is
// the UTC day of at. It is safe for concurrent use and never blocks on
// the database.
func (c *Counter) Count(projectID int64, at time.Time) {
	k := countKey{project: projectID, day: store.DayOf(at)}
	c.mu.Lock()
	c.pending[k]++
	c.total++
	c.mu.Unlock()
}

// Pending returns the number of downloads counted and not written yet.
func (c *Counter) Pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Flush writes the pending counts in one transaction. Downloads counted
// meanwhile wait for the next flush. On failure the counts are kept,
// added to those counted since, and the error is returned. Counts of
// projects deleted meanwhile are dropped (store.Tx.AddDownloads).
func (c *Counter) Flush(ctx context.Context) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()

	c.mu.Lock()
	batch, total := c.pending, c.total
	if total == 0 {
		c.mu.Unlock()
		return nil
	}
	c.pending, c.total = make(map[countKey]int64, len(batch)), 0
	c.mu.Unlock()

	counts := make([]store.DownloadCount, 0, len(batch))
	for k, n := range batch {
		counts = append(counts, store.DownloadCount{ProjectID: k.project, Day: k.day, Downloads: n})
	}
	// A stable order: the same rows are always written in the same order.
	slices.SortFunc(counts, func(a, b store.DownloadCount) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.Day, b.Day))
	})
	start := time.Now()
	kept := 0
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		kept, err = tx.AddDownloads(ctx, counts)
		return err
	})
	if err != nil {
		c.mu.Lock()
		for k, n := range batch {
			c.pending[k] += n
		}
		c.total += total
		c.mu.Unlock()
		return fmt.Errorf("downloads: flush %d downloads of %d projects and days (kept for the next flush): %w",
			total, len(counts), err)
	}
	c.log.DebugContext(ctx, "downloads flushed", "downloads", total, "rows", len(counts),
		"dropped_rows", len(counts)-kept, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// Run flushes every interval (each flush bounded by FlushTimeout) until
// ctx is done, then flushes once more with a fresh context bounded by
// FlushTimeout, and returns that last flush's error. Failed flushes on the way are logged; their counts
// wait for the next one. To lose no download at shutdown, cancel ctx only
// once nothing calls Count any more (after the HTTP server has stopped),
// and wait for Run to return.
func (c *Counter) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
			defer cancel()
			if err := c.Flush(fctx); err != nil {
				c.log.ErrorContext(fctx, "downloads: last flush failed: these downloads are lost",
					"pending", c.Pending(), "err", err)
				return err
			}
			return nil
		case <-t.C:
			fctx, cancel := context.WithTimeout(ctx, FlushTimeout)
			err := c.Flush(fctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				c.log.WarnContext(ctx, "downloads: flush failed; retrying at the next one",
					"pending", c.Pending(), "err", err)
			}
		}
	}
}
