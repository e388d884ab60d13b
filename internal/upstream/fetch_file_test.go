package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/upstream"
)

// fileServer serves content at /packages/f, announcing its length unless
// chunked, and content+".metadata" at /packages/f.metadata.
func fileServer(t *testing.T, content []byte, chunked bool) *server {
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body := content
		if r.URL.Path == "/packages/holygrail-1.0.tar.gz.metadata" {
			body = []byte("Metadata-Version: 2.1\nName: holygrail\n")
		}
		if r.Header.Get("Accept-Encoding") != "identity" {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.Write(body)
	})
}

func fileOf(s *server, content string, size int64) upstream.File {
	return upstream.File{Filename: "holygrail-1.0.tar.gz", URL: s.URL + "/packages/holygrail-1.0.tar.gz",
		SHA256: digest(content), Size: size, MetadataSHA256: digest("Metadata-Version: 2.1\nName: holygrail\n")}
}

// limitedWriter fails once it holds more than max bytes.
type limitedWriter struct {
	bytes.Buffer
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.max {
		return 0, errors.New("disk full")
	}
	return w.Buffer.Write(p)
}

func TestFetchFile(t *testing.T) {
	content := bytes.Repeat([]byte("holygrail "), 10000)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		served  []byte
		chunked bool
		file    func(s *server) upstream.File
		dst     *limitedWriter
		want    error
		maxRead int // the most bytes dst may have got
	}{
		{name: "listed size", served: content, file: func(s *server) upstream.File { return fileOf(s, string(content), int64(len(content))) }},
		{name: "unknown size", served: content, chunked: true, file: func(s *server) upstream.File { return fileOf(s, string(content), -1) }},
		{name: "other bytes", served: append(bytes.Clone(content[:len(content)-1]), 'X'),
			file: func(s *server) upstream.File { return fileOf(s, string(content), int64(len(content))) }, want: upstream.ErrMismatch},
		{name: "longer than listed, announced", served: append(bytes.Clone(content), "more"...),
			file: func(s *server) upstream.File { return fileOf(s, string(content), int64(len(content))) }, want: upstream.ErrMismatch, maxRead: 0},
		{name: "longer than listed, chunked", served: append(bytes.Clone(content), bytes.Repeat([]byte("x"), 1<<20)...), chunked: true,
			file: func(s *server) upstream.File { return fileOf(s, string(content), int64(len(content))) }, want: upstream.ErrMismatch, maxRead: len(content) + 1},
		{name: "shorter than listed", served: content[:100], chunked: true,
			file: func(s *server) upstream.File { return fileOf(s, string(content), int64(len(content))) }, want: upstream.ErrMismatch},
		{name: "unknown size beyond the maximum", served: content, chunked: true,
			file: func(s *server) upstream.File { return fileOf(s, string(content), -1) }, want: upstream.ErrHostile, maxRead: 50001},
		{name: "listed beyond the maximum", served: content,
			file: func(s *server) upstream.File { return fileOf(s, string(content), 1<<40) }, want: upstream.ErrHostile},
		{name: "URL not allowed", served: content, file: func(s *server) upstream.File {
			f := fileOf(s, string(content), -1)
			f.URL = "http://127.0.0.1:1/x.tar.gz"
			return f
		}, want: upstream.ErrHostile},
		{name: "no digest", served: content, file: func(s *server) upstream.File {
			f := fileOf(s, string(content), -1)
			f.SHA256 = ""
			return f
		}, want: upstream.ErrHostile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fileServer(t, tc.served, tc.chunked)
			maxFile := int64(0)
			if tc.name == "unknown size beyond the maximum" {
				maxFile = 50000
			}
			c := newClient(t, s.URL, upstream.Config{MaxFileSize: maxFile})
			var dst bytes.Buffer
			f := tc.file(s)
			got, err := c.FetchFile(ctx, f, &dst)
			if tc.want == nil {
				if err != nil || got.SHA256 != digest(string(content)) || got.Size != int64(len(content)) || !bytes.Equal(dst.Bytes(), content) {
					t.Fatalf("FetchFile = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.maxRead > 0 && dst.Len() > tc.maxRead {
				t.Errorf("read %d bytes, want at most %d", dst.Len(), tc.maxRead)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		s := newServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		c := newClient(t, s.URL, upstream.Config{})
		if _, err := c.FetchFile(ctx, fileOf(s, "x", 1), &bytes.Buffer{}); !errors.Is(err, upstream.ErrNotFound) {
			t.Fatal(err)
		}
	})
	t.Run("the destination fails", func(t *testing.T) {
		s := fileServer(t, content, false)
		c := newClient(t, s.URL, upstream.Config{})
		_, err := c.FetchFile(ctx, fileOf(s, string(content), int64(len(content))), &limitedWriter{max: 1000})
		if err == nil || errors.Is(err, upstream.ErrUnavailable) || errors.Is(err, upstream.ErrHostile) {
			t.Fatalf("err = %v, want a write failure", err)
		}
	})
}

// TestFetchFileTooSlow: a transfer below the minimum rate ends after one
// window, as unavailable.
func TestFetchFileTooSlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"stalls", func(w http.ResponseWriter) { w.Write([]byte("x")) }},
		{"trickles", func(w http.ResponseWriter) {
			for range 5 {
				w.Write([]byte("x"))
				w.(http.Flusher).Flush()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100000")
				tc.write(w)
				w.(http.Flusher).Flush()
				<-release
			})
			t.Cleanup(func() { close(release) })
			c := newClient(t, s.URL, upstream.Config{MinRate: upstream.MinRate{Bytes: 1 << 10, Window: 50 * time.Millisecond}})
			start := time.Now()
			_, err := c.FetchFile(context.Background(), fileOf(s, "x", 100000), &bytes.Buffer{})
			if !errors.Is(err, upstream.ErrUnavailable) {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}

func TestFetchMetadata(t *testing.T) {
	s := fileServer(t, []byte("x"), false)
	c := newClient(t, s.URL, upstream.Config{})
	f := fileOf(s, "x", 1)
	var dst bytes.Buffer
	got, err := c.FetchMetadata(context.Background(), f, &dst)
	if err != nil || got.SHA256 != f.MetadataSHA256 || dst.String() != "Metadata-Version: 2.1\nName: holygrail\n" {
		t.Fatalf("FetchMetadata = %+v, %v", got, err)
	}
	if s.last().URL.Path != "/packages/holygrail-1.0.tar.gz.metadata" {
		t.Errorf("fetched %s", s.last().URL)
	}
	f.MetadataSHA256 = digest("other")
	if _, err := c.FetchMetadata(context.Background(), f, &bytes.Buffer{}); !errors.Is(err, upstream.ErrMismatch) {
		t.Fatalf("err = %v", err)
	}
	n := s.count()
	f.MetadataSHA256 = ""
	if _, err := c.FetchMetadata(context.Background(), f, &bytes.Buffer{}); !errors.Is(err, upstream.ErrNotFound) || s.count() != n {
		t.Fatalf("not advertised: %v, %d requests", err, s.count()-n)
	}

	big := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, upstream.MaxMetadataSize+10))
	})
	c = newClient(t, big.URL, upstream.Config{})
	f = fileOf(big, "x", 1)
	f.MetadataSHA256 = digest(string(make([]byte, upstream.MaxMetadataSize+10)))
	if _, err := c.FetchMetadata(context.Background(), f, &bytes.Buffer{}); !errors.Is(err, upstream.ErrHostile) {
		t.Fatalf("too big: %v", err)
	}
}

