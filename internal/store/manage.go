package store

import (
	"context"
	"fmt"
	"time"
)

// LockProject takes the project's row lock until the transaction ends, so
// that concurrent changes to its roles are serialized (SQLite transactions
// already hold the database's write lock). It returns ErrNotFound for an
// unknown project.
func (q q) LockProject(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `UPDATE projects SET last_serial = last_serial WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: lock project %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: lock project %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: lock project %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetRole changes a user's existing role on a project.
func (q q) SetRole(ctx context.Context, projectID, userID int64, role string) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE roles SET role = $3 WHERE project_id = $1 AND user_id = $2`, projectID, userID, role); err != nil {
		return fmt.Errorf("store: set role: %w", err)
	}
	return nil
}

// RemoveRole removes a user's role on a project.
func (q q) RemoveRole(ctx context.Context, projectID, userID int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM roles WHERE project_id = $1 AND user_id = $2`, projectID, userID); err != nil {
		return fmt.Errorf("store: remove role: %w", err)
	}
	return nil
}

// CountOwners returns how many Owners a project has.
func (q q) CountOwners(ctx context.Context, projectID int64) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM roles WHERE project_id = $1 AND role = $2`, projectID, RoleOwner).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count owners: %w", err)
	}
	return n, nil
}

// UserProject is a project on which a user holds a role.
type UserProject struct {
	Name, Normalized string
	Role             string
	Releases         int
	CreatedAt        time.Time
}

// ProjectsOfUser lists the projects on which the user holds a role, by name.
func (q q) ProjectsOfUser(ctx context.Context, userID int64) ([]UserProject, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT p.name, p.normalized_name, r.role, p.created_at,
		(SELECT COUNT(*) FROM releases rel WHERE rel.project_id = p.id)
		FROM roles r JOIN projects p ON p.id = r.project_id WHERE r.user_id = $1 ORDER BY p.normalized_name`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: projects of user: %w", err)
	}
	defer rows.Close()
	var out []UserProject
	for rows.Next() {
		var p UserProject
		var created int64
		if err := rows.Scan(&p.Name, &p.Normalized, &p.Role, &created, &p.Releases); err != nil {
			return nil, fmt.Errorf("store: projects of user: %w", err)
		}
		p.CreatedAt = fromMicros(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReleaseFiles returns a release's files, by filename.
func (q q) ReleaseFiles(ctx context.Context, releaseID int64) ([]*File, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE release_id = $1 ORDER BY filename`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("store: release files: %w", err)
	}
	defer rows.Close()
	var out []*File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("store: release files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteRelease deletes a release and its files, and subtracts their size
// and the release's stored metadata from the project. The filenames stay
// in the registry.
func (q q) DeleteRelease(ctx context.Context, r *Release) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET total_size = total_size -
		(SELECT COALESCE(SUM(size), 0) FROM files WHERE release_id = $2) - `+releaseMetadataSizeSQL+` WHERE id = $1`, r.ProjectID, r.ID); err != nil {
		return fmt.Errorf("store: delete release %s: %w", r.Version, err)
	}
	for _, stmt := range []string{`DELETE FROM files WHERE release_id = $1`, `DELETE FROM releases WHERE id = $1`} {
		if _, err := q.db.ExecContext(ctx, stmt, r.ID); err != nil {
			return fmt.Errorf("store: delete release %s: %w", r.Version, err)
		}
	}
	return nil
}

// DeleteProject deletes a project with its releases, files, roles,
// invitations and the scopes of tokens limited to it. The filenames stay
// in the registry; the journal and the events keep its name.
func (q q) DeleteProject(ctx context.Context, id int64) error {
	for _, stmt := range []string{
		`DELETE FROM files WHERE project_id = $1`,
		`DELETE FROM releases WHERE project_id = $1`,
		`DELETE FROM roles WHERE project_id = $1`,
		`DELETE FROM role_invitations WHERE project_id = $1`,
		`DELETE FROM api_token_projects WHERE project_id = $1`,
		`DELETE FROM projects WHERE id = $1`,
	} {
		if _, err := q.db.ExecContext(ctx, stmt, id); err != nil {
			return fmt.Errorf("store: delete project %d: %w", id, err)
		}
	}
	return nil
}
