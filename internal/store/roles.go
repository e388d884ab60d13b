package store

import (
	"context"
	"fmt"
	"time"
)

// Roles a user can hold on a project.
const (
	RoleOwner      = "Owner"
	RoleMaintainer = "Maintainer"
)

// AddRole gives a user a role on a project.
func (q q) AddRole(ctx context.Context, projectID, userID int64, role string, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO roles (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
		projectID, userID, role, micros(at))
	if err != nil {
		return fmt.Errorf("store: add role: %w", err)
	}
	return nil
}

// RoleOf returns the user's role on the project, or ErrNotFound.
func (q q) RoleOf(ctx context.Context, projectID, userID int64) (string, error) {
	var role string
	err := q.db.QueryRowContext(ctx, `SELECT role FROM roles WHERE project_id = $1 AND user_id = $2`, projectID, userID).Scan(&role)
	if err != nil {
		return "", fmt.Errorf("store: role: %w", notFound(err))
	}
	return role, nil
}

// Collaborator is a user's role on a project.
type Collaborator struct {
	Username string
	Role     string
}

// Collaborators lists the roles on a project, owners first.
func (q q) Collaborators(ctx context.Context, projectID int64) ([]Collaborator, error) {
	return queryAll(ctx, q.db, "collaborators", func(row scanner) (Collaborator, error) {
		var c Collaborator
		err := row.Scan(&c.Username, &c.Role)
		return c, err
	}, `SELECT u.username, r.role FROM roles r JOIN users u ON u.id = r.user_id
		WHERE r.project_id = $1 ORDER BY r.role DESC, u.username_lower`, projectID)
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
	return queryAll(ctx, q.db, "projects of user", func(row scanner) (UserProject, error) {
		var p UserProject
		var created int64
		err := row.Scan(&p.Name, &p.Normalized, &p.Role, &created, &p.Releases)
		p.CreatedAt = fromMicros(created)
		return p, err
	}, `SELECT p.name, p.normalized_name, r.role, p.created_at,
		(SELECT COUNT(*) FROM releases rel WHERE rel.project_id = p.id)
		FROM roles r JOIN projects p ON p.id = r.project_id WHERE r.user_id = $1 ORDER BY p.normalized_name`, userID)
}

// PrivateProjectsOf returns the IDs of the private projects on which the
// user holds a role (any), sorted: the private projects it reads.
func (q q) PrivateProjectsOf(ctx context.Context, userID int64) ([]int64, error) {
	return queryAll(ctx, q.db, "private projects of user", scanID,
		`SELECT p.id FROM roles r JOIN projects p ON p.id = r.project_id
		WHERE r.user_id = $1 AND p.visibility = '`+VisibilityPrivate+`' ORDER BY p.id`, userID)
}
