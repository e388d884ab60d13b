package blobtest

import (
	"os"
	"os/exec"
	"testing"
)

// SmallDisk mounts a tmpfs of the given size (such as "4m") on a new
// folder and returns it, unmounted when tb ends: a real file system that
// fills up, so that tests see the kernel's ENOSPC rather than a fake. It
// needs root (CI runs as root); elsewhere the test is skipped, and under
// CI=true it fails.
func SmallDisk(tb testing.TB, size string) string {
	tb.Helper()
	dir := tb.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := "cannot mount a small tmpfs (needs root): " + err.Error() + ": " + string(out)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
