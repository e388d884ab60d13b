package web

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// The slow-client tests of issue 12 (class 5): they run the server that
// cmd/cheeseshop runs (NewHTTPServer), with short timeouts where the test
// waits for them.

// readEOF reads conn until the server closes it and returns when that
// happened, or fails after deadline.
func readEOF(conn net.Conn, deadline time.Time) (time.Time, error) {
	conn.SetReadDeadline(deadline)
	buf := make([]byte, 4096)
	for {
		_, err := conn.Read(buf)
		if errors.Is(err, io.EOF) {
			return time.Now(), nil
		}
		if err != nil {
			return time.Now(), err
		}
	}
}

// TestIdleConnectionsClosed opens 200 keep-alive connections that go idle
// after one request and 50 that never send a byte: the server closes each
// within its idle timeout, or its header timeout.
func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	const idle, header, slack = 1500 * time.Millisecond, time.Second, 3 * time.Second
	l := DefaultLimits()
	l.IdleTimeout, l.ReadHeaderTimeout, l.MaxConnsPerClient = idle, header, 0
	s := newTestServerWith(t, store.SQLite, serverConfig{Limits: &l})
	addr := strings.TrimPrefix(s.URL, "http://")

	var wg sync.WaitGroup
	errs := make(chan error, 250)
	for i := range 250 {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			wait, what := header, "silent connection"
			if i < 200 {
				wait, what = idle, "idle connection"
				fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					errs <- fmt.Errorf("%s %d: %w", what, i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("%s %d: GET /healthz: %s", what, i, resp.Status)
					return
				}
			}
			start := time.Now()
			closed, err := readEOF(conn, start.Add(wait+slack))
			if err != nil {
				errs <- fmt.Errorf("%s %d still open %s after its last request (timeout %s): %w", what, i, time.Since(start).Round(time.Millisecond), wait, err)
				return
			}
			if d := closed.Sub(start); d > wait+slack {
				errs <- fmt.Errorf("%s %d closed after %s, want within %s", what, i, d, wait)
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 5 {
		t.Errorf("... %d connections in all", n)
	}
}

// stagedFiles lists the uploads being received in the server's staging
// folders.
func stagedFiles(t *testing.T, s *testServer) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(s.files, "tmp", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rawUpload is an upload written by hand on a connection, so that the test
// decides when each byte goes.
type rawUpload struct {
	conn net.Conn
	br   *bufio.Reader
	head []byte // request line and headers
	body []byte
}

// newRawUpload prepares the request of an upload of content under
// filename, with padding bytes appended to the file to make it large.
func newRawUpload(t *testing.T, s *testServer, token string, d disttest.Dist, padding int, expectContinue bool) *rawUpload {
	t.Helper()
	content := append(d.Wheel(), make([]byte, padding)...)
	req := s.uploadRequest(token, d.Form("bdist_wheel", content), d.WheelFilename(), content)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	fmt.Fprintf(&h, "POST /legacy/ HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n",
		req.URL.Host, req.Header.Get("Authorization"), req.Header.Get("Content-Type"), len(body))
	if expectContinue {
		h.WriteString("Expect: 100-continue\r\n")
	}
	h.WriteString("\r\n")
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawUpload{conn: conn, br: bufio.NewReader(conn), head: h.Bytes(), body: body}
}

// response reads the server's next response, failing after wait.
func (u *rawUpload) response(t *testing.T, wait time.Duration) (*http.Response, string) {
	t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(u.br, nil)
	if err != nil {
		t.Fatalf("no response within %s: %v", wait, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestStalledUploadAborted sends an upload steadily for a while, then
// stops sending in the middle of the file: the server answers 408 within
// the body window, and the staged part of the file is gone by then.
func TestStalledUploadAborted(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		const window, slack = 500 * time.Millisecond, 3 * time.Second
		l := DefaultLimits()
		l.BodyWindow, l.MaxConnsPerClient = window, 0
		s := newTestServerWith(t, d, serverConfig{Limits: &l})
		_, token := s.user("alice")
		u := newRawUpload(t, s, token, disttest.Dist{Name: "stalled", Version: "1.0"}, 4<<20-64<<10, false)
		if _, err := u.conn.Write(u.head); err != nil {
			t.Fatal(err)
		}
		// Steadily: 32 KiB every 50 ms (far above 8 KiB per window),
		// for three windows.
		sent := 0
		for end := time.Now().Add(3 * window); time.Now().Before(end); {
			if _, err := u.conn.Write(u.body[sent : sent+32<<10]); err != nil {
				t.Fatalf("the server stopped a steady upload after %d bytes: %v", sent, err)
			}
			sent += 32 << 10
			time.Sleep(50 * time.Millisecond) // pacing the client, not waiting for the server
		}
		// Then nothing more.
		stalled := time.Now()
		resp, body := u.response(t, window+slack)
		took := time.Since(stalled)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "arrived too slowly") {
			t.Fatalf("stalled upload: %s %s, want 408 saying the body arrived too slowly", resp.Status, body)
		}
		if took > window+slack {
			t.Errorf("the stalled upload was answered after %s, want within the window %s", took, window)
		}
		if files := stagedFiles(t, s); len(files) != 0 {
			t.Errorf("staging folder not empty once the stalled upload was answered: %v", files)
		}
		if _, err := s.st.ProjectByName(t.Context(), "stalled"); err == nil {
			t.Error("the stalled upload created its project")
		}
	})
}

// TestUploadsPerClientCapped holds two uploads in progress from one
// address (with the cap at 2): a third is refused at once with 429 and
// Retry-After, and goes through once one of them finished.
func TestUploadsPerClientCapped(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{Options: func(o *Options) { o.MaxUploadsPerClient = 2 }})
		_, token := s.user("alice")
		var held []*rawUpload
		for i := range 2 {
			u := newRawUpload(t, s, token, disttest.Dist{Name: "held" + strconv.Itoa(i), Version: "1.0"}, 0, true)
			u.conn.Write(u.head)
			// 100 Continue: the handler runs and reads the body, so the
			// upload holds its slot.
			if resp, body := u.response(t, 10*time.Second); resp.StatusCode != http.StatusContinue {
				t.Fatalf("upload %d: %s %s, want 100 Continue", i, resp.Status, body)
			}
			held = append(held, u)
		}
		third := disttest.Dist{Name: "third", Version: "1.0"}
		content := third.Wheel()
		req := s.uploadRequest(token, third.Form("bdist_wheel", content), third.WheelFilename(), content)
		resp, body := s.do(req)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(resp.Status, "Too many uploads in progress from your address (at most 2 at a time)") ||
			!strings.Contains(string(body), `"code":"429 Too many uploads`) {
			t.Fatalf("third upload: %s (Retry-After %q) %s, want 429 with the reason and Retry-After", resp.Status, resp.Header.Get("Retry-After"), body)
		}
		// One held upload finishes; its slot is free by the time its
		// answer arrives.
		held[0].conn.Write(held[0].body)
		if resp, body := held[0].response(t, 10*time.Second); resp.StatusCode != http.StatusOK {
			t.Fatalf("held upload: %s %s", resp.Status, body)
		}
		req = s.uploadRequest(token, third.Form("bdist_wheel", content), third.WheelFilename(), content)
		if resp, body := s.do(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("third upload once a slot is free: %s %s", resp.Status, body)
		}
	})
}

