package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"cheeseshop/internal/store"
)

// DefaultCacheBytes bounds the memory of the project-page cache.
const DefaultCacheBytes = 256 << 20

// pageCost estimates the memory a cached project page holds when it is
// cached: its two rendered bodies and the view behind them (which holds
// no release's metadata). The JSON API document, rendered on demand and
// holding the latest release's metadata, is charged when it is (charge).
func pageCost(p *ProjectPage) int64 {
	return int64(len(p.HTML.Body)+len(p.JSON.Body)) + 1024
}

// Cache keeps the rendered simple pages in memory, so that the hot read
// paths do not touch the database. Writes through this process invalidate
// it at once; writes by other replicas are seen by Follow, which reads the
// database journal.
type Cache struct {
	svc *Service

	mu       sync.RWMutex
	projects map[string]*ProjectPage
	bytes    int64 // cost of the cached pages
	maxBytes int64
	gen      uint64 // bumped by every invalidation
	loads    singleflight.Group

	root      atomic.Pointer[RootPage]
	rootDirty atomic.Bool
	rootMu    sync.Mutex
	rootCost  atomic.Int64 // nanoseconds the last root build took
	// rootUrgent: the next read rebuilds the list whatever its cost, as
	// a project left it that some readers may not see (made private).
	rootUrgent atomic.Bool
	// The projects changed since the list was built (noteRootChange),
	// which the next read patches it with, unless rootWhole: then it
	// is built whole (too many changes, or a failed build).
	rootChanges    map[string]struct{}
	rootChangesMu  sync.Mutex
	rootWhole      atomic.Bool
	rootPieceBytes int // HTML in a piece of the list (DefaultRootPieceBytes)
	rootCodecOnce  sync.Once
	rootCodecs     *rootCodec

	variants rootVariants // the lists of readers of private projects (RootFor)

	filesMu sync.RWMutex
	files   map[string]*FileEntry // downloads: filename → row

	// What names resolve to (ResolveProject) and the filenames of no
	// local file, so that the reads of proxied projects do not query the
	// database: forgotten by every invalidation (which bumps gen).
	nonLocalMu    sync.RWMutex
	sources       map[string]source
	nonLocalFiles map[string]struct{}

	serial atomic.Int64   // newest journal entry applied
	seen   map[int64]bool // journal entries applied within the window; Follow's goroutine only
}

func newCache(s *Service) *Cache {
	c := &Cache{svc: s, projects: make(map[string]*ProjectPage), maxBytes: s.cfg.CacheBytes, files: make(map[string]*FileEntry), seen: make(map[int64]bool),
		sources: make(map[string]source), nonLocalFiles: make(map[string]struct{}),
		rootChanges: make(map[string]struct{}), rootPieceBytes: DefaultRootPieceBytes}
	c.rootDirty.Store(true)
	return c
}

// drop removes a project's page; c.mu must be held.
func (c *Cache) drop(normalized string) {
	if p := c.projects[normalized]; p != nil {
		c.bytes -= p.cost
		delete(c.projects, normalized)
	}
}

// Stats reports how many project pages are cached and their estimated size.
func (c *Cache) Stats() (pages int, bytes int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.projects), c.bytes
}

// hide makes the next read of the project list rebuild it at once, not
// within twice its cost: a project's visibility changed, and the list
// everybody reads must not name a private project a moment longer.
func (c *Cache) hide() { c.rootUrgent.Store(true) }

// Invalidate drops a project's pages; rootChanged also rebuilds the list
// (the project's piece of it).
// It forgets what names resolve to and which filenames are no local
// file's: a change of any local project may change that of others
// (ultranormalized collisions), and changes are rare next to reads.
func (c *Cache) Invalidate(normalized string, rootChanged bool) {
	c.mu.Lock()
	c.drop(normalized)
	c.gen++
	c.mu.Unlock()
	// After gen moved: a resolution read before it is not kept.
	c.nonLocalMu.Lock()
	clear(c.sources)
	clear(c.nonLocalFiles)
	c.nonLocalMu.Unlock()
	c.noteRootChange(normalized, rootChanged)
}

