package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
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
	return c.Conn.Write(p)
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
		_, err = c.Conn.Write(*b)
	}
	*b = (*b)[:0]
	holdBuffers.Put(b)
	return err
}

// ReadFrom keeps the underlying connection's sendfile path for file
// downloads, which never hold writes.
func (c *coalescingConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok && c.held == nil {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c}, r)
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
	if len(body) < coalesceMin || len(body) > coalesceMax {
		w.Write(body)
		return
	}
	c, ok := r.Context().Value(connKey{}).(*coalescingConn)
	if !ok || r.ProtoMajor != 1 {
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
