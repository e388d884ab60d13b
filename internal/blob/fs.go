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
	"sync"
	"time"

	"cheeseshop/internal/groupsync"
)

// FS is a Store in a local folder. Blobs live at sha256/ab/cd/<hex>; staged
// uploads live in tmp/ on the same file system, so that committing is a
// rename, which is atomic. Several processes may share the folder.
//
// A commit is durable when it returns: the file's content is synced before
// the rename (so that a crash never leaves a partial file under a blob's
// name), and the folders whose entries changed after it. The folder syncs
// of concurrent commits are grouped (package groupsync).
type FS struct {
	root *os.Root
	// beneath opens the blobs that downloads read (Open).
	beneath *beneath
	dir     string
	spool   *spool
	dirs    *groupsync.Group
	// top is the folder sha256/. durable holds the folders under it
	// (sha256/ab, sha256/ab/cd) whose entries in their parents this
	// process has synced: a commit into one of them syncs only the blob's
	// folder.
	top     string
	durable sync.Map
}

// NewFS opens (creating if needed) a blob folder.
func NewFS(dir string) (*FS, error) {
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	if err := groupsync.File(dir); err != nil { // its entry sha256
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", dir, err)
	}
	bn, err := openBeneath(dir)
	if err != nil {
		root.Close()
		return nil, err
	}
	sp, err := openSpool(filepath.Join(dir, "tmp"))
	if err != nil {
		bn.close()
		root.Close()
		return nil, err
	}
	return &FS{root: root, beneath: bn, dir: dir, spool: sp, dirs: groupsync.New(groupsync.File),
		top: filepath.Join(dir, "sha256")}, nil
}

// String names the folder, for logs and the start-up banner.
func (s *FS) String() string { return s.dir }

// Close removes this process's staging folder and releases the folder.
func (s *FS) Close() error {
	s.dirs.Close()
	s.spool.close()
	return errors.Join(s.beneath.close(), s.root.Close())
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
	return st.store.install(ctx, st.f, sha)
}

// install syncs, closes and renames the spool file f to the blob sha, then
// syncs the folders the rename changed. The spool file is written once and
// becomes the blob: its sync before the rename is the blob's. The rename
// is atomic; if the blob exists already with the same content (content
// addressing), replacing it is harmless and refreshes its time. When the
// folder sync fails, the blob may be visible but not durable: install
// returns the error, and no record may name the blob.
func (s *FS) install(ctx context.Context, f *os.File, sha string) error {
	name := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: write %s: %w", sha, err)
	}
	if err := os.Chmod(name, 0o640); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: chmod: %w", err)
	}
	dst := filepath.Join(s.dir, filepath.FromSlash(Key(sha)))
	folder := filepath.Dir(dst)
	err = os.Rename(name, dst)
	if errors.Is(err, fs.ErrNotExist) {
		// The blob's folder is new (the rename is tried first: in a
		// filled store the folders exist).
		if err = os.MkdirAll(folder, 0o750); err == nil {
			err = os.Rename(name, dst)
		}
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: commit %s: %w", sha, err)
	}
	// The rename changed the blob's folder. Until this process has synced
	// the folder's parent, the folder's own entry may not be durable
	// either (it may be new, made by this commit or a concurrent one), and
	// so on up to sha256/, whose entry NewFS synced.
	changed := []string{folder}
	for d := folder; d != s.top && d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, ok := s.durable.Load(d); ok {
			break
		}
		changed = append(changed, filepath.Dir(d))
	}
	// The blob is in place: from here on, the commit fails only if the
	// sync does, never because ctx ended.
	if err := s.dirs.Sync(context.WithoutCancel(ctx), changed...); err != nil {
		return fmt.Errorf("blob: commit %s: %w", sha, err)
	}
	for _, d := range changed[:len(changed)-1] {
		s.durable.Store(d, struct{}{})
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
	return s.install(ctx, f, sha)
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
	f, err := s.beneath.open(s.root, Key(sha))
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
