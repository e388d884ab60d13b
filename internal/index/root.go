package index

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
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

	// The list, sorted, for the variants (RootFor) and JSON: names of a
	// list rendered whole, body of the list everybody reads (pieces).
	names     []store.ProjectName
	body      *rootBody
	namesOnce sync.Once
	compress  bool // whether the encodings are prepared

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
	p.jsonOnce.Do(func() { p.json = encode(renderRootJSON(p.allNames(), p.Serial), p.compress) })
	return &p.json
}

// allNames returns the names of the list, sorted: of a list in pieces,
// joined on first use.
func (p *RootPage) allNames() []store.ProjectName {
	p.namesOnce.Do(func() {
		if p.body == nil {
			return
		}
		p.names = make([]store.ProjectName, 0, p.Projects)
		for _, piece := range p.body.mid {
			p.names = append(p.names, piece.names...)
		}
	})
	return p.names
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

// gzipBytes compresses b with klauspost/compress's gzip, twice as fast
// as compress/gzip at its best speed, and as small.
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

// The parts of the project lists around their names.
const (
	rootHTMLHead = "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n" +
		"    <title>Simple index</title>\n  </head>\n  <body>\n"
	rootHTMLTail   = "  </body>\n</html>\n<!--SERIAL "
	rootHTMLLink   = `    <a href="/simple/`
	rootHTMLMiddle = `/">`
	rootHTMLEnd    = "</a>\n"
	rootJSONHead   = `{"meta":{"api-version":"` + APIVersion + `","_last-serial":`
	rootJSONName   = `{"name":`
)

// renderRootHTML renders the PEP 503 project list, appending to one
// buffer of the right size: at 886k projects it is 49 MB.
func renderRootHTML(names []store.ProjectName, serial int64) []byte {
	b := make([]byte, 0, len(rootHTMLHead)+namesSize(names)+len(rootHTMLTail)+32)
	b = append(b, rootHTMLHead...)
	b = renderRootNames(b, names)
	b = append(b, rootHTMLTail...)
	b = strconv.AppendInt(b, serial, 10)
	return append(b, "-->\n"...)
}

// appendHTMLText appends s escaped as HTML text. Project names never
// need it (letters, digits, '.', '_', '-'): those are appended as they are.
func appendHTMLText(b []byte, s string) []byte {
	if plainName(s) {
		return append(b, s...)
	}
	return append(b, html.EscapeString(s)...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	if plainName(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // cannot fail: a string
	return append(b, q...)
}

// plainName reports whether s has only the characters of a project name,
// none of which HTML or JSON escape.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// renderRootJSON renders the PEP 691 project list.
func renderRootJSON(names []store.ProjectName, serial int64) []byte {
	size := len(rootJSONHead) + 64
	for _, n := range names {
		size += len(rootJSONName) + len(n.Name) + 4
	}
	b := make([]byte, 0, size)
	b = append(b, rootJSONHead...)
	b = strconv.AppendInt(b, serial, 10)
	b = append(b, `},"projects":[`...)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, rootJSONName...)
		b = appendJSONString(b, n.Name)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// Warm builds the project list, so that the first reader of /simple/
// does not wait for it (886k names take seconds): the server listens
// meanwhile, and a reader who comes first waits for this build rather
// than starting another (Root).
func (c *Cache) Warm(ctx context.Context) {
	start := time.Now()
	page, err := c.Root(ctx)
	if err != nil {
		if ctx.Err() == nil { // not a server stopping (its database closed)
			c.svc.log.ErrorContext(ctx, "cache: building the project list", "err", err)
		}
		return
	}
	c.svc.log.InfoContext(ctx, "cache: project list built", "projects", page.Projects, "took", time.Since(start))
	// The build's garbage (the database's copy of the names, the
	// compressors' state) is about as large as the list: give it back to
	// the system now rather than hold it as heap until the scavenger
	// does (60 MiB of RSS at 886k projects).
	debug.FreeOSMemory()
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
	changed, whole := c.takeRootChanges()
	start := time.Now()
	var page *RootPage
	var err error
	if cur := c.root.Load(); cur != nil && cur.body != nil && !whole {
		if page, err = c.patchRoot(context.WithoutCancel(ctx), cur, changed); err != nil {
			c.svc.log.WarnContext(ctx, "cache: patching the project list; building it whole", "err", err)
		}
	}
	if page == nil {
		page, err = c.buildRoot(context.WithoutCancel(ctx))
	}
	if err != nil {
		c.rootDirty.Store(true)
		c.rootWhole.Store(true)
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
	codec := c.rootCodec()
	body := &rootBody{head: codec.text(rootHTMLHead), mid: codec.pieces(chunkNames(names, c.rootPieceBytes)), tail: codec.tail(serial)}
	return newPiecedRootPage(body, serial, anyPrivate), nil
}

// maxRootPatch is the most projects whose change patches the project
// list: beyond, it is built whole.
const maxRootPatch = 256

// noteRootChange records that a project changed: listed, it entered or
// left the list (and the next read patches the list with it); else its
// display name may have changed (an upload), which the list shows from
// its next change on, as a list built whole would.
func (c *Cache) noteRootChange(normalized string, listed bool) {
	c.rootChangesMu.Lock()
	if len(c.rootChanges) >= maxRootPatch {
		c.rootWhole.Store(true)
	} else {
		c.rootChanges[normalized] = struct{}{}
	}
	c.rootChangesMu.Unlock()
	if listed {
		c.rootDirty.Store(true)
	}
}

// takeRootChanges returns the projects changed since the last call, and
// whether the list must be built whole.
func (c *Cache) takeRootChanges() (map[string]struct{}, bool) {
	c.rootChangesMu.Lock()
	defer c.rootChangesMu.Unlock()
	changed := c.rootChanges
	c.rootChanges = make(map[string]struct{})
	return changed, c.rootWhole.Swap(false)
}

// patchRoot returns cur with the projects changed read again: what
// ListProjectNames lists (a project neither private nor held) is in
// it, the rest is not. Only their pieces are rendered again.
func (c *Cache) patchRoot(ctx context.Context, cur *RootPage, changed map[string]struct{}) (*RootPage, error) {
	// Read the serial first: a change after it is reapplied by Follow.
	serial, err := c.svc.store.LastSerial(ctx)
	if err != nil {
		return nil, err
	}
	changes := make([]rootChange, 0, len(changed))
	for name := range changed {
		ch := rootChange{normalized: name}
		p, err := c.svc.store.ProjectByName(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		case p.Visibility == store.VisibilityPrivate:
		default:
			held, err := c.svc.store.IsHeld(ctx, p.ID)
			if err != nil {
				return nil, err
			}
			ch.present = !held
			ch.name = store.ProjectName{Name: p.Name, Normalized: p.NormalizedName}
		}
		changes = append(changes, ch)
	}
	anyPrivate, err := c.svc.store.AnyPrivateProject(ctx)
	if err != nil {
		return nil, err
	}
	codec := c.rootCodec()
	body := &rootBody{head: cur.body.head, mid: codec.patchPieces(cur.body.mid, changes, c.rootPieceBytes), tail: cur.body.tail}
	if serial != cur.Serial {
		body.tail = codec.tail(serial)
	}
	return newPiecedRootPage(body, serial, anyPrivate), nil
}

// rootCodec returns the compressors of the project list's pieces.
func (c *Cache) rootCodec() *rootCodec {
	c.rootCodecOnce.Do(func() { c.rootCodecs = newRootCodec() })
	return c.rootCodecs
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
