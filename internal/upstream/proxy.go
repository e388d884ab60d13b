package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Defaults of ProxyConfig.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultNegativeTTL = time.Minute
	DefaultMaxFetches  = 16
	// DefaultNameTimeout bounds the live question of Name.
	DefaultNameTimeout = 10 * time.Second
	// rulesFor is how long the upstream rules read from the store are
	// used before they are read again.
	rulesFor = 5 * time.Second
	// staleRetry is how long a page served stale (the upstream down) is
	// kept before the upstream is asked again.
	staleRetry = 10 * time.Second
	// fetchWait is how long a file fetch waits for one of MaxFetches.
	fetchWait = 2 * time.Second
	// DefaultMaxPageFetches bounds the page fetches of a proxy under way
	// at once; pageSlotWait is how long one more waits for a slot.
	DefaultMaxPageFetches = 64
	pageSlotWait          = 5 * time.Second
	// fileFlightTimeout bounds a whole file fetch (the client's minimum
	// rate bounds it sooner for a stalled one).
	fileFlightTimeout = 2 * time.Hour
	// pageCacheEntries and pageCacheBytes bound the rendered pages kept
	// in memory.
	pageCacheEntries = 10_000
	pageCacheBytes   = 128 << 20
)

// ProxyConfig configures a Proxy. Zero values take the defaults.
type ProxyConfig struct {
	// Upstreams are the upstream indexes in priority order.
	Upstreams []*Upstream
	// Client configures the client of every upstream (its Now and Log
	// default to the Proxy's).
	Client Config
	// TTL is how long a fetched page is served before the upstream is
	// asked again (conditionally); NegativeTTL how long "no upstream
	// lists it" is.
	TTL, NegativeTTL time.Duration
	// MinAge is the minimum release age: a file uploaded less than MinAge
	// ago, or with no upload time, is not listed nor served (0: off).
	MinAge time.Duration
	// AllowList proxies only the names an allow rule matches.
	AllowList bool
	// MaxFetches bounds the concurrent file fetches of the server; beyond
	// it a fetch waits 2 s, then answers unavailable.
	MaxFetches int
	// MaxPageFetches bounds the page fetches under way at once (0:
	// DefaultMaxPageFetches); one more waits 5 s for a slot, then is
	// answered as if the upstream were down (the cached page, or 503).
	MaxPageFetches int
	// MaxFileSize bounds a proxied file (with Client.MaxFileSize unset).
	MaxFileSize int64
	// BaseURL is the index's external URL: files are linked as
	// BaseURL/files/<sha256>/<filename>, as local ones.
	BaseURL string
	// StreamAbove is the size of a file above which its first fetch is
	// streamed to the clients asking for it while it arrives (0:
	// DefaultStreamAbove); SpoolDir is where such a fetch is spooled
	// ("": the system's temporary folder).
	StreamAbove int64
	SpoolDir    string
	// Now is the clock; nil: the wall clock.
	Now func() time.Time
	// Log receives the proxy's warnings; nil: discarded.
	Log *slog.Logger
}

// Proxy serves the projects of upstream indexes: it implements
// index.Upstream. The rows of upstream_projects and upstream_files are
// its durable truth (shared by replicas, kept across restarts); rendered
// pages are kept in memory, fresh for the TTL. A project is served from
// the first upstream (in priority order) that listed it, pinned, and
// never from two. Files are fetched once, verified against the listed
// SHA-256, and stored in the blob store.
type Proxy struct {
	st      *store.Store
	blobs   blob.Store
	cfg     ProxyConfig
	clients []*Client
	log     *slog.Logger

	pages      *pageCache
	pageFlight *Flight[*pageEntry]
	pageSlots  chan struct{} // page fetches under way (MaxPageFetches)
	fileFlight *Flight[*index.ProxiedFile]
	fetches    chan struct{}

	stopPruning context.CancelFunc // nil: no pruning (Offline)
	pruned      chan struct{}

	spoolsMu sync.Mutex
	spools   map[string]*spool // streamed fetches in progress, by SHA-256

	rulesMu  sync.Mutex
	rules    index.UpstreamRules
	rulesAt  time.Time
	rulesErr error
}

var _ index.Upstream = (*Proxy)(nil)

// NewProxy returns the proxy of cfg.Upstreams over the store's rows and
// the blob store.
func NewProxy(st *store.Store, blobs blob.Store, cfg ProxyConfig) (*Proxy, error) {
	if st == nil || blobs == nil {
		return nil, errors.New("upstream: a proxy needs a store and a blob store")
	}
	if len(cfg.Upstreams) == 0 {
		return nil, errors.New("upstream: a proxy needs an upstream")
	}
	p, err := newProxy(st, blobs, cfg)
	if err != nil {
		return nil, err
	}
	var ctx context.Context
	ctx, p.stopPruning = context.WithCancel(context.Background())
	p.pruned = make(chan struct{})
	go p.pruneNegatives(ctx)
	return p, nil
}

// Offline returns a Proxy that asks no upstream and stores no file: the
// command line's, which quarantines and releases proxied names (rows and
// journal entries the servers follow) and serves nothing.
func Offline(st *store.Store, cfg ProxyConfig) (*Proxy, error) {
	cfg.Upstreams = nil
	return newProxy(st, nil, cfg)
}

