package dist

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// bombSize is the uncompressed size of the decompression bombs built by the
// tests: far above the 64 MiB default threshold.
const bombSize = 200 << 20

// zeroDeflate is a raw DEFLATE stream of bombSize zero bytes, built once.
var zeroDeflate = sync.OnceValues(func() ([]byte, uint32) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		panic(err)
	}
	zeros := make([]byte, 1<<20)
	h := crc32.NewIEEE()
	for range bombSize / len(zeros) {
		fw.Write(zeros)
		h.Write(zeros)
	}
	if err := fw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes(), h.Sum32()
})

// zipEntry is one member of a test zip. With raw set, body is written as is
// with the given header fields (CreateRaw), so that sizes, CRC and method can
// lie.
type zipEntry struct {
	name   string
	body   []byte
	method uint16
	raw    *zip.FileHeader
	// attrs and creator, when set, are the header's ExternalAttrs and the
	// host system of CreatorVersion (3 is Unix), for file types and modes.
	attrs   uint32
	creator uint16
}

// file returns a deflated zip entry.
func file(name, body string) zipEntry {
	return zipEntry{name: name, body: []byte(body), method: zip.Deflate}
}

// buildZip writes entries into a zip archive placed after prefix.
func buildZip(t testing.TB, prefix []byte, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Write(prefix)
	zw := zip.NewWriter(&buf)
	zw.SetOffset(int64(len(prefix)))
	for _, e := range entries {
		var w io.Writer
		var err error
		if e.raw != nil {
			fh := *e.raw
			fh.Name = e.name
			w, err = zw.CreateRaw(&fh)
		} else {
			// Compressed here and written raw, as wheel builders do:
			// without a data descriptor, which PyPI refuses.
			method := e.method
			if strings.HasSuffix(e.name, "/") {
				method = zip.Store
			}
			fh := &zip.FileHeader{Name: e.name, Method: method, Modified: time.Unix(1e9, 0),
				ExternalAttrs: e.attrs, CreatorVersion: e.creator << 8}
			fh.SetModTime(fh.Modified)
			w, err = zw.CreateRaw(rawHeader(t, fh, e.body))
			e.body = compressed(t, method, e.body)
		}
		if err != nil {
			t.Fatalf("zip entry %q: %v", e.name, err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatalf("zip entry %q: %v", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("closing zip: %v", err)
	}
	return buf.Bytes()
}

// rawHeader completes fh with the CRC-32 and sizes of body compressed by
// fh.Method, for zip.Writer.CreateRaw.
func rawHeader(t testing.TB, fh *zip.FileHeader, body []byte) *zip.FileHeader {
	fh.CRC32 = crc32.ChecksumIEEE(body)
	fh.UncompressedSize64 = uint64(len(body))
	fh.CompressedSize64 = uint64(len(compressed(t, fh.Method, body)))
	return fh
}

// compressed returns body compressed by method (Store or Deflate; other
// methods leave it as it is).
func compressed(t testing.TB, method uint16, body []byte) []byte {
	if method != zip.Deflate {
		return body
	}
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(body)
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	testMetadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: A demo package\n"
	testWheel    = "Wheel-Version: 1.0\nGenerator: cheeseshop-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	testModule   = "def hello():\n    return 'hello'\n"
)

// wheelEntries returns the members of a valid wheel for dir (a .dist-info
// directory name) with a module, leaving out the dist-info files named in
// omit.
func wheelEntries(dir string, omit ...string) []zipEntry {
	files := map[string]string{
		"METADATA": testMetadata,
		"WHEEL":    testWheel,
		"RECORD":   "demo/__init__.py,,\n" + dir + "/METADATA,,\n" + dir + "/WHEEL,,\n" + dir + "/RECORD,,\n",
	}
	entries := []zipEntry{file("demo/__init__.py", testModule)}
	for _, n := range []string{"METADATA", "WHEEL", "RECORD"} {
		if !contains(omit, n) {
			entries = append(entries, file(dir+"/"+n, files[n]))
		}
	}
	return entries
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validWheel returns a small valid wheel for demo 1.0 plus extra members.
func validWheel(t testing.TB, extra ...zipEntry) []byte {
	t.Helper()
	return buildZip(t, nil, append(wheelEntries("demo-1.0.dist-info"), extra...)...)
}

// bombWheel returns a valid wheel with an extra member demo/bomb.bin of
// bombSize zeros whose central directory declares declaredSize bytes.
func bombWheel(t testing.TB, declaredSize uint64) []byte {
	t.Helper()
	deflated, crc := zeroDeflate()
	return validWheel(t, zipEntry{name: "demo/bomb.bin", body: deflated, raw: &zip.FileHeader{
		Method:             zip.Deflate,
		CRC32:              crc,
		CompressedSize64:   uint64(len(deflated)),
		UncompressedSize64: declaredSize,
	}})
}

// splitWheelName returns the name and version components of a wheel
// filename.
func splitWheelName(filename string) (name, version string) {
	parts := strings.SplitN(filename, "-", 3)
	if len(parts) < 3 {
		return "", ""
	}
	return parts[0], parts[1]
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// failingReaderAt fails every read after the first limit bytes.
type failingReaderAt struct {
	r     io.ReaderAt
	limit int64
}

var errDisk = errors.New("disk on fire")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// tarEntry is one member of a test tar: a header and its content. With raw
// set, the bytes are written into the tar stream as they are (hand-made
// headers that archive/tar refuses to write).
type tarEntry struct {
	hdr  tar.Header
	body string
	raw  []byte
}

func tfile(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func tdir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func tlink(typeflag byte, name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: typeflag, Linkname: target, Mode: 0o777}}
}

const testPKGInfo = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"

// sdistEntries returns the members of a valid sdist of demo 1.0.
func sdistEntries(extra ...tarEntry) []tarEntry {
	return append([]tarEntry{
		tdir("demo-1.0/"),
		tfile("demo-1.0/PKG-INFO", testPKGInfo),
		tfile("demo-1.0/setup.py", "from setuptools import setup\nsetup()\n"),
		tdir("demo-1.0/demo/"),
		tfile("demo-1.0/demo/__init__.py", testModule),
	}, extra...)
}

// buildTar writes entries as a tar archive, with the end-of-archive marker.
func buildTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if e.raw != nil {
			if err := tw.Flush(); err != nil {
				t.Fatalf("flushing tar: %v", err)
			}
			buf.Write(e.raw)
			continue
		}
		hdr := e.hdr
		if hdr.Typeflag != tar.TypeXGlobalHeader {
			hdr.ModTime = time.Unix(1e9, 0)
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("tar header %q: %v", hdr.Name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatalf("tar body %q: %v", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("closing tar: %v", err)
	}
	return buf.Bytes()
}

// gzipBytes compresses b as one gzip member.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// buildSdist returns a gzip-compressed tar of entries.
func buildSdist(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	return gzipBytes(t, buildTar(t, entries...))
}

// zeroGzipMember returns a gzip member holding bombSize zeros, made from the
// shared DEFLATE stream.
func zeroGzipMember() []byte {
	deflated, crc := zeroDeflate()
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
	out = append(out, deflated...)
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(bombSize))
}

// rawTarHeader returns a 512-byte tar header block in GNU format.
// gnuFields maps byte offsets in the block to values copied there (the GNU
// sparse map starts at 386, the real size is at 483).
func rawTarHeader(name string, typeflag byte, size int64, gnuFields map[int][]byte) []byte {
	blk := make([]byte, 512)
	copy(blk[0:100], name)
	copy(blk[100:108], "0000644\x00")
	copy(blk[108:116], "0000000\x00")
	copy(blk[116:124], "0000000\x00")
	copy(blk[124:136], fmt.Sprintf("%011o\x00", size))
	copy(blk[136:148], fmt.Sprintf("%011o\x00", 1000000000))
	blk[156] = typeflag
	copy(blk[257:265], "ustar  \x00")
	for off, b := range gnuFields {
		copy(blk[off:], b)
	}
	copy(blk[148:156], "        ")
	var sum int64
	for _, c := range blk {
		sum += int64(c)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return blk
}

// padBlock pads b with zeros to a multiple of the tar block size.
func padBlock(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

// paxRecord formats one PAX extended header record.
func paxRecord(k, v string) string {
	rec := " " + k + "=" + v + "\n"
	n := len(rec)
	for {
		s := fmt.Sprint(n) + rec
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// gnuSparseEntry returns a raw old-GNU sparse member ('S') holding body as
// its single data region.
func gnuSparseEntry(name, body string) tarEntry {
	size := int64(len(body))
	hdr := rawTarHeader(name, 'S', size, map[int][]byte{
		386: fmt.Appendf(nil, "%011o\x00", 0),    // sparse[0].offset
		398: fmt.Appendf(nil, "%011o\x00", size), // sparse[0].numbytes
		483: fmt.Appendf(nil, "%011o\x00", size), // realsize
	})
	return tarEntry{raw: append(hdr, padBlock([]byte(body))...)}
}

// paxSparseEntry returns a raw member described by GNU PAX sparse format
// 0.1 records.
func paxSparseEntry(name, body string) tarEntry {
	size := len(body)
	recs := paxRecord("GNU.sparse.numblocks", "1") +
		paxRecord("GNU.sparse.map", fmt.Sprintf("0,%d", size)) +
		paxRecord("GNU.sparse.name", name) +
		paxRecord("GNU.sparse.size", fmt.Sprint(size))
	out := rawTarHeader("PaxHeaders/sparse", 'x', int64(len(recs)), nil)
	out = append(out, padBlock([]byte(recs))...)
	out = append(out, rawTarHeader("GNUSparseFile.0/sparse", '0', int64(size), nil)...)
	return tarEntry{raw: append(out, padBlock([]byte(body))...)}
}

// countingTestReader counts the bytes read from r.
type countingTestReader struct {
	r io.Reader
	n int64
}

func (c *countingTestReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// metadataOf returns the METADATA of an inspected wheel, nil for none.
func metadataOf(w *Wheel) []byte {
	if w == nil {
		return nil
	}
	return w.Metadata
}
