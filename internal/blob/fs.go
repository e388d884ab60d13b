package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// rename, which is atomic. Several processes may share the folder.
type FS struct {
	root  *os.Root
	dir   string
	spool *spool
}

// NewFS opens (creating if needed) a blob folder.
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", dir, err)
	}
	sp, err := openSpool(filepath.Join(dir, "tmp"))
	if err != nil {
		root.Close()
		return nil, err
	}
	return &FS{root: root, dir: dir, spool: sp}, nil
}

// String names the folder, for logs and the start-up banner.
func (s *FS) String() string { return s.dir }

// Close removes this process's staging folder and releases the folder.
func (s *FS) Close() error {
	s.spool.close()
	return s.root.Close()
}

// CleanTemp removes the staging folders of processes that died (crashed or
// were killed) with uploads in flight. Live processes hold a lock on their
// folder, so this is safe to run while other servers share the folder.
// It returns how many abandoned folders it removed.
func (s *FS) CleanTemp() (int, error) { return s.spool.cleanTemp() }

// Stage implements Store.
func (s *FS) Stage(ctx context.Context) (Staged, error) {
	f, err := s.spool.create("upload-*")
	if err != nil {
		return nil, err
	}
	return &fsStaged{spoolFile: spoolFile{f: f}, store: s}, nil
}

type fsStaged struct {
	spoolFile
	store *FS
}

func (st *fsStaged) Commit(ctx context.Context, sha string) error {
	if st.done {
		return errors.New("blob: commit after commit or abort")
	}
	if !ValidDigest(sha) {
		st.Abort()
		return fmt.Errorf("blob: invalid digest %q", sha)
	}
	st.done = true
	return st.store.install(st.f, sha)
}

// install syncs, closes and renames the spool file f to the blob sha. The
// rename is atomic; if the blob exists already with the same content
// (content addressing), replacing it is harmless and refreshes its time.
func (s *FS) install(f *os.File, sha string) error {
	name := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: write %s: %w", sha, err)
	}
	dst := Key(sha)
	if err := s.root.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: mkdir: %w", err)
	}
	if err := os.Chmod(name, 0o640); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: chmod: %w", err)
	}
	if err := os.Rename(name, filepath.Join(s.dir, dst)); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: commit %s: %w", sha, err)
	}
	if d, err := os.Open(filepath.Join(s.dir, filepath.Dir(dst))); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Put implements Store: it spools r, checking its digest and length, then
// installs it as Commit does.
func (s *FS) Put(ctx context.Context, sha string, r io.Reader, size int64) error {
	if !ValidDigest(sha) {
		return fmt.Errorf("blob: invalid digest %q", sha)
	}
	f, err := s.spool.create("put-*")
	if err != nil {
		return err
	}
	if err := copyVerified(ctx, f, r, sha, size); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	return s.install(f, sha)
}

// copyVerified copies exactly size bytes from r to w and checks that their
// SHA-256 is sha.
func copyVerified(ctx context.Context, w io.Writer, r io.Reader, sha string, size int64) error {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", sha, err)
	}
	if n != size {
		return fmt.Errorf("blob: put %s: read %d bytes, want %d", sha, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fmt.Errorf("blob: put %s: content has digest %s", sha, got)
	}
	return nil
}

// ctxReader stops reading when its context is done, so that a long copy can
// be cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
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
	if !ValidDigest(sha) {
		return nil, ErrNotFound
	}
	f, err := s.root.Open(Key(sha))
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

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, sha string) (Info, error) {
	if !ValidDigest(sha) {
		return Info{}, ErrNotFound
	}
	fi, err := s.root.Stat(Key(sha))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Info{}, ErrNotFound
		}
		return Info{}, fmt.Errorf("blob: stat %s: %w", sha, err)
	}
	return Info{SHA256: sha, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements Store.
func (s *FS) Delete(ctx context.Context, sha string) error {
	if !ValidDigest(sha) {
		return nil
	}
	err := s.root.Remove(Key(sha))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", sha, err)
	}
	return nil
}

// Walk implements Store.
func (s *FS) Walk(ctx context.Context, fn func(Info) error) error {
	return fs.WalkDir(s.root.FS(), "sha256", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !ValidDigest(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted meanwhile
			}
			return err
		}
		return fn(Info{SHA256: d.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
	})
}

// Probe implements Store: it writes, syncs and removes a small file in this
// process's spool, which is on the blobs' file system.
func (s *FS) Probe(ctx context.Context) error { return s.spool.probe() }
