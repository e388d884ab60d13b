package readme

import (
	"html/template"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Some Markdown takes goldmark quadratic time (hundreds of thousands of
// nested block quotes, or of unclosed link destinations, take minutes at
// MaxBytes). A Renderer bounds that: it renders each description once,
// gives goldmark a time budget, and shows the text as plain text when the
// budget runs out (the abandoned render still finishes in the background,
// and its result is kept for the next request). At most a few renders run
// at once; beyond them, descriptions are shown as plain text until a slot
// frees.

// Defaults of a Renderer.
const (
	DefaultBudget     = 2 * time.Second
	DefaultConcurrent = 4
	DefaultCacheBytes = 32 << 20
)

// Renderer renders descriptions within a time budget and keeps the
// results by a caller's key (a release id: a release's description never
// changes). It is safe for concurrent use.
type Renderer struct {
	budget   time.Duration
	slots    chan struct{}
	maxBytes int
	loads    singleflight.Group

	mu    sync.Mutex
	cache map[int64]template.HTML
	bytes int
}

// NewRenderer returns a Renderer; zero arguments take the defaults.
func NewRenderer(budget time.Duration, concurrent, cacheBytes int) *Renderer {
	if budget <= 0 {
		budget = DefaultBudget
	}
	if concurrent <= 0 {
		concurrent = DefaultConcurrent
	}
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	return &Renderer{budget: budget, slots: make(chan struct{}, concurrent), maxBytes: cacheBytes, cache: map[int64]template.HTML{}}
}

// Render returns the description rendered as Render does, from the cache
// when key was rendered before.
func (r *Renderer) Render(key int64, description, contentType string) template.HTML {
	r.mu.Lock()
	h, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return h
	}
	if KindOf(contentType) != Markdown {
		return Render(description, contentType) // linear: not worth keeping
	}
	v, _, _ := r.loads.Do(strconv.FormatInt(key, 10), func() (any, error) {
		select {
		case r.slots <- struct{}{}:
		default:
			return Render(description, "text/plain"), nil // busy: do not keep
		}
		done := make(chan template.HTML, 1)
		go func() {
			defer func() { <-r.slots }()
			h := Render(description, contentType)
			r.keep(key, h)
			done <- h
		}()
		t := time.NewTimer(r.budget)
		defer t.Stop()
		select {
		case h := <-done:
			return h, nil
		case <-t.C:
			return Render(description, "text/plain"), nil
		}
	})
	return v.(template.HTML)
}

func (r *Renderer) keep(key int64, h template.HTML) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[key]; ok {
		return
	}
	for k, old := range r.cache { // map order is random: random eviction
		if r.bytes+len(h) <= r.maxBytes {
			break
		}
		r.bytes -= len(old)
		delete(r.cache, k)
	}
	if len(h) <= r.maxBytes {
		r.cache[key] = h
		r.bytes += len(h)
	}
}
