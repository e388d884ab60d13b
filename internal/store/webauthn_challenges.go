package store

import (
	"context"
	"fmt"
	"time"
)

// PutChallenge keeps the session data of a WebAuthn ceremony for the web
// session, replacing an earlier one of the same purpose.
func (q q) PutChallenge(ctx context.Context, sessionHash, purpose, data string, expires time.Time) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM webauthn_challenges WHERE session_hash = $1 AND purpose = $2`, sessionHash, purpose); err != nil {
		return fmt.Errorf("store: put challenge: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `INSERT INTO webauthn_challenges (session_hash, purpose, data, expires_at) VALUES ($1, $2, $3, $4)`,
		sessionHash, purpose, data, micros(expires)); err != nil {
		return fmt.Errorf("store: put challenge: %w", err)
	}
	return nil
}

// TakeChallenge removes and returns the session data of a ceremony: it
// can be used once. Expiry is the caller's to check.
func (q q) TakeChallenge(ctx context.Context, sessionHash, purpose string) (string, time.Time, error) {
	var data string
	var expires int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM webauthn_challenges WHERE session_hash = $1 AND purpose = $2 RETURNING data, expires_at`,
		sessionHash, purpose).Scan(&data, &expires)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: take challenge: %w", notFound(err))
	}
	return data, fromMicros(expires), nil
}
