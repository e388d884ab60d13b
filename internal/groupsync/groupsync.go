// Package groupsync makes files durable for many concurrent callers with
// few fsync(2) calls: a group commit.
//
// A caller asks for a path to be synced and waits. One goroutine takes
// every request queued so far as a batch, syncs each distinct path of the
// batch once (concurrently), and releases the batch's callers with the
// result of their path's sync. Requests that arrive meanwhile form the next batch, so
// under load the number of syncs per caller falls, while a caller alone
// pays one sync, as it would without the group.
//
// A caller is released only by syncs that started after its request:
// whatever it wrote before asking is durable when Sync returns nil.
package groupsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// ErrClosed is returned by Sync once the group is closed.
var ErrClosed = errors.New("groupsync: closed")

// Group batches the syncs of concurrent callers. Its methods are safe for
// concurrent use.
type Group struct {
	sync func(path string) error

	mu      sync.Mutex
	pending []*waiter
	closed  bool

	wake chan struct{} // a request is pending (capacity 1)
	quit chan struct{}
	done chan struct{}
}

type waiter struct {
	paths []string
	err   chan error // capacity 1
}

// New starts a group that syncs a path with sync, such as File or Data.
// Close stops it.
func New(sync func(path string) error) *Group {
	g := &Group{sync: sync, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// Sync returns when each of paths has been synced by a sync that started
// after the call, with the first error of those syncs. When ctx is done
// first, it returns ctx's error, and the caller must not count on the
// syncs.
func (g *Group) Sync(ctx context.Context, paths ...string) error {
	w := &waiter{paths: paths, err: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	g.pending = append(g.pending, w)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	select {
	case err := <-w.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close syncs what is queued, releases its callers, and stops the group;
// later calls of Sync return ErrClosed.
func (g *Group) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		<-g.done
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.quit)
	<-g.done
}

func (g *Group) run() {
	defer close(g.done)
	for {
		select {
		case <-g.wake:
			g.flush()
		case <-g.quit:
			g.flush() // requests queued before Close
			return
		}
	}
}

// flush syncs every distinct path of the pending requests once and
// releases their callers. The paths are synced concurrently: a journaling
// file system (ext4, XFS) then commits them together, where one sync after
// the other would wait for a journal commit each.
func (g *Group) flush() {
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	errs := make(map[string]*error, len(batch))
	var wg sync.WaitGroup
	for _, w := range batch {
		for _, p := range w.paths {
			if _, ok := errs[p]; !ok {
				err := new(error)
				errs[p] = err
				wg.Go(func() { *err = g.sync(p) })
			}
		}
	}
	wg.Wait()
	for _, w := range batch {
		var err error
		for _, p := range w.paths {
			if err = *errs[p]; err != nil {
				break
			}
		}
		w.err <- err
	}
}

// File syncs a file or a folder with fsync(2): its content and its
// metadata, and for a folder its entries (a name created, renamed in or
// removed).
func File(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("groupsync: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("groupsync: sync %s: %w", path, err)
	}
	return nil
}

// Data syncs a file's content and the metadata needed to read it back
// (its size) with fdatasync(2), which can skip a journal commit for its
// timestamps. A missing file has nothing to sync: Data returns nil, for
// files such as SQLite's write-ahead log, which is removed once its
// content is in the database file.
func Data(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("groupsync: %w", err)
	}
	err = ignoringEINTR(func() error { return fdatasync(f) })
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("groupsync: sync %s: %w", path, err)
	}
	return nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