// generation returns the count of invalidations, to read before a load
// whose result is kept only if nothing was invalidated meanwhile.
func (c *Cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// maxNonLocal bounds the resolutions and filenames kept by
// rememberSource and rememberNonLocalFile (each).
const maxNonLocal = 100_000

// source returns what a name resolves to, 0 when not known.
func (c *Cache) source(normalized string) source {
	c.nonLocalMu.RLock()
	defer c.nonLocalMu.RUnlock()
	return c.sources[normalized]
}

// rememberSource keeps what a name resolves to, read at generation gen.
func (c *Cache) rememberSource(normalized string, src source, gen uint64) {
	c.nonLocalMu.Lock()
	defer c.nonLocalMu.Unlock()
	if c.generation() != gen {
		return
	}
	if len(c.sources) >= maxNonLocal {
		clear(c.sources)
	}
	c.sources[normalized] = src
}

// nonLocalFile reports whether filename is known to be no local file's.
func (c *Cache) nonLocalFile(filename string) bool {
	c.nonLocalMu.RLock()
	defer c.nonLocalMu.RUnlock()
	_, ok := c.nonLocalFiles[filename]
	return ok
}

// rememberNonLocalFile keeps that no local file has the name, as read
// at generation gen.
func (c *Cache) rememberNonLocalFile(filename string, gen uint64) {
	c.nonLocalMu.Lock()
	defer c.nonLocalMu.Unlock()
	if c.generation() != gen {
		return
	}
	if len(c.nonLocalFiles) >= maxNonLocal {
		clear(c.nonLocalFiles)
	}
	c.nonLocalFiles[filename] = struct{}{}
}

// maxCachedFiles bounds the file-lookup cache.
const maxCachedFiles = 200_000

// FileEntry is a published file, with what a read decides on of its
// project.
type FileEntry struct {
	*store.File
	ProjectName string // normalized
	Visibility  string
}

// Project returns the file's project as far as CanRead and Shareable
// need it.
func (f *FileEntry) Project() *store.Project {
	return &store.Project{ID: f.ProjectID, NormalizedName: f.ProjectName, Visibility: f.Visibility}
}

// errWithheld is the error (wrapped, and wrapping store.ErrNotFound) of
// Cache.File for a local file that is not served: its project is
// quarantined or held for review.
var errWithheld = fmt.Errorf("file withheld: %w", store.ErrNotFound)

// File returns a published file by name, from memory when it can. Files
// never change; only their removal, or their project's quarantine or
// change of visibility, invalidates this cache. The files of a
// quarantined project, or of one held for review, are not found (errWithheld).
func (c *Cache) File(ctx context.Context, filename string) (*FileEntry, error) {
	c.filesMu.RLock()
	f := c.files[filename]
	c.filesMu.RUnlock()
	if f != nil {
		return f, nil
	}
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	row, err := c.svc.store.FileByFilename(ctx, filename)
	if err != nil {
		return nil, err
	}
	proj, err := c.svc.store.ProjectByID(ctx, row.ProjectID)
	if err != nil {
		return nil, err
	}
	if !servesFiles(proj) {
		return nil, fmt.Errorf("index: file %s of quarantined project %s: %w", filename, proj.Name, errWithheld)
	}
	// The files of a project held for review are not published; being
	// left out of this cache, they appear at its approval.
	if held, err := c.svc.store.IsHeld(ctx, row.ProjectID); err != nil {
		return nil, err
	} else if held {
		return nil, fmt.Errorf("index: file %s is held for review: %w", filename, errWithheld)
	}
	f = &FileEntry{File: row, ProjectName: proj.NormalizedName, Visibility: proj.Visibility}
	c.mu.RLock()
	unchanged := c.gen == gen
	c.mu.RUnlock()
	c.filesMu.Lock()
	if unchanged {
		if len(c.files) >= maxCachedFiles {
			clear(c.files)
		}
		c.files[filename] = f
	}
	c.filesMu.Unlock()
	return f, nil
}

// forgetFiles empties the file-lookup cache: a file or project was
// removed, or a project quarantined or made private or public.
func (c *Cache) forgetFiles() {
	c.filesMu.Lock()
	clear(c.files)
	c.filesMu.Unlock()
}

// Project returns a project's pages, loading them on a miss. It returns
// store.ErrNotFound for an unknown project.
func (c *Cache) Project(ctx context.Context, normalized string) (*ProjectPage, error) {
	c.mu.RLock()
	p := c.projects[normalized]
	c.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	v, err, _ := c.loads.Do(normalized, func() (any, error) {
		c.mu.RLock()
		gen := c.gen
		c.mu.RUnlock()
		view, err := c.svc.LoadProject(context.WithoutCancel(ctx), normalized)
		if err != nil {
			return nil, err
		}
		page := &ProjectPage{View: view, HTML: newPage(renderProjectHTML(view)), JSON: newPage(renderProjectJSON(view)), LoadedAt: time.Now()}
		c.mu.Lock()
		// Keep the page only if nothing changed while it was read: an
		// invalidation during the load may concern this very project.
		if c.gen == gen {
			c.drop(normalized)
			page.cost = pageCost(page)
			c.makeRoom(page.cost)
			if page.cost <= c.maxBytes {
				c.projects[normalized] = page
				c.bytes += page.cost
			}
		}
		c.mu.Unlock()
		return page, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*ProjectPage), nil
}

// makeRoom evicts random pages until n more bytes fit; c.mu must be held.
func (c *Cache) makeRoom(n int64) {
	for k := range c.projects { // map order is random: random eviction
		if c.bytes+n <= c.maxBytes {
			break
		}
		c.drop(k)
	}
}

// charge adds n bytes to the cost of a cached page (its JSON API document,
// rendered after it was cached), evicting others to make room, or the page
// itself when it no longer fits.
func (c *Cache) charge(normalized string, p *ProjectPage, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.projects[normalized] != p {
		return // not cached, or replaced
	}
	if p.cost+n > c.maxBytes {
		c.drop(normalized)
		return
	}
	c.bytes += n
	p.cost += n
	delete(c.projects, normalized) // not a candidate for its own eviction
	c.makeRoom(0)
	c.projects[normalized] = p
}

// Follow applies the database journal to the cache every interval until
// ctx ends, so that changes made by other replicas (or by admin commands)
// reach this one.
func (c *Cache) Follow(ctx context.Context, every time.Duration) error {
	if err := c.startFollowing(ctx); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.catchUp(ctx); err != nil && !errors.Is(err, context.Canceled) {
			c.svc.log.WarnContext(ctx, "cache: following the journal", "err", err)
		}
	}
}

// journalWindow is how far back catchUp looks again: on PostgreSQL a
// transaction holding a lower serial can commit after a higher one.
const journalWindow = 512

// startFollowing sets the journal position to the newest entry.
func (c *Cache) startFollowing(ctx context.Context) error {
	serial, err := c.svc.store.LastSerial(ctx)
	if err != nil {
		return err
	}
	c.serial.Store(serial)
	for id := max(0, serial-journalWindow) + 1; id <= serial; id++ {
		c.seen[id] = true
	}
	return nil
}

func (c *Cache) catchUp(ctx context.Context) error {
	for {
		high := c.serial.Load()
		entries, err := c.svc.store.JournalSince(ctx, max(0, high-journalWindow), 5000)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if c.seen[e.ID] {
				continue
			}
			c.seen[e.ID] = true
			switch e.Action {
			case store.ActionAccessChanged:
				c.svc.AccessChanged()
				high = max(high, e.ID)
				continue
			case store.ActionUpstreamRefresh, store.ActionUpstreamQuarantine, store.ActionUpstreamRelease:
				if u := c.svc.cfg.Upstream; u != nil {
					u.Invalidate(e.NormalizedName)
				}
				high = max(high, e.ID)
				continue
			}
			if e.Action == store.ActionSetVisibility {
				c.hide()
			}
			root := e.Action == store.ActionCreateProject || e.Action == store.ActionRemoveProject || e.Action == store.ActionSetVisibility
			c.Invalidate(e.NormalizedName, root)
			switch e.Action {
			case store.ActionRemoveFile, store.ActionRemoveProject, store.ActionQuarantine, store.ActionSetVisibility:
				c.forgetFiles()
			}
			high = max(high, e.ID)
		}
		c.serial.Store(high)
		for id := range c.seen {
			if id <= high-journalWindow {
				delete(c.seen, id)
			}
		}
		if len(entries) < 5000 {
			return nil
		}
	}
}
