package importer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// sniffListener hands TLS connections to the server and answers plain
// HTTP ones itself, remembering their Authorization: a client that sends
// the credentials in clear to the index's https address is caught.
type sniffListener struct {
	net.Listener
	mu    sync.Mutex
	clear []string // the Authorization of plain-HTTP requests
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (l *sniffListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		r := bufio.NewReader(c)
		first, err := r.Peek(1)
		if err == nil && first[0] == 0x16 { // a TLS handshake
			return &peekedConn{Conn: c, r: r}, nil
		}
		go func() {
			defer c.Close()
			if req, err := http.ReadRequest(r); err == nil {
				l.mu.Lock()
				l.clear = append(l.clear, req.Header.Get("Authorization"))
				l.mu.Unlock()
			}
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}()
	}
}

func (l *sniffListener) leaked() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range l.clear {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// The credentials of an https index go to its host over https only: not
// to a plain-HTTP link of the same host, nor along a redirect to http or
// to another port.
func TestAttackCredentialsDowngrade(t *testing.T) {
	// other is a plain server on another port of the same host.
	var otherAuth []string
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherAuth = append(otherAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte("x"))
	}))
	defer other.Close()

	srv := httptest.NewUnstartedServer(nil)
	sniff := &sniffListener{Listener: srv.Listener}
	srv.Listener = sniff
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p, ok := r.BasicAuth(); !ok || p != "s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		host := r.Host
		switch r.URL.Path {
		case "/simple/alpha/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprintf(w, `{"files":[
				{"filename":"a-1.0-py3-none-any.whl","url":"http://%s/files/a-1.0-py3-none-any.whl"},
				{"filename":"a-2.0-py3-none-any.whl","url":"/redirect/same-host-http"},
				{"filename":"a-3.0-py3-none-any.whl","url":"/redirect/other-port"}]}`, host)
		case "/redirect/same-host-http":
			http.Redirect(w, r, "http://"+host+"/files/a-2.0-py3-none-any.whl", http.StatusFound)
		case "/redirect/other-port":
			http.Redirect(w, r, other.URL+"/files/a-3.0-py3-none-any.whl", http.StatusFound)
		default:
			w.Write([]byte("x"))
		}
	})
	srv.StartTLS()
	defer srv.Close()

	s, err := NewSimple(strings.Replace(srv.URL, "https://", "https://reader:s3cret@", 1) + "/simple/")
	if err != nil {
		t.Fatal(err)
	}
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	files, err := s.Files(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("files: %+v", files)
	}
	for _, f := range files {
		if rc, err := s.Open(ctx, f); err == nil {
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	}
	if leaked := sniff.leaked(); len(leaked) > 0 {
		t.Errorf("the credentials went in clear to the index's host: %q", leaked)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range otherAuth {
		if a != "" {
			t.Errorf("the credentials followed a redirect to another port: %q", a)
		}
	}
}

// A root page whose one anchor holds millions of text pieces is read in
// linear time, not quadratic (which would hang the import for hours).
func TestAttackAnchorTextQuadratic(t *testing.T) {
	page := "<html><body><a href=\"x/\">" + strings.Repeat("a<b>", 2_000_000) + "</a></body></html>"
	done := make(chan []anchor, 1)
	go func() { done <- anchors([]byte(page)) }()
	select {
	case out := <-done:
		if len(out) != 1 {
			t.Fatalf("%d anchors, want 1", len(out))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("reading an 8 MB page's anchors takes more than a minute")
	}
}

// A status line with terminal escapes does not reach the error that the
// command prints when a source cannot list its projects.
func TestAttackStatusEscapes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		buf.WriteString("HTTP/1.1 500 \x1b]52;c;Y3VybCBldmlsfHNo\a\x1b[2J\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		buf.Flush()
	}))
	defer srv.Close()
	s, err := NewSimple(srv.URL + "/simple/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Projects(context.Background())
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\a") {
		t.Errorf("error %q", err)
	}
}
