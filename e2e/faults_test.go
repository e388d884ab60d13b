package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
	"cheeseshop/internal/store"
)

// The faults tests provoke: the server's log has them, as it should.
var (
	logFull        = "msg=fault cause=storage-full"
	logUnreachable = "msg=fault cause=storage-unreachable"
	logUnready     = `msg="not ready" part=storage`
)

// TestStorageFull fills the disk of the file storage, `--data` on a real
// 8 MiB tmpfs (the database elsewhere), and runs fullDisk.
func TestStorageFull(t *testing.T) {
	t.Parallel()
	requireTool(t, debTwine, "twine")
	data := blobtest.SmallDisk(t, "8m")
	db := "sqlite://" + filepath.Join(t.TempDir(), "cheeseshop.db")
	s, token := startWithUploader(t, serverOptions{Data: data, Database: db, ExpectLog: []string{logFull, logUnready}})
	files := filepath.Join(data, "files")
	fullDisk{s: s, token: token, disk: data, stored: inFolder(files), spool: filepath.Join(files, "tmp"), probed: true}.run(t)
}

// TestStorageS3Full fills the disk of S3 storage (a private versitygw
// serving a real 8 MiB tmpfs), then the local spool of a server on S3
// (`--data` on the tmpfs), and runs fullDisk on each. The server's /readyz
// probes both.
func TestStorageS3Full(t *testing.T) {
	t.Parallel()
	requireTool(t, debTwine, "twine")
	t.Run("bucket", func(t *testing.T) {
		t.Parallel()
		gw := blobtest.StartGateway(t, blobtest.SmallDisk(t, "8m"))
		data := t.TempDir()
		s, token, bucket := startOnS3(t, gw, serverOptions{Data: data, ExpectLog: []string{logFull, logUnready}})
		// With 1 MiB free, the wheel's metadata is stored and its
		// upload (one PUT) refused: 507 Insufficient Storage.
		fullDisk{s: s, token: token, disk: gw.Root(), stored: inBucket(t, bucket), spool: filepath.Join(data, "tmp"), probed: true,
			spare: 1 << 20}.run(t)
	})
	t.Run("spool", func(t *testing.T) {
		t.Parallel()
		gw := blobtest.StartGateway(t, "")
		data := blobtest.SmallDisk(t, "8m")
		db := "sqlite://" + filepath.Join(t.TempDir(), "cheeseshop.db")
		s, token, bucket := startOnS3(t, gw, serverOptions{Data: data, Database: db, ExpectLog: []string{logFull, logUnready}})
		fullDisk{s: s, token: token, disk: data, stored: inBucket(t, bucket), spool: filepath.Join(data, "tmp"), probed: true}.run(t)
	})
}

// fullDisk is a server whose file storage is on a small disk the test
// fills: /readyz says the storage is unavailable (if it probes that
// disk), twine uploading a 6 MiB wheel is told 503 and why, the log names
// storage-full, and nothing of the upload remains; once space is freed,
// the server is ready and the same upload succeeds, with no restart.
type fullDisk struct {
	s     *server
	token string
	// disk is the small disk's folder; stored reports whether the storage
	// holds a digest; spool is the folder of the server's spool.
	disk   string
	stored func(sha256 string) bool
	spool  string
	// probed: /readyz probes the disk.
	probed bool
	// spare is how much space to free before uploading, so that the
	// upload fails further on (0: none).
	spare int64
}

func (c fullDisk) run(t *testing.T) {
	s := c.s
	wheel := writeBigWheel(t, t.TempDir(), "fullcheese", "1.0", 6<<20)
	filler := filepath.Join(c.disk, "filler")
	fill(t, filler)

	if c.probed {
		resp, body := s.get(t, "/readyz")
		if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: storage unavailable\n" {
			t.Errorf("/readyz on a full disk: %s %q, want 503 not ready: storage unavailable", resp.Status, body)
		}
	}
	if c.spare > 0 {
		fi, err := os.Stat(filler)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filler, fi.Size()-c.spare); err != nil {
			t.Fatal(err)
		}
	}
	r := twineUpload(t, s, c.token, wheel.path)
	// twine retries a 5xx five times at once, then prints the status and
	// the reason phrase: `HTTPError: 503 Service Unavailable from URL
	// <reason>`.
	want := "The index is temporarily unavailable (its file storage is full), retry in 30 seconds."
	if r.Code == 0 || !strings.Contains(r.Flat(), "HTTPError: 503") || !strings.Contains(r.Flat(), want) {
		t.Errorf("twine uploading to a full disk: exit %d, want a 503 saying %q:\n%s", r.Code, want, r.Out)
	}
	if !s.waitLog(logFull + " op=upload") {
		t.Errorf("the server's log does not name the fault storage-full:\n%s", lastLines(s.Log(), 20))
	}
	for line := range strings.SplitSeq(s.Log(), "\n") {
		if strings.Contains(line, logFull) {
			t.Logf("the server logged: %s", line)
			break
		}
	}
	noTrace(t, s, wheel, c.stored, c.spool)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(t, s)
	if r := twineUpload(t, s, c.token, wheel.path); r.Code != 0 {
		t.Fatalf("twine uploading again once space is freed: exit %d:\n%s", r.Code, r.Out)
	}
	if _, body := s.get(t, "/simple/fullcheese/", "Accept", "application/vnd.pypi.simple.v1+json"); !strings.Contains(string(body), wheel.sha256) {
		t.Errorf("/simple/fullcheese/ does not list the wheel:\n%s", body)
	}
}

