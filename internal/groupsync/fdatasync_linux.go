package groupsync

import (
	"os"
	"syscall"
)

// fdatasync syncs f's content and the metadata needed to read it back,
// skipping its timestamps.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
