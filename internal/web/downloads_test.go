package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// countingServer is a test server whose downloads a real
// downloads.Counter counts; it records the times it was given.
type countingServer struct {
	*testServer
	counter *downloads.Counter
	handler http.Handler

	mu    sync.Mutex
	times []time.Time
	// served receives once the handler of a /files/ request returned:
	// the client may read the whole body before the handler counts.
	served chan struct{}
}

// newCountingServer starts a second server over a test server's index,
// with download counting on under the policy, and points the test
// server's requests to it.
func newCountingServer(t *testing.T, d store.Dialect, p downloads.Policy) *countingServer {
	t.Helper()
	ts := newTestServer(t, d)
	cs := &countingServer{testServer: ts, counter: downloads.NewCounter(ts.st, discardLogger(), p)}
	cs.handler = New(ts.idx, ts.acct, discardLogger(), newRegistry(), Options{TwoFactor: ts.tf,
		CountDownload: func(dl downloads.Download) bool {
			cs.mu.Lock()
			cs.times = append(cs.times, dl.At)
			cs.mu.Unlock()
			return cs.counter.Count(dl)
		}})
	cs.served = make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.handler.ServeHTTP(w, r)
		if strings.HasPrefix(r.URL.Path, "/files/") {
			cs.served <- struct{}{}
		}
	}))
	t.Cleanup(hs.Close)
	ts.URL = hs.URL
	return cs
}

// expectCount sends a request and checks its status and how many
// downloads it counted.
func (cs *countingServer) expectCount(t *testing.T, what string, req *http.Request, status int, counted int64) {
	t.Helper()
	before := cs.counter.Pending()
	resp, _ := cs.do(req)
	if resp.StatusCode != status {
		t.Fatalf("%s: %s, want %d", what, resp.Status, status)
	}
	select {
	case <-cs.served:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the handler did not return within 10s of the response", what)
	}
	if got := cs.counter.Pending() - before; got != counted {
		t.Fatalf("%s: counted %d downloads, want %d", what, got, counted)
	}
}

func filePath(content []byte, name string) string {
	sum := sha256.Sum256(content)
	return "/files/" + hex.EncodeToString(sum[:]) + "/" + name
}

// TestDownloadCounting checks which responses count as downloads: a GET
// answered 200 does; HEAD, 304, 206, .metadata, 404 and a wrong digest do
// not. The counts reach the store under the project and the UTC day.
func TestDownloadCounting(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		cs := newCountingServer(t, d, downloads.Policy{})
		_, tok := cs.user("alice")
		demo := disttest.Dist{Name: "demo", Version: "1.0"}
		other := disttest.Dist{Name: "other", Version: "2.0"}
		cs.uploadDist(tok, demo, false)
		cs.uploadDist(tok, demo, true)
		cs.uploadDist(tok, other, false)
		wheel := filePath(demo.Wheel(), demo.WheelFilename())
		sdist := filePath(demo.Sdist(), demo.SdistFilename())
		otherWheel := filePath(other.Wheel(), other.WheelFilename())
		etag := `"` + strings.Split(wheel, "/")[2] + `"`

		req := func(method, path string, headers ...string) *http.Request {
			r, _ := http.NewRequest(method, cs.URL+path, nil)
			for i := 0; i+1 < len(headers); i += 2 {
				r.Header.Set(headers[i], headers[i+1])
			}
			return r
		}
		start := time.Now()
		cs.expectCount(t, "GET wheel", req("GET", wheel), 200, 1)
		cs.expectCount(t, "GET wheel again", req("GET", wheel), 200, 1)
		cs.expectCount(t, "GET sdist", req("GET", sdist), 200, 1)
		cs.expectCount(t, "GET other project's wheel", req("GET", otherWheel), 200, 1)
		cs.expectCount(t, "HEAD", req("HEAD", wheel), 200, 0)
		cs.expectCount(t, "If-None-Match", req("GET", wheel, "If-None-Match", etag), 304, 0)
		cs.expectCount(t, "Range", req("GET", wheel, "Range", "bytes=0-99"), 206, 0)
		cs.expectCount(t, "Range, last bytes (uv reads the zip directory)", req("GET", wheel, "Range", "bytes=-64"), 206, 0)
		cs.expectCount(t, "unsatisfiable Range", req("GET", wheel, "Range", "bytes=999999-"), 416, 0)
		// A Range whose If-Range no longer matches gets the whole file.
		cs.expectCount(t, "Range with a stale If-Range", req("GET", wheel, "Range", "bytes=0-99", "If-Range", `"stale"`), 200, 1)
		cs.expectCount(t, ".metadata", req("GET", wheel+".metadata"), 200, 0)
		cs.expectCount(t, ".metadata HEAD", req("HEAD", wheel+".metadata"), 200, 0)
		cs.expectCount(t, "wrong digest", req("GET", "/files/"+strings.Repeat("0", 64)+"/"+demo.WheelFilename()), 404, 0)
		cs.expectCount(t, "unknown file", req("GET", "/files/"+strings.Repeat("0", 64)+"/nothing-1.0-py3-none-any.whl"), 404, 0)
		cs.expectCount(t, "sdist name under the wheel's digest", req("GET", strings.Split(wheel, demo.WheelFilename())[0]+demo.SdistFilename()), 404, 0)
		end := time.Now()

		cs.mu.Lock()
		for _, at := range cs.times {
			if at.Before(start) || at.After(end) {
				t.Errorf("download counted at %v, outside the test's [%v, %v]", at, start, end)
			}
		}
		cs.mu.Unlock()

		ctx := context.Background()
		storetest.Must(t, cs.counter.Flush(ctx))
		first, last := store.DayOf(start), store.DayOf(end)
		for name, want := range map[string]int64{"demo": 4, "other": 1} {
			p, err := cs.st.ProjectByName(ctx, name)
			storetest.Must(t, err)
			got, err := cs.st.ProjectDownloads(ctx, p.ID, first, last)
			storetest.Must(t, err)
			if got != want {
				t.Errorf("%s: %d downloads in the store, want %d", name, got, want)
			}
		}
	})
}