func newProxy(st *store.Store, blobs blob.Store, cfg ProxyConfig) (*Proxy, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.MaxFetches <= 0 {
		cfg.MaxFetches = DefaultMaxFetches
	}
	if cfg.MaxPageFetches <= 0 {
		cfg.MaxPageFetches = DefaultMaxPageFetches
	}
	if cfg.StreamAbove <= 0 {
		cfg.StreamAbove = DefaultStreamAbove
	}
	if cfg.MinAge < 0 {
		return nil, errors.New("upstream: the minimum release age is negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Client.Now == nil {
		cfg.Client.Now = cfg.Now
	}
	if cfg.Client.Log == nil {
		cfg.Client.Log = cfg.Log
	}
	if cfg.Client.MaxFileSize <= 0 {
		cfg.Client.MaxFileSize = cfg.MaxFileSize
	}
	p := &Proxy{st: st, blobs: blobs, cfg: cfg, log: cfg.Log,
		pages:      newPageCache(pageCacheEntries, pageCacheBytes),
		pageFlight: NewFlight[*pageEntry](max(DefaultPageTimeout, cfg.Client.PageTimeout) + pageSlotWait + 5*time.Second),
		pageSlots:  make(chan struct{}, cfg.MaxPageFetches),
		fileFlight: NewFlight[*index.ProxiedFile](fileFlightTimeout),
		fetches:    make(chan struct{}, cfg.MaxFetches), spools: make(map[string]*spool)}
	seen := map[string]bool{}
	for _, up := range cfg.Upstreams {
		if seen[up.String()] {
			return nil, fmt.Errorf("upstream: %s is configured twice", up)
		}
		seen[up.String()] = true
		p.clients = append(p.clients, NewClient(up, cfg.Client))
	}
	return p, nil
}

// Close closes the idle connections to the upstreams.
func (p *Proxy) Close() {
	if p.stopPruning != nil {
		p.stopPruning()
		<-p.pruned
	}
	for _, c := range p.clients {
		c.Close()
	}
}

// pruneEvery is how often a proxy deletes the names found on no upstream
// (a negative answer older than the negative TTL is asked again anyway).
const pruneEvery = 10 * time.Minute

// pruneNegatives deletes, every pruneEvery until ctx ends, the rows of
// names no upstream listed, once older than the negative TTL: any reader
// can create one per name it makes up.
func (p *Proxy) pruneNegatives(ctx context.Context) {
	defer close(p.pruned)
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := p.st.PruneUpstreamNegatives(ctx, p.cfg.Now().Add(-p.cfg.NegativeTTL))
		if err != nil && ctx.Err() == nil {
			p.log.Warn("upstream: prune names found nowhere", "err", err)
		} else if n > 0 {
			p.log.Info("upstream: pruned names found nowhere", "rows", n)
		}
	}
}

// client returns the client of a pinned upstream (its redacted URL), nil
// when it is not configured any more.
func (p *Proxy) client(pinned string) *Client {
	for _, c := range p.clients {
		if c.up.String() == pinned {
			return c
		}
	}
	return nil
}

// currentRules returns the upstream rules, read from the store at most
// every rulesFor; a change of the rules drops every rendered page (a
// break glass given or withdrawn changes what pages list).
func (p *Proxy) currentRules(ctx context.Context) (index.UpstreamRules, error) {
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	now := p.cfg.Now()
	if !p.rulesAt.IsZero() && now.Sub(p.rulesAt) < rulesFor && now.Sub(p.rulesAt) >= 0 && p.rulesErr == nil {
		return p.rules, nil
	}
	rules, err := p.st.UpstreamRules(ctx)
	if err != nil {
		p.rulesErr = err
		return nil, fmt.Errorf("upstream: rules: %w", err)
	}
	if p.rulesAt.IsZero() || !slices.Equal(rules, p.rules) {
		p.pages.clear()
	}
	p.rules, p.rulesAt, p.rulesErr = rules, now, nil
	return p.rules, nil
}

// proxied reports whether the rules let a name reach the upstreams: no
// deny rule, and an allow rule in allow-list mode.
func (p *Proxy) proxied(rules index.UpstreamRules, name string, now time.Time) bool {
	if rules.Match(name, store.RuleDeny, now) != nil {
		return false
	}
	return !p.cfg.AllowList || rules.Match(name, store.RuleAllow, now) != nil
}

// exempt returns the break glass of the minimum age for a name: an
// unexpired allow rule with SkipMinAge naming it exactly, or nil.
func exempt(rules index.UpstreamRules, name string, now time.Time) *store.UpstreamRule {
	r := rules.Match(name, store.RuleAllow, now)
	if r == nil || !r.SkipMinAge || r.Pattern != name {
		return nil
	}
	return r
}

// Invalidate drops the rendered page of a name: the next read renders it
// again from the rows (Cache.Follow calls it for the journal's upstream
// entries).
func (p *Proxy) Invalidate(normalized string) { p.pages.remove(normalized) }

// notCachedYet is the answer for a name never fetched while the upstreams
// do not answer.
func notCachedYet(err error) error {
	return &problem.Error{Kind: problem.Unavailable, RetryAfter: 30 * time.Second,
		Message: "The upstream index is not answering and this project is not cached yet; retry later.", Err: err}
}
