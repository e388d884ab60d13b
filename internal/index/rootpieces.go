package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"

	"cheeseshop/internal/store"
)

// DefaultRootPieceBytes is the size of HTML the project list keeps in a
// piece: a change to the list renders and compresses again the piece
// of the name alone (about 2,000 names, a few milliseconds), not the
// 49 MB of the whole list at 886k projects.
const DefaultRootPieceBytes = 100 << 10

// rootPiece is a run of the project list, rendered and compressed on
// its own: its HTML, that HTML as raw deflate ended by a sync flush (no
// back-reference to another piece, byte-aligned, so that pieces
// concatenate into one deflate stream), and as a zstd frame (frames
// concatenate into one zstd stream, RFC 8878 §3.1). The list's head and
// tail (with its serial) are pieces without names.
type rootPiece struct {
	names               []store.ProjectName // sorted; never changed once rendered
	html, deflate, zstd []byte
	sum                 [sha256.Size]byte // of html
	crc                 uint32            // CRC-32 of html
}

// rootCodec renders and compresses pieces.
type rootCodec struct {
	zstd  *zstd.Encoder
	flate sync.Pool // of *flate.Writer: each holds about 1 MB
}

func newRootCodec() *rootCodec {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	return &rootCodec{zstd: enc}
}

// piece returns html as a piece of names.
func (c *rootCodec) piece(names []store.ProjectName, html []byte) *rootPiece {
	fw, _ := c.flate.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(nil, flate.BestSpeed)
	}
	defer c.flate.Put(fw)
	var buf bytes.Buffer
	buf.Grow(len(html)/6 + 64)
	fw.Reset(&buf)
	// Writing to a bytes.Buffer cannot fail.
	fw.Write(html)
	fw.Flush()
	return &rootPiece{names: names, html: html, deflate: buf.Bytes(),
		zstd: c.zstd.EncodeAll(html, make([]byte, 0, len(html)/6+64)), sum: sha256.Sum256(html), crc: crc32.ChecksumIEEE(html)}
}

// pieces renders each group of names as a piece, on every CPU.
func (c *rootCodec) pieces(groups [][]store.ProjectName) []*rootPiece {
	out := make([]*rootPiece, len(groups))
	workers := min(runtime.GOMAXPROCS(0), len(groups))
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(groups) {
					return
				}
				out[i] = c.piece(groups[i], renderRootNames(nil, groups[i]))
			}
		})
	}
	wg.Wait()
	return out
}

// text returns s as a piece without names.
func (c *rootCodec) text(s string) *rootPiece {
	return c.piece(nil, []byte(s))
}

// tail returns the list's last piece, which bears its serial.
func (c *rootCodec) tail(serial int64) *rootPiece {
	return c.text(rootHTMLTail + strconv.FormatInt(serial, 10) + "-->\n")
}

// namesSize is the size of the HTML of names.
func namesSize(names []store.ProjectName) int {
	size := 0
	for _, n := range names {
		size += len(rootHTMLLink) + len(n.Normalized) + len(rootHTMLMiddle) + len(n.Name) + len(rootHTMLEnd)
	}
	return size
}

// renderRootNames appends the HTML links of names to b.
func renderRootNames(b []byte, names []store.ProjectName) []byte {
	b = slices.Grow(b, namesSize(names))
	for _, n := range names {
		b = append(b, rootHTMLLink...)
		b = append(b, n.Normalized...)
		b = append(b, rootHTMLMiddle...)
		b = appendHTMLText(b, n.Name)
		b = append(b, rootHTMLEnd...)
	}
	return b
}

// chunkNames cuts names (sorted) into runs of about target bytes of HTML.
func chunkNames(names []store.ProjectName, target int) [][]store.ProjectName {
	var groups [][]store.ProjectName
	start, size := 0, 0
	for i, n := range names {
		size += len(rootHTMLLink) + len(n.Normalized) + len(rootHTMLMiddle) + len(n.Name) + len(rootHTMLEnd)
		if size >= target {
			groups = append(groups, names[start:i+1:i+1])
			start, size = i+1, 0
		}
	}
	if start < len(names) {
		groups = append(groups, names[start:len(names):len(names)])
	}
	return groups
}

// rootChange is what a project is now in the project list: present
// with its name, or absent.
type rootChange struct {
	normalized string
	present    bool
	name       store.ProjectName
}

// apply makes the change in names (sorted), where j and found are the
// name's place as a binary search gives them: the name replaced,
// inserted or removed.
func (ch rootChange) apply(names []store.ProjectName, j int, found bool) []store.ProjectName {
	switch {
	case ch.present && found:
		names[j] = ch.name
	case ch.present:
		names = slices.Insert(names, j, ch.name)
	case found:
		names = slices.Delete(names, j, j+1)
	}
	return names
}

