package mandate

import (
	"context"
	"time"

	"cheeseshop/internal/store"
)

// retryAfter is how long the daily job waits after a failed computation.
const retryAfter = 15 * time.Minute

// RunDue makes today's scheduled computation if its time (RunAt) has
// come, unless another server made it already; it returns the result
// (nil when not due) and when the next one is due.
func (s *Service) RunDue(ctx context.Context) (*Result, time.Time, error) {
	now := s.now()
	today := store.DayOf(now)
	at := today.Time().Add(s.cfg.RunAt)
	if now.Before(at) {
		return nil, at, nil
	}
	res, err := s.Compute(ctx, today, ComputeOptions{Trigger: TriggerSchedule})
	if err != nil {
		return nil, now.Add(retryAfter), err
	}
	return res, at.Add(24 * time.Hour), nil
}

// RunDaily starts the download window (StartWindow), then makes the
// scheduled computation every day at RunAt (UTC), and at start when
// today's is due and was not made (the server was down at that time),
// until ctx is done. Several servers may run it: the
// computation's lock lets one make it and the others skip it.
func (s *Service) RunDaily(ctx context.Context) {
	if err := s.StartWindow(ctx); err != nil && ctx.Err() == nil {
		// The computation starts it too (as a full sum): not fatal.
		s.log.ErrorContext(ctx, "download window", "err", err)
	}
	for {
		res, next, err := s.RunDue(ctx)
		switch {
		case ctx.Err() != nil:
			return // shutting down: the work stopped is not a failure
		case err != nil:
			s.log.ErrorContext(ctx, "daily critical computation failed", "err", err, "retry_at", next)
		case res != nil && res.Skipped:
			s.log.InfoContext(ctx, "daily critical computation already made by another server", "as_of", res.AsOf.String())
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
