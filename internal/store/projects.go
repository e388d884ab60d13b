package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Roles a user can hold on a project.
const (
	RoleOwner      = "Owner"
	RoleMaintainer = "Maintainer"
)

// Project is a named collection of releases.
type Project struct {
	ID             int64
	Name           string // display name, as last uploaded
	NormalizedName string // PEP 503
	UltraName      string // ultranormalized, unique: look-alikes cannot coexist
	TotalSize      int64
	LastSerial     int64
	CreatedAt      time.Time
	// CriticalSince is when the project became critical (zero: it is
	// not); it never changes after.
	CriticalSince time.Time
	// Require2FA is an Owner's opt-in to the two-factor mandate.
	Require2FA bool
}

// Critical reports whether the project is critical.
func (p *Project) Critical() bool { return !p.CriticalSince.IsZero() }

const projectColumns = `id, name, normalized_name, ultranormalized_name, total_size, last_serial, created_at, critical_since, require_2fa`

// prefixed qualifies each of a comma-separated list of columns.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ", ")
	for i := range parts {
		parts[i] = prefix + parts[i]
	}
	return strings.Join(parts, ", ")
}

func scanProject(row interface{ Scan(...any) error }) (*Project, error) {
	var p Project
	var created int64
	var critical sql.NullInt64
	if err := row.Scan(&p.ID, &p.Name, &p.NormalizedName, &p.UltraName, &p.TotalSize, &p.LastSerial, &created, &critical, &p.Require2FA); err != nil {
		return nil, notFound(err)
	}
	p.CreatedAt = fromMicros(created)
	if critical.Valid {
		p.CriticalSince = fromMicros(critical.Int64)
	}
	return &p, nil
}

// ProjectByName finds a project by its PEP 503 normalized name.
func (q q) ProjectByName(ctx context.Context, normalized string) (*Project, error) {
	p, err := scanProject(q.db.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE normalized_name = $1`, normalized))
	if err != nil {
		return nil, fmt.Errorf("store: project %q: %w", normalized, err)
	}
	return p, nil
}

// ProjectByUltraName finds the project whose ultranormalized name is ultra.
func (q q) ProjectByUltraName(ctx context.Context, ultra string) (*Project, error) {
	p, err := scanProject(q.db.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE ultranormalized_name = $1`, ultra))
	if err != nil {
		return nil, fmt.Errorf("store: project like %q: %w", ultra, err)
	}
	return p, nil
}

// ProjectByID finds a project by id.
func (q q) ProjectByID(ctx context.Context, id int64) (*Project, error) {
	p, err := scanProject(q.db.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("store: project %d: %w", id, err)
	}
	return p, nil
}

// CreateProject inserts a project and sets its ID.
func (q q) CreateProject(ctx context.Context, p *Project) error {
	id, err := q.insertID(ctx, `INSERT INTO projects (name, normalized_name, ultranormalized_name, total_size, last_serial, created_at)
		VALUES ($1, $2, $3, 0, 0, $4)`, p.Name, p.NormalizedName, p.UltraName, micros(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create project %q: %w", p.Name, err)
	}
	p.ID = id
	return nil
}

// UpdateProjectAfterUpload adds size bytes to the project's total, sets
// its display name and serial.
func (q q) UpdateProjectAfterUpload(ctx context.Context, id int64, name string, size, serial int64) error {
	_, err := q.db.ExecContext(ctx, `UPDATE projects SET total_size = total_size + $2, name = $3, last_serial = $4 WHERE id = $1`,
		id, size, name, serial)
	if err != nil {
		return fmt.Errorf("store: update project %d: %w", id, err)
	}
	return nil
}

// ProjectName is a project's display and normalized names.
type ProjectName struct {
	Name, Normalized string
	LastSerial       int64
}

// ListProjectNames returns every project, ordered by normalized name.
func (q q) ListProjectNames(ctx context.Context) ([]ProjectName, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT name, normalized_name, last_serial FROM projects`)
	if err != nil {
		return nil, fmt.Errorf("store: list projects: %w", err)
	}
	defer rows.Close()
	var out []ProjectName
	for rows.Next() {
		var p ProjectName
		if err := rows.Scan(&p.Name, &p.Normalized, &p.LastSerial); err != nil {
			return nil, fmt.Errorf("store: list projects: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list projects: %w", err)
	}
	return out, nil
}

// CountProjects returns the number of projects.
func (q q) CountProjects(ctx context.Context) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count projects: %w", err)
	}
	return n, nil
}

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
	rows, err := q.db.QueryContext(ctx, `SELECT u.username, r.role FROM roles r JOIN users u ON u.id = r.user_id
		WHERE r.project_id = $1 ORDER BY r.role DESC, u.username_lower`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: collaborators: %w", err)
	}
	defer rows.Close()
	var out []Collaborator
	for rows.Next() {
		var c Collaborator
		if err := rows.Scan(&c.Username, &c.Role); err != nil {
			return nil, fmt.Errorf("store: collaborators: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// IsProhibited reports whether a prohibited name (an administrator's, or a
// deleted project's) has the ultranormalized form ultra: every spelling
// and look-alike of a prohibited name is prohibited too.
func (q q) IsProhibited(ctx context.Context, ultra string) (bool, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM prohibited_names WHERE ultranormalized_name = $1`, ultra).Scan(&n); err != nil {
		return false, fmt.Errorf("store: prohibited name: %w", err)
	}
	return n > 0, nil
}

// ProhibitName forbids a project name, given in its normalized and
// ultranormalized forms. Prohibiting it again is a no-op.
func (q q) ProhibitName(ctx context.Context, normalized, ultra, reason string, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO prohibited_names (normalized_name, ultranormalized_name, reason, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (normalized_name) DO NOTHING`, normalized, ultra, reason, micros(at))
	if err != nil {
		return fmt.Errorf("store: prohibit name: %w", err)
	}
	return nil
}
