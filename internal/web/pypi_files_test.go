package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/store"
)

// presigningFS is a folder blob store that hands out URLs of a test
// server of its own, as S3 hands out presigned URLs of the bucket.
type presigningFS struct {
	*blob.FS
	srv *httptest.Server

	mu    sync.Mutex
	calls []presignCall
}

type presignCall struct {
	sha, filename, contentType string
	ttl                        time.Duration
}

func newPresigningFS(t *testing.T, fs *blob.FS) *presigningFS {
	p := &presigningFS{FS: fs}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obj, err := fs.Open(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer obj.Close()
		q := r.URL.Query()
		w.Header().Set("Content-Type", q.Get("type"))
		w.Header().Set("Content-Disposition", "attachment; filename="+q.Get("filename"))
		http.ServeContent(w, r, "", obj.ModTime(), obj)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *presigningFS) PresignGet(ctx context.Context, sha, filename, contentType string, ttl time.Duration) (*url.URL, error) {
	p.mu.Lock()
	p.calls = append(p.calls, presignCall{sha, filename, contentType, ttl})
	p.mu.Unlock()
	return url.Parse(p.srv.URL + "/" + sha + "?" + url.Values{"filename": {filename}, "type": {contentType}, "ttl": {ttl.String()}}.Encode())
}

// takeCalls returns the presign calls made since the last take.
func (p *presigningFS) takeCalls() []presignCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = nil
	return c
}

// TestFileRedirect checks --storage-redirect: downloads of files and of
// their metadata are redirected to the store's URL after the same checks
// as when the server sends them, and a GET of a whole distribution file
// counts at the redirect.
func TestFileRedirect(t *testing.T) {
	t.Parallel()
	var ps *presigningFS
	var counted atomic.Int64
	s := newTestServerWith(t, store.SQLite, serverConfig{
		Blobs:           func(fs *blob.FS) blob.Store { ps = newPresigningFS(t, fs); return ps },
		StorageRedirect: 5 * time.Minute,
		Options: func(o *Options) {
			o.CountDownload = func(downloads.Download) bool { counted.Add(1); return true }
		},
	})
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	s.uploadDist(tok, d, false)
	wheel := d.Wheel()
	sum := sha256.Sum256(wheel)
	sha := hex.EncodeToString(sum[:])
	path := "/files/" + sha + "/" + d.WheelFilename()
	row, err := s.st.FileByFilename(context.Background(), d.WheelFilename())
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, method, path string
		header             []string
		status             int
		presigned          *presignCall
		counts             int64
	}{
		{"GET", "GET", path, nil, 302, &presignCall{sha, d.WheelFilename(), "application/zip", 5 * time.Minute}, 1},
		{"HEAD", "HEAD", path, nil, 302, &presignCall{sha, d.WheelFilename(), "application/zip", 5 * time.Minute}, 0},
		{"GET of a range", "GET", path, []string{"Range", "bytes=10-19"}, 302, &presignCall{sha, d.WheelFilename(), "application/zip", 5 * time.Minute}, 0},
		{"metadata", "GET", path + ".metadata", nil, 302,
			&presignCall{row.MetadataSHA256, d.WheelFilename() + ".metadata", "text/plain; charset=utf-8", 5 * time.Minute}, 0},
		{"wrong digest", "GET", "/files/" + strings.Repeat("0", 64) + "/" + d.WheelFilename(), nil, 404, nil, 0},
		{"unknown file", "GET", "/files/" + sha + "/demo-2.0-py3-none-any.whl", nil, 404, nil, 0},
	} {
		req, _ := http.NewRequest(c.method, s.URL+c.path, nil)
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		before := counted.Load()
		resp, body := s.do(req)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s, want %d", c.name, resp.Status, c.status)
			continue
		}
		if n := counted.Load() - before; n != c.counts {
			t.Errorf("%s: counted %d downloads, want %d", c.name, n, c.counts)
		}
		calls := ps.takeCalls()
		if c.presigned == nil {
			if len(calls) != 0 {
				t.Errorf("%s: presigned %+v", c.name, calls)
			}
			continue
		}
		if len(calls) != 1 || calls[0] != *c.presigned {
			t.Errorf("%s: presigned %+v, want %+v", c.name, calls, *c.presigned)
		}
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, ps.srv.URL+"/"+c.presigned.sha+"?") {
			t.Errorf("%s: Location %q", c.name, loc)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=150" {
			t.Errorf("%s: Cache-Control %q, want private for half the URL's life", c.name, cc)
		}
		if resp.Header.Get("ETag") != "" || len(body) != 0 {
			t.Errorf("%s: ETag %q, body %q on a redirect", c.name, resp.Header.Get("ETag"), body)
		}
	}

	// A client that follows the redirect gets the file from the store.
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	got.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got.Bytes(), wheel) || resp.Header.Get("Content-Disposition") != "attachment; filename="+d.WheelFilename() {
		t.Fatalf("following the redirect: %s %v, %d bytes", resp.Status, resp.Header, got.Len())
	}
	ps.takeCalls()

	// A quarantined project's files are not redirected to.
	if err := s.idx.Quarantine(context.Background(), nil, audit.Meta{}, "demo", "malware"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := s.get(path); resp.StatusCode != 404 {
		t.Errorf("a quarantined project's file: %s, want 404", resp.Status)
	}
	if calls := ps.takeCalls(); len(calls) != 0 {
		t.Errorf("a quarantined project's file was presigned: %+v", calls)
	}
}

// TestFileRedirectS3: with an S3 store, a client that follows the
// redirect gets the file, its ranges and its metadata from S3.
func TestFileRedirectS3(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	s := newTestServerWith(t, store.SQLite, serverConfig{
		Blobs:           func(*blob.FS) blob.Store { return s3.Open(t) },
		StorageRedirect: time.Minute,
	})
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	s.uploadDist(tok, d, false)
	wheel := d.Wheel()
	sum := sha256.Sum256(wheel)
	path := "/files/" + hex.EncodeToString(sum[:]) + "/" + d.WheelFilename()

	resp, _ := s.get(path)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil || loc.Query().Get("X-Amz-Expires") != "60" {
		t.Fatalf("GET: %s, Location %q (%v), want a URL presigned for 60 s", resp.Status, resp.Header.Get("Location"), err)
	}
	follow := func(path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		return resp, b.Bytes()
	}
	resp, body := follow(path)
	if resp.StatusCode != 200 || !bytes.Equal(body, wheel) || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), d.WheelFilename()) {
		t.Fatalf("following the redirect to S3: %s %v, %d bytes", resp.Status, resp.Header, len(body))
	}
	if resp, body := follow(path, "Range", "bytes=10-19"); resp.StatusCode != 206 || !bytes.Equal(body, wheel[10:20]) {
		t.Fatalf("a range from S3: %s %q", resp.Status, body)
	}
	if resp, body := follow(path + ".metadata"); resp.StatusCode != 200 || !bytes.Contains(body, []byte("Name: demo")) {
		t.Fatalf("the metadata from S3: %s %q", resp.Status, body)
	}
}
