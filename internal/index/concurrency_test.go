package index

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestConcurrentUploadsOfOneFilename sends 32 uploads of the same new
// filename at once, each with different bytes: exactly one is stored, and
// every other request gets a clean "File already exists" refusal.
func TestConcurrentUploadsOfOneFilename(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		alice := f.user("alice")
		const n = 32
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			created  int
			refusals []string
			failures []error
		)
		for i := range n {
			d := disttest.Dist{Name: "racy", Version: "1.0", Summary: fmt.Sprintf("variant %d", i)}
			wg.Go(func() {
				res, err := f.uploadWheel(alice, d)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && !res.Existing:
					created++
				case err != nil && problem.KindOf(err) == problem.Invalid:
					refusals = append(refusals, err.Error())
				default:
					failures = append(failures, fmt.Errorf("res=%+v err=%v", res, err))
				}
			})
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("%d uploads failed uncleanly, first: %v", len(failures), failures[0])
		}
		if created != 1 || len(refusals) != n-1 {
			t.Fatalf("created %d, refused %d; want 1 and %d", created, len(refusals), n-1)
		}
		for _, r := range refusals {
			if !strings.HasPrefix(r, "File already exists") {
				t.Fatalf("refusal %q does not start with 'File already exists'", r)
			}
		}
		view, err := f.svc.LoadProject(context.Background(), "racy")
		if err != nil {
			t.Fatal(err)
		}
		if len(view.Files) != 1 {
			t.Fatalf("files stored = %d, want 1", len(view.Files))
		}
		// The stored row's blob exists, and no staged upload is left.
		if ok, _ := blob.Exists(context.Background(), f.svc.blobs, view.Files[0].SHA256); !ok {
			t.Fatal("the stored file has no blob")
		}
		staged, _ := filepath.Glob(filepath.Join(f.dir, "files", "tmp", "p*", "*"))
		if len(staged) != 0 {
			t.Fatalf("staged uploads left behind: %v", staged)
		}
	})
}

// TestConcurrentIdenticalUploads: 32 retries of the same file at once all
// succeed, and one file is stored.
func TestConcurrentIdenticalUploads(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		f := newFixture(t, dialect, Config{})
		alice := f.user("alice")
		d := disttest.Dist{Name: "same", Version: "1.0"}
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for range 32 {
			wg.Go(func() {
				if _, err := f.uploadWheel(alice, d); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("identical concurrent upload refused: %v", err)
		}
		view, err := f.svc.LoadProject(context.Background(), "same")
		if err != nil {
			t.Fatal(err)
		}
		if len(view.Files) != 1 {
			t.Fatalf("files = %d, want 1", len(view.Files))
		}
	})
}
