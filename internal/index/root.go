package index

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"html"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"cheeseshop/internal/store"
)

// RootPage is the cached, rendered project list.
type RootPage struct {
	// HTML is the PEP 503 list; the PEP 691 one is JSON's.
	HTML     Encoded
	Projects int
	Serial   int64
	BuiltAt  time.Time
	// Personal is set on a list made for one reader (one who reads
	// private projects, or a scoped token with authenticated reads): no
	// shared cache may keep it.
	Personal bool
	// AnyPrivate is set on the list everybody reads when some project is
	// private: its readers get another list, so a shared cache must key
	// it on their credentials (Vary).
	AnyPrivate bool

	names    []store.ProjectName // the list, sorted, for the variants (RootFor) and JSON
	compress bool                // whether the encodings are prepared

	jsonOnce sync.Once
	json     Encoded
}

// Encoded is a response body in each content coding the index serves,
// each with its own entity tag (a strong validator names one
// representation, RFC 9110 §8.8.3). The embedded Page is the identity
// coding; Gzip and Zstd have no Body when not prepared (a list rendered
// for one reader alone).
type Encoded struct {
	Page
	Gzip, Zstd Page
}

// JSON returns the PEP 691 list, rendered (and compressed) on first use:
// most readers of the list are installers and mirrors that ask for HTML.
func (p *RootPage) JSON() *Encoded {
	p.jsonOnce.Do(func() { p.json = encode(renderRootJSON(p.names, p.Serial), p.compress) })
	return &p.json
}

// newRootPage renders the project list of names (sorted); compress also
// prepares its gzip and zstd codings.
func newRootPage(names []store.ProjectName, serial int64, compress bool) *RootPage {
	return &RootPage{HTML: encode(renderRootHTML(names, serial), compress), Projects: len(names), Serial: serial,
		BuiltAt: time.Now(), names: names, compress: compress}
}

// encode returns body as an Encoded; compress also prepares its gzip and
// zstd codings (at the same time: a large list takes a while).
func encode(body []byte, compress bool) Encoded {
	e := Encoded{Page: newPage(body)}
	if !compress {
		return e
	}
	var wg sync.WaitGroup
	wg.Go(func() { e.Gzip = codedPage(e.Page, gzipBytes(body), "gzip") })
	e.Zstd = codedPage(e.Page, zstdBytes(body), "zstd")
	wg.Wait()
	return e
}

// codedPage is the page of body, the identity page id in a content
// coding: its entity tag is id's, suffixed with the coding, so that it
// is the same on every replica and differs from the other codings'.
func codedPage(id Page, body []byte, coding string) Page {
	return Page{Body: body, ETag: strings.TrimSuffix(id.ETag, `"`) + "-" + coding + `"`}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/8 + 64)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	// Writing to a bytes.Buffer cannot fail.
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// zstdBytes compresses b in frames of the default 8 MiB window, the
// most an HTTP client must accept (RFC 8878 §3.1.1.1.2).
func zstdBytes(b []byte) []byte {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	defer enc.Close()
	return enc.EncodeAll(b, make([]byte, 0, len(b)/8+64))
}

// renderRootHTML renders the PEP 503 project list.
func renderRootHTML(names []store.ProjectName, serial int64) []byte {
	var b bytes.Buffer
	b.Grow(len(names)*64 + 256)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n")
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range names {
		b.WriteString(`    <a href="/simple/` + n.Normalized + `/">` + html.EscapeString(n.Name) + "</a>\n")
	}
	b.WriteString("  </body>\n</html>\n<!--SERIAL " + strconv.FormatInt(serial, 10) + "-->\n")
	return b.Bytes()
}

// renderRootJSON renders the PEP 691 project list.
func renderRootJSON(names []store.ProjectName, serial int64) []byte {
	var b bytes.Buffer
	b.Grow(len(names)*32 + 128)
	b.WriteString(`{"meta":{"api-version":"` + APIVersion + `","_last-serial":` + strconv.FormatInt(serial, 10) + `},"projects":[`)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		nb, _ := json.Marshal(n.Name)
		b.WriteString(`{"name":`)
		b.Write(nb)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

// Root returns the project list. It never rebuilds the list more often
// than its own cost allows: while a rebuild runs, or too soon after the
// last one, callers get the previous list (at most a moment old).
func (c *Cache) Root(ctx context.Context) (*RootPage, error) {
	cur := c.root.Load()
	if cur != nil && !c.rootDirty.Load() {
		return cur, nil
	}
	if cur != nil && !c.rootUrgent.Load() {
		minGap := 2 * time.Duration(c.rootCost.Load())
		if time.Since(cur.BuiltAt) < minGap || !c.rootMu.TryLock() {
			return cur, nil
		}
	} else {
		c.rootMu.Lock()
	}
	defer c.rootMu.Unlock()
	if cur := c.root.Load(); cur != nil && !c.rootDirty.Load() {
		return cur, nil
	}
	c.rootDirty.Store(false)
	c.rootUrgent.Store(false)
	start := time.Now()
	page, err := c.buildRoot(context.WithoutCancel(ctx))
	if err != nil {
		c.rootDirty.Store(true)
		return nil, err
	}
	c.rootCost.Store(int64(time.Since(start)))
	c.root.Store(page)
	return page, nil
}

func (c *Cache) buildRoot(ctx context.Context) (*RootPage, error) {
	// Read the serial first: a change after it is reapplied by Follow.
	serial, err := c.svc.store.LastSerial(ctx)
	if err != nil {
		return nil, err
	}
	names, err := c.svc.store.ListProjectNames(ctx)
	if err != nil {
		return nil, err
	}
	anyPrivate, err := c.svc.store.AnyPrivateProject(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(names, func(a, b store.ProjectName) int { return strings.Compare(a.Normalized, b.Normalized) })
	p := newRootPage(names, serial, true)
	p.AnyPrivate = anyPrivate
	return p, nil
}

// maxRootVariants bounds the project lists kept for readers of private
// projects: one per set of private projects read, so few.
const maxRootVariants = 32

// rootVariants keeps the project lists of readers of private projects,
// by Reader.key, the least recently used dropped first. A list is good
// while it was built on the current list of public projects and no
// access changed since.
type rootVariants struct {
	mu      sync.Mutex
	entries map[string]*rootVariant
	order   []string // least recently used first
}

type rootVariant struct {
	page, base *RootPage
	gen        uint64 // of the readers' cache
}

func (v *rootVariants) get(key string, base *RootPage, gen uint64) *RootPage {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := v.entries[key]
	if e == nil || e.base != base || e.gen != gen {
		return nil
	}
	v.touch(key)
	return e.page
}

func (v *rootVariants) put(key string, page, base *RootPage, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil {
		v.entries = make(map[string]*rootVariant)
	}
	if _, ok := v.entries[key]; !ok && len(v.entries) >= maxRootVariants {
		delete(v.entries, v.order[0])
		v.order = v.order[1:]
	}
	v.entries[key] = &rootVariant{page: page, base: base, gen: gen}
	v.touch(key)
}

// touch makes key the most recently used; v.mu must be held.
func (v *rootVariants) touch(key string) {
	if i := slices.Index(v.order, key); i >= 0 {
		v.order = slices.Delete(v.order, i, i+1)
	}
	v.order = append(v.order, key)
}
