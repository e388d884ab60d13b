package web

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// memObject is a blob.Object in memory.
type memObject struct{ *bytes.Reader }

func (memObject) Close() error        { return nil }
func (memObject) ModTime() time.Time  { return time.Time{} }
func (o memObject) Size() int64       { return o.Reader.Size() }
func newMemObject(b []byte) memObject { return memObject{bytes.NewReader(b)} }

// TestFileBodiesBound checks what fileBodies keeps: small blobs, within
// its bound (dropping others for new ones), none when off, and that
// concurrent readers and loaders agree (run with -race).
func TestFileBodiesBound(t *testing.T) {
	t.Parallel()
	blob := func(i, n int) (string, []byte) {
		return "key" + strconv.Itoa(i), bytes.Repeat([]byte{byte(i)}, n)
	}
	for _, tc := range []struct {
		name      string
		max       int64
		size, n   int
		held      bool
		wantBytes int64 // at most
	}{
		{"off", 0, 100, 10, false, 0},
		{"small", 1 << 20, 1000, 10, true, 10 * (1000 + heldOverhead)},
		{"bounded", 4000, 1000, 10, true, 4000},
		{"too large for the cache", 1 << 20, maxCachedBody + 1, 1, false, 0},
		{"larger than the bound", 1000, 1000, 1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFileBodies(tc.max)
			for i := range tc.n {
				key, want := blob(i, tc.size)
				got, held, err := c.load(key, newMemObject(want))
				if err != nil || held != tc.held || (held && (!bytes.Equal(got.body, want) || got.etag[0] != `"`+key+`"`)) {
					t.Fatalf("load %s: held %v, err %v, want held %v", key, held, err, tc.held)
				}
				if b, ok := c.get(key); ok != tc.held || (ok && !bytes.Equal(b.body, want)) {
					t.Fatalf("get %s right after its load: %v, want %v", key, ok, tc.held)
				}
			}
			if n, used := c.stats(); used > tc.wantBytes || used != int64(n*(tc.size+heldOverhead)) {
				t.Errorf("%d blobs of %d bytes held: %d bytes, want at most %d", n, tc.size, used, tc.wantBytes)
			}
		})
	}
	t.Run("concurrent", func(t *testing.T) {
		c := newFileBodies(5000)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					key, want := blob((i+g)%20, 1000)
					if b, ok := c.get(key); ok && !bytes.Equal(b.body, want) {
						t.Errorf("get %s: wrong bytes", key)
					}
					if b, _, err := c.load(key, newMemObject(want)); err != nil || !bytes.Equal(b.body, want) {
						t.Errorf("load %s: %v", key, err)
					}
				}
			})
		}
		wg.Wait()
		if _, used := c.stats(); used > 5000 {
			t.Errorf("%d bytes held, bound 5000", used)
		}
	})
}

// TestFileBodiesFollowTheIndex checks that a small file served from
// memory is refused at once when the index stops serving it (private,
// quarantined, deleted), still served when yanked, and that a large file
// still reaches the writer as the *os.File itself (sendfile).
func TestFileBodiesFollowTheIndex(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		alice, tok := s.user("alice")
		owner := &index.Principal{User: alice}
		small := disttest.Dist{Name: "demo", Version: "1.0"}
		s.uploadDist(tok, small, false)
		wheel := filePath(small.Wheel(), small.WheelFilename())
		// Random bytes, which the wheel's compression cannot shrink.
		big := make([]byte, 2*maxCachedBody)
		rand.NewChaCha8([32]byte{}).Read(big)
		large := disttest.Dist{Name: "demo", Version: "2.0", Extra: map[string]string{"demo/data.bin": string(big)}}
		s.uploadDist(tok, large, false)
		largeWheel := filePath(large.Wheel(), large.WheelFilename())

		status := func(path string) int {
			t.Helper()
			resp, body := s.get(path)
			if resp.StatusCode == http.StatusOK && len(body) == 0 {
				t.Fatalf("%s: 200 without a body", path)
			}
			return resp.StatusCode
		}
		for range 2 { // a miss, then a hit
			if got := status(wheel); got != http.StatusOK {
				t.Fatalf("the wheel: %d", got)
			}
		}
		if n, _ := s.srv.bodies.stats(); n != 1 {
			t.Fatalf("%d files held after downloads of a small wheel, want 1", n)
		}

		// The large wheel is handed to the writer as a file.
		w := &readFromWriter{h: http.Header{}}
		s.srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, largeWheel, nil))
		if w.status != http.StatusOK || !w.file {
			t.Fatalf("the large wheel: status %d, the writer's ReadFrom got a file: %v (the sendfile path is lost)", w.status, w.file)
		}
		if n, _ := s.srv.bodies.stats(); n != 1 {
			t.Errorf("%d files held after a large wheel's download, want 1", n)
		}

		for _, step := range []struct {
			name   string
			change func() error
			want   int
		}{
			{"yanked", func() error { return s.idx.Yank(ctx, owner, audit.Meta{}, "demo", "1.0", "broken") }, http.StatusOK},
			{"private", func() error { return s.idx.SetVisibility(ctx, owner, audit.Meta{}, "demo", index.VisibilityPrivate) }, http.StatusNotFound},
			{"public again", func() error { return s.idx.SetVisibility(ctx, owner, audit.Meta{}, "demo", index.VisibilityPublic) }, http.StatusOK},
			{"quarantined", func() error { return s.idx.Quarantine(ctx, nil, audit.Meta{}, "demo", "malware") }, http.StatusNotFound},
			{"released", func() error { return s.idx.ReleaseFromQuarantine(ctx, nil, audit.Meta{}, "demo") }, http.StatusOK},
			{"deleted", func() error { return s.idx.DeleteRelease(ctx, owner, audit.Meta{}, "demo", "1.0") }, http.StatusNotFound},
		} {
			storetest.Must(t, step.change())
			if got := status(wheel); got != step.want {
				t.Errorf("%s: the wheel is %d, want %d", step.name, got, step.want)
			}
		}
	})
}
