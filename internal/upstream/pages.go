package upstream

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// pageEntry is a proxied name as rendered from its rows: a page, or
// store.ErrNotFound (found false).
type pageEntry struct {
	name  string
	found bool
	page  *index.ProxiedPage // nil when not found
	stale *index.ProxiedPage // the same page, said stale
	// freshUntil is when the upstream is asked again.
	freshUntil time.Time
	// changeAt is the next instant the page changes without a fetch (a
	// file old enough, a break glass expired); zero: none.
	changeAt time.Time
	// servedStale: the last refresh failed; page is served as stale.
	servedStale bool
	gen         uint64
	cost        int64
}

// current returns the page of a fresh entry, ErrNotFound for a fresh
// negative one, and ok false when the entry must be refreshed.
func (e *pageEntry) current(now time.Time) (*index.ProxiedPage, bool, error) {
	if !now.Before(e.freshUntil) || (!e.changeAt.IsZero() && !now.Before(e.changeAt)) {
		return nil, false, nil
	}
	page, err := e.served()
	return page, true, err
}

// served returns what the entry serves, fresh or not: its page (said
// stale when the last refresh failed), or ErrNotFound.
func (e *pageEntry) served() (*index.ProxiedPage, error) {
	switch {
	case !e.found:
		return nil, fmt.Errorf("upstream: %s: %w", e.name, store.ErrNotFound)
	case e.servedStale:
		return e.stale, nil
	}
	return e.page, nil
}

// pageCache is a least-recently-used map of rendered pages, bounded in
// entries and bytes. A page rendered from rows read before its name was
// invalidated (or before the cache was cleared) is not kept: put
// compares the generation taken before the read with the generation of
// the name's last removal.
type pageCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	gen        uint64
	// removed is the generation of each name's last removal since floor;
	// below floor every generation is refused (a clear, or removed grown
	// past maxRemoved).
	removed map[string]uint64
	floor   uint64
	order   *list.List // front: most recently used
	byName  map[string]*list.Element
}

// maxRemoved bounds pageCache.removed.
const maxRemoved = 4096

func newPageCache(maxEntries int, maxBytes int64) *pageCache {
	return &pageCache{maxEntries: maxEntries, maxBytes: maxBytes, order: list.New(), byName: map[string]*list.Element{},
		removed: map[string]uint64{}}
}

func (c *pageCache) get(name string) *pageEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byName[name]
	if el == nil {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*pageEntry)
}

// generation returns the generation to give put.
func (c *pageCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps e unless its name was removed since e.gen was taken.
func (c *pageCache) put(e *pageEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.gen < c.floor || c.removed[e.name] > e.gen || e.cost > c.maxBytes {
		return
	}
	if el := c.byName[e.name]; el != nil {
		c.drop(el)
	}
	c.byName[e.name] = c.order.PushFront(e)
	c.bytes += e.cost
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.drop(c.order.Back())
	}
}

func (c *pageCache) drop(el *list.Element) {
	e := c.order.Remove(el).(*pageEntry)
	delete(c.byName, e.name)
	c.bytes -= e.cost
}

func (c *pageCache) remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if len(c.removed) >= maxRemoved {
		clear(c.removed)
		c.floor = c.gen
	}
	c.removed[name] = c.gen
	if el := c.byName[name]; el != nil {
		c.drop(el)
	}
}

func (c *pageCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.floor = c.gen
	clear(c.removed)
	c.order.Init()
	clear(c.byName)
	c.bytes = 0
}

