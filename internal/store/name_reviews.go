package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// NameReview is a project created under a look-alike of a protected name,
// waiting for an administrator: Held ones are kept out of the index.
type NameReview struct {
	ProjectID  int64
	Target     string // the protected name it resembles
	TargetRank int64
	Kind       string // how it resembles it, as the detector says
	Held       bool
	UploaderID int64 // 0: the account was deleted since
	CreatedAt  time.Time
	// Read by NameReviews only:
	Project        string // display name
	NormalizedName string
	Uploader       string // username; "" when deleted
	UploaderEmail  string
}

// ReviewUpstreamName is the Kind of a review that holds a new local
// project because an upstream index lists its name (dependency
// confusion, --upstream-local-names ask); its Target is the upstream's
// URL ("" when the upstreams did not answer) and its TargetRank 0. Until
// approved, such a project does not hide the upstream's.
const ReviewUpstreamName = "upstream-name"

// notHeld is the condition, on projects p, that the project is not held
// for review: only such projects are published.
const notHeld = `NOT EXISTS (SELECT 1 FROM name_reviews nr WHERE nr.project_id = p.id AND nr.held)`

// listed is the condition, on projects p, that the project appears in the
// listings people browse (search, the recent list, user pages): published
// (notHeld) and not quarantined, since nothing of it can be installed.
// The root simple index lists every published project, quarantined ones
// included: PEP 792 puts the status on "the per-project level, i.e.
// within each project's index response, rather than the root index
// response. No root index response changes are proposed by this PEP." A
// quarantined project's own page says it is quarantined and offers no
// file ("The index MUST NOT offer any distributions of the project for
// download").
const listed = notHeld + ` AND p.status <> '` + StatusQuarantined + `'`

// AddNameReview puts a project in the review queue.
func (q q) AddNameReview(ctx context.Context, r *NameReview) error {
	var uploader sql.NullInt64
	if r.UploaderID != 0 {
		uploader = sql.NullInt64{Int64: r.UploaderID, Valid: true}
	}
	if _, err := q.db.ExecContext(ctx, `INSERT INTO name_reviews (project_id, target, target_rank, kind, held, uploader_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ProjectID, r.Target, r.TargetRank, r.Kind, r.Held, uploader, micros(r.CreatedAt)); err != nil {
		return fmt.Errorf("store: add name review of project %d: %w", r.ProjectID, err)
	}
	return nil
}

const nameReviewColumns = `r.project_id, r.target, r.target_rank, r.kind, r.held, COALESCE(r.uploader_id, 0), r.created_at,
	p.name, p.normalized_name, COALESCE(u.username, ''), COALESCE(u.email, '')`

const nameReviewFrom = ` FROM name_reviews r JOIN projects p ON p.id = r.project_id LEFT JOIN users u ON u.id = r.uploader_id`

func scanNameReview(row scanner) (*NameReview, error) {
	var r NameReview
	var created int64
	if err := row.Scan(&r.ProjectID, &r.Target, &r.TargetRank, &r.Kind, &r.Held, &r.UploaderID, &created,
		&r.Project, &r.NormalizedName, &r.Uploader, &r.UploaderEmail); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

// NameReviewOf returns a project's pending review, ErrNotFound when it has
// none (it was never a look-alike, or was approved).
func (q q) NameReviewOf(ctx context.Context, projectID int64) (*NameReview, error) {
	r, err := scanNameReview(q.db.QueryRowContext(ctx, `SELECT `+nameReviewColumns+nameReviewFrom+` WHERE r.project_id = $1`, projectID))
	if err != nil {
		return nil, fmt.Errorf("store: name review of project %d: %w", projectID, err)
	}
	return r, nil
}

// NameReviews returns the review queue, oldest first.
func (q q) NameReviews(ctx context.Context) ([]*NameReview, error) {
	return queryAll(ctx, q.db, "name reviews", scanNameReview,
		`SELECT `+nameReviewColumns+nameReviewFrom+` ORDER BY r.created_at, r.project_id`)
}

// IsHeld reports whether a project is held for review (kept out of the
// index).
func (q q) IsHeld(ctx context.Context, projectID int64) (bool, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM name_reviews WHERE project_id = $1 AND held`, projectID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: is project %d held: %w", projectID, err)
	}
	return n > 0, nil
}

// DeleteNameReview takes a project out of the review queue; it returns
// ErrNotFound when it was not in it.
func (q q) DeleteNameReview(ctx context.Context, projectID int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM name_reviews WHERE project_id = $1`, projectID)
	if err != nil {
		return fmt.Errorf("store: delete name review of project %d: %w", projectID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete name review of project %d: %w", projectID, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete name review of project %d: %w", projectID, ErrNotFound)
	}
	return nil
}
