//go:build !linux

package blob

import "os"

// beneath opens blobs under the store's folder: through os.Root, which
// keeps every name inside the folder (see the Linux version, which does
// the same in one system call).
type beneath struct{}

func openBeneath(string) (*beneath, error) { return &beneath{}, nil }

func (*beneath) open(root *os.Root, name string) (*os.File, error) { return root.Open(name) }

func (*beneath) close() error { return nil }
