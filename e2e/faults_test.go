package e2e

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cheeseshop/internal/blob/blobtest"
	"cheeseshop/internal/store"
)

// TestStorageFull fills the disk of the file storage (`--data` on a real
// 8 MiB tmpfs, the database elsewhere): /readyz says the storage is
// unavailable, twine uploading a 6 MiB wheel is told 503 and why, the log
// names storage-full, and nothing of the upload remains; once space is
// freed, the server is ready again and the same upload succeeds, with no
// restart.
func TestStorageFull(t *testing.T) {
	t.Parallel()
	requireTool(t, debTwine, "twine")
	data := blobtest.SmallDisk(t, "8m")
	db := "sqlite://" + filepath.Join(t.TempDir(), "cheeseshop.db")
	s, token := startWithUploader(t, serverOptions{Data: data, Database: db,
		ExpectLog: []string{"msg=fault cause=storage-full", `msg="not ready" part=storage`}})
	wheel := writeBigWheel(t, t.TempDir(), "fullcheese", "1.0", 6<<20)

	filler := filepath.Join(data, "filler")
	fill(t, filler)

	resp, body := s.get(t, "/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: storage unavailable\n" {
		t.Errorf("/readyz on a full disk: %s %q, want 503 not ready: storage unavailable", resp.Status, body)
	}

	r := twineUpload(t, s, token, wheel.path)
	// twine retries a 5xx five times at once, then prints the status and
	// the reason phrase: `HTTPError: 503 Service Unavailable from URL
	// <reason>`.
	want := "The index is temporarily unavailable (its file storage is full), retry in 30 seconds."
	if r.Code == 0 || !strings.Contains(r.Flat(), "HTTPError: 503") || !strings.Contains(r.Flat(), want) {
		t.Errorf("twine uploading to a full disk: exit %d, want a 503 saying %q:\n%s", r.Code, want, r.Out)
	}
	if !s.waitLog("msg=fault cause=storage-full op=upload") {
		t.Errorf("the server's log does not name the fault storage-full:\n%s", lastLines(s.Log(), 20))
	}
	noTrace(t, s, wheel)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// The failed probe stands for app.ReadinessTTL (5 s).
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, body := s.get(t, "/readyz")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz once space is freed: %s %q after 15 s, want ready", resp.Status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if r := twineUpload(t, s, token, wheel.path); r.Code != 0 {
		t.Fatalf("twine uploading again once space is freed: exit %d:\n%s", r.Code, r.Out)
	}
	if _, body := s.get(t, "/simple/fullcheese/", "Accept", "application/vnd.pypi.simple.v1+json"); !strings.Contains(string(body), wheel.sha256) {
		t.Errorf("/simple/fullcheese/ does not list the wheel:\n%s", body)
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

// noTrace checks that a failed upload of w left nothing: no row, no
// blob, no staged file.
func noTrace(t *testing.T, s *server, w bigWheel) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, s.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if f, err := st.FileByFilename(ctx, filepath.Base(w.path)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("file row %s: %+v, %v; want not found", filepath.Base(w.path), f, err)
	}
	if p, err := st.ProjectByName(ctx, w.name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("project %s: %+v, %v; want not found", w.name, p, err)
	}
	filepath.WalkDir(filepath.Join(s.Data, "files", "sha256"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Name() == w.sha256 {
			t.Errorf("the blob store holds %s", p)
		}
		return err
	})
	if f, n := stagedUpload(s.Data); f != "" {
		t.Errorf("the spool holds %s (%d bytes)", f, n)
	}
}
