package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// Resolutions of closed reports: the project was quarantined (by any
// path: index closes them in the quarantine's transaction), or an
// administrator dismissed them.
const (
	ReportQuarantined = "quarantined"
	ReportDismissed   = "dismissed"
)

// Report is a user's report of a project, open until it is closed with a
// resolution (ReportQuarantined or ReportDismissed).
type Report struct {
	ID         int64
	ProjectID  int64
	ReporterID int64
	Kind       string
	Body       string
	CreatedAt  time.Time
	// Read by the queries that join the project and the reporter:
	Project        string // display name
	NormalizedName string
	ProjectStatus  string
	Reporter       string // username
	ReporterSince  time.Time
}

// AddReport stores a new open report and sets its ID.
func (q q) AddReport(ctx context.Context, r *Report) error {
	err := q.db.QueryRowContext(ctx, `INSERT INTO reports (project_id, reporter_id, kind, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.ProjectID, r.ReporterID, r.Kind, r.Body, micros(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("store: add report of project %d: %w", r.ProjectID, err)
	}
	return nil
}

// HasOpenReport reports whether the user has an open report of the
// project.
func (q q) HasOpenReport(ctx context.Context, projectID, reporterID int64) (bool, error) {
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM reports WHERE project_id = $1 AND reporter_id = $2 AND closed_at IS NULL`,
		projectID, reporterID).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: open report of project %d by user %d: %w", projectID, reporterID, err)
	}
	return true, nil
}

// CountTrustedReporters counts the distinct users with an open report of
// the project made since since, whose accounts were created at or before
// createdBy and are not disabled.
func (q q) CountTrustedReporters(ctx context.Context, projectID int64, since, createdBy time.Time) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT r.reporter_id) FROM reports r JOIN users u ON u.id = r.reporter_id
		WHERE r.project_id = $1 AND r.closed_at IS NULL AND r.created_at >= $2 AND u.created_at <= $3 AND NOT u.disabled`,
		projectID, micros(since), micros(createdBy)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count reporters of project %d: %w", projectID, err)
	}
	return n, nil
}

const reportColumns = `r.id, r.project_id, r.reporter_id, r.kind, r.body, r.created_at,
	p.name, p.normalized_name, p.status, u.username, u.created_at`

const reportFrom = ` FROM reports r JOIN projects p ON p.id = r.project_id JOIN users u ON u.id = r.reporter_id`

func scanReport(row scanner) (*Report, error) {
	var r Report
	var created, since int64
	if err := row.Scan(&r.ID, &r.ProjectID, &r.ReporterID, &r.Kind, &r.Body, &created,
		&r.Project, &r.NormalizedName, &r.ProjectStatus, &r.Reporter, &since); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt, r.ReporterSince = fromMicros(created), fromMicros(since)
	return &r, nil
}

// OpenReports returns every open report, by project (the project with
// the oldest open report first), oldest first within a project.
func (q q) OpenReports(ctx context.Context) ([]*Report, error) {
	return queryAll(ctx, q.db, "open reports", scanReport, `SELECT `+reportColumns+reportFrom+`
		WHERE r.closed_at IS NULL
		ORDER BY (SELECT MIN(o.created_at) FROM reports o WHERE o.project_id = r.project_id AND o.closed_at IS NULL), r.project_id, r.created_at, r.id`)
}

// OpenReportsOf returns the open reports of a project, oldest first.
func (q q) OpenReportsOf(ctx context.Context, projectID int64) ([]*Report, error) {
	return queryAll(ctx, q.db, "open reports of a project", scanReport, `SELECT `+reportColumns+reportFrom+`
		WHERE r.project_id = $1 AND r.closed_at IS NULL ORDER BY r.created_at, r.id`, projectID)
}

// CloseReports closes the open reports of a project made at or before
// upTo (zero: all of them), with a resolution, as of at; it returns how
// many it closed.
func (q q) CloseReports(ctx context.Context, projectID int64, upTo time.Time, resolution string, at time.Time) (int, error) {
	bound := int64(math.MaxInt64)
	if !upTo.IsZero() {
		bound = micros(upTo)
	}
	res, err := q.db.ExecContext(ctx, `UPDATE reports SET closed_at = $3, resolution = $4 WHERE project_id = $1 AND closed_at IS NULL AND created_at <= $2`,
		projectID, bound, micros(at), resolution)
	if err != nil {
		return 0, fmt.Errorf("store: close reports of project %d: %w", projectID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: close reports of project %d: %w", projectID, err)
	}
	return int(n), nil
}
