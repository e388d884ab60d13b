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

// TestUploadFileArrivesBeforeLaterRules: the same file (or one with its
// name) lands between an upload's first check and its transaction, which
// no longer reads the files (upload.noFiles). The rules that check runs
// after the file probes (one sdist per release, the project's size) must
// not answer in their place: an identical retry still succeeds, and other
// bytes under the name are "File already exists", as when the first check
// sees the file.
func TestUploadFileArrivesBeforeLaterRules(t *testing.T) {
	t.Parallel()
	sdist := func(f *fixture, p *Principal, d disttest.Dist) error {
		_, err := f.uploadSdist(p, d)
		return err
	}
	wheel := func(f *fixture, p *Principal, d disttest.Dist) error {
		_, err := f.uploadWheel(p, d)
		return err
	}
	tests := []struct {
		name     string
		limit    bool // the project is full once the upload meanwhile is in
		send     func(f *fixture, p *Principal, d disttest.Dist) error
		meantime disttest.Dist
		refusal  string // "" when the upload is an identical retry
	}{
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
					if err := tt.send(f, alice, tt.meantime); err != nil {
						t.Errorf("the upload meanwhile: %v", err)
					}
					if tt.limit {
						f.svc.cfg.MaxProjectSize = f.project("late").TotalSize
					}
				}}
				err := tt.send(f, alice, disttest.Dist{Name: "late", Version: "1.0"})
				switch {
				case tt.refusal != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.refusal)):
					t.Fatalf("got %v; want the refusal %q", err, tt.refusal)
				case tt.refusal == "" && err != nil:
					t.Fatalf("got %v; want an identical retry", err)
				}
			})
		}
	})
}
