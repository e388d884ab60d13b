package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// seeded is an index with files, written through the index as uploads
// write them, into the database at dbURL and the blob store blobs.
type seeded struct {
	idx   *index.Service
	st    *store.Store
	owner *index.Principal
}

func seed(t *testing.T, dbURL string, blobs blob.Store, dists ...disttest.Dist) *seeded {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, dbURL)
	storetest.Must(t, st.Migrate(ctx))
	u := &store.User{Username: "alice", Email: "alice@example.org", PasswordHash: "!", CreatedAt: time.Now()}
	storetest.Must(t, st.CreateUser(ctx, u))
	_, hash := auth.NewToken()
	tok := &store.Token{UserID: u.ID, Name: "seed", Prefix: "p", Hash: hash, CanManage: true, CreatedAt: time.Now()}
	storetest.Must(t, st.CreateToken(ctx, tok))
	s := &seeded{idx: index.New(st, blobs, index.Config{BaseURL: "http://index.test"}, slog.New(slog.NewTextHandler(io.Discard, nil))),
		st: st, owner: &index.Principal{User: u, Token: tok}}
	for _, d := range dists {
		s.upload(t, d)
	}
	return s
}

// upload uploads d's wheel, as twine would.
func (s *seeded) upload(t *testing.T, d disttest.Dist) {
	t.Helper()
	ctx := context.Background()
	content := d.Wheel()
	in, err := s.idx.Receive(ctx, bytes.NewReader(content), d.WheelFilename(), "application/octet-stream", d.Name)
	storetest.Must(t, err)
	defer in.Close()
	if _, err := s.idx.Upload(ctx, s.owner, index.Form(d.Form("bdist_wheel", content)), in); err != nil {
		t.Fatalf("upload %s: %v", d.WheelFilename(), err)
	}
}

// digests returns the blob digests a file row names: its own and its
// metadata's.
func (s *seeded) digests(t *testing.T, filename string) []string {
	t.Helper()
	f, err := s.st.FileByFilename(context.Background(), filename)
	storetest.Must(t, err)
	return []string{f.SHA256, f.MetadataSHA256}
}

// strayLine is what blobs gc prints for a stray: sha256, size, when
// written, what became of it.
var strayLine = regexp.MustCompile(`^([0-9a-f]{64}) (\d+) (\S+) (removed|would remove|kept: newer than \S+)$`)

// gcLines runs blobs gc and returns the state of each stray it printed
// by digest, and its summary line.
func gcLines(t *testing.T, args ...string) (map[string]string, string) {
	t.Helper()
	code, out, errs := cli(t, "", args...)
	if code != 0 {
		t.Fatalf("%q: exit %d, %s", args, code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	states := map[string]string{}
	for _, l := range lines[:len(lines)-1] {
		m := strayLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("%q printed a line that is no stray: %q", args, l)
		}
		if _, err := time.Parse(time.RFC3339, m[3]); err != nil {
			t.Errorf("stray line %q: its time: %v", l, err)
		}
		states[m[1]] = m[4]
	}
	return states, lines[len(lines)-1]
}

func TestAdminBlobsGC(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := withDB(dataDir, dbURL)
		files := filepath.Join(dataDir, "files")
		fs, err := blob.NewFS(files)
		storetest.Must(t, err)
		defer fs.Close()
		keep, gone := disttest.Dist{Name: "keep", Version: "1.0"}, disttest.Dist{Name: "keep", Version: "2.0"}
		s := seed(t, dbURL, fs, keep, gone)
		strays := s.digests(t, gone.WheelFilename())
		storetest.Must(t, s.idx.DeleteFile(ctx, s.owner, gone.WheelFilename()))
		// An upload in flight: its blob is there, its row not yet.
		fresh, err := blob.PutBytes(ctx, fs, []byte("in flight"))
		storetest.Must(t, err)
		old := time.Now().Add(-2 * time.Hour)
		for _, sha := range append(s.digests(t, keep.WheelFilename()), strays...) {
			storetest.Must(t, os.Chtimes(filepath.Join(files, blob.Key(sha)), old, old))
		}
		var strayBytes int64
		for _, sha := range strays {
			fi, err := fs.Stat(ctx, sha)
			storetest.Must(t, err)
			strayBytes += fi.Size
		}

		for _, dryRun := range []bool{true, false} {
			a, verb, summary := []string{"admin", "blobs", "gc", "--grace", "1h"}, "removed", "removed"
			if dryRun {
				a, verb, summary = append(a, "--dry-run"), "would remove", "would be removed"
			}
			states, last := gcLines(t, args(a...)...)
			want := map[string]string{strays[0]: verb, strays[1]: verb, fresh: "kept: newer than 1h"}
			if fmt.Sprint(states) != fmt.Sprint(want) {
				t.Errorf("gc (dry run %v) printed %v, want %v", dryRun, states, want)
			}
			if want := fmt.Sprintf("blobs: 5 seen, 2 %s (%d bytes), 2 in use, 1 newer than 1h", summary, strayBytes); last != want {
				t.Errorf("gc (dry run %v) summary %q, want %q", dryRun, last, want)
			}
			for _, sha := range append(strays, fresh) {
				ok, err := blob.Exists(ctx, fs, sha)
				storetest.Must(t, err)
				if want := dryRun || sha == fresh; ok != want {
					t.Errorf("gc (dry run %v): %s exists %v, want %v", dryRun, sha, ok, want)
				}
			}
		}
		// Nothing left to remove.
		states, last := gcLines(t, args("admin", "blobs", "gc", "--grace", "1h")...)
		if len(states) != 1 || !strings.HasPrefix(last, "blobs: 3 seen, 0 removed (0 bytes), 2 in use, 1 newer than 1h") {
			t.Errorf("gc again: %v %q", states, last)
		}
	})
}

