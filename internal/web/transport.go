package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/ratelimit"
)

// Limits are the HTTP server's defences against slow and stalled clients:
// every connection, request and request body must make progress, and one
// client address cannot hold more than its share of connections.
//
// The client address is the connection's peer. Behind a reverse proxy or
// load balancer that is the proxy's address, shared by every client: list
// the proxies in TrustedProxies (their connections are then not capped, and
// Options.TrustedProxies attributes each request to the client the proxy
// names, for the upload cap and everything else) and let the proxy cap
// connections per client.
type Limits struct {
	// ReadHeaderTimeout bounds the time a client may take to send a
	// request's line and headers, from its first byte (from the
	// connection's start for the first request): slow or silent clients
	// are disconnected.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection on which no new request
	// starts for this long.
	IdleTimeout time.Duration
	// BodyMinBytes and BodyWindow are the slowest a request body (an
	// upload above all) may arrive: once a handler reads it, each window
	// must bring at least BodyMinBytes, or the read fails with
	// ErrBodyTooSlow, the request is answered 408 and an upload's staged
	// file is deleted at once. A window starts whenever the previous one
	// was filled, so a steady client never meets the limit however long
	// its body is. BodyMinBytes 0 disables the check.
	BodyMinBytes int64
	BodyWindow   time.Duration
	// SendMinBytes and SendWindow are the slowest a client may take a
	// response (a large file, the root index): every SendMinBytes must
	// leave within SendWindow on average over each write of up to 256 KiB
	// (one write deadline per such piece), or the connection is closed. A
	// client that stops reading cannot hold its connection, its goroutine
	// and an open file for ever: at the defaults it is cut within 2
	// minutes of the kernel's buffers filling. SendMinBytes 0 disables the
	// check.
	SendMinBytes int64
	SendWindow   time.Duration
	// MaxConnsPerClient caps the open connections of one client address
	// (an IPv4 address, or an IPv6 /64 network, which one subscriber
	// usually holds whole); a connection beyond it is answered 429 and
	// closed at once. 0: no cap.
	MaxConnsPerClient int
	// TrustedProxies are exempt from MaxConnsPerClient: each of their
	// connections may carry many clients (Options.TrustedProxies tells the
	// handlers who those are).
	TrustedProxies TrustedProxies
}

// DefaultLimits returns the defaults of `cheeseshop serve`.
//
// The body rate, 8 KiB per 30 seconds, only cuts clients that stall: a
// steady upload on a poor link (a 2G phone link sends a few KiB a second)
// fills a window many times over, and 30 seconds ride out a TCP
// retransmission back-off (1+2+4+8+16 s) or a network hand-over. A client
// that trickles 273 bytes a second keeps its upload, but each address can
// hold only a few of them (MaxConnsPerClient, Options.MaxUploadsPerClient).
//
// Responses must leave at 64 KiB per 30 seconds (about 2 KiB/s): any
// client that is reading at all takes that, and one that stopped reading
// loses its connection once the kernel's buffers are full and 30 seconds
// passed.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BodyMinBytes:      8 << 10,
		BodyWindow:        30 * time.Second,
		SendMinBytes:      64 << 10,
		SendWindow:        30 * time.Second,
		MaxConnsPerClient: 64,
	}
}

// Validate says which limit is unusable, if any.
func (l Limits) Validate() error {
	switch {
	case l.ReadHeaderTimeout <= 0:
		return fmt.Errorf("the header timeout must be positive, not %s", l.ReadHeaderTimeout)
	case l.IdleTimeout <= 0:
		return fmt.Errorf("the idle timeout must be positive, not %s", l.IdleTimeout)
	case l.BodyMinBytes < 0:
		return fmt.Errorf("the minimum body bytes must not be negative, not %d", l.BodyMinBytes)
	case l.BodyMinBytes > 0 && l.BodyWindow <= 0:
		return fmt.Errorf("the body timeout must be positive, not %s", l.BodyWindow)
	case l.SendMinBytes < 0:
		return fmt.Errorf("the minimum send bytes must not be negative, not %d", l.SendMinBytes)
	case l.SendMinBytes > 0 && l.SendWindow <= 0:
		return fmt.Errorf("the send timeout must be positive, not %s", l.SendWindow)
	case l.MaxConnsPerClient < 0:
		return fmt.Errorf("the connections per client address must not be negative (0: no cap), not %d", l.MaxConnsPerClient)
	}
	return nil
}

