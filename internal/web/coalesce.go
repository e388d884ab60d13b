package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// net/http writes a response through a 4 KiB buffer per connection: a
// response whose headers and body exceed it leaves in two write system
// calls (the full buffer, then the rest), so the client receives two
// segments and wakes twice. That costs about a sixth of the throughput of
// a 5 KB page such as the root index of a small index (docs/BENCHMARKS.md).
// A server that wraps its listener with CoalescingListener and sets
// ConnContext lets the handlers of prepared documents hold a connection's
// writes while they write one response, then send it in one system call.

// Bodies in this range are written through a held connection: below it the
// response fits net/http's buffer anyway, above it one extra write is lost
// in the cost of the body.
const (
	coalesceMin = 2 << 10
	coalesceMax = 64 << 10
)

// CoalescingListener wraps l so that handlers can send a prepared response
// in one write. Use it together with ConnContext.
func CoalescingListener(l net.Listener) net.Listener { return coalescingListener{l} }

type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescingConn{Conn: c}, nil
}

type connKey struct{}

// ConnContext is the http.Server.ConnContext of a server whose listener is
// a CoalescingListener: it makes the connection reachable to handlers.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*coalescingConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// coalescingConn is a connection whose writes can be held in memory and
// sent in one call. Only the goroutine serving the connection writes to
// it, as net/http guarantees for HTTP/1.x.
type coalescingConn struct {
	net.Conn
	held *[]byte // nil unless writes are held
	// onClose, when set, runs once when the connection is closed (the
	// per-client count of HTTPServer).
	onClose   func()
	closeOnce sync.Once
	// sendMin and sendWindow, when sendMin > 0, are the slowest a client
	// may take what the server sends: a write of n bytes must complete
	// within one sendWindow per sendMin bytes (large writes are cut in
	// sendChunk pieces, each under its own deadline), so a client that
	// stops reading a large response frees its connection instead of
	// holding it forever. cut counts them.
	sendMin    int64
	sendWindow time.Duration
	cut        *atomic.Uint64
}

// Close closes the connection. net/http may close it from two goroutines
// at once (the one serving it, and Shutdown closing idle connections).
func (c *coalescingConn) Close() error {
	err := c.Conn.Close()
	if c.onClose != nil {
		c.closeOnce.Do(c.onClose)
	}
	return err
}

// holdBuffers start at the size of a small root index and grow as needed.
var holdBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (c *coalescingConn) Write(p []byte) (int, error) {
	if c.held != nil {
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	return c.send(p)
}

// ErrSendTooSlow is the error of a write that the client did not take in
// time (see Limits.SendMinBytes).
var ErrSendTooSlow = errors.New("the client took the response too slowly")

// sendChunk is the most one write sends under one deadline: a stalled
// client is found within sendChunk/sendMin windows, and a large response
// costs one system call per sendChunk, not per sendMin.
const sendChunk = 256 << 10

// deadline returns the write deadline of a chunk of n bytes: a window for
// every sendMin bytes (or part of it).
func (c *coalescingConn) deadline(n int64) time.Time {
	windows := max(1, (n+c.sendMin-1)/c.sendMin)
	return time.Now().Add(time.Duration(windows) * c.sendWindow)
}

// send writes p in chunks of at most max(sendMin, sendChunk) bytes, each
// under its deadline.
func (c *coalescingConn) send(p []byte) (int, error) {
	if c.sendMin <= 0 {
		return c.Conn.Write(p)
	}
	size := max(c.sendMin, sendChunk)
	n := 0
	for len(p) > 0 {
		chunk := p[:min(int64(len(p)), size)]
		if err := c.Conn.SetWriteDeadline(c.deadline(int64(len(chunk)))); err != nil {
			return c.Conn.Write(p) // no deadlines on this connection
		}
		m, err := c.Conn.Write(chunk)
		n += m
		if err != nil {
			return n, c.tooSlow(err)
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// tooSlow turns a missed write deadline into ErrSendTooSlow.
func (c *coalescingConn) tooSlow(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if c.cut != nil {
			c.cut.Add(1)
		}
		return fmt.Errorf("%w: less than %s in %s: %w", ErrSendTooSlow, byteSize(c.sendMin), c.sendWindow, err)
	}
	return err
}

// hold starts holding writes.
func (c *coalescingConn) hold() {
	if c.held == nil {
		c.held = holdBuffers.Get().(*[]byte)
	}
}

// release sends what was held in one write and stops holding.
func (c *coalescingConn) release() error {
	b := c.held
	if b == nil {
		return nil
	}
	c.held = nil
	var err error
	if len(*b) > 0 {
		_, err = c.send(*b)
	}
	*b = (*b)[:0]
	holdBuffers.Put(b)
	return err
}

// ReadFrom keeps the underlying connection's sendfile path for file
// downloads, which never hold writes.
func (c *coalescingConn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok || c.held != nil {
		return io.Copy(struct{ io.Writer }{c}, r)
	}
	if c.sendMin <= 0 {
		return rf.ReadFrom(r)
	}
	// Send in chunks, each under its deadline. The chunk reader
	// wraps the file itself (not a reader around it), so that sendfile
	// still applies: net's sendfile looks through one *io.LimitedReader.
	remain := int64(-1)
	outer, limited := r.(*io.LimitedReader)
	if limited {
		remain, r = outer.N, outer.R
	}
	var total int64
	for remain != 0 {
		size := max(c.sendMin, sendChunk)
		if remain > 0 {
			size = min(size, remain)
		}
		if err := c.Conn.SetWriteDeadline(c.deadline(size)); err != nil {
			return total, err
		}
		n, err := rf.ReadFrom(&io.LimitedReader{R: r, N: size})
		total += n
		if remain > 0 {
			remain -= n
		}
		if limited {
			outer.N -= n
		}
		if err != nil {
			return total, c.tooSlow(err)
		}
		if n < size {
			return total, nil // the end of r
		}
	}
	return total, nil
}

// CloseWrite keeps net/http's graceful close (a FIN before closing) for
// TCP connections.
func (c *coalescingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// writeWhole writes body as the whole response body, in one write system
// call when the connection allows it and the body is of a size where that
// matters. The headers must be set.
func writeWhole(w http.ResponseWriter, r *http.Request, body []byte) {
	c := holdFor(r, len(body))
	if c == nil {
		w.Write(body)
		return
	}
	c.hold()
	defer c.release()
	if _, err := w.Write(body); err != nil {
		return
	}
	// Push the headers and body from net/http's buffers into the held
	// buffer; release then sends them.
	http.NewResponseController(w).Flush()
}

// writeParts writes parts, n bytes in all, as the whole response body,
// as writeWhole does: the project list kept in pieces (a small index's
// list is three) leaves in one write too.
func writeParts(w http.ResponseWriter, r *http.Request, parts [][]byte, n int) {
	c := holdFor(r, n)
	if c != nil {
		c.hold()
		defer c.release()
	}
	for _, b := range parts {
		if _, err := w.Write(b); err != nil {
			return
		}
	}
	if c != nil {
		http.NewResponseController(w).Flush()
	}
}

// holdFor returns the connection whose writes to hold for a response
// body of n bytes, or nil: bodies that fit net/http's buffer, or are
// large enough that one more write does not matter, are not held; nor
// are those of connections that are not coalescingConns or not HTTP/1.
func holdFor(r *http.Request, n int) *coalescingConn {
	if n < coalesceMin || n > coalesceMax || r.ProtoMajor != 1 {
		return nil
	}
	c, _ := r.Context().Value(connKey{}).(*coalescingConn)
	return c
}
