package blob

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// spool is a process's own folder of staged uploads, parent/<random>. Its
// lock file parent/<random>.lock is held (flock) while the process lives,
// so that cleanTemp, run by any process sharing parent, can tell the spools
// of dead processes from live ones.
type spool struct {
	parent string
	dir    string
	lock   *os.File
}

// openSpool creates this process's spool under parent.
func openSpool(parent string) (*spool, error) {
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", parent, err)
	}
	dir, err := os.MkdirTemp(parent, "p")
	if err != nil {
		return nil, fmt.Errorf("blob: create spool: %w", err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("blob: lock spool: %w", err)
	}
	return &spool{parent: parent, dir: dir, lock: lock}, nil
}

// create opens a new spool file.
func (s *spool) create(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(s.dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("blob: stage: %w", err)
	}
	return f, nil
}

// close removes the spool and its lock.
func (s *spool) close() {
	os.RemoveAll(s.dir)
	os.Remove(s.lock.Name())
	s.lock.Close()
}

// cleanTemp removes the spools of processes that died (crashed or were
// killed) with uploads in flight and returns how many it removed.
func (s *spool) cleanTemp() (int, error) {
	locks, err := filepath.Glob(filepath.Join(s.parent, "*.lock"))
	if err != nil {
		return 0, fmt.Errorf("blob: list spools: %w", err)
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
			return n, fmt.Errorf("blob: remove abandoned spool: %w", err)
		}
		os.Remove(l)
		f.Close()
		n++
	}
	return n, nil
}

// probe writes, syncs and removes a small file in the spool, to check that
// uploads can be received now (a full or read-only disk fails it).
func (s *spool) probe() error {
	var b [8]byte
	rand.Read(b[:])
	f, err := s.create("probe-*")
	if err != nil {
		return fmt.Errorf("blob: probe: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: probe: %w", err)
	}
	return nil
}

// spoolFile is a staged upload's file in a spool. Both stores' Staged
// embed it and add their own Commit.
type spoolFile struct {
	f    *os.File
	done bool
}

func (st *spoolFile) Write(p []byte) (int, error) { return st.f.Write(p) }

// ReaderAt gives read access to what was written so far.
func (st *spoolFile) ReaderAt() io.ReaderAt { return st.f }

// Abort closes and removes the file; after Commit or Abort it does nothing.
func (st *spoolFile) Abort() error {
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
