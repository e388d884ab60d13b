package store

import (
	"context"
	"fmt"
	"time"
)

// Purposes of account tokens.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposeResetPassword = "reset_password"
)

// AccountToken is a one-use secret sent by email. Only its SHA-256 is stored.
type AccountToken struct {
	Hash      string
	UserID    int64
	Purpose   string
	Email     string // the address being verified
	ExpiresAt time.Time
	CreatedAt time.Time
}

// CreateAccountToken inserts a token.
func (q q) CreateAccountToken(ctx context.Context, t *AccountToken) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.Hash, t.UserID, t.Purpose, t.Email, micros(t.ExpiresAt), micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create account token: %w", err)
	}
	return nil
}

// TakeAccountToken deletes the token with this hash and purpose and returns
// it: a token can be taken once. Expiry is the caller's to check.
func (q q) TakeAccountToken(ctx context.Context, hash, purpose string) (*AccountToken, error) {
	var t AccountToken
	var expires, created int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM account_tokens WHERE token_hash = $1 AND purpose = $2
		RETURNING token_hash, user_id, purpose, email, expires_at, created_at`, hash, purpose).
		Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &expires, &created)
	if err != nil {
		return nil, fmt.Errorf("store: take account token: %w", notFound(err))
	}
	t.ExpiresAt, t.CreatedAt = fromMicros(expires), fromMicros(created)
	return &t, nil
}

// PeekAccountToken returns the token with this hash and purpose without
// taking it (to show a form before the token is used).
func (q q) PeekAccountToken(ctx context.Context, hash, purpose string) (*AccountToken, error) {
	var t AccountToken
	var expires, created int64
	err := q.db.QueryRowContext(ctx, `SELECT token_hash, user_id, purpose, email, expires_at, created_at
		FROM account_tokens WHERE token_hash = $1 AND purpose = $2`, hash, purpose).
		Scan(&t.Hash, &t.UserID, &t.Purpose, &t.Email, &expires, &created)
	if err != nil {
		return nil, fmt.Errorf("store: account token: %w", notFound(err))
	}
	t.ExpiresAt, t.CreatedAt = fromMicros(expires), fromMicros(created)
	return &t, nil
}

// DeleteAccountTokens removes every token of a user for a purpose, so that
// links sent earlier stop working.
func (q q) DeleteAccountTokens(ctx context.Context, userID int64, purpose string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose); err != nil {
		return fmt.Errorf("store: delete account tokens: %w", err)
	}
	return nil
}
