package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"cheeseshop/internal/blob"
)

// fillBlobs is the blob store the fill writes through: blob.FS for
// reading, but staged blobs are committed without the per-file and
// per-folder fsyncs of blob.FS (the fill syncs the file system once at
// the end instead). The layout, sha256/ab/cd/<hex>, is blob.FS's, so that
// `cheeseshop serve` reads what the fill wrote. Only the fill, whose
// durability is all-or-nothing anyway, may cut this corner.
type fillBlobs struct {
	*blob.FS
	dir   string
	stage string
}

func newFillBlobs(dir string) (*fillBlobs, error) {
	fs, err := blob.NewFS(dir)
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(filepath.Join(dir, "tmp"), "fill-")
	if err != nil {
		fs.Close()
		return nil, err
	}
	return &fillBlobs{FS: fs, dir: dir, stage: stage}, nil
}

// Close removes the staging folder and closes the store.
func (s *fillBlobs) Close() error {
	os.RemoveAll(s.stage)
	return s.FS.Close()
}

// Stage implements blob.Store.
func (s *fillBlobs) Stage(ctx context.Context) (blob.Staged, error) {
	f, err := os.CreateTemp(s.stage, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("fill blobs: stage: %w", err)
	}
	return &fillStaged{dir: s.dir, f: f}, nil
}

type fillStaged struct {
	dir  string
	f    *os.File
	done bool
}

func (st *fillStaged) Write(p []byte) (int, error) { return st.f.Write(p) }

func (st *fillStaged) ReaderAt() io.ReaderAt { return st.f }

func (st *fillStaged) Commit(ctx context.Context, sha string) error {
	if st.done {
		return errors.New("fill blobs: commit after commit or abort")
	}
	if len(sha) != 64 {
		return fmt.Errorf("fill blobs: invalid digest %q", sha)
	}
	st.done = true
	name := st.f.Name()
	st.f.Close()
	dst := filepath.Join(st.dir, "sha256", sha[0:2], sha[2:4], sha)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		os.Remove(name)
		return fmt.Errorf("fill blobs: %w", err)
	}
	if err := os.Chmod(name, 0o640); err != nil {
		os.Remove(name)
		return fmt.Errorf("fill blobs: %w", err)
	}
	if err := os.Rename(name, dst); err != nil {
		os.Remove(name)
		return fmt.Errorf("fill blobs: %w", err)
	}
	return nil
}

func (st *fillStaged) Abort() error {
	if st.done {
		return nil
	}
	st.done = true
	st.f.Close()
	return os.Remove(st.f.Name())
}

// Put implements blob.Store through Stage, without blob.FS's fsyncs. The
// fill computed the digest itself, so it is not checked again.
func (s *fillBlobs) Put(ctx context.Context, sha string, r io.Reader, size int64) error {
	st, err := s.Stage(ctx)
	if err != nil {
		return err
	}
	defer st.Abort()
	if _, err := io.CopyN(st, r, size); err != nil {
		return fmt.Errorf("fill blobs: put: %w", err)
	}
	return st.Commit(ctx, sha)
}
