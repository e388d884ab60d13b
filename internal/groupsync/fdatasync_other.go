//go:build !linux

package groupsync

import "os"

// fdatasync falls back to a full fsync where the system has no
// fdatasync(2) in Go's syscall package (macOS, the BSDs, Windows).
func fdatasync(f *os.File) error { return f.Sync() }
