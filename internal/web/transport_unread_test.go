package web

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
)

// TestUnreadBodyTrickleCut is the slowloris that hides in a request body
// no handler reads: a GET (or any request a handler answers without
// reading its body) declares a body and trickles it a byte at a time.
// net/http drains up to 256 KiB of an unread body after the handler, to
// reuse the connection, and without a deadline that drain waits for ever:
// the connection outlives the idle, header and body timeouts. It must be
// cut within the body timeout.
func TestUnreadBodyTrickleCut(t *testing.T) {
	t.Parallel()
	const window, slack = time.Second, 3 * time.Second
	l := DefaultLimits()
	l.IdleTimeout, l.ReadHeaderTimeout, l.BodyWindow, l.MaxConnsPerClient = window, window, window, 0
	s := newTestServerWith(t, store.SQLite, serverConfig{Limits: &l})
	addr := strings.TrimPrefix(s.URL, "http://")
	for _, req := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
		"GET /simple/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /account/logout/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, req)
		start := time.Now()
		// Trickle the body: a byte every 100 ms (a chunk of one byte for
		// the chunked request).
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				b := "a"
				if strings.Contains(req, "chunked") {
					b = "1\r\na\r\n"
				}
				if _, err := io.WriteString(conn, b); err != nil {
					return
				}
			}
		}()
		// The server may answer, and must close the connection.
		_, err = readEOF(conn, start.Add(window+slack))
		close(stop)
		<-done
		// A reset is a close too (the server left the trickle unread).
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: the connection trickling an unread body is still open %s after the request (body timeout %s): %v",
				strings.SplitN(req, "\r\n", 2)[0], time.Since(start).Round(time.Millisecond), window, err)
		}
	}
}
