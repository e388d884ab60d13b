package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/web"
)

// TestServeStorageRedirect: --storage-redirect is off by default; on, its
// TTL (5m by default, 10s to 12h) reaches app.Config.
func TestServeStorageRedirect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want time.Duration
		bad  bool
	}{
		{nil, 0, false},
		{[]string{"--storage-redirect-ttl", "1h"}, 0, false},
		{[]string{"--storage-redirect"}, 5 * time.Minute, false},
		{[]string{"--storage-redirect", "--storage-redirect-ttl", "10s"}, 10 * time.Second, false},
		{[]string{"--storage-redirect", "--storage-redirect-ttl", "12h"}, 12 * time.Hour, false},
		{[]string{"--storage-redirect", "--storage-redirect-ttl", "9s"}, 0, true},
		{[]string{"--storage-redirect", "--storage-redirect-ttl", "13h"}, 0, true},
		{[]string{"--storage-redirect-ttl", "0"}, 0, true},
	} {
		c, err := parseServe(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "--storage-redirect-ttl must be between 10s and 12h") {
				t.Errorf("%v: %v, want a refusal naming the flag", tc.args, err)
			}
			continue
		}
		if err != nil || cfg.StorageRedirect != tc.want {
			t.Errorf("%v: StorageRedirect %s, %v; want %s", tc.args, cfg.StorageRedirect, err, tc.want)
		}
	}
}

// banner is standard output that tells when serve has printed its
// start-up banner.
type banner struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (b *banner) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if strings.Contains(b.buf.String(), "  upload:") {
		b.once.Do(func() { close(b.ready) })
	}
	return n, err
}

func (b *banner) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeStorage: serve names its storage in its banner, and refuses
// --storage-redirect with a storage that cannot presign URLs.
func TestServeStorage(t *testing.T) {
	t.Parallel()
	dataDir, files := t.TempDir(), filepath.Join(t.TempDir(), "elsewhere")
	serve := []string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--storage", "file://" + files}

	code, out, errs := cli(t, "", append(serve, "--storage-redirect")...)
	if code != 1 || !strings.Contains(errs, "--storage-redirect needs a storage that hands out presigned URLs (s3://), which "+files+" does not") {
		t.Fatalf("serve --storage-redirect with a folder: exit %d, %q, %q", code, out, errs)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b := &banner{ready: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int)
	go func() { done <- runContext(ctx, serve, strings.NewReader(""), b, &errb) }()
	select {
	case <-b.ready:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
	if !strings.Contains(b.String(), "  files:    "+files+"\n") {
		t.Errorf("the banner does not name the storage %s:\n%s", files, b.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errb.String())
	}
}
