//go:build !cheeseshop_testclock

package main

import (
	"log/slog"
	"time"
)

// serverClock is the clock serve gives the services (app.Deps.Now): nil,
// the system's. Only a binary built for the end-to-end tests (-tags
// cheeseshop_testclock, clock_testclock.go) has one a test can move; a
// release binary cannot be made to believe it is another day.
func serverClock(*slog.Logger) func() time.Time { return nil }