// cancelAfter is standard output that cancels the command after it has
// printed n lines starting with prefix.
type cancelAfter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	n      int
	cancel context.CancelFunc
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.Split(string(p), "\n") {
		if strings.HasPrefix(l, w.prefix) {
			if w.n--; w.n == 0 {
				w.cancel()
			}
		}
	}
	return w.buf.Write(p)
}

// copySummary is the last line of blobs copy.
var copySummary = regexp.MustCompile(`(?m)^copied (\d+) \((\d+) bytes\), skipped (\d+), failed (\d+); (.*)\n\z`)

// copyRun runs blobs copy and returns its exit status, its summary's
// numbers and the rest of the summary, and its output.
func copyRun(t *testing.T, args ...string) (code int, copied, skipped, failed int, tail, out string) {
	t.Helper()
	code, out, errs := cli(t, "", args...)
	m := copySummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%q: exit %d, no summary in %q (stderr %q)", args, code, out, errs)
	}
	fmt.Sscan(m[1], &copied)
	fmt.Sscan(m[3], &skipped)
	fmt.Sscan(m[4], &failed)
	return code, copied, skipped, failed, m[5], out
}

// sameBlobs fails unless dst holds every blob of src, byte for byte.
func sameBlobs(t *testing.T, src, dst blob.Store, except ...string) {
	t.Helper()
	ctx := context.Background()
	n := 0
	storetest.Must(t, src.Walk(ctx, func(b blob.Info) error {
		if slices.Contains(except, b.SHA256) {
			return nil
		}
		n++
		for _, s := range []blob.Store{src, dst} {
			ok, err := hashes(ctx, s, b.SHA256)
			if err != nil || !ok {
				t.Errorf("%v: %s hashes to its name %v, %v", s, b.SHA256, ok, err)
			}
		}
		return nil
	}))
	if n == 0 {
		t.Fatal("no blobs compared")
	}
}