// patchPieces returns the pieces of names (mid, sorted, in order) with
// changes applied: the pieces changed are rendered again, split when
// above twice target bytes, merged with the next when below half of
// it (the last may stay small); the others are shared with mid.
func (c *rootCodec) patchPieces(mid []*rootPiece, changes []rootChange, target int) []*rootPiece {
	// A name belongs to the last piece whose first name is not after
	// it (the first piece when none): the pieces' ranges as they were.
	edited := make(map[int][]store.ProjectName)
	var orphans []store.ProjectName // no piece at all yet
	for _, ch := range changes {
		if len(mid) == 0 {
			j, found := slices.BinarySearchFunc(orphans, ch.normalized, compareName)
			orphans = ch.apply(orphans, j, found)
			continue
		}
		i, found := slices.BinarySearchFunc(mid, ch.normalized, func(p *rootPiece, k string) int { return strings.Compare(p.names[0].Normalized, k) })
		if !found && i > 0 {
			i--
		}
		names, ok := edited[i]
		if !ok {
			names = mid[i].names
		}
		j, found := slices.BinarySearchFunc(names, ch.normalized, compareName)
		if found == ch.present && (!found || names[j] == ch.name) {
			continue // as it was: the piece stays
		}
		if !ok {
			names = slices.Clone(names)
		}
		edited[i] = ch.apply(names, j, found)
	}
	if len(mid) == 0 {
		return c.pieces(chunkNames(orphans, target))
	}
	var out []*rootPiece
	var groups [][]store.ProjectName
	at := make([]int, 0, len(edited)) // where in out each group's pieces go
	var carry []store.ProjectName     // a small run merged into the next piece
	carried := false
	for i, p := range mid {
		names, ok := edited[i]
		if !ok && !carried {
			out = append(out, p)
			continue
		}
		if !ok {
			names = p.names
		}
		if carried {
			names = append(carry, names...)
			carry, carried = nil, false
		}
		size := namesSize(names)
		if size < target/2 && i+1 < len(mid) {
			carry, carried = names, true
			continue
		}
		if len(names) == 0 {
			continue
		}
		if size <= 2*target {
			at = append(at, len(out))
			out = append(out, nil)
			groups = append(groups, names)
			continue
		}
		for _, g := range chunkNames(names, target) {
			at = append(at, len(out))
			out = append(out, nil)
			groups = append(groups, g)
		}
	}
	for k, p := range c.pieces(groups) {
		out[at[k]] = p
	}
	return out
}

func compareName(n store.ProjectName, k string) int { return strings.Compare(n.Normalized, k) }

// rootBody is the project list as pieces: head, names, tail.
type rootBody struct {
	head, tail *rootPiece
	mid        []*rootPiece
}

// all returns every piece in order.
func (b *rootBody) all() []*rootPiece {
	return slices.Concat([]*rootPiece{b.head}, b.mid, []*rootPiece{b.tail})
}

// gzipHeader is a gzip member's header (RFC 1952 §2.3): deflate, no
// flags, no time, no extra flags, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// deflateEnd is an empty final deflate block (fixed Huffman codes, the
// end-of-block code alone), ending the pieces' stream.
var deflateEnd = []byte{0x03, 0x00}

// encoded returns the list's bodies in each coding: parts of the
// pieces, not a copy of them. The identity tag is a digest of the
// pieces' digests, so that it names the pieces as cut too (their
// compressed bytes depend on it).
func (b *rootBody) encoded() Encoded {
	all := b.all()
	html := make([][]byte, len(all))
	gz := make([][]byte, 0, len(all)+2)
	zs := make([][]byte, len(all))
	gz = append(gz, gzipHeader)
	crc, size := uint32(0), 0
	h := sha256.New()
	for i, p := range all {
		html[i], zs[i] = p.html, p.zstd
		gz = append(gz, p.deflate)
		crc = crc32Combine(crc, p.crc, len(p.html))
		size += len(p.html)
		h.Write(p.sum[:])
	}
	trailer := append(slices.Clone(deflateEnd), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(trailer[2:], crc)
	binary.LittleEndian.PutUint32(trailer[6:], uint32(size))
	gz = append(gz, trailer)
	id := Page{Parts: html, ETag: `"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12]) + `"`}
	return Encoded{Page: id, Gzip: codedParts(id, gz, "gzip"), Zstd: codedParts(id, zs, "zstd")}
}

func codedParts(id Page, parts [][]byte, coding string) Page {
	p := codedPage(id, nil, coding)
	p.Parts = parts
	return p
}

// newPiecedRootPage returns the project list of body.
func newPiecedRootPage(body *rootBody, serial int64, anyPrivate bool) *RootPage {
	n := 0
	for _, p := range body.mid {
		n += len(p.names)
	}
	return &RootPage{HTML: body.encoded(), Projects: n, Serial: serial, BuiltAt: time.Now(), AnyPrivate: anyPrivate,
		compress: true, body: body}
}

// crc32Combine returns the CRC-32 (IEEE) of a followed by b from their
// CRC-32s and b's length, as zlib's crc32_combine: a's shifted by
// multiplying it by x^(8·n) modulo the polynomial. It spares reading
// the whole list again (49 MB) when one piece changed.
func crc32Combine(a, b uint32, n int) uint32 {
	return multModP(xPow8n(uint64(n)), a) ^ b
}

// crcPoly is the IEEE polynomial, reflected.
const crcPoly = 0xedb88320

// multModP returns a(x)·b(x) modulo the polynomial, bits reflected (the
// top bit is x⁰); a is never 0.
func multModP(a, b uint32) uint32 {
	m, p := uint32(1)<<31, uint32(0)
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
}

// crcX2k are x^(2^k) modulo the polynomial.
var crcX2k = func() (t [32]uint32) {
	t[0] = 1 << 30 // x¹
	for k := 1; k < len(t); k++ {
		t[k] = multModP(t[k-1], t[k-1])
	}
	return t
}()

// xPow8n returns x^(8·n) modulo the polynomial: n bytes of shift.
func xPow8n(n uint64) uint32 {
	p, k := uint32(1)<<31, 3 // x⁰; 8 = 2³
	for ; n != 0; n >>= 1 {
		if n&1 != 0 {
			p = multModP(crcX2k[k&31], p)
		}
		k++
	}
	return p
}