// readFromWriter is a ResponseWriter with ReadFrom (as net/http's own,
// which sends files with sendfile), that can be told to fail.
type readFromWriter struct {
	h        http.Header
	status   int
	readFrom int
	file     bool // ReadFrom was handed an *os.File (sendfile's case)
	fail     bool
}

func (w *readFromWriter) Header() http.Header { return w.h }
func (w *readFromWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *readFromWriter) Write(b []byte) (int, error) {
	if w.fail {
		return 0, errors.New("connection reset by peer")
	}
	return len(b), nil
}

func (w *readFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom++
	if lr, ok := r.(*io.LimitedReader); ok {
		_, w.file = lr.R.(*os.File)
	}
	if w.fail {
		return 0, errors.New("connection reset by peer")
	}
	return io.Copy(io.Discard, r)
}

// TestDownloadCountingWriter checks, through the whole handler, that
// counting keeps the file on the ReadFrom (sendfile) path, and that a
// download whose body could not be written is not counted.
func TestDownloadCountingWriter(t *testing.T) {
	t.Parallel()
	cs := newCountingServer(t, store.SQLite, downloads.Policy{})
	_, tok := cs.user("alice")
	demo := disttest.Dist{Name: "demo", Version: "1.0"}
	cs.uploadDist(tok, demo, false)
	wheel := filePath(demo.Wheel(), demo.WheelFilename())

	for _, tc := range []struct {
		name    string
		fail    bool
		counted int64
	}{{"complete", false, 1}, {"client gone", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			w := &readFromWriter{h: http.Header{}, fail: tc.fail}
			before := cs.counter.Pending()
			cs.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, wheel, nil))
			if w.status != http.StatusOK {
				t.Fatalf("status %d", w.status)
			}
			if w.readFrom != 1 {
				t.Fatalf("the body was written without ReadFrom (%d calls): the sendfile path is lost", w.readFrom)
			}
			if got := cs.counter.Pending() - before; got != tc.counted {
				t.Fatalf("counted %d, want %d", got, tc.counted)
			}
		})
	}
}

// TestDownloadInflation is the attack on the critical designation: a
// script downloads one project's wheel 30 times, in parallel, to push it
// into the top of the downloads. Under serve's defaults
// (--downloads-per-address 1, --downloads-agents installers) they count
// once; ten other client addresses count once each; a crawler and curl
// do not count.
func TestDownloadInflation(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		cs := newCountingServer(t, d, downloads.Policy{PerAddress: 1, Agents: downloads.Installers})
		_, tok := cs.user("mallory")
		demo := disttest.Dist{Name: "demo", Version: "1.0"}
		cs.uploadDist(tok, demo, false)
		wheel := filePath(demo.Wheel(), demo.WheelFilename())

		// get downloads the wheel n times at once from the local
		// address from (any 127/8 address is the loopback on Linux).
		get := func(from, ua string, n int) {
			t.Helper()
			dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
			defer client.CloseIdleConnections()
			errs := make(chan error, n)
			for range n {
				go func() {
					req, _ := http.NewRequest(http.MethodGet, cs.URL+wheel, nil)
					req.Header.Set("User-Agent", ua)
					resp, err := client.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err == nil && resp.StatusCode != http.StatusOK {
							err = errors.New(resp.Status)
						}
					}
					errs <- err
				}()
			}
			for range n {
				select {
				case <-cs.served:
				case <-time.After(10 * time.Second):
					t.Fatalf("GET from %s: a handler did not return within 10s", from)
				}
			}
			for range n {
				if err := <-errs; err != nil {
					t.Fatalf("GET from %s: %v", from, err)
				}
			}
		}
		const pip = `pip/24.0 {"ci":null,"installer":{"name":"pip","version":"24.0"}}`
		get("127.0.0.1", pip, 30)
		if n := cs.counter.Pending(); n != 1 {
			t.Fatalf("30 downloads from one address counted %d times, want 1", n)
		}
		for i := range 10 {
			get(fmt.Sprintf("127.0.0.%d", i+2), pip, 3)
		}
		if n := cs.counter.Pending(); n != 11 {
			t.Fatalf("after 3 downloads from each of 10 more addresses: %d counted, want 11", n)
		}
		get("127.0.0.20", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 2)
		get("127.0.0.21", "curl/8.5.0", 2)
		if n := cs.counter.Pending(); n != 11 {
			t.Fatalf("a crawler and curl counted: %d, want 11", n)
		}

		ctx := context.Background()
		storetest.Must(t, cs.counter.Flush(ctx))
		p, err := cs.st.ProjectByName(ctx, "demo")
		storetest.Must(t, err)
		today := store.DayOf(time.Now())
		got, err := cs.st.ProjectDownloads(ctx, p.ID, today-1, today)
		storetest.Must(t, err)
		if got != 11 {
			t.Errorf("%d downloads in the store, want 11", got)
		}
	})
}
