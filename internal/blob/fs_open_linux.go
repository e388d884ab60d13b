//go:build linux

package blob

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// beneath opens blobs under the store's folder in one openat2(2) call.
// os.Root walks a name one folder at a time (sha256, ab, cd: three
// openat and close calls before the file's own), which a 1 MiB download
// paid on every request.
//
// The walk is what keeps a name inside the folder, and openat2 keeps that
// guarantee: RESOLVE_BENEATH makes the kernel refuse any resolution that
// leaves the folder (a "..", an absolute path, or a symbolic link planted
// inside the folder that points out of it) and RESOLVE_NO_MAGICLINKS
// refuses /proc-style links, as os.Root does. The names opened are Keys of
// digests that ValidDigest accepted besides (64 lowercase hex digits), so
// they hold no ".." and no absolute path of their own.
type beneath struct {
	dir *os.File
	fd  int
	// off is set when the kernel has no openat2 (before Linux 5.6) or a
	// sandbox refuses it: opens then go through os.Root.
	off atomic.Bool
}

// openBeneath opens the folder dir for beneath's opens.
func openBeneath(dir string) (*beneath, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", dir, err)
	}
	return &beneath{dir: d, fd: int(d.Fd())}, nil
}

// open opens name, a Key, for reading; through root when openat2 is
// not available.
func (b *beneath) open(root *os.Root, name string) (*os.File, error) {
	if !b.off.Load() {
		how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
		for {
			fd, err := unix.Openat2(b.fd, name, &how)
			switch {
			case err == nil:
				return os.NewFile(uintptr(fd), name), nil
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
				b.off.Store(true)
			default:
				return nil, &os.PathError{Op: "openat2", Path: name, Err: err}
			}
			break
		}
	}
	return root.Open(name)
}

// close releases the folder.
func (b *beneath) close() error { return b.dir.Close() }
