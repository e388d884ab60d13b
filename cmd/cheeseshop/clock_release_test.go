//go:build !cheeseshop_testclock

package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestReleaseHasNoTestClock: a binary built without the test tag keeps
// the system's clock even when the variable of the test clock names a
// file that moves it.
func TestReleaseHasNoTestClock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "offset")
	if err := os.WriteFile(file, []byte("169h"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHEESESHOP_TEST_CLOCK_FILE", file)
	if serverClock(slog.New(slog.DiscardHandler)) != nil {
		t.Fatal("serverClock is not nil without -tags cheeseshop_testclock: a release binary's clock could be moved")
	}
}