// HTTPServer is cheeseshop's http.Server: the handler behind the body-rate
// check, the timeouts of its Limits, and a listener that caps connections
// per client address and lets handlers coalesce writes (see
// CoalescingListener). cmd/cheeseshop serves with it, and so do the tests.
type HTTPServer struct {
	*http.Server
	limits  Limits
	conns   *perClient
	refused atomic.Uint64 // connections refused by the cap
	slow    atomic.Uint64 // request bodies cut for arriving too slowly
	// slowSends counts responses cut for being taken too slowly.
	slowSends atomic.Uint64
}

// NewHTTPServer returns the server of h with limits l (see Limits).
func NewHTTPServer(h http.Handler, l Limits) *HTTPServer {
	s := &HTTPServer{limits: l, conns: newPerClient(l.MaxConnsPerClient)}
	if l.BodyMinBytes > 0 {
		h = s.minBodyRate(h)
	}
	s.Server = &http.Server{
		Handler:           h,
		ConnContext:       ConnContext,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	return s
}

// Serve accepts connections on ln (wrapped as described in HTTPServer)
// until the server is shut down.
func (s *HTTPServer) Serve(ln net.Listener) error {
	return s.Server.Serve(&limitListener{Listener: ln, srv: s})
}

// Collectors returns the server's metrics: connections open and refused,
// request bodies cut.
func (s *HTTPServer) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cheeseshop_http_connections_open",
			Help: "HTTP connections open."}, func() float64 { return float64(s.conns.total()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cheeseshop_http_connections_refused_total",
			Help: "Connections refused because their client address had --max-conns-per-ip open."}, func() float64 { return float64(s.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cheeseshop_http_slow_sends_total",
			Help: "Connections closed because their client took a response slower than --send-min-bytes per --send-timeout."}, func() float64 { return float64(s.slowSends.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cheeseshop_http_slow_bodies_total",
			Help: "Requests aborted because their body arrived slower than --body-min-bytes per --body-timeout."}, func() float64 { return float64(s.slow.Load()) }),
	}
}

// clientKey is the address a client's connections and uploads are counted
// under: its IPv4 address, or its IPv6 /64 network. ok is false for peers
// without an IP address.
func clientKey(remote string) (key netip.Addr, ok bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	return ratelimit.ClientNetwork(ap.Addr()), true
}

// perClient counts what each client address holds (connections, uploads)
// against a cap.
type perClient struct {
	max int // 0: no cap (counted anyway, for the total)
	mu  sync.Mutex
	n   map[netip.Addr]int
	all int
}

func newPerClient(max int) *perClient { return &perClient{max: max, n: map[netip.Addr]int{}} }

// acquire takes one of key's slots, and reports false when key holds the
// maximum already. A taken slot must be given back with release.
func (p *perClient) acquire(key netip.Addr, capped bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if capped && p.max > 0 && p.n[key] >= p.max {
		return false
	}
	p.n[key]++
	p.all++
	return true
}

func (p *perClient) release(key netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all--
	if p.n[key]--; p.n[key] <= 0 {
		delete(p.n, key)
	}
}

func (p *perClient) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all
}

// limitListener counts each accepted connection against its client's cap,
// refuses those beyond it, and makes the others coalescingConns.
type limitListener struct {
	net.Listener
	srv *HTTPServer
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var key netip.Addr
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			key = ratelimit.ClientNetwork(ta.AddrPort().Addr())
		} else if k, ok := clientKey(c.RemoteAddr().String()); ok {
			key = k
		}
		capped := !l.srv.limits.TrustedProxies.Contains(key)
		if !l.srv.conns.acquire(key, capped) {
			l.srv.refused.Add(1)
			go refuseConn(c, l.srv.limits.MaxConnsPerClient)
			continue
		}
		if l.srv.limits.SendMinBytes > 0 {
			setNotSentLowat(c, int(min(l.srv.limits.SendMinBytes, 1<<30)))
		}
		cc := &coalescingConn{Conn: c, sendMin: l.srv.limits.SendMinBytes, sendWindow: l.srv.limits.SendWindow, cut: &l.srv.slowSends}
		cc.onClose = func() { l.srv.conns.release(key) }
		return cc, nil
	}
}

