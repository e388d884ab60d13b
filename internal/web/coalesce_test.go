package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// countingListener counts the writes and ReadFrom calls that reach the
// connections it accepts.
type countingListener struct {
	net.Listener
	mu       sync.Mutex
	writes   int
	readFrom int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{TCPConn: c.(*net.TCPConn), l: l}, nil
}

func (l *countingListener) counts() (writes, readFrom int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, r := l.writes, l.readFrom
	l.writes, l.readFrom = 0, 0
	return w, r
}

type countingConn struct {
	*net.TCPConn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.TCPConn.Write(p)
}

func (c *countingConn) ReadFrom(r io.Reader) (int64, error) {
	c.l.mu.Lock()
	c.l.readFrom++
	c.l.mu.Unlock()
	return c.TCPConn.ReadFrom(r)
}

// TestCoalescedResponses serves prepared bodies of several sizes through
// the server of cmd/cheeseshop (NewHTTPServer), over one keep-alive
// connection, and counts the system-call writes each response took.
func TestCoalescedResponses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingListener{Listener: ln}
	file := filepath.Join(t.TempDir(), "file")
	fileBody := bytes.Repeat([]byte("wheel"), 40_000)
	if err := os.WriteFile(file, fileBody, 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /doc/{size}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("size"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		writeWhole(w, r, body(n))
	})
	mux.HandleFunc("GET /parts/{size}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("size"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		b := body(n)
		writeParts(w, r, [][]byte{b[:n/3], b[n/3 : 2*n/3], b[2*n/3:]}, n)
	})
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(file)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		http.ServeContent(w, r, "file", st.ModTime(), f)
	})
	srv := NewHTTPServer(mux, DefaultLimits())
	go srv.Serve(counting)
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	get := func(t *testing.T, path string) []byte {
		t.Helper()
		if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(b)) {
			t.Fatalf("GET %s: %d, Content-Length %d, body %d bytes", path, res.StatusCode, res.ContentLength, len(b))
		}
		return b
	}
	for _, tc := range []struct {
		size   int
		writes int
	}{
		{size: 100, writes: 1},             // fits net/http's buffer anyway
		{size: 5_611, writes: 1},           // the root index of 100 projects: two writes without holding
		{size: 57_000, writes: 1},          // 1,000 projects
		{size: coalesceMax, writes: 1},     // the largest held
		{size: coalesceMax + 1, writes: 2}, // not held: the buffer, then the rest
		// The buffer, then the rest in pieces of sendChunk, each under its
		// write deadline (Limits.SendMinBytes).
		{size: 2_000_000, writes: 1 + (2_000_000+sendChunk-1)/sendChunk},
	} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			counting.counts()
			if got := get(t, "/doc/"+strconv.Itoa(tc.size)); !bytes.Equal(got, body(tc.size)) {
				t.Fatalf("the body differs (%d bytes)", len(got))
			}
			if writes, _ := counting.counts(); writes != tc.writes {
				t.Errorf("%d bytes took %d writes, want %d", tc.size, writes, tc.writes)
			}
			if tc.size > coalesceMax {
				return // not held: the writes of parts depend on where they are cut
			}
			if got := get(t, "/parts/"+strconv.Itoa(tc.size)); !bytes.Equal(got, body(tc.size)) {
				t.Fatalf("the body in three parts differs (%d bytes)", len(got))
			}
			if writes, _ := counting.counts(); writes != tc.writes {
				t.Errorf("%d bytes in three parts took %d writes, want %d", tc.size, writes, tc.writes)
			}
		})
	}
	t.Run("file keeps sendfile", func(t *testing.T) {
		counting.counts()
		if got := get(t, "/file"); !bytes.Equal(got, fileBody) {
			t.Fatal("the file differs")
		}
		if _, readFrom := counting.counts(); readFrom != 1 {
			t.Errorf("the file was sent with %d ReadFrom calls on the connection, want 1 (sendfile)", readFrom)
		}
	})
}

// body returns n bytes of text.
func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}
