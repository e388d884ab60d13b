package upstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Breaker fails fast after a failure: for a cooldown after the last
// failure Allow refuses, so that while an upstream is down every request
// does not wait for a timeout of its own (the proxy serves stale pages at
// once). It is safe for concurrent use.
type Breaker struct {
	cooldown time.Duration
	now      func() time.Time

	mu       sync.Mutex
	openTill time.Time
}

// NewBreaker returns a closed breaker; now nil is the wall clock.
func NewBreaker(cooldown time.Duration, now func() time.Time) *Breaker {
	if now == nil {
		now = time.Now
	}
	return &Breaker{cooldown: cooldown, now: now}
}

// Allow returns nil when a call may go ahead, or an error saying until
// when the breaker is open.
func (b *Breaker) Allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now := b.now(); now.Before(b.openTill) {
		return fmt.Errorf("failing fast after a failure, for %s more", b.openTill.Sub(now).Round(time.Second))
	}
	return nil
}

// Failure opens the breaker for the cooldown.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.openTill = b.now().Add(b.cooldown)
}

// Success closes the breaker.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.openTill = time.Time{}
}

// OpenUntil returns when the breaker closes again, zero when it is
// closed.
func (b *Breaker) OpenUntil() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.now().Before(b.openTill) {
		return b.openTill
	}
	return time.Time{}
}

// Flight runs at most one call per key at a time and gives its result to
// every caller that asked meanwhile ("page:<name>", "file:<sha256>"). The
// call runs detached from the callers' contexts (context.WithoutCancel,
// keeping their values) under its own deadline: a client that leaves does
// not abort the fetch the others wait for. The zero value is not usable:
// use NewFlight.
type Flight[T any] struct {
	timeout time.Duration
	group   singleflight.Group
}

// NewFlight returns a Flight whose calls each run for at most timeout.
func NewFlight[T any](timeout time.Duration) *Flight[T] {
	return &Flight[T]{timeout: timeout}
}

// Do runs fn for key unless a call for key is in flight, and returns that
// call's result; shared tells whether other callers got it too. A caller
// whose ctx ends first returns ctx's error while the call goes on.
func (f *Flight[T]) Do(ctx context.Context, key string, fn func(ctx context.Context) (T, error)) (v T, shared bool, err error) {
	ch := f.group.DoChan(key, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
		defer cancel()
		return fn(cctx)
	})
	select {
	case r := <-ch:
		if r.Val != nil {
			v = r.Val.(T)
		}
		return v, r.Shared, r.Err
	case <-ctx.Done():
		return v, false, context.Cause(ctx)
	}
}

// Forget makes the next Do of key start a new call even if one is in
// flight (after an invalidation, say).
func (f *Flight[T]) Forget(key string) { f.group.Forget(key) }
