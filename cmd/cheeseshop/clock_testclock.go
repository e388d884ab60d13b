//go:build cheeseshop_testclock

package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// clockFileEnv names the file that moves the clock of a test binary.
const clockFileEnv = "CHEESESHOP_TEST_CLOCK_FILE"

// clockRecheck is how often the clock looks at its file at most.
const clockRecheck = 100 * time.Millisecond

// serverClock is the clock serve gives the services (app.Deps.Now) in a
// binary built for the end-to-end tests (go build -tags
// cheeseshop_testclock): the system's time plus the offset written in the
// file that CHEESESHOP_TEST_CLOCK_FILE names, a Go duration such as 169h
// (a missing or empty file is no offset). The file is looked at again at
// most every 100 ms and read when its modification time or size changed,
// so that a test moves a running server's clock by rewriting it (write a
// temporary file and rename it over, so that no half-written one is
// read). Go reads the time from the vDSO, where libfaketime cannot reach,
// hence this. Without the variable it is nil, the system's clock. A
// release binary has none (clock_release.go).
func serverClock(log *slog.Logger) func() time.Time {
	path := os.Getenv(clockFileEnv)
	if path == "" {
		return nil
	}
	log.Info("test clock: the services' clock is moved by a file", "file", path)
	c := &fileClock{path: path, log: log}
	return c.now
}

// fileClock is time.Now plus the offset its file holds.
type fileClock struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	checked time.Time // system time of the last look at the file
	modTime time.Time // the file's, when last read
	size    int64
	offset  time.Duration
}

func (c *fileClock) now() time.Time {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked.IsZero() || now.Sub(c.checked) >= clockRecheck {
		c.checked = now
		c.reload()
	}
	return now.Add(c.offset)
}

// reload reads the offset if the file changed. A file that cannot be read
// or parsed keeps the previous offset, with an error in the log (which
// fails the end-to-end test that wrote it).
func (c *fileClock) reload() {
	fi, err := os.Stat(c.path)
	if os.IsNotExist(err) {
		c.modTime, c.size, c.offset = time.Time{}, 0, 0
		return
	}
	if err != nil {
		c.log.Error("test clock: reading the offset", "file", c.path, "err", err)
		return
	}
	if fi.ModTime().Equal(c.modTime) && fi.Size() == c.size {
		return
	}
	offset, err := readOffset(c.path)
	if err != nil {
		c.log.Error("test clock: reading the offset", "file", c.path, "err", err)
		return
	}
	c.modTime, c.size = fi.ModTime(), fi.Size()
	if offset != c.offset {
		c.log.Info("test clock moved", "offset", offset)
	}
	c.offset = offset
}

// readOffset parses the file's duration; empty means none.
func readOffset(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := string(bytes.TrimSpace(b))
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("the offset must be a Go duration such as 169h: %w", err)
	}
	return d, nil
}
