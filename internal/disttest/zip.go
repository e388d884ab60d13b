package disttest

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"
)

// ZipWriter writes zip archives the way wheel builders do: every local
// header carries its member's CRC-32 and sizes, and no member is followed
// by a data descriptor. PyPI refuses data descriptors in uploads (so does
// cheeseshop), and archive/zip's Create and CreateHeader always write them.
type ZipWriter struct {
	zw *zip.Writer
	// Modified is the modification time written for every member.
	Modified time.Time
}

// NewZipWriter returns a ZipWriter writing to w.
func NewZipWriter(w io.Writer) *ZipWriter {
	return &ZipWriter{zw: zip.NewWriter(w), Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Add writes the member name, compressed by method (zip.Store or
// zip.Deflate). write is called twice, first to measure the content and
// then to store it, and must write the same bytes both times.
func (z *ZipWriter) Add(name string, method uint16, write func(io.Writer) error) error {
	if method != zip.Store && method != zip.Deflate {
		return fmt.Errorf("disttest: zip member %q: unsupported method %d", name, method)
	}
	// Measure: CRC-32, size and compressed size.
	crc := crc32.NewIEEE()
	raw := &countWriter{w: crc}
	compressed := &countWriter{w: io.Discard}
	if err := compress(method, raw, compressed, write); err != nil {
		return fmt.Errorf("disttest: zip member %q: %w", name, err)
	}
	fh := &zip.FileHeader{Name: name, Method: method, CRC32: crc.Sum32(),
		UncompressedSize64: raw.n, CompressedSize64: compressed.n}
	fh.SetModTime(z.Modified)
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("disttest: zip member %q: %w", name, err)
	}
	if err := compress(method, io.Discard, w, write); err != nil {
		return fmt.Errorf("disttest: zip member %q: %w", name, err)
	}
	return nil
}

// AddBytes writes the member name with the given content.
func (z *ZipWriter) AddBytes(name string, method uint16, content []byte) error {
	return z.Add(name, method, func(w io.Writer) error {
		_, err := w.Write(content)
		return err
	})
}

// compress calls write with a writer that sends its bytes to tee and,
// compressed by method, to out.
func compress(method uint16, tee, out io.Writer, write func(io.Writer) error) error {
	if method == zip.Store {
		return write(io.MultiWriter(tee, out))
	}
	fw := flaters.Get().(*flate.Writer)
	defer flaters.Put(fw)
	fw.Reset(out)
	if err := write(io.MultiWriter(tee, fw)); err != nil {
		return err
	}
	return fw.Close()
}

// flaters keeps deflate compressors for reuse: a new one allocates about
// 1 MB, and each member is compressed twice, which made the cost of a
// small wheel (and of cheeseshop-bench's upload load generator) mostly
// compressor set-up. Reset makes a compressor's output the same as a new
// one's.
var flaters = sync.Pool{New: func() any {
	fw, err := flate.NewWriter(io.Discard, flate.DefaultCompression)
	if err != nil {
		panic(err) // only for an invalid level
	}
	return fw
}}

// Close finishes the archive (writing the central directory); it does
// not close the underlying writer.
func (z *ZipWriter) Close() error { return z.zw.Close() }

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}
