package blob

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFSOpenStaysInside opens blobs with openat2 and through os.Root (the
// fallback): both read what is inside the folder and refuse symbolic links
// planted in it that lead out.
func TestFSOpenStaysInside(t *testing.T) {
	for _, via := range []string{"openat2", "os.Root"} {
		t.Run(via, func(t *testing.T) {
			ctx := context.Background()
			s := newTestFS(t)
			s.beneath.off.Store(via == "os.Root")

			inside := "inside"
			if err := s.Put(ctx, digest(inside), strings.NewReader(inside), int64(len(inside))); err != nil {
				t.Fatal(err)
			}
			outside := t.TempDir()
			// A blob named by a link to a file outside the folder.
			linked := digest("linked file")
			if err := os.WriteFile(filepath.Join(outside, linked), []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(s.dir, filepath.FromSlash(Key(linked)))
			if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(outside, linked), dst); err != nil {
				t.Fatal(err)
			}
			// A blob whose folder is a link to a folder outside.
			folder := digest("linked folder")
			if err := os.WriteFile(filepath.Join(outside, folder), []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(s.dir, "sha256", folder[:2], folder[2:4])
			if err := os.MkdirAll(filepath.Dir(link), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, link); err != nil {
				t.Fatal(err)
			}

			tests := []struct {
				name string
				sha  string
				want string // "" for a refusal
			}{
				{"inside", digest(inside), inside},
				{"missing", digest("missing"), ""},
				{"link to a file outside", linked, ""},
				{"link to a folder outside", folder, ""},
			}
			for _, tt := range tests {
				o, err := s.Open(ctx, tt.sha)
				if tt.want == "" {
					if err == nil {
						o.Close()
						t.Errorf("%s: opened", tt.name)
					}
					if tt.name == "missing" && !errors.Is(err, ErrNotFound) {
						t.Errorf("%s: %v, want ErrNotFound", tt.name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				b, err := io.ReadAll(o)
				o.Close()
				if err != nil || string(b) != tt.want || o.Size() != int64(len(tt.want)) {
					t.Errorf("%s: read %q (size %d), %v; want %q", tt.name, b, o.Size(), err, tt.want)
				}
			}
			if via == "openat2" && s.beneath.off.Load() {
				t.Log("openat2 is not available here: both runs went through os.Root")
			}
		})
	}
}