// TestFetchFileIntoBlobStore is the caller's contract: stage, fetch,
// commit only on success. A mismatch leaves no blob.
func TestFetchFileIntoBlobStore(t *testing.T) {
	store, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	fetch := func(c *upstream.Client, f upstream.File) error {
		st, err := store.Stage(ctx)
		if err != nil {
			return err
		}
		defer st.Abort()
		got, err := c.FetchFile(ctx, f, st)
		if err != nil {
			return err
		}
		return st.Commit(ctx, got.SHA256)
	}
	good := fileServer(t, []byte("the real file"), false)
	c := newClient(t, good.URL, upstream.Config{})
	if err := fetch(c, fileOf(good, "the real file", 13)); err != nil {
		t.Fatal(err)
	}
	if ok, err := blob.Exists(ctx, store, digest("the real file")); !ok || err != nil {
		t.Fatalf("stored: %v %v", ok, err)
	}
	bad := fileServer(t, []byte("a trojan file"), false)
	c = newClient(t, bad.URL, upstream.Config{})
	if err := fetch(c, fileOf(bad, "the other file", 13)); !errors.Is(err, upstream.ErrMismatch) {
		t.Fatalf("err = %v", err)
	}
	for _, sha := range []string{digest("the other file"), digest("a trojan file")} {
		if ok, _ := blob.Exists(ctx, store, sha); ok {
			t.Fatalf("blob %s stored", sha)
		}
	}
}

func TestFileSize(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			t.Errorf("method %s", r.Method)
		}
		switch r.URL.Path {
		case "/packages/holygrail-1.0.tar.gz":
			w.Header().Set("Content-Length", "12345")
		case "/packages/huge.tar.gz":
			w.Header().Set("Content-Length", "100000")
		case "/packages/chunked.tar.gz":
			w.(http.Flusher).Flush()
		default:
			http.NotFound(w, r)
		}
	})
	c := newClient(t, s.URL, upstream.Config{MaxFileSize: 50000})
	for _, tc := range []struct {
		path string
		want int64
		err  error
	}{
		{"/packages/holygrail-1.0.tar.gz", 12345, nil},
		{"/packages/chunked.tar.gz", -1, nil},
		{"/packages/huge.tar.gz", -1, upstream.ErrHostile},
		{"/packages/gone.tar.gz", -1, upstream.ErrNotFound},
	} {
		f := fileOf(s, "x", -1)
		f.URL = s.URL + tc.path
		got, err := c.FileSize(context.Background(), f)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: %d, %v; want %d, %v", tc.path, got, err, tc.want, tc.err)
		}
	}
	f := fileOf(s, "x", -1)
	f.URL = "https://evil.example/x.tar.gz"
	if _, err := c.FileSize(context.Background(), f); !errors.Is(err, upstream.ErrHostile) {
		t.Errorf("evil URL: %v", err)
	}
}
