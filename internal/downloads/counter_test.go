package downloads_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/downloads"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// counterProjects creates n projects and returns their ids.
func counterProjects(t *testing.T, s *store.Store, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i := range n {
		name := fmt.Sprintf("counted-%d", i)
		p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: time.Now()}
		storetest.Must(t, s.CreateProject(ctx, p))
		ids = append(ids, p.ID)
	}
	return ids
}

// newCounter creates n projects, and a counter without a policy on s; it
// returns the projects' ids and the counter.
func newCounter(t *testing.T, s *store.Store, n int) ([]int64, *downloads.Counter) {
	t.Helper()
	return counterProjects(t, s, n), downloads.NewCounter(s, quietLog(), downloads.Policy{})
}

// downloadsOn returns a project's downloads on a day.
func downloadsOn(t *testing.T, s *store.Store, id int64, d store.Day) int64 {
	t.Helper()
	n, err := s.ProjectDownloads(context.Background(), id, d, d)
	storetest.Must(t, err)
	return n
}

// TestCounterConcurrent counts from many goroutines across two UTC days
// (a second either side of midnight, in a zone that is not UTC), while
// flushes run, and checks the exact totals per project and day.
func TestCounterConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids, c := newCounter(t, s, 3)
		zone := time.FixedZone("UTC+2", 2*3600)
		// 01:59:59 in UTC+2 is 23:59:59 UTC on the 24th; a second later
		// is the 25th in UTC.
		before := time.Date(2026, 11, 25, 1, 59, 59, 0, zone)
		after := before.Add(time.Second)
		day1, day2 := store.DayOf(before), store.DayOf(after)
		if day1.String() != "2026-11-24" || day2.String() != "2026-11-25" {
			t.Fatalf("days %s %s", day1, day2)
		}

		const goroutines, each = 32, 500
		var wg sync.WaitGroup
		done := make(chan struct{})
		flushed := make(chan error, 1)
		go func() { // flush again and again while counting goes on
			var err error
			for {
				select {
				case <-done:
					flushed <- err
					return
				default:
				}
				if e := c.Flush(ctx); e != nil {
					err = e
				}
				time.Sleep(time.Millisecond)
			}
		}()
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					at := before
					if (g+i)%3 == 0 {
						at = after
					}
					c.Count(downloads.Download{ProjectID: ids[(g+i)%len(ids)], At: at})
				}
			})
		}
		wg.Wait()
		close(done)
		storetest.Must(t, <-flushed)
		storetest.Must(t, c.Flush(ctx))
		if n := c.Pending(); n != 0 {
			t.Fatalf("pending after flush: %d", n)
		}

		want := map[int64][2]int64{}
		for g := range goroutines {
			for i := range each {
				w := want[ids[(g+i)%len(ids)]]
				if (g+i)%3 == 0 {
					w[1]++
				} else {
					w[0]++
				}
				want[ids[(g+i)%len(ids)]] = w
			}
		}
		var sum int64
		for _, id := range ids {
			got := [2]int64{downloadsOn(t, s, id, day1), downloadsOn(t, s, id, day2)}
			if got != want[id] {
				t.Errorf("project %d: downloads %v on %s and %s, want %v", id, got, day1, day2, want[id])
			}
			sum += got[0] + got[1]
		}
		if sum != goroutines*each {
			t.Fatalf("total %d, want %d", sum, goroutines*each)
		}
		// Nothing pending: a flush writes nothing more.
		storetest.Must(t, c.Flush(ctx))
		if got := downloadsOn(t, s, ids[0], day1); got != want[ids[0]][0] {
			t.Fatalf("an empty flush changed the counts: %d", got)
		}
	})
}

