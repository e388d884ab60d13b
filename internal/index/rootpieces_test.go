package index

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestRootPatches: after random sequences of creations, removals,
// visibility changes, holds, releases of holds, quarantines and display
// names changed, the list served (patched piece by piece, pieces of a
// few names) is what a full rendering of the database's list is, and so
// are its gzip and zstd bodies decompressed.
func TestRootPatches(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		c := f.svc.cache
		c.rootPieceBytes = 100 // two or three names a piece
		alice := f.user("alice")
		rng := rand.New(rand.NewPCG(20, uint64(len(d))))
		projects := map[string]*store.Project{}
		var names []string
		pick := func() *store.Project {
			if len(names) == 0 {
				return nil
			}
			return projects[names[rng.IntN(len(names))]]
		}
		now := time.Now()
		patched := 0
		for round := range 150 {
			for range 1 + rng.IntN(4) {
				p := pick()
				switch op := rng.IntN(10); {
				case op < 5 || p == nil: // a new project
					n := fmt.Sprintf("p%03d-%d", rng.IntN(1000), round)
					display := n
					if rng.IntN(3) == 0 {
						display = strings.ToUpper(n[:1]) + strings.ReplaceAll(n[1:], "-", "_")
					}
					np := &store.Project{Name: display, NormalizedName: n, UltraName: n, CreatedAt: now}
					if err := f.st.CreateProject(ctx, np); err != nil {
						if store.IsUniqueViolation(err) {
							continue
						}
						t.Fatal(err)
					}
					projects[n], names = np, append(names, n)
					if rng.IntN(5) == 0 {
						r := &store.NameReview{ProjectID: np.ID, Target: "numpy", Kind: "test", Held: rng.IntN(2) == 0,
							UploaderID: alice.User.ID, CreatedAt: now}
						if err := f.st.AddNameReview(ctx, r); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := f.st.AddJournal(ctx, np.ID, n, store.ActionCreateProject, now); err != nil {
						t.Fatal(err)
					}
					c.Invalidate(n, true)
				case op < 6: // removed
					if err := f.st.DeleteProject(ctx, p.ID); err != nil {
						t.Fatal(err)
					}
					delete(projects, p.NormalizedName)
					names = slices.DeleteFunc(names, func(n string) bool { return n == p.NormalizedName })
					c.Invalidate(p.NormalizedName, true)
				case op < 7: // private or public
					vis := store.VisibilityPrivate
					if p.Visibility == vis {
						vis = store.VisibilityPublic
					}
					if err := f.st.SetProjectVisibility(ctx, p.ID, vis); err != nil {
						t.Fatal(err)
					}
					p.Visibility = vis
					c.hide()
					c.Invalidate(p.NormalizedName, true)
				case op < 8: // a hold released (approval)
					if err := f.st.DeleteNameReview(ctx, p.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
						t.Fatal(err)
					}
					c.Invalidate(p.NormalizedName, true)
				case op < 9: // quarantined: still listed
					if err := f.st.SetProjectStatus(ctx, p.ID, store.StatusQuarantined, "test", store.StatusActive, "", now); err != nil {
						t.Fatal(err)
					}
					c.Invalidate(p.NormalizedName, false)
				default: // an upload under another display name
					display := strings.ToUpper(p.NormalizedName)
					if err := f.st.UpdateProjectAfterUpload(ctx, p.ID, display, 1, 0); err != nil {
						t.Fatal(err)
					}
					c.Invalidate(p.NormalizedName, false)
				}
			}
			if round == 40 {
				// Too many changes at once: built whole.
				for i := range maxRootPatch + 1 {
					c.Invalidate(fmt.Sprintf("none-%d", i), true)
				}
			}
			if !c.rootDirty.Load() {
				// A display name changed alone shows from the list's
				// next change on, as in a list built whole.
				continue
			}
			prev := c.root.Load()
			c.rootCost.Store(0)
			page, err := c.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if prev != nil && prev.body != nil && len(page.body.mid) > 4 && page.body.mid[0] == prev.body.mid[0] {
				patched++
			}
			checkRoot(t, f, page)
			for i, p := range page.body.mid {
				// Cut at the target (a whole build), split above twice
				// it, merged below half of it but for the last.
				if len(p.names) == 0 || len(p.html) > 2*c.rootPieceBytes || len(p.html) < c.rootPieceBytes/2 && i < len(page.body.mid)-1 {
					t.Errorf("round %d: piece %d of %d: %d names, %d bytes", round, i, len(page.body.mid), len(p.names), len(p.html))
				}
			}
		}
		if patched < 50 {
			t.Errorf("the list was patched %d times in 150 rounds", patched)
		}
		page, _ := c.Root(ctx)
		if len(page.body.mid) < 10 {
			t.Errorf("the list is in %d pieces; want many", len(page.body.mid))
		}
		checkTools(t, page)
	})
}

