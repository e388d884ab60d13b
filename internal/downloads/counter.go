package downloads

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"cheeseshop/internal/store"
)

// FlushTimeout bounds each flush that Run makes. A flush that takes
// longer (the database is unreachable, or another writer holds the
// downloads lock) fails and keeps its counts for the next one. The last
// flush, once Run's context is done, gets a fresh context with this
// limit.
const FlushTimeout = 10 * time.Second

// countKey is a project, local or proxied, on a day.
type countKey struct {
	upstream bool // project is an upstream_projects id
	project  int64
	day      store.Day
}

// scope is the project of the key for the per-address limit: a local
// project's id, or the negated id of a proxied one, so that the two
// never share a limit.
func (k countKey) scope() int64 {
	if k.upstream {
		return -k.project
	}
	return k.project
}

// Download is one complete download that a server answered, of a local
// project's file or of a proxied project's (the proxy of upstream
// indexes).
type Download struct {
	// ProjectID is the local project of the file; 0 for a proxied one.
	ProjectID int64
	// UpstreamProjectID is the proxied project of the file (its
	// upstream_projects id); 0 for a local one. Proxied downloads are
	// counted apart (upstream_downloads), with the same policy, and never
	// enter the computation of critical projects.
	UpstreamProjectID int64
	// At is when the download ended; its UTC day is the day it counts on.
	At time.Time
	// Addr is the client's address (an IP address, with or without a
	// port); "" when unknown, which the per-address limit does not limit.
	Addr string
	// UserAgent is the client's User-Agent header.
	UserAgent string
}

// Counter counts the downloads served by this process in memory, per
// project (local or proxied) and UTC day, and writes them to the store in batches: Flush
// writes every pending count in one transaction, Run flushes at an
// interval and once more at the end. Counting is a map increment under a
// mutex, so serving a file does not wait for the database.
//
// Its Policy decides which downloads count. For the per-address limit it
// remembers, for the current UTC day, how many downloads it counted per
// client address and project, as a set of 64-bit hashes (under a random
// seed of the process) bounded by Policy.MaxAddresses and emptied when
// the first download of a new day comes. The limit is per process: each
// server of a deployment counts up to the limit, and a restart forgets
// the day's addresses.
//
// A crash (or a kill) loses the counts not flushed yet: at most one
// flush interval of downloads. A flush that fails keeps its counts for
// the next one, so an unavailable database delays counts without losing
// them (unless the process ends before it is back). A commit whose
// outcome is unknown (the connection broke after the commit was sent) is
// taken as failed, so its counts may be written twice.
type Counter struct {
	st     *store.Store
	log    *slog.Logger
	policy Policy
	seed   maphash.Seed

	mu      sync.Mutex
	pending map[countKey]int64
	total   int64 // sum of pending
	// seen counts the downloads counted today per hashed (client,
	// project), when the policy limits them: day is the UTC day it is for,
	// and full is set once it is full and that was logged.
	seen    map[uint64]uint32
	seenDay store.Day
	full    bool

	skippedAgent, skippedLimit, skippedFull atomic.Int64

	flushMu sync.Mutex // one flush at a time
}

// NewCounter returns a Counter that counts the downloads that p lets
// count, writes them to st and logs to log.
func NewCounter(st *store.Store, log *slog.Logger, p Policy) *Counter {
	if p.MaxAddresses <= 0 {
		p.MaxAddresses = DefaultMaxAddresses
	}
	return &Counter{st: st, log: log, policy: p, seed: maphash.MakeSeed(), pending: make(map[countKey]int64),
		seen: make(map[uint64]uint32)}
}

// Count counts one download, unless the policy says it does not count,
// and reports whether it counted. It is safe for concurrent use and never
// blocks on the database.
func (c *Counter) Count(d Download) bool {
	if !c.policy.Agents.Counts(d.UserAgent) {
		c.skippedAgent.Add(1)
		return false
	}
	k := countKey{project: d.ProjectID, day: store.DayOf(d.At)}
	if d.UpstreamProjectID != 0 {
		k.upstream, k.project = true, d.UpstreamProjectID
	}
	var (
		hash    uint64
		limited bool
	)
	if c.policy.PerAddress > 0 {
		if client, ok := clientOf(d.Addr); ok {
			hash, limited = client.hash(c.seed, k.scope()), true
		}
	}
	c.mu.Lock()
	if limited && k.day >= c.seenDay {
		// A download that ended just before midnight may take the lock
		// just after the first one of the new day: it is not limited.
		if k.day > c.seenDay {
			// A new map, not a cleared one: a day with a flood of
			// addresses does not keep its memory.
			c.seen = make(map[uint64]uint32)
			c.seenDay, c.full = k.day, false
		}
		n, ok := c.seen[hash]
		switch {
		case n >= uint32(c.policy.PerAddress):
			c.mu.Unlock()
			c.skippedLimit.Add(1)
			return false
		case !ok && len(c.seen) >= c.policy.MaxAddresses:
			warn := !c.full
			c.full = true
			c.mu.Unlock()
			c.skippedFull.Add(1)
			if warn {
				c.log.Warn("downloads: the day's addresses fill --downloads-max-addresses: downloads from other addresses are not counted until midnight UTC",
					"addresses", c.policy.MaxAddresses, "day", k.day.String())
			}
			return false
		}
		c.seen[hash] = n + 1
	}
	c.pending[k]++
	c.total++
	c.mu.Unlock()
	return true
}

// Skipped counts the downloads that a Counter did not count, by why.
type Skipped struct {
	// Agent: the policy does not count the client's user agent.
	Agent int64
	// Limit: the client had its Policy.PerAddress downloads of the
	// project that day.
	Limit int64
	// Full: the client was not among the Policy.MaxAddresses that the
	// Counter remembers that day.
	Full int64
}

// Skipped returns how many downloads were not counted since the Counter
// was made, by why.
func (c *Counter) Skipped() Skipped {
	return Skipped{Agent: c.skippedAgent.Load(), Limit: c.skippedLimit.Load(), Full: c.skippedFull.Load()}
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
// projects deleted meanwhile are dropped (store.Tx.AddDownloads,
// store.Tx.AddUpstreamDownloads).
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

	var counts, upstream []store.DownloadCount
	for k, n := range batch {
		dc := store.DownloadCount{ProjectID: k.project, Day: k.day, Downloads: n}
		if k.upstream {
			upstream = append(upstream, dc)
		} else {
			counts = append(counts, dc)
		}
	}
	// A stable order: the same rows are always written in the same order.
	byProjectDay := func(a, b store.DownloadCount) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.Day, b.Day))
	}
	slices.SortFunc(counts, byProjectDay)
	slices.SortFunc(upstream, byProjectDay)
	start := time.Now()
	kept := 0
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		if len(counts) > 0 {
			n, err := tx.AddDownloads(ctx, counts)
			if err != nil {
				return err
			}
			kept += n
		}
		if len(upstream) > 0 {
			n, err := tx.AddUpstreamDownloads(ctx, upstream)
			if err != nil {
				return err
			}
			kept += n
		}
		return nil
	})
	if err != nil {
		c.mu.Lock()
		for k, n := range batch {
			c.pending[k] += n
		}
		c.total += total
		c.mu.Unlock()
		return fmt.Errorf("downloads: flush %d downloads of %d projects and days (kept for the next flush): %w",
			total, len(batch), err)
	}
	c.log.DebugContext(ctx, "downloads flushed", "downloads", total, "rows", len(batch),
		"dropped_rows", len(batch)-kept, "duration_ms", time.Since(start).Milliseconds())
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