// TestConnectionsPerClientCapped fills the connections one address may
// open: the next is answered 429 and closed at once, and one more is
// accepted when one of them closes.
func TestConnectionsPerClientCapped(t *testing.T) {
	t.Parallel()
	const max = 4
	l := DefaultLimits()
	l.MaxConnsPerClient = max
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), l)
	closed := make(chan struct{}, 16)
	srv.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	get := func(conn net.Conn, br *bufio.Reader) (*http.Response, error) {
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return nil, err
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	var open []net.Conn
	for i := range max {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if resp, err := get(conn, bufio.NewReader(conn)); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d of %d: %v %v", i+1, max, resp, err)
		}
		open = append(open, conn)
	}
	// One more: answered before it asks, and closed.
	extra, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(extra)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("connection beyond the cap: %v, want a 429", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(string(b), "at most 4 at a time") {
		t.Fatalf("connection beyond the cap: %s %q", resp.Status, b)
	}
	if _, err := readEOF(extra, time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("connection beyond the cap left open: %v", err)
	}
	// A client that sends its request at once gets the 429 or a closed
	// connection, never an answer.
	extra2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra2.Close()
	if resp, err := get(extra2, bufio.NewReader(extra2)); err == nil && resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request on a connection beyond the cap answered %s", resp.Status)
	}
	// The refused connections were never counted: closing one of the
	// open ones makes room for exactly one.
	open[0].Close()
	<-closed
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if resp, err := get(conn, bufio.NewReader(conn)); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a new connection once one closed: %v %v", resp, err)
	}
}

