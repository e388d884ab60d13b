package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"cheeseshop/internal/blob"
)

// maxCachedBody is the largest blob fileBodies keeps: larger files are
// sent from the blob store (with sendfile(2) from a local folder), where
// opening the file costs little next to sending it.
const maxCachedBody = 64 << 10

// heldOverhead estimates the memory of a blob held by fileBodies besides
// its bytes: its key and ETag strings (64 and 66 bytes), the entry and its
// slot in the map. Without it, a cache full of 200-byte metadata files
// would use half as much memory again as its bound.
const heldOverhead = 256

// fileBodies keeps the bytes of small blobs (small wheels, most files'
// PEP 658 metadata) in memory, so that serving one opens, stats and closes
// no file: in a local folder that is a walk of the blob's folders (eight
// system calls), on S3 a request. Profiles of a 1 KB wheel's download put
// about 60% of the handler's time there.
//
// Blobs are named by their SHA-256 and never change, so an entry is never
// stale. Whether a request may have a file is decided before its bytes are
// looked up (index.ResolveFile, from the index's cache, which follows the
// journal), so a file deleted, yanked, quarantined or made private is
// refused at once whether its bytes are held here or not. The memory is
// bounded: past it, an arbitrary entry (the map's random iteration order)
// is dropped for each new one.
type fileBodies struct {
	mu   sync.RWMutex
	m    map[string]*heldBody
	used int64 // estimated memory of the entries of m (heldOverhead each)
	max  int64 // bound of used; 0: nothing is kept
}

// heldBody is a blob held by fileBodies: its bytes, and its header
// values, built once rather than per response.
type heldBody struct {
	body   []byte
	etag   []string // ETag
	length []string // Content-Length
	// lastMod is the Last-Modified of the file last served with these
	// bytes: nearly always the only one (a blob is one file's, but
	// the metadata of a release's wheels is often the same bytes).
	lastMod atomic.Pointer[lastModified]
}

// lastModified is a time and its Last-Modified header value.
type lastModified struct {
	t   time.Time
	hdr []string
}

// lastModified returns the Last-Modified header value of t, formatted
// once for the last t asked.
func (hb *heldBody) lastModified(t time.Time) []string {
	if lm := hb.lastMod.Load(); lm != nil && lm.t.Equal(t) {
		return lm.hdr
	}
	lm := &lastModified{t: t, hdr: []string{t.UTC().Format(http.TimeFormat)}}
	hb.lastMod.Store(lm)
	return lm.hdr
}

// newFileBodies returns a cache of at most max bytes (0: off).
func newFileBodies(max int64) *fileBodies {
	return &fileBodies{m: make(map[string]*heldBody), max: max}
}

// get returns the blob key, if held.
func (c *fileBodies) get(key string) (*heldBody, bool) {
	c.mu.RLock()
	b, ok := c.m[key]
	c.mu.RUnlock()
	return b, ok
}

// load reads the whole of obj, the blob key, and keeps it when it is
// small enough to be held; it reports false (having read nothing) when it
// is not, for the caller to send obj itself.
func (c *fileBodies) load(key string, obj blob.Object) (*heldBody, bool, error) {
	size := obj.Size()
	if c.max == 0 || size > maxCachedBody || size+heldOverhead > c.max {
		return nil, false, nil
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(obj, b); err != nil {
		return nil, false, fmt.Errorf("web: read blob %s: %w", key, err)
	}
	hb := &heldBody{body: b, etag: etag(key), length: []string{strconv.Itoa(len(b))}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return hb, true, nil
	}
	for k, v := range c.m {
		if c.used+size+heldOverhead <= c.max {
			break
		}
		delete(c.m, k)
		c.used -= int64(len(v.body)) + heldOverhead
	}
	c.m[key] = hb
	c.used += size + heldOverhead
	return hb, true, nil
}

// etag returns the ETag header value of the blob key: its digest.
func etag(key string) []string { return []string{`"` + key + `"`} }

// stats returns the number of blobs held and their estimated memory.
func (c *fileBodies) stats() (n int, bytes int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m), c.used
}
