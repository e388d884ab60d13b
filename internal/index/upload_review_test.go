package index

import (
	"context"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// commitHook is a blob store whose staged blobs run hook before the first
// Commit: an upload commits its file after its first check and before its
// transaction, for an sdist as for a wheel.
type commitHook struct {
	blob.Store
	once sync.Once
	hook func()
}

func (h *commitHook) Stage(ctx context.Context) (blob.Staged, error) {
	st, err := h.Store.Stage(ctx)
	if err != nil {
		return nil, err
	}
	return &hookStaged{Staged: st, h: h}, nil
}

type hookStaged struct {
	blob.Staged
	h *commitHook
}

func (s *hookStaged) Commit(ctx context.Context, sha256 string) error {
	s.h.once.Do(s.h.hook)
	return s.Staged.Commit(ctx, sha256)
}

// TestUploadFileArrivesAfterCheck: the same file (or one with its name)
// lands between an upload's first check and its transaction, which no
// longer reads the files (upload.noFiles): the unique constraints catch
// it, and the upload gets the answer it would have had. The rules that
// check runs after the file probes (one sdist per release, the project's
// size) must not answer in their place: an identical retry still
// succeeds, and other bytes under the name are "File already exists", as
// when the first check sees the file.
func TestUploadFileArrivesAfterCheck(t *testing.T) {
	t.Parallel()
	sdist, wheel := (*fixture).uploadSdist, (*fixture).uploadWheel
	tests := []struct {
		name     string
		limit    bool // the project is full once the upload meanwhile is in
		send     func(f *fixture, p *Principal, d disttest.Dist) (*UploadResult, error)
		meantime disttest.Dist // uploaded meanwhile, by the same user
		refusal  string        // "" when the upload is an identical retry
	}{
		{"same wheel", false, wheel, disttest.Dist{Name: "late", Version: "1.0"}, ""},
		{"other wheel bytes", false, wheel, disttest.Dist{Name: "late", Version: "1.0", Summary: "the other one"}, "File already exists"},
		{"same sdist", false, sdist, disttest.Dist{Name: "late", Version: "1.0"}, ""},
		{"other sdist bytes", false, sdist, disttest.Dist{Name: "late", Version: "1.0", Summary: "the other one"}, "File already exists"},
		{"same wheel at the size limit", true, wheel, disttest.Dist{Name: "late", Version: "1.0"}, ""},
	}
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, dialect, Config{})
				alice := f.user("alice")
				f.mustWheel(alice, disttest.Dist{Name: "late", Version: "0.9"})
				blobs := f.svc.blobs
				f.svc.blobs = &commitHook{Store: blobs, hook: func() {
					f.svc.blobs = blobs
					if _, err := tt.send(f, alice, tt.meantime); err != nil {
						t.Errorf("the upload meanwhile: %v", err)
					}
					if tt.limit {
						f.svc.cfg.MaxProjectSize = f.project("late").TotalSize
					}
				}}
				res, err := tt.send(f, alice, disttest.Dist{Name: "late", Version: "1.0"})
				switch {
				case tt.refusal != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.refusal)):
					t.Fatalf("got %+v, %v; want the refusal %q", res, err, tt.refusal)
				case tt.refusal == "" && (err != nil || !res.Existing):
					t.Fatalf("got %+v, %v; want an identical retry", res, err)
				}
				view, err := f.svc.LoadProject(context.Background(), "late")
				if err != nil {
					t.Fatal(err)
				}
				if len(view.Files) != 2 {
					t.Fatalf("files = %d, want 2 (0.9's wheel and the file that arrived meanwhile)", len(view.Files))
				}
			})
		}
	})
}