// TestCounterFlushFailure checks that a failed flush keeps its counts,
// and that the next successful flush writes them exactly once: with a
// cancelled context (the transaction never starts) and with a deadline
// that passes while another writer holds the downloads lock (the
// transaction fails midway).
func TestCounterFlushFailure(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids, c := newCounter(t, s, 2)
		now := time.Now()
		today := store.DayOf(now)
		for range 5 {
			c.Count(downloads.Download{ProjectID: ids[0], At: now})
		}
		c.Count(downloads.Download{ProjectID: ids[1], At: now})

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := c.Flush(cancelled); err == nil {
			t.Fatal("flush with a cancelled context succeeded")
		}
		if n := c.Pending(); n != 6 {
			t.Fatalf("pending after a failed flush: %d, want 6", n)
		}
		c.Count(downloads.Download{ProjectID: ids[0], At: now}) // counted while the database is "down"

		// Another writer holds the downloads lock past the flush's deadline.
		locked, release := make(chan struct{}), make(chan struct{})
		holder := make(chan error, 1)
		go func() {
			holder <- s.InTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.LockDownloads(ctx); err != nil {
					close(locked)
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
		err := c.Flush(short)
		cancelShort()
		close(release)
		storetest.Must(t, <-holder)
		if err == nil {
			t.Fatal("flush succeeded while another transaction held the downloads lock")
		}
		if n := c.Pending(); n != 7 {
			t.Fatalf("pending after the second failed flush: %d, want 7", n)
		}
		if got := downloadsOn(t, s, ids[0], today); got != 0 {
			t.Fatalf("a failed flush wrote %d downloads", got)
		}

		storetest.Must(t, c.Flush(ctx))
		storetest.Must(t, c.Flush(ctx))
		if a, b := downloadsOn(t, s, ids[0], today), downloadsOn(t, s, ids[1], today); a != 6 || b != 1 {
			t.Fatalf("downloads after recovery: %d and %d, want 6 and 1", a, b)
		}
		if n := c.Pending(); n != 0 {
			t.Fatalf("pending after recovery: %d", n)
		}
	})
}

// TestCounterDeletedProject checks that the counts of a project deleted
// before the flush are dropped without failing the others.
func TestCounterDeletedProject(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids, c := newCounter(t, s, 2)
		now := time.Now()
		c.Count(downloads.Download{ProjectID: ids[0], At: now})
		c.Count(downloads.Download{ProjectID: ids[1], At: now})
		storetest.Must(t, s.DeleteProject(ctx, ids[1]))
		storetest.Must(t, c.Flush(ctx))
		if got := downloadsOn(t, s, ids[0], store.DayOf(now)); got != 1 {
			t.Fatalf("downloads of the live project: %d, want 1", got)
		}
		if n := c.Pending(); n != 0 {
			t.Fatalf("pending: %d (the deleted project's count must be dropped, not retried)", n)
		}
	})
}

// TestCounterUpstream: downloads of proxied projects are counted apart
// (upstream_downloads), with the same per-address limit as local ones but
// never sharing it with a local project of the same id, and flushed with
// them in one transaction.
func TestCounterUpstream(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ids := counterProjects(t, s, 1)
		up := storetest.AddProxiedFile(t, s, "proxied", storetest.ProxiedFile{Filename: "proxied-1.0.tar.gz", SHA256: "b1"})
		c := downloads.NewCounter(s, quietLog(), downloads.Policy{PerAddress: 2})
		now := time.Now()
		for range 3 {
			c.Count(downloads.Download{ProjectID: ids[0], At: now, Addr: "192.0.2.1"})
			c.Count(downloads.Download{UpstreamProjectID: up, At: now, Addr: "192.0.2.1"})
		}
		c.Count(downloads.Download{UpstreamProjectID: up, At: now, Addr: "192.0.2.2"})
		c.Count(downloads.Download{UpstreamProjectID: up + 100, At: now}) // a proxied project gone since
		if n := c.Pending(); n != 6 {
			t.Fatalf("pending %d, want 6 (2 local and 3 proxied within the limit, 1 of a gone project)", n)
		}
		storetest.Must(t, c.Flush(ctx))
		day := store.DayOf(now)
		if got := downloadsOn(t, s, ids[0], day); got != 2 {
			t.Errorf("local downloads %d, want 2", got)
		}
		n, err := s.UpstreamProjectDownloads(ctx, up, day, day)
		storetest.Must(t, err)
		if n != 3 {
			t.Errorf("proxied downloads %d, want 3", n)
		}
		if n := c.Pending(); n != 0 {
			t.Errorf("pending after the flush: %d", n)
		}
	})
}