// Project returns the page of a proxied name (index.Upstream).
func (p *Proxy) Project(ctx context.Context, normalized string) (*index.ProxiedPage, error) {
	if !pep.ValidProjectName(normalized) || pep.NormalizeName(normalized) != normalized {
		return nil, fmt.Errorf("upstream: %q is not a normalized project name: %w", normalized, store.ErrNotFound)
	}
	rules, err := p.currentRules(ctx)
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now()
	if !p.proxied(rules, normalized, now) {
		return nil, fmt.Errorf("upstream: %s is not proxied: %w", normalized, store.ErrNotFound)
	}
	if e := p.pages.get(normalized); e != nil {
		if page, ok, err := e.current(now); ok {
			return page, err
		}
	}
	e, _, err := p.pageFlight.Do(ctx, "page:"+normalized, func(ctx context.Context) (*pageEntry, error) {
		return p.load(ctx, normalized, rules)
	})
	if err != nil {
		return nil, err
	}
	return e.served()
}

// load renders a name from its rows, first refreshing them from the
// upstream when they are stale, and keeps the result.
func (p *Proxy) load(ctx context.Context, name string, rules index.UpstreamRules) (*pageEntry, error) {
	gen := p.pages.generation()
	now := p.cfg.Now()
	row, err := p.st.UpstreamProjectByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if errors.Is(err, store.ErrNotFound) {
		row = nil
	}
	stale := false
	if row == nil || (row.LocalStatus != store.UpstreamQuarantined && !p.fresh(row, now)) {
		fetched, err := p.refresh(ctx, name, row)
		_, upstreamFailed := errors.AsType[*Error](err)
		switch {
		case err == nil:
			row = fetched
		case !upstreamFailed:
			return nil, err // the store's failure, not the upstream's
		case row != nil && row.Found:
			p.log.Warn("upstream not answering: serving the cached page", "project", name, "upstream", row.Upstream, "err", err)
			stale = true
		case row != nil && !row.CheckedAt.IsZero():
			// Not found when last asked; still not known otherwise.
		default:
			return nil, notCachedYet(err)
		}
	}
	e, err := p.render(ctx, row, rules, now)
	if err != nil {
		return nil, err
	}
	if stale {
		e.servedStale, e.freshUntil = true, now.Add(staleRetry)
	}
	e.gen = gen
	p.pages.put(e)
	return e, nil
}

// fresh reports whether a row may be served without asking the
// upstream.
func (p *Proxy) fresh(row *store.UpstreamProject, now time.Time) bool {
	if row.CheckedAt.IsZero() {
		return false
	}
	ttl := p.cfg.NegativeTTL
	if row.Found {
		ttl = p.cfg.TTL
	}
	return now.Before(row.CheckedAt.Add(ttl)) && !now.Before(row.CheckedAt)
}