// TestClientKey: connections and uploads are counted per IPv4 address and
// per IPv6 /64.
func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1:1000", "192.0.2.1:2000", true},
		{"192.0.2.1:1000", "192.0.2.2:1000", false},
		{"[::ffff:192.0.2.1]:1000", "192.0.2.1:2000", true},
		{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1000", true},
		{"[2001:db8:1:2::1]:1000", "[2001:db8:1:3::1]:1000", false},
		{"[fe80::1%eth0]:1000", "[fe80::2%eth1]:1000", true},
	} {
		ka, oka := clientKey(tc.a)
		kb, okb := clientKey(tc.b)
		if !oka || !okb || (ka == kb) != tc.same {
			t.Errorf("clientKey(%s) = %v, clientKey(%s) = %v: same %v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
		}
	}
	if _, ok := clientKey("@"); ok {
		t.Error("a peer without an address has a key")
	}
	if k := ratelimit.ClientNetwork(netip.MustParseAddr("2001:db8::1")); k.String() != "2001:db8::" {
		t.Errorf("IPv6 key %s, want the /64", k)
	}
}

// bigWheel writes a genuine wheel of about size bytes to w: a STORED
// member of random bytes (the same for a seed) and the dist-info, whose
// RECORD has every member's hash.
func bigWheel(w io.Writer, d disttest.Dist, size int64, seed byte) error {
	zw := disttest.NewZipWriter(w)
	distInfo := disttest.Escaped(d.Name) + "-" + d.Version + ".dist-info/"
	var record strings.Builder
	// add writes a member whose content src returns (called once per pass
	// of the writer, and once more for RECORD).
	add := func(name string, method uint16, src func() io.Reader) error {
		if err := zw.Add(name, method, func(w io.Writer) error {
			_, err := io.Copy(w, src())
			return err
		}); err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, src())
		if err != nil {
			return err
		}
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", name, base64.RawURLEncoding.EncodeToString(h.Sum(nil)), n)
		return nil
	}
	text := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	mod := disttest.Escaped(d.Name)
	if err := add(mod+"/__init__.py", zip.Deflate, text("")); err != nil {
		return err
	}
	random := func() io.Reader { return io.LimitReader(rand.NewChaCha8([32]byte{seed}), size) }
	if err := add(mod+"/data.bin", zip.Store, random); err != nil {
		return err
	}
	for _, f := range [][2]string{{"METADATA", d.Metadata()}, {"WHEEL", "Wheel-Version: 1.0\nGenerator: cheeseshop-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}} {
		if err := add(distInfo+f[0], zip.Deflate, text(f[1])); err != nil {
			return err
		}
	}
	record.WriteString(distInfo + "RECORD,,\n")
	if err := zw.AddBytes(distInfo+"RECORD", zip.Deflate, []byte(record.String())); err != nil {
		return err
	}
	return zw.Close()
}

// writeUploadBody writes twine's multipart body for a wheel of d made by
// bigWheel, with the given digests, and returns the digests of the file
// it wrote.
func writeUploadBody(w io.Writer, boundary string, d disttest.Dist, size int64, dg disttest.Digests) (disttest.Digests, error) {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return dg, err
	}
	form := d.Form("bdist_wheel", nil)
	form["md5_digest"], form["sha256_digest"], form["blake2_256_digest"] = []string{dg.MD5}, []string{dg.SHA256}, []string{dg.Blake2_256}
	keys := sortedFormKeys(form)
	slices.Sort(keys[1:])
	for _, k := range keys {
		for _, v := range form[k] {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("content", d.WheelFilename())
	if err != nil {
		return dg, err
	}
	hm, hs := md5.New(), sha256.New()
	hb, _ := blake2b.New256(nil)
	if err := bigWheel(io.MultiWriter(fw, hm, hs, hb), d, size, 1); err != nil {
		return dg, err
	}
	sum := func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	return disttest.Digests{MD5: sum(hm), SHA256: sum(hs), Blake2_256: sum(hb)}, mw.Close()
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// pacedWriter writes at most rate bytes a second on average.
type pacedWriter struct {
	w     io.Writer
	rate  int64
	start time.Time
	sent  int64
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), 16<<10)]
		n, err := p.w.Write(chunk)
		written += n
		p.sent += int64(n)
		if err != nil {
			return written, err
		}
		b = b[n:]
		// The pace of a slow client: not a wait for the server.
		if ahead := time.Duration(p.sent*int64(time.Second)/p.rate) - time.Since(p.start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	return written, nil
}

