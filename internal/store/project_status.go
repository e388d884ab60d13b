package store

import (
	"context"
	"fmt"
	"time"
)

// The statuses of a project (PEP 792).
const (
	// StatusActive is the default: uploads accepted, files served.
	StatusActive = "active"
	// StatusArchived: no new uploads; the files are still served.
	StatusArchived = "archived"
	// StatusDeprecated: as active; installers may warn.
	StatusDeprecated = "deprecated"
	// StatusQuarantined: no uploads, no changes, no file served; set and
	// lifted by administrators only.
	StatusQuarantined = "quarantined"
)

// SetProjectStatus sets a project's status and its reason, and the
// status a quarantine replaced (prior, priorReason: "" when the project
// is not quarantined), as of at.
func (q q) SetProjectStatus(ctx context.Context, id int64, status, reason, prior, priorReason string, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE projects SET status = $2, status_reason = $3, prior_status = $4, prior_status_reason = $5, status_changed_at = $6 WHERE id = $1`,
		id, status, reason, prior, priorReason, micros(at))
	if err != nil {
		return fmt.Errorf("store: set status of project %d: %w", id, err)
	}
	return nil
}

// ProjectsWithStatus returns the projects of a status other than active,
// the most recently changed first. (The condition on active lets the
// database use projects_status_idx, which leaves active projects out.)
func (q q) ProjectsWithStatus(ctx context.Context, status string) ([]*Project, error) {
	return queryAll(ctx, q.db, "projects "+status, scanProject,
		`SELECT `+projectColumns+` FROM projects WHERE status = $1 AND status <> 'active' ORDER BY status_changed_at DESC, id`, status)
}