// refresh asks the upstreams for a name and saves the answer: the pinned
// upstream conditionally; else each upstream in priority order until one
// lists it (pinned then). A name no upstream lists is saved as a negative
// entry. It fails (leaving the rows) when an upstream that could decide
// did not answer: a lower-priority upstream is never pinned while a
// higher one could not be asked.
func (p *Proxy) refresh(ctx context.Context, name string, row *store.UpstreamProject) (*store.UpstreamProject, error) {
	// Every made-up name a reader asks for is a request to the upstream:
	// at most MaxPageFetches at once, so that a flood of names neither
	// piles up connections nor turns this index into a cannon against
	// the upstream. Beyond, the cached page is served (or a 503).
	select {
	case p.pageSlots <- struct{}{}:
		defer func() { <-p.pageSlots }()
	default:
		t := time.NewTimer(pageSlotWait)
		defer t.Stop()
		select {
		case p.pageSlots <- struct{}{}:
			defer func() { <-p.pageSlots }()
		case <-t.C:
			return nil, &Error{Upstream: "-", URL: name, Kind: ErrUnavailable,
				Err: errors.New("too many page fetches under way")}
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	now := p.cfg.Now()
	if row != nil && row.Found {
		if c := p.client(row.Upstream); c != nil {
			page, err := c.FetchPage(ctx, name, Validators{ETag: row.ETag, LastModified: row.LastModified})
			switch {
			case errors.Is(err, ErrNotModified):
				if err := p.st.TouchUpstreamProject(ctx, row.ID, now); err != nil {
					return nil, err
				}
				row.CheckedAt = now
				return row, nil
			case err == nil:
				return p.save(ctx, name, c, page, row, now)
			case !errors.Is(err, ErrNotFound):
				return nil, err
			case now.Before(row.CheckedAt.Add(p.cfg.TTL + p.cfg.NegativeTTL)):
				// The pinned upstream dropped the name: served from the
				// rows for a negative TTL (a glitch must not let another
				// upstream take the name) ...
				return nil, err
			}
			// ... then unpinned: the upstreams are asked again, in order.
		}
	}
	var firstErr error
	for _, c := range p.clients {
		page, err := c.FetchPage(ctx, name, Validators{})
		switch {
		case err == nil:
			if firstErr != nil {
				return nil, firstErr
			}
			return p.save(ctx, name, c, page, row, now)
		case errors.Is(err, ErrNotFound):
		default:
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	neg := &store.UpstreamProject{Name: name, NormalizedName: name}
	if _, err := p.st.SaveUpstreamPage(ctx, neg, nil, now); err != nil {
		return nil, err
	}
	return p.st.UpstreamProjectByName(ctx, name)
}

// save records a fetched page of upstream c as the rows of name (prev:
// the rows' project before, nil if none), after learning the sizes the
// page does not give (learnSizes).
func (p *Proxy) save(ctx context.Context, name string, c *Client, page *Page, prev *store.UpstreamProject, now time.Time) (*store.UpstreamProject, error) {
	if err := p.learnSizes(ctx, c, page, prev); err != nil {
		return nil, err
	}
	row := &store.UpstreamProject{Name: page.Name, NormalizedName: name, Upstream: c.up.String(), Found: true,
		ETag: page.ETag, LastModified: page.LastModified, UpstreamStatus: page.Status,
		UpstreamStatusReason: page.StatusReason, FetchedAt: now}
	files := make([]*store.UpstreamFile, len(page.Files))
	for i, f := range page.Files {
		files[i] = &store.UpstreamFile{SHA256: f.SHA256, Filename: f.Filename, URL: f.URL, Version: f.Version,
			Size: f.Size, RequiresPython: f.RequiresPython, Yanked: f.Yanked, YankedReason: f.YankedReason,
			MetadataSHA256: f.MetadataSHA256, UploadTime: f.UploadTime}
	}
	if _, err := p.st.SaveUpstreamPage(ctx, row, files, now); err != nil {
		return nil, err
	}
	return p.st.UpstreamProjectByName(ctx, name)
}

// Bounds of learnSizes.
const (
	maxSizeQueries     = 64
	sizeQueriesAtOnce  = 8
	sizeQueriesTimeout = 5 * time.Second
)

// learnSizes asks the upstream the size of the files a page lists
// without one (PEP 503 HTML gives none; PEP 700 JSON requires it) and
// that the rows do not know: a HEAD of each, at most maxSizeQueries per
// page, sizeQueriesAtOnce at a time, within sizeQueriesTimeout. A size
// not learnt stays unknown (left out of the JSON page) until a later
// fetch of the page or of the file learns it.
func (p *Proxy) learnSizes(ctx context.Context, c *Client, page *Page, prev *store.UpstreamProject) error {
	known := map[string]int64{}
	if prev != nil {
		rows, err := p.st.UpstreamFiles(ctx, prev.ID)
		if err != nil {
			return err
		}
		for _, f := range rows {
			known[f.SHA256] = f.Size
		}
	}
	var ask []int
	for i, f := range page.Files {
		if f.Size >= 0 {
			continue
		}
		if n, ok := known[f.SHA256]; ok && n >= 0 {
			page.Files[i].Size = n
		} else if len(ask) < maxSizeQueries {
			ask = append(ask, i)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sizeQueriesTimeout)
	defer cancel()
	sem := make(chan struct{}, sizeQueriesAtOnce)
	var wg sync.WaitGroup
	for _, i := range ask {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if n, err := c.FileSize(ctx, page.Files[i]); err == nil && n >= 0 {
				page.Files[i].Size = n
			}
		})
	}
	wg.Wait()
	return nil
}

// render builds a name's entry from its rows.
func (p *Proxy) render(ctx context.Context, row *store.UpstreamProject, rules index.UpstreamRules, now time.Time) (*pageEntry, error) {
	quarantined := row.LocalStatus == store.UpstreamQuarantined
	e := &pageEntry{name: row.NormalizedName, found: row.Found || quarantined}
	ttl := p.cfg.NegativeTTL
	if row.Found {
		ttl = p.cfg.TTL
	}
	e.freshUntil = row.CheckedAt.Add(ttl)
	if quarantined || e.freshUntil.Before(now) {
		e.freshUntil = now.Add(ttl) // rows served stale, or not asked while quarantined
	}
	if !e.found {
		return e, nil
	}
	rows, err := p.st.UpstreamFiles(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	files := make([]File, len(rows))
	for i, f := range rows {
		files[i] = fileOf(f)
	}
	glass := exempt(rules, row.NormalizedName, now)
	visible := Visible(files, now, p.cfg.MinAge, glass != nil)
	e.changeAt = NextVisible(files, now, p.cfg.MinAge, glass != nil)
	if glass != nil && !glass.ExpiresAt.IsZero() && p.cfg.MinAge > 0 &&
		(e.changeAt.IsZero() || glass.ExpiresAt.Before(e.changeAt)) {
		e.changeAt = glass.ExpiresAt
	}
	sp := &index.SimpleProject{Name: row.NormalizedName, Status: row.UpstreamStatus, StatusReason: row.UpstreamStatusReason,
		Versions: Versions(visible)}
	switch {
	case quarantined:
		sp.Status, sp.StatusReason = store.StatusQuarantined, row.LocalStatusReason
	case row.UpstreamStatus == store.StatusQuarantined:
	default:
		for _, f := range visible {
			sp.Files = append(sp.Files, index.SimpleFile{Filename: f.Filename, URL: p.fileURL(f.SHA256, f.Filename),
				SHA256: f.SHA256, Version: f.Version, RequiresPython: f.RequiresPython, MetadataSHA256: f.MetadataSHA256,
				Yanked: f.Yanked, YankedReason: f.YankedReason, Size: f.Size, UploadTime: f.UploadTime})
		}
	}
	page := &index.ProxiedPage{UpstreamProjectID: row.ID, Name: row.Name, Upstream: row.Upstream,
		HTML: index.NewPage(index.RenderSimpleHTML(sp)), JSON: index.NewPage(index.RenderSimpleJSON(sp)),
		API: index.NewPage(index.RenderSimpleAPI(sp, row.Name))}
	stale := *page
	stale.Stale = true
	e.page, e.stale = page, &stale
	e.cost = int64(len(page.HTML.Body)+len(page.JSON.Body)+len(page.API.Body)) + 512
	return e, nil
}

// fileURL is where this index serves a proxied file, as a local one.
func (p *Proxy) fileURL(sha256, filename string) string {
	return p.cfg.BaseURL + "/files/" + sha256 + "/" + url.PathEscape(filename)
}

// fileOf is a file row as the min-age functions take it.
func fileOf(f *store.UpstreamFile) File {
	return File{Filename: f.Filename, Version: f.Version, URL: f.URL, SHA256: f.SHA256, RequiresPython: f.RequiresPython,
		MetadataSHA256: f.MetadataSHA256, Yanked: f.Yanked, YankedReason: f.YankedReason, Size: f.Size,
		UploadTime: f.UploadTime}
}

// Name tells whether an upstream lists a name (index.Upstream): from the
// rows while fresh, else by asking the upstreams (bounded by
// DefaultNameTimeout). Unknown when an upstream that could decide did not
// answer.
func (p *Proxy) Name(ctx context.Context, normalized string) (index.UpstreamName, error) {
	now := p.cfg.Now()
	row, err := p.st.UpstreamProjectByName(ctx, normalized)
	switch {
	case err == nil && p.fresh(row, now):
		return index.UpstreamName{Exists: row.Found, Upstream: row.Upstream}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return index.UpstreamName{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultNameTimeout)
	defer cancel()
	for _, c := range p.clients {
		_, err := c.FetchPage(ctx, normalized, Validators{})
		switch {
		case err == nil:
			return index.UpstreamName{Exists: true, Upstream: c.up.String()}, nil
		case errors.Is(err, ErrNotFound):
		default:
			p.log.Warn("upstream not answering: name unknown", "project", normalized, "upstream", c.up.String(), "err", err)
			return index.UpstreamName{Unknown: true}, nil
		}
	}
	return index.UpstreamName{}, nil
}

// adminActor checks that actor may quarantine a proxied name (nil: the
// command line) and names it for the events.
func adminActor(actor *store.User) (string, int64, error) {
	if actor == nil {
		return "an administrator at the command line", 0, nil
	}
	if !actor.IsAdmin || actor.Disabled {
		return "", 0, problem.Errorf(problem.Forbidden, "Only the administrators of this index quarantine a project or release it.")
	}
	return actor.Username, actor.ID, nil
}

// Quarantine quarantines a proxied name (index.Upstream): its pages say
// quarantined with the reason and list no file, its files are not
// served; a name never fetched is blocked before it is. Every replica
// drops its page (journal).
func (p *Proxy) Quarantine(ctx context.Context, actor *store.User, m audit.Meta, normalized, reason string) error {
	by, actorID, err := adminActor(actor)
	if err != nil {
		return err
	}
	if !pep.ValidProjectName(normalized) || pep.NormalizeName(normalized) != normalized {
		return problem.Errorf(problem.NotFound, "There is no project %q.", normalized)
	}
	reason = cleanLine(reason, MaxStatusReason)
	if reason == "" {
		return problem.Errorf(problem.Invalid, "Say why the project is quarantined: the reason is shown to installers.")
	}
	return p.setLocalStatus(ctx, m, normalized, store.UpstreamQuarantined, reason, actorID, audit.UpstreamQuarantined,
		store.ActionUpstreamQuarantine, map[string]any{"by": by, "reason": reason})
}

// Release lifts the quarantine of a proxied name (index.Upstream): the
// upstream's own status applies again.
func (p *Proxy) Release(ctx context.Context, actor *store.User, m audit.Meta, normalized string) error {
	by, actorID, err := adminActor(actor)
	if err != nil {
		return err
	}
	return p.setLocalStatus(ctx, m, normalized, "", "", actorID, audit.UpstreamReleased, store.ActionUpstreamRelease,
		map[string]any{"by": by})
}

func (p *Proxy) setLocalStatus(ctx context.Context, m audit.Meta, name, status, reason string, actorID int64,
	tag, action string, details map[string]any) error {
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		row, err := tx.UpstreamProjectByName(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if status == "" {
				return problem.Errorf(problem.Conflict, "Project '%s' is not quarantined.", name)
			}
		case err != nil:
			return err
		case row.LocalStatus == status && status != "":
			return problem.Errorf(problem.Conflict, "Project '%s' is already quarantined: %s.", name, row.LocalStatusReason)
		case row.LocalStatus == status:
			return problem.Errorf(problem.Conflict, "Project '%s' is not quarantined.", name)
		}
		now := p.cfg.Now()
		id, err := tx.SetUpstreamLocalStatus(ctx, name, name, status, reason, now)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, now, m, store.Event{ProjectName: name, ActorID: actorID, Tag: tag}, details); err != nil {
			return err
		}
		_, err = tx.AddJournal(ctx, id, name, action, now)
		return err
	})
	if err != nil {
		return err
	}
	p.Invalidate(name)
	return nil
}