// refuseConn answers a connection beyond its client's cap with a 429 and
// closes it. The response goes out before the request is read: HTTP/1.1
// clients take it as the answer to their first request. What the client
// already sent is read (briefly) first, so that closing does not reset the
// connection before the answer arrives.
func refuseConn(c net.Conn, max int) {
	defer c.Close()
	msg := fmt.Sprintf("Too many connections from your address (at most %d at a time). Close some, then try again.\n", max)
	resp := "HTTP/1.1 429 Too Many Requests\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Retry-After: 10\r\n" +
		"Cache-Control: no-store\r\n" +
		"Connection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(msg)) + "\r\n\r\n" + msg
	c.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := io.WriteString(c, resp); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// ErrBodyTooSlow is the error of a request body that arrived slower than
// the server's Limits allow.
var ErrBodyTooSlow = errors.New("the request body arrived too slowly")

// bodyTooSlowError says by how much the body missed the rate.
type bodyTooSlowError struct {
	min    int64
	window time.Duration
}

func (e *bodyTooSlowError) Error() string {
	return fmt.Sprintf("%v: less than %s in %s", ErrBodyTooSlow, byteSize(e.min), e.window)
}

func (e *bodyTooSlowError) Is(target error) bool { return target == ErrBodyTooSlow }

type rateKey struct{}

// minBodyRate makes every request body a rateBody.
func (s *HTTPServer) minBodyRate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// A body no handler reads is still read by net/http, which
		// drains up to 256 KiB of it to reuse the connection, before
		// writing the answer or after the handler, with no deadline of
		// its own: a client trickling that body would hold the
		// connection for ever. Its first window starts now; the first
		// Read of a handler starts the windows of rateBody instead.
		_ = rc.SetReadDeadline(time.Now().Add(s.limits.BodyWindow))
		b := &rateBody{ReadCloser: r.Body, rc: rc, min: s.limits.BodyMinBytes,
			window: s.limits.BodyWindow, cut: &s.slow}
		r = r.WithContext(context.WithValue(r.Context(), rateKey{}, b))
		r.Body = b
		next.ServeHTTP(w, r)
	})
}

// rateBody is a request body that must deliver min bytes in each window:
// the connection's read deadline is set at the end of the current window
// and moved on once the window got its bytes. net/http clears the
// deadline when the body ends (and sets its own between requests).
type rateBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	min      int64
	window   time.Duration
	got      int64 // bytes since the window started
	started  bool
	disabled bool // the connection does not support deadlines
	err      error
	cut      *atomic.Uint64
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if !b.disabled && (!b.started || b.got >= b.min) {
		b.started, b.got = true, 0
		if err := b.rc.SetReadDeadline(time.Now().Add(b.window)); err != nil {
			b.disabled = true
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.got += int64(n)
	if err != nil && !b.disabled && errors.Is(err, os.ErrDeadlineExceeded) {
		b.err = &bodyTooSlowError{min: b.min, window: b.window}
		b.cut.Add(1)
		return n, b.err
	}
	return n, err
}

// bodyTooSlow returns the error of r's body when it was cut for arriving
// too slowly, else nil. Only the goroutine reading the body may ask.
func bodyTooSlow(r *http.Request) error {
	if b, ok := r.Context().Value(rateKey{}).(*rateBody); ok && b.err != nil {
		return b.err
	}
	return nil
}

// uploadSlots caps the uploads in progress per client address
// (Options.MaxUploadsPerClient): one more is refused with 429 before
// anything else is done, so that one address cannot hold the staging disk
// and the server's connections with stalled uploads.
func (s *Server) uploadSlots(next http.HandlerFunc) http.HandlerFunc {
	if s.uploads == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := clientKey(r.RemoteAddr)
		if ok && !s.uploads.acquire(key, true) {
			s.metrics.uploads.WithLabelValues("refused").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(uploadRetryAfter))
			w.Header()["Cache-Control"] = hdrNoStore
			s.apiError(w, r, http.StatusTooManyRequests, fmt.Sprintf(
				"Too many uploads in progress from your address (at most %d at a time). Wait for one to finish, then try again.",
				s.uploads.max))
			return
		}
		if ok {
			defer s.uploads.release(key)
		}
		next(w, r)
	}
}

// uploadRetryAfter is the Retry-After (seconds) of an upload refused for
// too many in progress.
const uploadRetryAfter = 30
