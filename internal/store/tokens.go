package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Token is an API token. Only the hash of its secret is stored. It
// belongs to a user, or, when minted by trusted publishing, to a
// publisher (PublisherID; UserID is then 0).
type Token struct {
	ID     int64
	UserID int64
	// PublisherID is the trusted publisher a minted token acts for, and
	// PublisherClaims the claims of the ID token it was minted from that
	// events show (a JSON object: workflow, ref, sha, ...).
	PublisherID     int64
	PublisherClaims string
	Name            string
	// Prefix is the start of the token, shown to its owner to tell tokens apart.
	Prefix string
	Hash   string
	// Scoped tokens may upload only to ProjectIDs (and never create
	// projects); unscoped tokens act for every project of their user.
	Scoped bool
	// CanManage tokens may also use the management API (yank, roles,
	// invitations) within their scope; others only upload. No token
	// creates, lists or revokes tokens.
	CanManage bool
	// ReadOnly tokens only read the index (the simple and JSON APIs,
	// files): no upload, no management. Every other token reads too.
	ReadOnly   bool
	ProjectIDs []int64
	// ProjectNames are the names of ProjectIDs, filled by UserTokens and
	// TokenByHash.
	ProjectNames []string
	ExpiresAt    time.Time // zero: never
	LastUsedAt   time.Time // zero: never used
	CreatedAt    time.Time
}

// CreateToken inserts a token with its project scope and sets its ID.
func (q q) CreateToken(ctx context.Context, t *Token) error {
	var expires any
	if !t.ExpiresAt.IsZero() {
		expires = micros(t.ExpiresAt)
	}
	id, err := q.insertID(ctx, `INSERT INTO api_tokens (user_id, publisher_id, publisher_claims, name, prefix, token_hash, scoped, can_manage,
		read_only, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, nullID(t.UserID), nullID(t.PublisherID), t.PublisherClaims,
		t.Name, t.Prefix, t.Hash, t.Scoped, t.CanManage, t.ReadOnly, expires, micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	t.ID = id
	for _, pid := range t.ProjectIDs {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO api_token_projects (token_id, project_id) VALUES ($1, $2)`, id, pid); err != nil {
			return fmt.Errorf("store: scope token to project %d: %w", pid, err)
		}
	}
	return nil
}

const tokenColumns = `id, user_id, publisher_id, publisher_claims, name, prefix, token_hash, scoped, can_manage, read_only, expires_at, last_used_at, created_at`

func scanToken(row interface{ Scan(...any) error }) (*Token, error) {
	var (
		t               Token
		expires, used   sql.NullInt64
		user, publisher sql.NullInt64
		created         int64
	)
	if err := row.Scan(&t.ID, &user, &publisher, &t.PublisherClaims, &t.Name, &t.Prefix, &t.Hash, &t.Scoped, &t.CanManage, &t.ReadOnly, &expires, &used, &created); err != nil {
		return nil, notFound(err)
	}
	t.UserID, t.PublisherID = user.Int64, publisher.Int64
	if expires.Valid {
		t.ExpiresAt = fromMicros(expires.Int64)
	}
	if used.Valid {
		t.LastUsedAt = fromMicros(used.Int64)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// TokenByHash finds a token by the hash of its secret, with its scope
// (ProjectIDs and their ProjectNames).
func (q q) TokenByHash(ctx context.Context, hash string) (*Token, error) {
	t, err := scanToken(q.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = $1`, hash))
	if err != nil {
		return nil, fmt.Errorf("store: token: %w", err)
	}
	if t.Scoped {
		rows, err := q.db.QueryContext(ctx, `SELECT tp.project_id, p.name FROM api_token_projects tp
			JOIN projects p ON p.id = tp.project_id WHERE tp.token_id = $1 ORDER BY tp.project_id`, t.ID)
		if err != nil {
			return nil, fmt.Errorf("store: token scope: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var pid int64
			var name string
			if err := rows.Scan(&pid, &name); err != nil {
				return nil, fmt.Errorf("store: token scope: %w", err)
			}
			t.ProjectIDs = append(t.ProjectIDs, pid)
			t.ProjectNames = append(t.ProjectNames, name)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: token scope: %w", err)
		}
	}
	return t, nil
}

// UserTokens lists a user's tokens, newest first, with the names of the
// projects of scoped tokens.
func (q q) UserTokens(ctx context.Context, userID int64) ([]*Token, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	var out []*Token
	byID := map[int64]*Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
		byID[t.ID] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	rows, err = q.db.QueryContext(ctx, `SELECT tp.token_id, tp.project_id, p.name FROM api_token_projects tp
		JOIN api_tokens t ON t.id = tp.token_id JOIN projects p ON p.id = tp.project_id
		WHERE t.user_id = $1 ORDER BY p.normalized_name`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: token scopes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tid, pid int64
		var name string
		if err := rows.Scan(&tid, &pid, &name); err != nil {
			return nil, fmt.Errorf("store: token scopes: %w", err)
		}
		if t := byID[tid]; t != nil {
			t.ProjectIDs = append(t.ProjectIDs, pid)
			t.ProjectNames = append(t.ProjectNames, name)
		}
	}
	return out, rows.Err()
}

// UserToken finds one of a user's tokens by id; another user's token is
// ErrNotFound.
func (q q) UserToken(ctx context.Context, userID, id int64) (*Token, error) {
	t, err := scanToken(q.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return nil, fmt.Errorf("store: token %d: %w", id, err)
	}
	return t, nil
}

// TouchToken records that a token was used.
func (q q) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, micros(at)); err != nil {
		return fmt.Errorf("store: touch token %d: %w", id, err)
	}
	return nil
}

// DeleteToken revokes a token.
func (q q) DeleteToken(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete token %d: %w", id, err)
	}
	return nil
}
