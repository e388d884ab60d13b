package readme

import (
	"context"
	"html/template"
	"strconv"
	"sync"

	"golang.org/x/sync/singleflight"
)

// Store keeps the renderings of descriptions by a caller's key (a release
// id), each with the Version of the renderer that made it: a description
// never changes, so it is rendered once, then read, until the renderer
// changes.
type Store interface {
	// Load returns the stored rendering and its version; ok is false
	// when there is none.
	Load(ctx context.Context, key int64) (html string, version int, ok bool, err error)
	// Save stores a rendering made by the given version, over a stored
	// one only if that is of an older version (so that replicas running
	// different versions do not replace each other's renderings in turn).
	Save(ctx context.Context, key int64, html string, version int) error
}

// Defaults of a Renderer.
const (
	DefaultConcurrent = 4
	DefaultCacheBytes = 32 << 20
)

// Renderer serves renderings of descriptions: from memory, else from its
// Store, else rendered now and saved, so that each description is
// rendered once per Version (the releases uploaded before renderings were
// stored at upload, and those rendered by an older Version, are rendered
// at their first view). Render bounds the work of
// one rendering; the Renderer bounds how many run at once: beyond them, a
// description is shown as plain text (not kept) until a slot frees. It is
// safe for concurrent use.
type Renderer struct {
	store    Store
	slots    chan struct{}
	maxBytes int
	loads    singleflight.Group

	mu    sync.Mutex
	cache map[int64]template.HTML
	bytes int
}

// NewRenderer returns a Renderer over store (nil: renderings are kept in
// memory only); zero arguments take the defaults.
func NewRenderer(store Store, concurrent, cacheBytes int) *Renderer {
	if concurrent <= 0 {
		concurrent = DefaultConcurrent
	}
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	return &Renderer{store: store, slots: make(chan struct{}, concurrent), maxBytes: cacheBytes, cache: map[int64]template.HTML{}}
}

// Render returns the rendering of the description kept under key. An
// error is the store's: the rendering returned is good all the same.
func (r *Renderer) Render(ctx context.Context, key int64, description, contentType string) (template.HTML, error) {
	r.mu.Lock()
	h, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return h, nil
	}
	type result struct {
		html template.HTML
		err  error
	}
	v, _, _ := r.loads.Do(strconv.FormatInt(key, 10), func() (any, error) {
		if r.store != nil {
			stored, version, ok, err := r.store.Load(ctx, key)
			if err != nil {
				return result{plain(limit(description)), err}, nil
			}
			if ok && version >= Version {
				h := template.HTML(stored)
				r.keep(key, h)
				return result{h, nil}, nil
			}
		}
		select {
		case r.slots <- struct{}{}:
		default:
			return result{plain(limit(description)), nil}, nil // busy: do not keep
		}
		defer func() { <-r.slots }()
		// A description PyPI would refuse (only older releases, uploaded
		// before the refusal) is shown as the plain text Render returns.
		h, _ := Render(description, contentType)
		r.keep(key, h)
		var err error
		if r.store != nil {
			err = r.store.Save(context.WithoutCancel(ctx), key, string(h), Version)
		}
		return result{h, err}, nil
	})
	res := v.(result)
	return res.html, res.err
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
