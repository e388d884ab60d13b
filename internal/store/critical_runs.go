package store

import (
	"context"
	"fmt"
	"time"
)

// CriticalRun records one computation of the critical projects.
type CriticalRun struct {
	ID int64
	// AsOf is the day of the computation; the window is [First, Last].
	AsOf, First, Last Day
	// Projects is the number of projects, TopN the size of the top, Cutoff
	// the downloads of the TopN-th project, Qualified how many projects
	// reached it, Newly how many became critical.
	Projects, TopN, Cutoff, Qualified, Newly int64
	// Trigger is "schedule" or "admin".
	Trigger               string
	StartedAt, FinishedAt time.Time
}

const criticalRunColumns = `id, as_of_day, first_day, last_day, projects, top_n, cutoff, qualified, newly, trigger_name, started_at, finished_at`

func scanCriticalRun(row interface{ Scan(...any) error }) (*CriticalRun, error) {
	var r CriticalRun
	var started, finished int64
	if err := row.Scan(&r.ID, &r.AsOf, &r.First, &r.Last, &r.Projects, &r.TopN, &r.Cutoff, &r.Qualified, &r.Newly,
		&r.Trigger, &started, &finished); err != nil {
		return nil, notFound(err)
	}
	r.StartedAt, r.FinishedAt = fromMicros(started), fromMicros(finished)
	return &r, nil
}

// AddCriticalRun records a computation.
func (q q) AddCriticalRun(ctx context.Context, r *CriticalRun) error {
	id, err := q.insertID(ctx, `INSERT INTO critical_runs (as_of_day, first_day, last_day, projects, top_n, cutoff, qualified, newly,
		trigger_name, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		int64(r.AsOf), int64(r.First), int64(r.Last), r.Projects, r.TopN, r.Cutoff, r.Qualified, r.Newly, r.Trigger,
		micros(r.StartedAt), micros(r.FinishedAt))
	if err != nil {
		return fmt.Errorf("store: record critical run: %w", err)
	}
	r.ID = id
	return nil
}

// CriticalRunOn returns the latest computation made as of day.
func (q q) CriticalRunOn(ctx context.Context, day Day) (*CriticalRun, error) {
	r, err := scanCriticalRun(q.db.QueryRowContext(ctx, `SELECT `+criticalRunColumns+` FROM critical_runs
		WHERE as_of_day = $1 ORDER BY id DESC LIMIT 1`, int64(day)))
	if err != nil && err != ErrNotFound {
		err = fmt.Errorf("store: critical run: %w", err)
	}
	return r, err
}

// LastCriticalRun returns the latest computation.
func (q q) LastCriticalRun(ctx context.Context) (*CriticalRun, error) {
	r, err := scanCriticalRun(q.db.QueryRowContext(ctx, `SELECT `+criticalRunColumns+` FROM critical_runs ORDER BY id DESC LIMIT 1`))
	if err != nil && err != ErrNotFound {
		err = fmt.Errorf("store: last critical run: %w", err)
	}
	return r, err
}
