// Package clocktest gives tests a clock they move by hand: the services
// take a func() time.Time, and a test passes Clock.Now so that expiry,
// rate limits and waiting periods run without waiting.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a time that moves only when told. It is safe for concurrent
// use: a service's background jobs may read it while the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock showing t, in UTC.
func New(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now returns the clock's time; pass it where a service takes its clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d (backwards when d is negative).
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t, in UTC.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t.UTC()
}