func TestAdminBlobsCopy(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := withDB(dataDir, dbURL)
		src, err := blob.NewFS(filepath.Join(dataDir, "files"))
		storetest.Must(t, err)
		defer src.Close()
		var dists []disttest.Dist
		for i := range 6 {
			dists = append(dists, disttest.Dist{Name: fmt.Sprintf("cheese%d", i), Version: "1.0"})
		}
		s := seed(t, dbURL, src, dists...)
		const blobs = 12 // a wheel and its metadata each
		destDir := filepath.Join(t.TempDir(), "dest")
		to := "file://" + destDir
		copyArgs := args("admin", "blobs", "copy", "--to", to)

		// Interrupted after three files, as by Ctrl-C.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w := &cancelAfter{prefix: "copied ", n: 3, cancel: cancel}
		var errb bytes.Buffer
		code := runContext(cctx, copyArgs, strings.NewReader(""), w, &errb)
		m := copySummary.FindStringSubmatch(w.buf.String())
		if code != 1 || m == nil || m[5] != "interrupted" || !strings.Contains(errb.String(), "run it again to resume") {
			t.Fatalf("interrupted copy: exit %d, %q, %q", code, w.buf.String(), errb.String())
		}
		var first int
		fmt.Sscan(m[1], &first)
		if first < 3 || first >= blobs {
			t.Fatalf("interrupted copy copied %d of %d files", first, blobs)
		}

		// Run again: it resumes, verifying everything.
		code, copied, skipped, failed, tail, out := copyRun(t, append(copyArgs, "--verify", "--jobs", "2")...)
		if code != 0 || copied != blobs-first || skipped != first || failed != 0 || tail != fmt.Sprintf("rows: %d digests, all present", blobs) {
			t.Fatalf("resumed copy: exit %d, %q", code, out)
		}
		dst, err := blob.NewFS(destDir)
		storetest.Must(t, err)
		defer dst.Close()
		sameBlobs(t, src, dst)

		// Once more: nothing to do.
		if code, copied, skipped, _, _, out := copyRun(t, copyArgs...); code != 0 || copied != 0 || skipped != blobs {
			t.Fatalf("copy of a copied store: exit %d, %q", code, out)
		}

		// A corrupt file in the source is reported, and not copied; a
		// corrupt one in the destination is copied again by --verify.
		bad, err := blob.PutBytes(ctx, src, []byte("will rot"))
		storetest.Must(t, err)
		storetest.Must(t, os.WriteFile(filepath.Join(dataDir, "files", blob.Key(bad)), []byte("has rot!"), 0o640))
		rotten := s.digests(t, dists[0].WheelFilename())[0]
		fi, err := dst.Stat(ctx, rotten)
		storetest.Must(t, err)
		storetest.Must(t, os.WriteFile(filepath.Join(destDir, blob.Key(rotten)), make([]byte, fi.Size), 0o640))
		code, copied, skipped, failed, tail, out = copyRun(t, append(copyArgs, "--verify")...)
		if code != 1 || copied != 1 || skipped != blobs-1 || failed != 1 || tail != fmt.Sprintf("rows: %d digests, all present", blobs) ||
			!strings.Contains(out, "failed "+bad+": the source is corrupt") || !strings.Contains(out, "corrupt "+rotten+" in the destination") {
			t.Fatalf("copy with a corrupt source file and a corrupt destination file: exit %d, %q", code, out)
		}
		if ok, _ := blob.Exists(ctx, dst, bad); ok {
			t.Error("a corrupt source file reached the destination")
		}
		sameBlobs(t, src, dst, bad)
		storetest.Must(t, src.Delete(ctx, bad))

		// A file the database names but the source lost is reported.
		lost := s.digests(t, dists[1].WheelFilename())[1]
		storetest.Must(t, src.Delete(ctx, lost))
		other := "file://" + filepath.Join(t.TempDir(), "other")
		code, copied, _, _, tail, out = copyRun(t, args("admin", "blobs", "copy", "--to", other)...)
		if code != 1 || copied != blobs-1 || tail != fmt.Sprintf("rows: %d digests, 1 missing", blobs) ||
			!strings.Contains(out, "missing "+lost+": named by the database, not in the destination") {
			t.Fatalf("copy with a file lost: exit %d, %q", code, out)
		}

		for _, c := range []struct {
			args []string
			want string
		}{
			{args("admin", "blobs", "copy", "--to", "file://"+filepath.Join(dataDir, "files")), "--to names the source storage"},
			{args("admin", "blobs", "copy", "--to", "file://relative/dest"), "--to:"},
			{args("admin", "blobs", "copy", "--to", to, "--jobs", "0"), "--jobs must be between 1 and 64"},
			{args("admin", "blobs", "copy", "--to", to, "--storage", "ftp://nope"), "scheme must be file or s3"},
		} {
			if code, out, errs := cli(t, "", c.args...); code == 0 || !strings.Contains(errs, c.want) {
				t.Errorf("%q: exit %d, %q, %q; want an error with %q", c.args, code, out, errs, c.want)
			}
		}
		// --storage names the source.
		code, copied, skipped, _, _, out = copyRun(t, args("admin", "blobs", "copy", "--storage", to, "--to", "file://"+filepath.Join(t.TempDir(), "third"))...)
		if code != 0 || copied != blobs || skipped != 0 {
			t.Fatalf("copy from --storage %s: exit %d, %q", to, code, out)
		}
	})
}

