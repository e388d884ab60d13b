// Package ratelimit counts failed attempts (logins, second factors) in the
// database, so that every server of a deployment enforces the same limits.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"cheeseshop/internal/store"
)

// Rule allows at most Max attempts within Window.
type Rule struct {
	Max    int
	Window time.Duration
}

// Limiter counts attempts per key against rules.
type Limiter struct {
	store *store.Store
	now   func() time.Time
}

// New returns a Limiter. now may be nil (the wall clock).
func New(st *store.Store, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: st, now: now}
}

// Exceeded is returned when a key is over one of its rules.
type Exceeded struct {
	Key        string
	RetryAfter time.Duration
}

func (e *Exceeded) Error() string {
	return fmt.Sprintf("too many attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// Check returns *Exceeded when key is at or over any rule, with the time
// until the oldest counted attempt leaves the window that is full.
func (l *Limiter) Check(ctx context.Context, key string, rules ...Rule) error {
	var longest time.Duration
	for _, r := range rules {
		longest = max(longest, r.Window)
	}
	now := l.now()
	times, err := l.store.HitTimes(ctx, key, now.Add(-longest))
	if err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	var wait time.Duration
	for _, r := range rules {
		start := now.Add(-r.Window)
		// times is sorted: keep those inside this rule's window.
		in := times
		for len(in) > 0 && !in[0].After(start) {
			in = in[1:]
		}
		if len(in) >= r.Max {
			// The window frees a slot when in[len(in)-r.Max] leaves it.
			w := in[len(in)-r.Max].Add(r.Window).Sub(now)
			wait = max(wait, w, time.Second)
		}
	}
	if wait > 0 {
		return &Exceeded{Key: key, RetryAfter: wait}
	}
	return nil
}

// Hit counts one attempt against each key.
func (l *Limiter) Hit(ctx context.Context, keys ...string) error {
	now := l.now()
	for _, k := range keys {
		if err := l.store.AddHit(ctx, k, now); err != nil {
			return fmt.Errorf("ratelimit: %w", err)
		}
	}
	return nil
}

// Clear forgets the attempts against key.
func (l *Limiter) Clear(ctx context.Context, key string) error {
	if err := l.store.ClearHits(ctx, key); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}

// Prune forgets attempts older than keep; call it now and then.
func (l *Limiter) Prune(ctx context.Context, keep time.Duration) error {
	if _, err := l.store.PruneHits(ctx, l.now().Add(-keep)); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}
