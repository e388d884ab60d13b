package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// probedBlobs is the file storage as /readyz sees it: its probes are
// counted, may be held until released, and may fail with err.
type probedBlobs struct {
	*blob.FS
	probes atomic.Int32
	// entered, when set, is told of each probe as it starts; hold, when
	// set, holds it until closed.
	entered chan struct{}
	hold    chan struct{}
	err     error
}

func (b *probedBlobs) Probe(ctx context.Context) error {
	b.probes.Add(1)
	if b.entered != nil {
		b.entered <- struct{}{}
	}
	if b.hold != nil {
		<-b.hold
	}
	if b.err != nil {
		return b.err
	}
	return b.FS.Probe(ctx)
}

// readyzServer is a test server whose storage is b, and its log.
func readyzServer(t *testing.T, d store.Dialect, b *probedBlobs) (*testServer, *syncBuffer) {
	t.Helper()
	var log syncBuffer
	s := newTestServerWith(t, d, serverConfig{Log: slog.New(slog.NewTextHandler(&log, nil)),
		Blobs: func(fs *blob.FS) blob.Store { b.FS = fs; return b }})
	return s, &log
}

// notReady checks that /readyz answers 503 naming part alone, with
// Retry-After, and none of the secrets.
func notReady(t *testing.T, s *testServer, part string, secrets ...string) {
	t.Helper()
	resp, body := s.get("/readyz")
	want := "not ready: " + part + " unavailable\n"
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != want || resp.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz: %d %q, Retry-After %q; want 503 %q with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"), want)
	}
	for _, secret := range secrets {
		if strings.Contains(string(body), secret) {
			t.Errorf("/readyz tells %q: %q", secret, body)
		}
	}
}

// TestReadyz: with a database that takes writes and a storage that
// works, /readyz answers ready, having written the database's probe row.
func TestReadyz(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		b := &probedBlobs{}
		s, _ := readyzServer(t, d, b)
		if resp, body := s.get("/readyz"); resp.StatusCode != http.StatusOK || string(body) != "ready\n" {
			t.Fatalf("/readyz: %d %q, want 200 ready", resp.StatusCode, body)
		}
		var checked int64
		storetest.Must(t, s.st.DB().QueryRowContext(t.Context(), `SELECT checked_at FROM readiness_probe WHERE id = 1`).Scan(&checked))
		if checked == 0 || b.probes.Load() != 1 {
			t.Errorf("after /readyz: readiness_probe.checked_at %d, %d storage probes; want both probed", checked, b.probes.Load())
		}
	})
}

// TestReadyzStorage: a storage whose probe fails makes the server not
// ready; /readyz says "storage" and nothing of the error, which is logged
// once for the one probe that several /readyz share.
func TestReadyzStorage(t *testing.T) {
	t.Parallel()
	const secret = "AKIACHEESESECRET at storage.internal.example"
	b := &probedBlobs{err: &blob.Fault{Op: "probe", Reason: blob.Refused, Err: errors.New("InvalidAccessKeyId: " + secret)}}
	s, log := readyzServer(t, store.SQLite, b)
	for range 3 {
		notReady(t, s, "storage", "AKIACHEESESECRET", "storage.internal.example", "InvalidAccessKeyId")
	}
	if n := b.probes.Load(); n != 1 {
		t.Errorf("3 /readyz within the cache's life probed the storage %d times, want 1", n)
	}
	if n := strings.Count(log.String(), secret); n != 1 || !strings.Contains(log.String(), `msg="not ready" part=storage`) {
		t.Errorf("the log names the failed probe %d times, want once with part=storage:\n%s", n, log.String())
	}
}

// TestReadyzDatabase: a database that does not take writes makes the
// server not ready, and /readyz says "database" without the error, which
// may name the database's user, name and host; the log has it. SQLite:
// another writer holds the write lock (the probe gives up after
// app.ProbeTimeout); PostgreSQL: the database refuses connections.
func TestReadyzDatabase(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, log := readyzServer(t, d, &probedBlobs{})
		var secrets []string
		switch d {
		case store.Postgres:
			var name, user string
			storetest.Must(t, s.st.DB().QueryRowContext(t.Context(), `SELECT current_database(), current_user`).Scan(&name, &user))
			u, err := url.Parse(storetest.RequirePostgres(t))
			storetest.Must(t, err)
			secrets = []string{name, user, u.Hostname()}
			databaseOutage(t, s)(true)
		default:
			storetest.HoldWriteLock(t, s.st)
		}
		notReady(t, s, "database", secrets...)
		if !strings.Contains(log.String(), `msg="not ready" part=database err=`) {
			t.Errorf("the log lacks the failed probe and its error:\n%s", log.String())
		}
	})
}

// TestReadyzConcurrent: 20 /readyz at once, while the storage's probe is
// slow, make one probe and share its answer.
func TestReadyzConcurrent(t *testing.T) {
	t.Parallel()
	b := &probedBlobs{entered: make(chan struct{}, 20), hold: make(chan struct{})}
	s, _ := readyzServer(t, store.SQLite, b)
	const n = 20
	var sent sync.WaitGroup
	sent.Add(n)
	answers := make(chan string, n)
	for range n {
		go func() {
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { sent.Done() }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, s.URL+"/readyz", nil)
			resp, err := s.client.Do(req)
			if err != nil {
				answers <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- resp.Status + " " + string(body)
		}()
	}
	<-b.entered // one probe is in flight
	sent.Wait() // and every request has been sent
	close(b.hold)
	for range n {
		if a := <-answers; a != "200 OK ready\n" {
			t.Errorf("/readyz: %q, want 200 ready", a)
		}
	}
	if got := b.probes.Load(); got != 1 {
		t.Errorf("%d concurrent /readyz made %d storage probes, want 1", n, got)
	}
}
