// Package stats publishes the index's two-factor adoption figures: live
// (computed from the database, cached for a short time so that the public
// page and /metrics cannot hammer it) and as a daily history of snapshots
// kept forever. No HTTP.
package stats

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"cheeseshop/internal/store"
)

// Figures are the public figures (see store.TwoFactorFigures for what
// each counts; disabled accounts count nowhere).
type Figures = store.TwoFactorFigures

// Snapshot is the figures of one UTC day.
type Snapshot = store.StatsSnapshot

// DefaultTTL is how long live figures are reused.
const DefaultTTL = 30 * time.Second

// Service computes, caches and records the figures.
type Service struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	ttl   time.Duration

	mu       sync.Mutex // held while the figures are refreshed
	cached   Figures
	cachedAt time.Time // zero: nothing cached
}

// New returns the service over st. now is the clock (nil: the wall
// clock); ttl is how long live figures are reused (0: DefaultTTL, < 0:
// never).
func New(st *store.Store, log *slog.Logger, now func() time.Time, ttl time.Duration) *Service {
	if now == nil {
		now = time.Now
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, log: log, now: func() time.Time { return now().UTC() }, ttl: ttl}
}

// Live returns the current figures and when they were computed: at most
// the cache lifetime ago.
func (s *Service) Live(ctx context.Context) (Figures, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.cachedAt.IsZero() && s.ttl > 0 && now.Sub(s.cachedAt) < s.ttl && !now.Before(s.cachedAt) {
		return s.cached, s.cachedAt, nil
	}
	f, err := s.store.TwoFactorFigures(ctx)
	if err != nil {
		return f, now, fmt.Errorf("stats: %w", err)
	}
	s.cached, s.cachedAt = f, now
	return f, now, nil
}

// Snapshot computes the figures afresh and records them as those of day,
// replacing an earlier snapshot of the same day (so it may run any
// number of times, on any number of servers).
func (s *Service) Snapshot(ctx context.Context, day store.Day) (Snapshot, error) {
	f, err := s.store.TwoFactorFigures(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("stats: %w", err)
	}
	now := s.now()
	snap := Snapshot{Day: day, Figures: f, TakenAt: now}
	if err := s.store.PutSnapshot(ctx, snap); err != nil {
		return Snapshot{}, fmt.Errorf("stats: %w", err)
	}
	s.mu.Lock()
	s.cached, s.cachedAt = f, now
	s.mu.Unlock()
	return snap, nil
}

// History returns every snapshot, oldest first.
func (s *Service) History(ctx context.Context) ([]Snapshot, error) {
	h, err := s.store.Snapshots(ctx, math.MinInt32, math.MaxInt32)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return h, nil
}

// RunDaily takes a snapshot of today now and then just after each UTC
// midnight, until ctx ends. A failed snapshot is retried a minute later.
func (s *Service) RunDaily(ctx context.Context) {
	for {
		wait := time.Until(nextMidnight(s.now())) + time.Second
		if _, err := s.Snapshot(ctx, store.DayOf(s.now())); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.ErrorContext(ctx, "daily 2FA statistics snapshot failed", "err", err)
			wait = min(wait, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nextMidnight returns the start of the UTC day after t.
func nextMidnight(t time.Time) time.Time {
	return (store.DayOf(t) + 1).Time()
}
