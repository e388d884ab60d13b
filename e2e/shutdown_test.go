package e2e

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShutdownFinishesUploads: SIGTERM in the middle of an upload stops
// the server from taking new connections, but the upload in flight
// completes and is published before the process exits cleanly.
func TestShutdownFinishesUploads(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	opts := serverOptions{Data: data, Args: []string{"--max-file-size", "100MiB"}}
	s, token := startWithUploader(t, opts)
	wheel := writeBigWheel(t, t.TempDir(), "slowcheese", "1.0", 40<<20)

	p, done := startPacedUpload(t, s.URL, token, wheel, 4<<20)

	// Let the first chunk go, and wait until the server is writing it.
	p.more <- struct{}{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, n := stagedUpload(data); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never started staging the upload")
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !s.waitLog("shutting down") {
		t.Fatalf("no shutdown in the log after SIGTERM:\n%s", lastLines(s.Log(), 20))
	}
	if s.exited() {
		t.Fatal("the server exited with an upload in flight")
	}
	// Now let the rest of the upload go.
	go func() {
		for {
			select {
			case p.more <- struct{}{}:
			case <-p.abort:
				return
			}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil || !strings.HasPrefix(r.status, "200") {
			t.Fatalf("upload during shutdown: %q %v, want 200", r.status, r.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the upload did not finish within 60s of SIGTERM")
	}
	select {
	case <-s.done:
		if s.waitErr != nil {
			t.Fatalf("server exited with %v after finishing the upload", s.waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after the last upload finished")
	}

	// The upload was published: a new server on the same data serves it.
	s2 := startServer(t, opts)
	_, body := s2.get(t, "/simple/slowcheese/", "Accept", "application/vnd.pypi.simple.v1+json")
	if !bytes.Contains(body, []byte(wheel.sha256)) {
		t.Fatalf("the upload finished during shutdown is not published:\n%s", body)
	}
}
