package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Kinds of trusted publishers.
const (
	PublisherGitHub  = "github"
	PublisherGitLab  = "gitlab"
	PublisherGoogle  = "google"
	PublisherGeneric = "generic"
)

// Publisher is a trusted publisher: a CI identity, named by an OpenID
// Connect issuer and the claims of its ID tokens, that may upload to its
// projects without a long-lived secret. Fields that do not belong to its
// Kind are "". internal/publish computes Lookup and Identity and decides
// what matches; the store only keeps them.
type Publisher struct {
	ID   int64
	Kind string
	// Issuer names the issuer: "github", "gitlab", "google", or an
	// issuer an operator configured.
	Issuer string
	// Lookup is the key the claims of an ID token find the publisher by.
	Lookup string
	// Identity is the whole configuration, unique per issuer among the
	// active publishers, and apart among the pending ones.
	Identity string
	// GitHub.
	RepositoryOwner, RepositoryOwnerID, RepositoryName, WorkflowFilename string
	// GitLab: the instance's host (gitlab.com or self-managed), the
	// project's namespace and name, the CI configuration's path.
	Instance, Namespace, GitLabProject, CIConfigPath string
	// Google: the service account's email and, optionally, subject.
	Email, Subject string
	// ClaimRules is, for a generic publisher, the JSON object of the
	// claims that must equal given values.
	ClaimRules string
	// Environment is the optional deployment environment (GitHub,
	// GitLab).
	Environment string
	// PendingName is, for a pending publisher, the name of the project
	// it creates on first use ("" once active); PendingNormalized is
	// that name normalized.
	PendingName, PendingNormalized string
	// AddedBy is the account that added the publisher (0: unknown or
	// deleted).
	AddedBy   int64
	CreatedAt time.Time
}

// Pending reports whether the publisher still waits to create its
// project.
func (p *Publisher) Pending() bool { return p.PendingName != "" }

const publisherColumns = `id, kind, issuer, lookup, identity, repository_owner, repository_owner_id, repository_name, workflow_filename,
	instance, namespace, gitlab_project, ci_config_path, email, subject, claim_rules, environment, pending_name, pending_normalized,
	added_by, created_at`

func scanPublisher(row scanner) (*Publisher, error) {
	var (
		p                    Publisher
		pending, pendingNorm sql.NullString
		addedBy              sql.NullInt64
		created              int64
	)
	if err := row.Scan(&p.ID, &p.Kind, &p.Issuer, &p.Lookup, &p.Identity, &p.RepositoryOwner, &p.RepositoryOwnerID, &p.RepositoryName,
		&p.WorkflowFilename, &p.Instance, &p.Namespace, &p.GitLabProject, &p.CIConfigPath, &p.Email, &p.Subject, &p.ClaimRules,
		&p.Environment, &pending, &pendingNorm, &addedBy, &created); err != nil {
		return nil, notFound(err)
	}
	p.PendingName, p.PendingNormalized, p.AddedBy = pending.String, pendingNorm.String, addedBy.Int64
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// nullString is s, or NULL when it is "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AddPublisher inserts a publisher and sets its ID. Another publisher of
// the same issuer and identity (active, or pending when p is) is a
// unique violation (IsUniqueViolation).
func (q q) AddPublisher(ctx context.Context, p *Publisher) error {
	id, err := q.insertID(ctx, `INSERT INTO trusted_publishers (kind, issuer, lookup, identity, repository_owner, repository_owner_id,
		repository_name, workflow_filename, instance, namespace, gitlab_project, ci_config_path, email, subject, claim_rules, environment,
		pending_name, pending_normalized, added_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		p.Kind, p.Issuer, p.Lookup, p.Identity, p.RepositoryOwner, p.RepositoryOwnerID, p.RepositoryName, p.WorkflowFilename,
		p.Instance, p.Namespace, p.GitLabProject, p.CIConfigPath, p.Email, p.Subject, p.ClaimRules, p.Environment,
		nullString(p.PendingName), nullString(p.PendingNormalized), nullID(p.AddedBy), micros(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add publisher: %w", err)
	}
	p.ID = id
	return nil
}

// PublisherByID finds a publisher, active or pending.
func (q q) PublisherByID(ctx context.Context, id int64) (*Publisher, error) {
	p, err := scanPublisher(q.db.QueryRowContext(ctx, `SELECT `+publisherColumns+` FROM trusted_publishers WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("store: publisher %d: %w", id, err)
	}
	return p, nil
}

// ActivePublisherByIdentity finds the active publisher of an issuer with
// this identity.
func (q q) ActivePublisherByIdentity(ctx context.Context, issuer, identity string) (*Publisher, error) {
	p, err := scanPublisher(q.db.QueryRowContext(ctx, `SELECT `+publisherColumns+` FROM trusted_publishers
		WHERE issuer = $1 AND identity = $2 AND pending_name IS NULL`, issuer, identity))
	if err != nil {
		return nil, fmt.Errorf("store: publisher %s %s: %w", issuer, identity, err)
	}
	return p, nil
}

// PublisherCandidates lists the publishers of an issuer and kind that
// claims with this lookup key may match, pending ones or active ones,
// oldest first.
func (q q) PublisherCandidates(ctx context.Context, issuer, kind, lookup string, pending bool) ([]*Publisher, error) {
	cond := `pending_name IS NULL`
	if pending {
		cond = `pending_name IS NOT NULL`
	}
	return queryAll(ctx, q.db, "publisher candidates", scanPublisher, `SELECT `+publisherColumns+` FROM trusted_publishers
		WHERE issuer = $1 AND kind = $2 AND lookup = $3 AND `+cond+` ORDER BY id`, issuer, kind, lookup)
}

// ProjectPublishers lists the publishers of a project, oldest first.
func (q q) ProjectPublishers(ctx context.Context, projectID int64) ([]*Publisher, error) {
	return queryAll(ctx, q.db, "project publishers", scanPublisher, `SELECT `+prefixed("t.", publisherColumns)+`
		FROM trusted_publishers t JOIN trusted_publisher_projects l ON l.publisher_id = t.id
		WHERE l.project_id = $1 ORDER BY l.created_at, t.id`, projectID)
}

// Publishers lists every publisher, active and pending, oldest first.
func (q q) Publishers(ctx context.Context) ([]*Publisher, error) {
	return queryAll(ctx, q.db, "publishers", scanPublisher, `SELECT `+publisherColumns+` FROM trusted_publishers ORDER BY id`)
}

// PendingPublishersOf lists the pending publishers an account added,
// oldest first.
func (q q) PendingPublishersOf(ctx context.Context, userID int64) ([]*Publisher, error) {
	return queryAll(ctx, q.db, "pending publishers", scanPublisher, `SELECT `+publisherColumns+` FROM trusted_publishers
		WHERE added_by = $1 AND pending_name IS NOT NULL ORDER BY id`, userID)
}

// PendingPublishersFor lists the pending publishers that would create the
// project of this normalized name.
func (q q) PendingPublishersFor(ctx context.Context, normalized string) ([]*Publisher, error) {
	return queryAll(ctx, q.db, "pending publishers", scanPublisher, `SELECT `+publisherColumns+` FROM trusted_publishers
		WHERE pending_normalized = $1 AND pending_name IS NOT NULL ORDER BY id`, normalized)
}

// ActivatePublisher makes a pending publisher an active one.
func (q q) ActivatePublisher(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE trusted_publishers SET pending_name = NULL, pending_normalized = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: activate publisher %d: %w", id, err)
	}
	return nil
}