// TestAdminBlobsS3 moves a deployment from its folder to S3 (interrupted,
// then resumed and verified), collects the bucket, and serves from it
// with --storage-redirect. Not parallel: the S3 credentials are in the
// environment, where serve and admin read them.
func TestAdminBlobsS3(t *testing.T) {
	s3 := blobtest.RequireS3(t)
	for _, kv := range s3.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := withDB(dataDir, dbURL)
		src, err := blob.NewFS(filepath.Join(dataDir, "files"))
		storetest.Must(t, err)
		defer src.Close()
		var dists []disttest.Dist
		for i := range 4 {
			dists = append(dists, disttest.Dist{Name: fmt.Sprintf("cheese%d", i), Version: "1.0"})
		}
		s := seed(t, dbURL, src, dists...)
		const blobs = 8
		to := blobtest.RequireS3(t).URL
		copyArgs := args("admin", "blobs", "copy", "--to", to)

		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w := &cancelAfter{prefix: "copied ", n: 3, cancel: cancel}
		var errb bytes.Buffer
		if code := runContext(cctx, copyArgs, strings.NewReader(""), w, &errb); code != 1 || !strings.Contains(w.buf.String(), "; interrupted\n") {
			t.Fatalf("interrupted copy to S3: exit %d, %q, %q", code, w.buf.String(), errb.String())
		}
		code, copied, skipped, failed, tail, out := copyRun(t, append(copyArgs, "--verify")...)
		if code != 0 || copied+skipped != blobs || skipped < 3 || failed != 0 || tail != fmt.Sprintf("rows: %d digests, all present", blobs) {
			t.Fatalf("resumed copy to S3: exit %d, %q", code, out)
		}
		bucket, err := blob.Open(ctx, to, blob.Options{DataDir: t.TempDir()})
		storetest.Must(t, err)
		defer bucket.Close()
		sameBlobs(t, src, bucket)

		// The strays of the bucket: a deleted file's, kept for now.
		gone := dists[0].WheelFilename()
		strays := s.digests(t, gone)
		storetest.Must(t, s.idx.DeleteFile(ctx, s.owner, gone))
		states, last := gcLines(t, args("admin", "blobs", "gc", "--storage", to, "--dry-run")...)
		want := map[string]string{strays[0]: "kept: newer than 24h", strays[1]: "kept: newer than 24h"}
		if fmt.Sprint(states) != fmt.Sprint(want) || !strings.HasPrefix(last, fmt.Sprintf("blobs: %d seen, 0 would be removed (0 bytes), %d in use, 2 newer than 24h", blobs, blobs-2)) {
			t.Errorf("gc --dry-run of the bucket: %v %q", states, last)
		}

		// serve runs on the bucket and redirects to it.
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		b := &banner{ready: make(chan struct{})}
		done := make(chan int)
		go func() {
			done <- runContext(sctx, args("serve", "--addr", "127.0.0.1:0", "--storage", to, "--storage-redirect"), strings.NewReader(""), b, &errb)
		}()
		select {
		case <-b.ready:
		case code := <-done:
			t.Fatalf("serve on S3 exited %d: %s", code, errb.String())
		}
		if !strings.Contains(b.String(), "  files:    "+fmt.Sprint(bucket)+"\n") || strings.Contains(b.String(), s3.SecretKey) {
			t.Errorf("the banner does not name the bucket %v (or shows its secret):\n%s", bucket, b.String())
		}
		stop()
		if code := <-done; code != 0 {
			t.Fatalf("serve on S3 exited %d: %s", code, errb.String())
		}
	})
}

func TestStrayState(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		state      index.StrayState
		incomplete bool
		want       string
	}{
		{index.StrayRemoved, false, "removed"},
		{index.StrayWouldRemove, false, "would remove"},
		{index.StrayRecent, false, "kept: newer than 24h"},
		{index.StrayRemoved, true, "incomplete upload, aborted"},
		{index.StrayWouldRemove, true, "incomplete upload, would abort"},
		{index.StrayRecent, true, "incomplete upload, kept: newer than 24h"},
	} {
		if got := strayState(index.Stray{State: c.state, Incomplete: c.incomplete}, shortDuration(24*time.Hour)); got != c.want {
			t.Errorf("strayState(%v, incomplete %v) = %q, want %q", c.state, c.incomplete, got, c.want)
		}
	}
	for d, want := range map[time.Duration]string{time.Minute: "1m", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 24 * time.Hour: "24h"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
