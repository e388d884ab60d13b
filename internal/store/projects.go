package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
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
	// Status is the project's status (PEP 792): StatusActive,
	// StatusArchived, StatusDeprecated or StatusQuarantined, with the
	// reason given for it ("" when none).
	Status, StatusReason string
	// PriorStatus and PriorStatusReason are, while the project is
	// quarantined, the status the quarantine replaced: its release
	// restores them.
	PriorStatus, PriorStatusReason string
	// StatusChangedAt is when the status last changed (zero: never).
	StatusChangedAt time.Time
	// Visibility is VisibilityPublic or VisibilityPrivate: a private
	// project is read only by its collaborators and the administrators,
	// and listed nowhere else.
	Visibility string
}

// Visibilities of a project.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Private reports whether the project is read only by its collaborators
// and the administrators.
func (p *Project) Private() bool { return p.Visibility == VisibilityPrivate }

// Critical reports whether the project is critical.
func (p *Project) Critical() bool { return !p.CriticalSince.IsZero() }

const projectColumns = `id, name, normalized_name, ultranormalized_name, total_size, last_serial, created_at, critical_since, require_2fa, ` +
	`status, status_reason, prior_status, prior_status_reason, status_changed_at, visibility`

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
	var critical, changed sql.NullInt64
	if err := row.Scan(&p.ID, &p.Name, &p.NormalizedName, &p.UltraName, &p.TotalSize, &p.LastSerial, &created, &critical, &p.Require2FA,
		&p.Status, &p.StatusReason, &p.PriorStatus, &p.PriorStatusReason, &changed, &p.Visibility); err != nil {
		return nil, notFound(err)
	}
	p.CreatedAt = fromMicros(created)
	if critical.Valid {
		p.CriticalSince = fromMicros(critical.Int64)
	}
	if changed.Valid {
		p.StatusChangedAt = fromMicros(changed.Int64)
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
	p.Status = StatusActive // the columns' defaults
	p.Visibility = VisibilityPublic
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
}

// ListProjectNames returns every published public project (none held
// for review, none private), in no order: the root of the simple index
// that everybody reads. At PyPI's size (886k projects) a row per name
// costs more to step through than the names themselves (database/sql
// and modernc's SQLite per row), so the database joins them into one
// string, cut here: the names are substrings of it, and a display name
// equal to the normalized one is the same string. The few held projects
// are filtered once (NOT IN), not once per project (NOT EXISTS).
func (q q) ListProjectNames(ctx context.Context) ([]ProjectName, error) {
	var all sql.NullString // NULL: no project
	err := q.db.QueryRowContext(ctx, `SELECT string_agg(p.normalized_name || ' ' || `+displayIfOther+`, '
') FROM projects p WHERE p.id NOT IN (SELECT project_id FROM name_reviews WHERE held) AND `+notPrivate).Scan(&all)
	if err != nil {
		return nil, fmt.Errorf("store: list projects: %w", err)
	}
	if !all.Valid {
		return nil, nil
	}
	names := make([]ProjectName, 0, strings.Count(all.String, "\n")+1)
	for line := range strings.SplitSeq(all.String, "\n") {
		normalized, display, _ := strings.Cut(line, " ")
		if display == "" {
			display = normalized
		}
		names = append(names, ProjectName{Name: display, Normalized: normalized})
	}
	return names, nil
}

// PrivateProjectNames returns the published private projects among ids,
// ordered by normalized name: what a reader of them adds to the root.
func (q q) PrivateProjectNames(ctx context.Context, ids []int64) ([]ProjectName, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, args := idList(ids)
	return queryAll(ctx, q.db, "list private projects", scanProjectName,
		`SELECT p.normalized_name, `+displayIfOther+` FROM projects p WHERE p.id IN (`+list+`) AND `+notHeld+
			` AND p.visibility = '`+VisibilityPrivate+`' ORDER BY p.normalized_name`, args...)
}

// displayIfOther selects, of projects p, the display name when it is not
// the normalized name, else the empty string (scanProjectName).
const displayIfOther = `COALESCE(NULLIF(p.name, p.normalized_name), '')`

func scanProjectName(row scanner) (ProjectName, error) {
	var p ProjectName
	err := row.Scan(&p.Normalized, &p.Name)
	if p.Name == "" {
		p.Name = p.Normalized
	}
	return p, err
}

// notPrivate is the condition, on projects p, that anybody may read the
// project.
const notPrivate = `p.visibility <> '` + VisibilityPrivate + `'`

// PrivateProjectIDs returns the IDs of every private project, sorted:
// what an administrator reads beyond the public ones.
func (q q) PrivateProjectIDs(ctx context.Context) ([]int64, error) {
	return queryAll(ctx, q.db, "private projects", scanID,
		`SELECT id FROM projects WHERE visibility = '`+VisibilityPrivate+`' ORDER BY id`)
}

// AnyPrivateProject reports whether some project is private.
func (q q) AnyPrivateProject(ctx context.Context) (bool, error) {
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE visibility = '`+VisibilityPrivate+`' LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: any private project: %w", err)
	}
	return true, nil
}

// SetProjectVisibility sets a project's visibility.
func (q q) SetProjectVisibility(ctx context.Context, projectID int64, visibility string) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET visibility = $2 WHERE id = $1`, projectID, visibility); err != nil {
		return fmt.Errorf("store: set visibility of project %d: %w", projectID, err)
	}
	return nil
}

// CountProjects returns the number of projects.
func (q q) CountProjects(ctx context.Context) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count projects: %w", err)
	}
	return n, nil
}

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

func scanID(row scanner) (int64, error) {
	var id int64
	err := row.Scan(&id)
	return id, err
}
