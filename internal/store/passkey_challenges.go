package store

import (
	"context"
	"fmt"
	"time"
)

// PutPasskeyChallenge keeps the session data of a passkey sign-in, which
// has no session yet, under idHash: the SHA-256 of the random cookie the
// browser holds until it answers.
func (q q) PutPasskeyChallenge(ctx context.Context, idHash, data string, expires time.Time) error {
	if _, err := q.db.ExecContext(ctx, `INSERT INTO passkey_challenges (id_hash, data, expires_at) VALUES ($1, $2, $3)`,
		idHash, data, micros(expires)); err != nil {
		return fmt.Errorf("store: put passkey challenge: %w", err)
	}
	return nil
}

// TakePasskeyChallenge removes and returns the session data kept under
// idHash: it can be used once, and of concurrent takes one wins. Expiry
// is the caller's to check.
func (q q) TakePasskeyChallenge(ctx context.Context, idHash string) (string, time.Time, error) {
	var data string
	var expires int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM passkey_challenges WHERE id_hash = $1 RETURNING data, expires_at`, idHash).
		Scan(&data, &expires)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: take passkey challenge: %w", notFound(err))
	}
	return data, fromMicros(expires), nil
}

// DeleteExpiredPasskeyChallenges removes the challenges that expired
// before now (sign-ins begun and never answered); it returns how many
// went.
func (q q) DeleteExpiredPasskeyChallenges(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at < $1`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired passkey challenges: %w", err)
	}
	return res.RowsAffected()
}