// TestCounterRun checks the periodic flush, and the last flush when the
// context is done (with an interval too long to have fired).
func TestCounterRun(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := counterProjects(t, s, 1)
		now := time.Now()
		today := store.DayOf(now)

		t.Run("interval", func(t *testing.T) {
			c := downloads.NewCounter(s, quietLog(), downloads.Policy{})
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- c.Run(ctx, 20*time.Millisecond) }()
			c.Count(downloads.Download{ProjectID: ids[0], At: now})
			c.Count(downloads.Download{ProjectID: ids[0], At: now})
			deadline := time.Now().Add(10 * time.Second)
			for downloadsOn(t, s, ids[0], today) != 2 {
				if time.Now().After(deadline) {
					t.Fatalf("not flushed within 10 s: %d in the store, %d pending", downloadsOn(t, s, ids[0], today), c.Pending())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			storetest.Must(t, <-ran)
		})

		t.Run("final", func(t *testing.T) {
			c := downloads.NewCounter(s, quietLog(), downloads.Policy{})
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- c.Run(ctx, time.Hour) }()
			for range 3 {
				c.Count(downloads.Download{ProjectID: ids[0], At: now})
			}
			cancel()
			select {
			case err := <-ran:
				storetest.Must(t, err)
			case <-time.After(2 * downloads.FlushTimeout):
				t.Fatal("Run did not return after its context was cancelled")
			}
			if got := downloadsOn(t, s, ids[0], today); got != 5 {
				t.Fatalf("downloads after the last flush: %d, want 5 (2 + 3)", got)
			}
			if n := c.Pending(); n != 0 {
				t.Fatalf("pending: %d", n)
			}
		})
	})
}

// TestCounterRunFinalFlushFails checks that Run reports a last flush
// that could not write (the store is closed): the downloads are lost,
// and said so.
func TestCounterRunFinalFlushFails(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ids, c := newCounter(t, s, 1)
	c.Count(downloads.Download{ProjectID: ids[0], At: time.Now()})
	s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx, time.Hour); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a closed store: %v, want the store's error", err)
	}
	if n := c.Pending(); n != 1 {
		t.Fatalf("pending: %d, want 1", n)
	}
}

// BenchmarkCounterCount counts downloads from every CPU at once, over
// 1,000 projects (run with -cpu 1,2,4,8 to see contention).
func BenchmarkCounterCount(b *testing.B) {
	c := downloads.NewCounter(nil, quietLog(), downloads.Policy{})
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i int64
		for pb.Next() {
			c.Count(downloads.Download{ProjectID: i%1000 + 1, At: now})
			i++
		}
	})
	if n := c.Pending(); n != int64(b.N) {
		b.Fatalf("pending %d, want %d", n, b.N)
	}
}

// BenchmarkCounterCountLimited is BenchmarkCounterCount with the
// per-address limit and the selection of installers of serve's defaults:
// each download's address is parsed and hashed, and looked up in the
// day's set, under the same mutex. The clients are 4,096 IPv4 addresses
// and 4,096 IPv6 ones, over 64 projects: the first download of each pair
// counts, the others are over the limit.
func BenchmarkCounterCountLimited(b *testing.B) {
	addrs := make([]string, 8192)
	for i := range 4096 {
		addrs[2*i] = fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		addrs[2*i+1] = fmt.Sprintf("2001:db8:%x:%x::1", i/256, i%256)
	}
	const ua = `pip/24.0 {"ci":null,"installer":{"name":"pip","version":"24.0"}}`
	c := downloads.NewCounter(nil, quietLog(), downloads.Policy{PerAddress: 1, Agents: downloads.Installers})
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i int
		for pb.Next() {
			c.Count(downloads.Download{ProjectID: int64(i%64 + 1), At: now, Addr: addrs[i%len(addrs)], UserAgent: ua})
			i += 7
		}
	})
	if sk := c.Skipped(); c.Pending()+sk.Limit+sk.Full+sk.Agent != int64(b.N) {
		b.Fatalf("pending %d and skipped %+v, want %d in all", c.Pending(), sk, b.N)
	}
}
