//go:build cheeseshop_testclock

package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerClock moves the test clock by rewriting its file: no file is
// no offset, a new offset is seen within the recheck interval, a file
// that does not parse keeps the last offset and logs an error, and
// without the variable the clock is the system's.
func TestServerClock(t *testing.T) {
	t.Setenv(clockFileEnv, "")
	if serverClock(slog.New(slog.DiscardHandler)) != nil {
		t.Fatal("serverClock without " + clockFileEnv + " is not nil")
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "offset")
	t.Setenv(clockFileEnv, file)
	var log bytes.Buffer
	now := serverClock(slog.New(slog.NewTextHandler(&log, nil)))
	if now == nil {
		t.Fatal("serverClock with " + clockFileEnv + " is nil")
	}
	// offsetIs waits until the clock is want ahead of the system's (within
	// a second), at most a few recheck intervals.
	offsetIs := func(want time.Duration) {
		t.Helper()
		deadline := time.Now().Add(10 * clockRecheck)
		for {
			got := now().Sub(time.Now())
			if got > want-time.Second && got < want+time.Second {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the clock is %s ahead, want %s", got, want)
			}
			time.Sleep(clockRecheck / 4)
		}
	}
	write := func(s string) {
		t.Helper()
		tmp := filepath.Join(dir, "offset.tmp")
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}

	offsetIs(0)
	write("169h\n")
	offsetIs(169 * time.Hour)
	write("-2h30m")
	offsetIs(-150 * time.Minute)
	write("7 days")
	for deadline := time.Now().Add(10 * clockRecheck); !strings.Contains(log.String(), "level=ERROR"); time.Sleep(clockRecheck / 4) {
		if now(); time.Now().After(deadline) {
			t.Fatalf("an unreadable offset logged no error:\n%s", log.String())
		}
	}
	offsetIs(-150 * time.Minute)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	offsetIs(0)
}