// checkRoot compares page with a full rendering of the database's list.
func checkRoot(t *testing.T, f *fixture, page *RootPage) {
	t.Helper()
	ctx := context.Background()
	serial, err := f.st.LastSerial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names, err := f.st.ListProjectNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(names, func(a, b store.ProjectName) int { return strings.Compare(a.Normalized, b.Normalized) })
	anyPrivate, err := f.st.AnyPrivateProject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := renderRootHTML(names, serial)
	if page.Serial != serial || page.Projects != len(names) || page.AnyPrivate != anyPrivate {
		t.Fatalf("list of serial %d, %d projects, any private %v; want %d, %d, %v",
			page.Serial, page.Projects, page.AnyPrivate, serial, len(names), anyPrivate)
	}
	if got := page.HTML.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("HTML:\n%s\nwant\n%s", got, want)
	}
	if got := page.HTML.Len(); got != len(want) {
		t.Fatalf("length %d, want %d", got, len(want))
	}
	zr, err := gzip.NewReader(bytes.NewReader(page.HTML.Gzip.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("gzip body: %v\n%s", err, got)
	}
	zd, _ := zstd.NewReader(nil)
	defer zd.Close()
	if got, err := zd.DecodeAll(page.HTML.Zstd.Bytes(), nil); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("zstd body: %v\n%s", err, got)
	}
	if got := string(page.JSON().Bytes()); got != string(renderRootJSON(names, serial)) {
		t.Fatalf("JSON:\n%s", got)
	}
	for _, e := range []string{page.HTML.ETag, page.HTML.Gzip.ETag, page.HTML.Zstd.ETag} {
		if !strings.HasPrefix(e, `"`) || !strings.HasSuffix(e, `"`) {
			t.Fatalf("entity tag %s", e)
		}
	}
}

// checkTools decompresses page's bodies with gzip, zstd and Python's
// gzip module, which must be installed under CI.
func checkTools(t *testing.T, page *RootPage) {
	want := page.HTML.Bytes()
	for _, c := range []struct {
		coding string
		body   []byte
		cmd    []string
	}{
		{"gzip", page.HTML.Gzip.Bytes(), []string{"gzip", "-dc"}},
		{"zstd", page.HTML.Zstd.Bytes(), []string{"zstd", "-dcq"}},
		{"gzip", page.HTML.Gzip.Bytes(), []string{"python3", "-c", "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"}},
		{"gzip", page.HTML.Gzip.Bytes(), []string{"python3", "-c", "import zlib,sys; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 31))"}},
	} {
		if _, err := exec.LookPath(c.cmd[0]); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed: %v", c.cmd[0], err)
			}
			t.Logf("skipped: %v", err)
			continue
		}
		cmd := exec.Command(c.cmd[0], c.cmd[1:]...)
		cmd.Stdin = bytes.NewReader(c.body)
		got, err := cmd.Output()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%v: %v, %d bytes of %d", c.cmd, err, len(got), len(want))
		}
	}
}

// TestCRC32Combine: the CRC-32 of two pieces joined from theirs is that
// of the whole.
func TestCRC32Combine(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 100, 4096, 100_003} {
		for _, m := range []int{0, 1, 31, 65_536} {
			a, b := make([]byte, n), make([]byte, m)
			for i := range a {
				a[i] = byte(rng.Uint32())
			}
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			want := crc32.ChecksumIEEE(append(slices.Clone(a), b...))
			if got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), len(b)); got != want {
				t.Errorf("%d+%d bytes: %08x, want %08x", n, m, got, want)
			}
		}
	}
}

// TestRootPatchesConcurrent: readers of the list while it is patched
// read whole lists (run with -race), and the last is the database's.
func TestRootPatchesConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, store.SQLite, Config{})
	ctx := context.Background()
	c := f.svc.cache
	c.rootPieceBytes = 100
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				page, err := c.Root(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if b := page.HTML.Bytes(); !bytes.HasSuffix(b, []byte("-->\n")) || len(b) != page.HTML.Len() {
					t.Errorf("a list of %d bytes, cut", len(b))
				}
				page.JSON()
			}
		})
	}
	for i := range 40 {
		n := fmt.Sprintf("c%02d", (i*7)%40)
		if err := f.st.CreateProject(ctx, &store.Project{Name: n, NormalizedName: n, UltraName: n, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		c.Invalidate(n, true)
	}
	close(done)
	wg.Wait()
	c.rootCost.Store(0)
	page, err := c.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkRoot(t, f, page)
}