// TestSlowSteadyUpload uploads a 100 MiB wheel at 1 MiB/s, as twine on a
// poor link would, with the production limits: it takes about 100 s and
// must succeed. Skipped with -short.
func TestSlowSteadyUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("a 100 s upload; skipped with -short")
	}
	t.Parallel()
	const size, rate = 100<<20 - 64<<10, 1 << 20 // the wheel stays under the 100 MiB limit
	l := DefaultLimits()
	s := newTestServerWith(t, store.SQLite, serverConfig{Limits: &l, MaxFileSize: 100 << 20})
	_, token := s.user("alice")
	d := disttest.Dist{Name: "big-slow", Version: "1.0"}

	// The same body twice: once to learn its digests and length, once to
	// send it (the digests are as long either way).
	const boundary = "cheeseshop-slow-upload-boundary"
	var count countWriter
	dg, err := writeUploadBody(&count, boundary, d, size, disttest.Digests{MD5: strings.Repeat("0", 32), SHA256: strings.Repeat("0", 64), Blake2_256: strings.Repeat("0", 64)})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := writeUploadBody(&pacedWriter{w: pw, rate: rate, start: time.Now()}, boundary, d, size, dg)
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/legacy/", pr)
	req.ContentLength = count.n
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.SetBasicAuth("__token__", token)
	client := &http.Client{Timeout: 5 * time.Minute}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("slow upload after %s: %v", time.Since(start).Round(time.Second), err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slow upload of %d bytes after %s: %s %s", count.n, time.Since(start).Round(time.Second), resp.Status, body)
	}
	t.Logf("%d bytes uploaded in %s", count.n, time.Since(start).Round(time.Second))
	_, page := s.get("/pypi/big-slow/json")
	if !strings.Contains(string(page), dg.SHA256) {
		t.Fatalf("the uploaded file is not published: %s", page)
	}
	if files := stagedFiles(t, s); len(files) != 0 {
		t.Errorf("staging folder not empty: %v", files)
	}
}

// TestTransportDefaultsValid: the defaults pass Validate, and Validate
// refuses what would disable a defence by mistake.
func TestTransportDefaultsValid(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(*Limits){
		func(l *Limits) { l.ReadHeaderTimeout = 0 },
		func(l *Limits) { l.IdleTimeout = -time.Second },
		func(l *Limits) { l.BodyWindow = 0 },
		func(l *Limits) { l.BodyMinBytes = -1 },
		func(l *Limits) { l.MaxConnsPerClient = -1 },
	} {
		l := DefaultLimits()
		mod(&l)
		if l.Validate() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}

// TestStalledDownloadCut asks for a large file and never reads it: once
// the kernel's buffers are full, the server's next chunk misses its write
// deadline and the connection is closed, instead of being held for ever.
// A client that reads slowly but steadily gets the whole file.
func TestStalledDownloadCut(t *testing.T) {
	t.Parallel()
	const window = 300 * time.Millisecond
	l := DefaultLimits()
	l.SendWindow, l.MaxConnsPerClient = window, 0
	s := newTestServerWith(t, store.SQLite, serverConfig{Limits: &l, MaxFileSize: 48 << 20})
	_, token := s.user("alice")
	d := disttest.Dist{Name: "big", Version: "1.0"}
	var wheel bytes.Buffer
	if err := bigWheel(&wheel, d, 40<<20, 1); err != nil {
		t.Fatal(err)
	}
	content := wheel.Bytes()
	resp, err := s.client.Do(s.uploadRequest(token, d.Form("bdist_wheel", content), d.WheelFilename(), content))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %s", resp.Status)
	}
	f, err := s.st.FileByFilename(t.Context(), d.WheelFilename())
	storetest.Must(t, err)
	path := "/files/" + f.SHA256 + "/" + f.Filename

	get := func(smallBuffer bool) (net.Conn, *bufio.Reader) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if smallBuffer {
			// So that the kernel holds little of the file.
			conn.(*net.TCPConn).SetReadBuffer(16 << 10)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		return conn, bufio.NewReaderSize(conn, 4<<10)
	}

	// Stalled: read nothing until the server gave up on this connection.
	before := s.http.slowSends.Load()
	conn, br := get(true)
	deadline := time.Now().Add(time.Minute)
	for s.http.slowSends.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("a client that stopped reading a 40 MiB file still holds its connection after a minute")
		}
		time.Sleep(20 * time.Millisecond) // polling the server's counter
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil || n >= resp.ContentLength {
		t.Errorf("the stalled client still got %d of %d bytes, err %v; want the connection cut", n, resp.ContentLength, err)
	}

	// Slow but steady: 64 KiB every 100 ms (far above 64 KiB per window).
	conn, br = get(false)
	conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := int64(0)
	buf := make([]byte, 64<<10)
	for got < resp.ContentLength && got < 4<<20 {
		m, err := io.ReadFull(resp.Body, buf)
		got += int64(m)
		if err != nil {
			t.Fatalf("a steady reader was cut after %d bytes: %v", got, err)
		}
		time.Sleep(100 * time.Millisecond) // pacing the client
	}
	// The rest at full speed.
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil || got+rest != resp.ContentLength {
		t.Errorf("steady reader: %d of %d bytes, err %v", got+rest, resp.ContentLength, err)
	}
}
