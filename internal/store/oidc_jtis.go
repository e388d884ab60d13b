package store

import (
	"context"
	"fmt"
	"time"
)

// ClaimJTI records the jti of an ID token of an issuer, kept until
// expires, and reports whether this call recorded it: false means the
// token was exchanged before (a replay), here or on any replica sharing
// the database. The insert is one statement that the primary key
// arbitrates, so of concurrent claims exactly one wins, and it never
// fails a surrounding PostgreSQL transaction.
func (q q) ClaimJTI(ctx context.Context, issuer, jti string, expires time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO oidc_jtis (issuer, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (issuer, jti) DO NOTHING`, issuer, jti, micros(expires))
	if err != nil {
		return false, fmt.Errorf("store: claim jti: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: claim jti: %w", err)
	}
	return n == 1, nil
}

// PruneJTIs deletes the jtis that expired before now: their tokens are
// refused for their expiry anyway. It returns how many went.
func (q q) PruneJTIs(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM oidc_jtis WHERE expires_at < $1`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("store: prune jtis: %w", err)
	}
	return res.RowsAffected()
}
