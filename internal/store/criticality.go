package store

import (
	"context"
	"fmt"
	"time"
)

// NewlyCritical returns the projects with at least cutoff (> 0) downloads
// in the window that are not critical yet, by downloads, most first.
func (q q) NewlyCritical(ctx context.Context, cutoff int64) ([]*Project, error) {
	return queryAll(ctx, q.db, "newly critical", scanProject,
		`SELECT `+prefixed("p.", projectColumns)+` FROM download_window w JOIN projects p ON p.id = w.project_id
		WHERE w.downloads >= $1 AND w.downloads > 0 AND p.critical_since IS NULL ORDER BY w.downloads DESC, p.id`, cutoff)
}

// MarkCritical makes the project critical since at, unless it already is.
func (q q) MarkCritical(ctx context.Context, projectID int64, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET critical_since = $1 WHERE id = $2 AND critical_since IS NULL`,
		micros(at), projectID); err != nil {
		return fmt.Errorf("store: mark project %d critical: %w", projectID, err)
	}
	return nil
}

// SetRequire2FA sets a project's opt-in to the two-factor mandate.
func (q q) SetRequire2FA(ctx context.Context, projectID int64, on bool) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET require_2fa = $1 WHERE id = $2`, on, projectID); err != nil {
		return fmt.Errorf("store: set require 2fa of project %d: %w", projectID, err)
	}
	return nil
}

// MandateCollaborator is a collaborator of a project, with its two-factor
// status.
type MandateCollaborator struct {
	UserID    int64
	Username  string
	Email     string
	Role      string
	TwoFactor bool
}

// ProjectMandate is a project that requires two-factor authentication of
// its collaborators (critical or opted in).
type ProjectMandate struct {
	Project *Project
	// Downloads in the window of the last computation.
	Downloads     int64
	Collaborators []MandateCollaborator
}

// mandateCollaboratorColumns are the columns of a MandateCollaborator,
// over roles r and users u.
const mandateCollaboratorColumns = `u.id, u.username, u.email, r.role, ` + hasTwoFactorSQL

// mandateCollaboratorOrder lists the collaborators of a project Owners
// first, then by name.
const mandateCollaboratorOrder = `r.role DESC, u.username_lower`

func scanMandateCollaborator(row interface{ Scan(...any) error }, c *MandateCollaborator) error {
	return row.Scan(&c.UserID, &c.Username, &c.Email, &c.Role, &c.TwoFactor)
}

// MandatedProjectsOf returns the projects on which the user holds a role
// and that are critical or require two-factor authentication, by name.
func (q q) MandatedProjectsOf(ctx context.Context, userID int64) ([]*Project, error) {
	return queryAll(ctx, q.db, "mandated projects", scanProject,
		`SELECT `+prefixed("p.", projectColumns)+` FROM roles r JOIN projects p ON p.id = r.project_id
		WHERE r.user_id = $1 AND (p.critical_since IS NOT NULL OR p.require_2fa) ORDER BY p.normalized_name`, userID)
}

// MandateCollaborators returns the collaborators of a project with their
// two-factor status, Owners first.
func (q q) MandateCollaborators(ctx context.Context, projectID int64) ([]MandateCollaborator, error) {
	return queryAll(ctx, q.db, fmt.Sprintf("collaborators of %d", projectID), func(row scanner) (MandateCollaborator, error) {
		var c MandateCollaborator
		err := scanMandateCollaborator(row, &c)
		return c, err
	}, `SELECT `+mandateCollaboratorColumns+`
		FROM roles r JOIN users u ON u.id = r.user_id WHERE r.project_id = $1 ORDER BY `+mandateCollaboratorOrder, projectID)
}

// CriticalProjects returns every critical project, the most recent first,
// with its downloads in the window of the last computation and its
// collaborators with their two-factor status: two queries, whatever the
// number of projects.
func (q q) CriticalProjects(ctx context.Context) ([]ProjectMandate, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+prefixed("p.", projectColumns)+`, COALESCE(w.downloads, 0)
		FROM projects p LEFT JOIN download_window w ON w.project_id = p.id
		WHERE p.critical_since IS NOT NULL ORDER BY p.critical_since DESC, p.normalized_name`)
	if err != nil {
		return nil, fmt.Errorf("store: critical projects: %w", err)
	}
	var out []ProjectMandate
	index := map[int64]int{}
	for rows.Next() {
		var downloads int64
		p, err := scanProject(scanExtra{rows, []any{&downloads}})
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: critical projects: %w", err)
		}
		index[p.ID] = len(out)
		out = append(out, ProjectMandate{Project: p, Downloads: downloads})
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("store: critical projects: %w", err)
	}

	rows, err = q.db.QueryContext(ctx, `SELECT `+mandateCollaboratorColumns+`, r.project_id
		FROM roles r JOIN users u ON u.id = r.user_id JOIN projects p ON p.id = r.project_id
		WHERE p.critical_since IS NOT NULL ORDER BY r.project_id, `+mandateCollaboratorOrder)
	if err != nil {
		return nil, fmt.Errorf("store: collaborators of critical projects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c MandateCollaborator
		var projectID int64
		if err := scanMandateCollaborator(scanExtra{rows, []any{&projectID}}, &c); err != nil {
			return nil, fmt.Errorf("store: collaborators of critical projects: %w", err)
		}
		// A project made critical between the two queries is not in the
		// list: its collaborators wait for the next report.
		if i, ok := index[projectID]; ok {
			out[i].Collaborators = append(out[i].Collaborators, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: collaborators of critical projects: %w", err)
	}
	return out, nil
}

// scanExtra scans a row into the destinations given to Scan and then into
// extra, so that a scan function of a record can read a query with more
// columns after the record's.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

// Scan implements the scanning interface of scanProject and the like.
func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }
