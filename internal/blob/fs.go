package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// FS is a Store in a local folder. Blobs live at sha256/ab/cd/<hex>; staged
// uploads live in tmp/ on the same file system, so that committing is a
// rename, which is atomic.
type FS struct {
	root *os.Root
	dir  string
	// stage is this process's own staging folder, tmp/<random>; its lock
	// file tmp/<random>.lock is held (flock) while the process lives, so
	// that CleanTemp can tell abandoned staging folders from live ones.
	stage string
	lock  *os.File
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
	stage, err := os.MkdirTemp(filepath.Join(dir, "tmp"), "p")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("blob: create staging folder: %w", err)
	}
	lock, err := os.OpenFile(stage+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		root.Close()
		os.RemoveAll(stage)
		return nil, fmt.Errorf("blob: lock staging folder: %w", err)
	}
	return &FS{root: root, dir: dir, stage: stage, lock: lock}, nil
}

// Close removes this process's staging folder and releases the folder.
func (s *FS) Close() error {
	os.RemoveAll(s.stage)
	os.Remove(s.lock.Name())
	s.lock.Close()
	return s.root.Close()
}

// CleanTemp removes the staging folders of processes that died (crashed or
// were killed) with uploads in flight. Live processes hold a lock on their
// folder, so this is safe to run while other servers share the folder.
// It returns how many abandoned folders it removed.
func (s *FS) CleanTemp() (int, error) {
	tmp := filepath.Join(s.dir, "tmp")
	locks, err := filepath.Glob(filepath.Join(tmp, "*.lock"))
	if err != nil {
		return 0, fmt.Errorf("blob: list staging folders: %w", err)
	}
	n := 0
	for _, l := range locks {
		if l == s.lock.Name() {
			continue
		}
		f, err := os.OpenFile(l, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // held by a live process
			continue
		}
		if err := os.RemoveAll(strings.TrimSuffix(l, ".lock")); err != nil {
			f.Close()
			return n, fmt.Errorf("blob: remove abandoned staging folder: %w", err)
		}
		os.Remove(l)
		f.Close()
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
	f, err := os.CreateTemp(s.stage, "upload-*")
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

func (o *fsObject) Size() int64 { return o.size }

// OSFile exposes the file, so that servers can send it with sendfile(2).
func (o *fsObject) OSFile() *os.File   { return o.File }
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

// Walk calls fn for every committed blob with its digest and write time,
// until fn returns an error.
func (s *FS) Walk(ctx context.Context, fn func(sha256 string, modTime time.Time) error) error {
	return fs.WalkDir(s.root.FS(), "sha256", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !validDigest(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted meanwhile
			}
			return err
		}
		return fn(d.Name(), info.ModTime())
	})
}
