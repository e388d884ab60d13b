// Package ratelimit counts attempts (logins, second factors, emails asked
// for) in the database, so that every server of a deployment enforces the
// same limits.
//
// An attempt reserves its slot before the work it limits (Reserve): the
// attempts already counted are read and the new one added in one
// transaction serialised per key, so that a burst of parallel attempts
// cannot all pass a check made before any of them is counted. An attempt
// that the rule does not count (a right password, a right code) gives its
// slot back afterwards (Reservation.Release). There is deliberately no
// "check" without counting.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"cheeseshop/internal/store"
)

// Rule allows at most Max attempts within Window.
type Rule struct {
	Max    int
	Window time.Duration
}

// Limit is a key (such as "login:user:alice") and the rules its attempts
// must follow.
type Limit struct {
	Key   string
	Rules []Rule
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

// ClientKey is the part of a limit's key that names a client address
// (ip, as in audit.Meta.IP): an IPv4 address as it is, an IPv6 address as
// its /64 network, in canonical form. One subscriber holds a whole /64
// (2^64 addresses), so a per-address limit keyed on the full IPv6 address
// limits nobody: every guess would come from a new address. Text that is
// not an IP address is returned as it is.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	n := ClientNetwork(a)
	if n.Is6() {
		return netip.PrefixFrom(n, 64).String()
	}
	return n.String()
}

// ClientNetwork is the address every per-client count is kept under (rate
// limits, connection and upload caps, downloads counted): an IPv4 address
// itself, an IPv6 address by the first address of its /64, which one
// subscriber usually holds whole. IPv4-mapped addresses count as IPv4.
func ClientNetwork(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// Exceeded is returned when a key is over one of its rules.
type Exceeded struct {
	Key        string
	RetryAfter time.Duration
}

func (e *Exceeded) Error() string {
	return fmt.Sprintf("too many attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// Reservation is an attempt counted by Reserve against each of its keys.
type Reservation struct {
	l   *Limiter
	ids []int64
}

// Reserve counts one attempt against the key of every limit, atomically:
// when any key is already at one of its rules, nothing is counted and
// *Exceeded says how long to wait (the longest wait of the full keys).
// Call it before the work that the limits protect (a password hash, a
// code check, an email), and Release the reservation when the attempt
// turns out not to count. Limits naming the same key count once, under
// all their rules.
func (l *Limiter) Reserve(ctx context.Context, limits ...Limit) (*Reservation, error) {
	merged := make([]Limit, 0, len(limits))
	at := map[string]int{}
	for _, lim := range limits {
		if i, ok := at[lim.Key]; ok {
			merged[i].Rules = append(merged[i].Rules, lim.Rules...)
			continue
		}
		at[lim.Key] = len(merged)
		merged = append(merged, Limit{Key: lim.Key, Rules: append([]Rule(nil), lim.Rules...)})
	}
	keys := make([]string, len(merged))
	for i, lim := range merged {
		keys[i] = lim.Key
	}
	now := l.now()
	r := &Reservation{l: l}
	err := l.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockRateLimitKeys(ctx, keys...); err != nil {
			return err
		}
		var full *Exceeded
		for _, lim := range merged {
			wait, err := waitFor(ctx, tx, lim, now)
			if err != nil {
				return err
			}
			if wait > 0 && (full == nil || wait > full.RetryAfter) {
				full = &Exceeded{Key: lim.Key, RetryAfter: wait}
			}
		}
		if full != nil {
			return full
		}
		for _, k := range keys {
			id, err := tx.AddHit(ctx, k, now)
			if err != nil {
				return err
			}
			r.ids = append(r.ids, id)
		}
		return nil
	})
	if err != nil {
		if _, ok := errors.AsType[*Exceeded](err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("ratelimit: reserve: %w", err)
	}
	return r, nil
}

// Allow counts one attempt against lim's key, as Reserve does, for work
// that is skipped, not refused, when the key is full (an email that must
// not flood a mailbox): it reports false then, and an error only when the
// attempt could not be counted.
func (l *Limiter) Allow(ctx context.Context, lim Limit) (bool, error) {
	_, err := l.Reserve(ctx, lim)
	if _, full := errors.AsType[*Exceeded](err); full {
		return false, nil
	}
	return err == nil, err
}

// waitFor returns how long the key of lim must wait before an attempt
// fits every one of its rules (0: it fits now): the time until the
// attempt that makes a full window full leaves it.
func waitFor(ctx context.Context, tx *store.Tx, lim Limit, now time.Time) (time.Duration, error) {
	var longest time.Duration
	for _, r := range lim.Rules {
		longest = max(longest, r.Window)
	}
	times, err := tx.HitTimes(ctx, lim.Key, now.Add(-longest))
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	for _, r := range lim.Rules {
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
	return wait, nil
}

// Release gives the reservation's slots back: the attempt does not count
// (a right password, a right code). Releasing twice, or a nil
// reservation, does nothing.
func (r *Reservation) Release(ctx context.Context) error {
	if r == nil || len(r.ids) == 0 {
		return nil
	}
	if err := r.l.store.DeleteHits(ctx, r.ids...); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	r.ids = nil
	return nil
}

// Clear forgets every attempt counted against key (after a proof that
// makes them moot, such as a password reset by an emailed link).
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