// DeletePublisher deletes a publisher, its links to projects and the
// tokens minted for it.
func (q q) DeletePublisher(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM trusted_publishers WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete publisher %d: %w", id, err)
	}
	return nil
}

// LinkPublisher lets a publisher upload to a project; a link that exists
// already is left as it is.
func (q q) LinkPublisher(ctx context.Context, publisherID, projectID int64, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `INSERT INTO trusted_publisher_projects (publisher_id, project_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (publisher_id, project_id) DO NOTHING`, publisherID, projectID, micros(at)); err != nil {
		return fmt.Errorf("store: link publisher %d to project %d: %w", publisherID, projectID, err)
	}
	return nil
}

// UnlinkPublisher takes a project from a publisher, and reports how many
// projects the publisher still has.
func (q q) UnlinkPublisher(ctx context.Context, publisherID, projectID int64) (left int, err error) {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM trusted_publisher_projects WHERE publisher_id = $1 AND project_id = $2`,
		publisherID, projectID); err != nil {
		return 0, fmt.Errorf("store: unlink publisher %d from project %d: %w", publisherID, projectID, err)
	}
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM trusted_publisher_projects WHERE publisher_id = $1`, publisherID).Scan(&left); err != nil {
		return 0, fmt.Errorf("store: projects of publisher %d: %w", publisherID, err)
	}
	return left, nil
}

// PublisherProjects lists the projects a publisher uploads to, by
// normalized name.
func (q q) PublisherProjects(ctx context.Context, publisherID int64) ([]*Project, error) {
	return queryAll(ctx, q.db, "publisher projects", scanProject, `SELECT `+prefixed("p.", projectColumns)+`
		FROM projects p JOIN trusted_publisher_projects l ON l.project_id = p.id
		WHERE l.publisher_id = $1 ORDER BY p.normalized_name`, publisherID)
}

// PublisherLinked reports whether a publisher uploads to a project.
func (q q) PublisherLinked(ctx context.Context, publisherID, projectID int64) (bool, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM trusted_publisher_projects WHERE publisher_id = $1 AND project_id = $2`,
		publisherID, projectID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: publisher %d of project %d: %w", publisherID, projectID, err)
	}
	return n > 0, nil
}
