package account

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// rateLimitMemory is how long failed attempts are kept: the longest
// window of any rate limit (a day, for second factors).
const rateLimitMemory = 24 * time.Hour

// Sweep removes what has expired: sessions past their absolute end or
// idle for longer than the idle timeout, failed attempts older than
// every rate-limit window, and known devices not seen for
// KnownDeviceTTL. Any server may run it; running it twice is
// harmless.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	n, err := s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.IdleTimeout))
	if err != nil {
		return fmt.Errorf("account: sweep: %w", err)
	}
	if err := s.limiter.Prune(ctx, rateLimitMemory); err != nil {
		return fmt.Errorf("account: sweep: %w", err)
	}
	// Passkey sign-ins begun and never answered.
	if _, err := s.store.DeleteExpiredPasskeyChallenges(ctx, now); err != nil {
		return fmt.Errorf("account: sweep: %w", err)
	}
	// Browsers not seen for over a year (their device cookie expired).
	if _, err := s.store.DeleteStaleKnownDevices(ctx, now.Add(-KnownDeviceTTL)); err != nil {
		return fmt.Errorf("account: sweep: %w", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "expired sessions removed", "sessions", n)
	}
	return nil
}

// SweepEvery runs Sweep every interval until ctx ends, logging failures.
func (s *Service) SweepEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "sweep", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