// TestStorageStopped stops the S3 storage (a private versitygw) under a
// running server: twine uploading is told 503 and that the storage is not
// answering, a download is 503 with Retry-After, /readyz says the storage
// is unavailable, the log names storage-unreachable, and nothing of the
// upload remains; once the storage is back, with no restart of the
// server, /readyz is ready, the same upload succeeds and the old file is
// served.
func TestStorageStopped(t *testing.T) {
	t.Parallel()
	requireTool(t, debTwine, "twine")
	gw := blobtest.StartGateway(t, "")
	data := t.TempDir()
	s, token, bucket := startOnS3(t, gw, serverOptions{Data: data, ExpectLog: []string{logUnreachable, logUnready}})
	dir := t.TempDir()
	old := writeBigWheel(t, dir, "stormcheese", "1.0", 64<<10)
	if r := twineUpload(t, s, token, old.path); r.Code != 0 {
		t.Fatalf("twine upload with the storage up: exit %d:\n%s", r.Code, r.Out)
	}
	download := "/files/" + old.sha256 + "/" + filepath.Base(old.path)
	if resp, _ := s.get(t, download); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s with the storage up: %s", download, resp.Status)
	}
	wheel := writeBigWheel(t, dir, "stormcheese", "2.0", 64<<10)

	gw.Stop()
	start := time.Now()
	r := twineUpload(t, s, token, wheel.path)
	want := "The index is temporarily unavailable (its file storage is not answering), retry in 30 seconds."
	if r.Code == 0 || !strings.Contains(r.Flat(), "HTTPError: 503") || !strings.Contains(r.Flat(), want) {
		t.Errorf("twine uploading with the storage stopped: exit %d, want a 503 saying %q:\n%s", r.Code, want, r.Out)
	}
	t.Logf("twine's 6 attempts with the storage stopped took %s", time.Since(start).Round(time.Millisecond))
	resp, body := s.get(t, download)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "30" || !strings.Contains(string(body), want) {
		t.Errorf("GET %s with the storage stopped: %s, Retry-After %q, want 503 saying %q:\n%s", download, resp.Status, resp.Header.Get("Retry-After"), want, body)
	}
	resp, body = s.get(t, "/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: storage unavailable\n" {
		t.Errorf("/readyz with the storage stopped: %s %q, want 503 not ready: storage unavailable", resp.Status, body)
	}
	if !s.waitLog(logUnreachable+" op=upload") || !s.waitLog(logUnreachable+" op=read") {
		t.Errorf("the server's log does not name the fault storage-unreachable for the upload and the download:\n%s", lastLines(s.Log(), 20))
	}

	gw.Start()
	noTrace(t, s, wheel, inBucket(t, bucket), filepath.Join(data, "tmp"))
	waitReady(t, s)
	if r := twineUpload(t, s, token, wheel.path); r.Code != 0 {
		t.Fatalf("twine uploading again once the storage is back: exit %d:\n%s", r.Code, r.Out)
	}
	resp, body = s.get(t, download)
	if sum := sha256.Sum256(body); resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != old.sha256 {
		t.Errorf("GET %s once the storage is back: %s, sha256 %x; want 200 and %s", download, resp.Status, sum, old.sha256)
	}
}

// startOnS3 starts a server (startWithUploader) with --storage on a fresh
// prefix of the gateway's bucket, the S3 credentials in its environment.
func startOnS3(t *testing.T, gw *blobtest.Gateway, opts serverOptions) (*server, string, blobtest.S3) {
	t.Helper()
	bucket := gw.S3()
	opts.Storage = bucket.URL
	opts.Env = append(opts.Env, bucket.Env()...)
	s, token := startWithUploader(t, opts)
	return s, token, bucket
}

// waitReady polls /readyz until the server is ready again: a failed probe
// stands for app.ReadinessTTL (5 s).
func waitReady(t *testing.T, s *server) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, body := s.get(t, "/readyz")
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %s %q after 15 s, want ready", resp.Status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// fill writes path until its file system is full (ENOSPC).
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", path, err)
	}
}

// noTrace checks that a failed upload of w left nothing: no file row, no
// release, no blob (stored says whether a digest is), no file in the
// spool folder.
func noTrace(t *testing.T, s *server, w bigWheel, stored func(sha256 string) bool, spool string) {
	t.Helper()
	ctx := context.Background()
	db := s.Database
	if db == "" {
		db = "sqlite://" + filepath.Join(s.Data, "cheeseshop.db") // serve's default
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if f, err := st.FileByFilename(ctx, filepath.Base(w.path)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("file row %s: %+v, %v; want not found", filepath.Base(w.path), f, err)
	}
	if p, err := st.ProjectByName(ctx, w.name); err == nil {
		// Versions here are canonical already ("1.0").
		if r, err := st.ReleaseByCanonicalVersion(ctx, p.ID, w.version); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("release %s %s: %+v, %v; want not found", w.name, w.version, r, err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if stored(w.sha256) {
		t.Errorf("the storage holds the blob %s", w.sha256)
	}
	spooled, _ := filepath.Glob(filepath.Join(spool, "p*", "*"))
	if len(spooled) > 0 {
		t.Errorf("the spool holds %q", spooled)
	}
}

// inFolder reports whether the blob store in the folder files holds a
// digest.
func inFolder(files string) func(string) bool {
	return func(sha256 string) bool {
		_, err := os.Stat(filepath.Join(files, filepath.FromSlash(blob.Key(sha256))))
		return err == nil
	}
}

// inBucket reports whether the S3 store holds a digest.
func inBucket(t *testing.T, bucket blobtest.S3) func(string) bool {
	return func(sha256 string) bool {
		t.Helper()
		ok, err := blob.Exists(context.Background(), bucket.Open(t), sha256)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
}
