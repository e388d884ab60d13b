package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FS is a Store in a local folder. Blobs live at sha256/ab/cd/<hex>; staged
// uploads live in tmp/ on the same file system, so that committing is a
// rename, which is atomic.
type FS struct {
	root *os.Root
	dir  string
}

// NewFS opens (creating if needed) a blob folder.
func NewFS(dir string) (*FS, error) {
	for _, d := range []string{dir, filepath.Join(dir, "tmp"), filepath.Join(dir, "sha256")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: create %s: %w", d, err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", dir, err)
	}
	return &FS{root: root, dir: dir}, nil
}

// Close releases the folder handle.
func (s *FS) Close() error { return s.root.Close() }

// CleanTemp removes staged files left behind by a crashed process. It must
// only be called when no upload is in flight (at start-up).
func (s *FS) CleanTemp() (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "tmp"))
	if err != nil {
		return 0, fmt.Errorf("blob: list tmp: %w", err)
	}
	n := 0
	for _, e := range entries {
		if err := s.root.Remove(filepath.Join("tmp", e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("blob: remove stale %s: %w", e.Name(), err)
		}
		n++
	}
	return n, nil
}

func validDigest(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func blobPath(sha string) string {
	return filepath.Join("sha256", sha[0:2], sha[2:4], sha)
}

// Stage implements Store.
func (s *FS) Stage(ctx context.Context) (Staged, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "upload-*")
	if err != nil {
		return nil, fmt.Errorf("blob: stage: %w", err)
	}
	return &fsStaged{store: s, f: f}, nil
}

type fsStaged struct {
	store *FS
	f     *os.File
	done  bool
}

func (st *fsStaged) Write(p []byte) (int, error) { return st.f.Write(p) }

func (st *fsStaged) ReaderAt() io.ReaderAt { return st.f }

func (st *fsStaged) Commit(ctx context.Context, sha string) error {
	if st.done {
		return errors.New("blob: commit after commit or abort")
	}
	if !validDigest(sha) {
		return fmt.Errorf("blob: invalid digest %q", sha)
	}
	if err := st.f.Sync(); err != nil {
		st.Abort()
		return fmt.Errorf("blob: sync: %w", err)
	}
	name := st.f.Name()
	if err := st.f.Close(); err != nil {
		st.Abort()
		return fmt.Errorf("blob: close: %w", err)
	}
	st.done = true
	dst := blobPath(sha)
	if err := st.store.root.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: mkdir: %w", err)
	}
	if err := os.Chmod(name, 0o640); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: chmod: %w", err)
	}
	// Rename is atomic; if the blob already exists with the same content
	// (content addressing), replacing it is harmless.
	if err := os.Rename(name, filepath.Join(st.store.dir, dst)); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: commit: %w", err)
	}
	if d, err := os.Open(filepath.Join(st.store.dir, filepath.Dir(dst))); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (st *fsStaged) Abort() error {
	if st.done {
		return nil
	}
	st.done = true
	name := st.f.Name()
	st.f.Close()
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: abort: %w", err)
	}
	return nil
}

type fsObject struct {
	*os.File
	size    int64
	modTime time.Time
}

func (o *fsObject) Size() int64        { return o.size }
func (o *fsObject) ModTime() time.Time { return o.modTime }

// Open implements Store.
func (s *FS) Open(ctx context.Context, sha string) (Object, error) {
	if !validDigest(sha) {
		return nil, ErrNotFound
	}
	f, err := s.root.Open(blobPath(sha))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blob: open %s: %w", sha, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: stat %s: %w", sha, err)
	}
	return &fsObject{File: f, size: fi.Size(), modTime: fi.ModTime()}, nil
}

// Exists implements Store.
func (s *FS) Exists(ctx context.Context, sha string) (bool, error) {
	if !validDigest(sha) {
		return false, nil
	}
	_, err := s.root.Stat(blobPath(sha))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("blob: stat %s: %w", sha, err)
}

// Delete implements Store.
func (s *FS) Delete(ctx context.Context, sha string) error {
	if !validDigest(sha) {
		return nil
	}
	err := s.root.Remove(blobPath(sha))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", sha, err)
	}
	return nil
}
