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
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
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
