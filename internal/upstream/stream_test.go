package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/upstream"
)

// bigWheel is a wheel of n pseudo-random bytes.
func bigWheel(project string, n int) fakeFile {
	f := wheel(project, "1.0", t0.Add(-time.Hour))
	f.body = make([]byte, n)
	x := uint32(2463534242)
	for i := range f.body {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		f.body[i] = byte(x)
	}
	return f
}

// readUntil reads r until it holds at least n bytes, or fails.
func readAtLeast(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("reading the first %d bytes of a stream: %v", n, err)
	}
	return buf
}

// TestProxyStreamsLargeFirstFetch: a file above StreamAbove is given to
// its readers while the upstream sends it — the first half before the
// upstream sent the rest — without its last HoldBack bytes until the
// whole matched its SHA-256; every reader of the fetch shares one
// upstream request, and the file is stored for the next.
func TestProxyStreamsLargeFirstFetch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		big := bigWheel("big", 3<<20)
		up.set("big", big)
		up.resume = make(chan struct{})
		fx := newProxyFixture(t, st, upstream.ProxyConfig{StreamAbove: 1 << 20, SpoolDir: t.TempDir()}, up)
		p := fx.proxy(t)
		if _, err := p.Project(ctx, "big"); err != nil {
			t.Fatal(err)
		}
		var readers []*index.ProxiedFile
		for range 3 {
			pf, err := p.File(ctx, big.sha(), big.name, false)
			if err != nil || pf.Stream == nil || pf.Size != int64(len(big.body)) {
				t.Fatalf("first fetch: %+v, %v", pf, err)
			}
			readers = append(readers, pf)
		}
		// The first half arrives while the upstream holds the rest.
		half := len(big.body) / 2
		for _, pf := range readers {
			if got := readAtLeast(t, pf.Stream, half); !bytes.Equal(got, big.body[:half]) {
				t.Fatal("the streamed first half differs from the upstream's")
			}
		}
		close(up.resume)
		var wg sync.WaitGroup
		for _, pf := range readers {
			wg.Go(func() {
				rest, err := io.ReadAll(pf.Stream)
				pf.Stream.Close()
				if err != nil || !bytes.Equal(rest, big.body[half:]) {
					t.Errorf("the rest of the stream: %d bytes, %v", len(rest), err)
				}
			})
		}
		wg.Wait()
		if n := up.count("/files/" + big.name); n != 1 {
			t.Errorf("%d upstream requests for the file, want 1", n)
		}
		// Stored: the next reader gets the blob.
		pf, err := p.File(ctx, big.sha(), big.name, false)
		if err != nil || pf.Stream != nil || pf.Key != big.sha() {
			t.Fatalf("after the fetch: %+v, %v", pf, err)
		}
		if info, err := fx.blobs.Stat(ctx, big.sha()); err != nil || info.Size != int64(len(big.body)) {
			t.Fatalf("stored blob: %+v, %v", info, err)
		}
	})
}

// TestProxyStreamMismatch: when the streamed bytes do not match the
// listed SHA-256, readers got everything but the held-back tail and then
// an error; nothing is stored.
func TestProxyStreamMismatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		bad := bigWheel("bad", 2<<20)
		good := bytes.Clone(bad.body)
		good[len(good)-1] ^= 0xff // the upstream lists the digest of other bytes, differing in the last byte
		bad.listedSHA = sum(good)
		up.set("bad", bad)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{StreamAbove: 1 << 20, SpoolDir: t.TempDir()}, up)
		p := fx.proxy(t)
		if _, err := p.Project(ctx, "bad"); err != nil {
			t.Fatal(err)
		}
		pf, err := p.File(ctx, bad.sha(), bad.name, false)
		if err != nil || pf.Stream == nil {
			t.Fatalf("first fetch: %+v, %v", pf, err)
		}
		got, err := io.ReadAll(pf.Stream)
		pf.Stream.Close()
		if !problem.Is(err, problem.BadGateway) {
			t.Errorf("stream error %v, want a bad gateway", err)
		}
		if len(got) > len(bad.body)-upstream.HoldBack {
			t.Errorf("a reader got %d bytes of %d before the verification: the tail was not held back", len(got), len(bad.body))
		}
		for _, sha := range []string{bad.sha(), sum(bad.body)} {
			if _, err := fx.blobs.Stat(ctx, sha); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("blob %s: %v", sha, err)
			}
		}
		if f, _, err := st.UpstreamFileBySHA(ctx, bad.sha()); err != nil || !f.StoredAt.IsZero() {
			t.Fatalf("row: %+v, %v", f, err)
		}
	})
}

// TestProxyStreamJoinDoesNotWaitForASlot: while every fetch slot is
// taken, a request for another large file waits for one (then answers
// unavailable), and readers joining a stream under way are not held
// behind it: they need no slot. Each join must return well within the
// wait for a slot.
func TestProxyStreamJoinDoesNotWaitForASlot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		up := newFakeIndex(t)
		one, two := bigWheel("big", 2<<20), bigWheel("big", 2<<20)
		two.name = "big-2.0-py3-none-any.whl"
		two.body[0] ^= 1
		up.set("big", one, two)
		up.resume = make(chan struct{})
		defer close(up.resume)
		fx := newProxyFixture(t, st, upstream.ProxyConfig{StreamAbove: 1 << 20, SpoolDir: t.TempDir(), MaxFetches: 1}, up)
		p := fx.proxy(t)
		if _, err := p.Project(ctx, "big"); err != nil {
			t.Fatal(err)
		}
		first, err := p.File(ctx, one.sha(), one.name, false)
		if err != nil || first.Stream == nil {
			t.Fatalf("first fetch: %+v, %v", first, err)
		}
		defer first.Stream.Close()
		readAtLeast(t, first.Stream, 1<<10) // the fetch holds the one slot
		waited := make(chan error, 1)
		go func() {
			_, err := p.File(ctx, two.sha(), two.name, false)
			waited <- err
		}()
		for {
			select {
			case err := <-waited:
				if !problem.Is(err, problem.Unavailable) {
					t.Errorf("another file with no slot free: %v, want unavailable", err)
				}
				return
			default:
			}
			start := time.Now()
			pf, err := p.File(ctx, one.sha(), one.name, false)
			if err != nil || pf.Stream == nil {
				t.Fatalf("join: %+v, %v", pf, err)
			}
			pf.Stream.Close()
			if d := time.Since(start); d > time.Second {
				t.Fatalf("joining a stream took %s: held behind a wait for a fetch slot", d)
			}
		}
	})
}
