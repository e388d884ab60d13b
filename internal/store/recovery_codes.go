package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecoveryCode is a single-use code, stored hashed.
type RecoveryCode struct {
	ID     int64
	Hash   string
	UsedAt time.Time // zero: unused
}

// ReplaceRecoveryCodes replaces the user's recovery codes with new ones,
// which are not yet confirmed.
func (q q) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes []string, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: replace recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`,
			userID, h, micros(at)); err != nil {
			return fmt.Errorf("store: replace recovery codes: %w", err)
		}
	}
	return q.SetRecoveryCodesConfirmed(ctx, userID, false)
}

// DeleteRecoveryCodes removes every recovery code of a user.
func (q q) DeleteRecoveryCodes(ctx context.Context, userID int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: delete recovery codes: %w", err)
	}
	return q.SetRecoveryCodesConfirmed(ctx, userID, false)
}

// SetRecoveryCodesConfirmed records whether the user proved it saved its codes.
func (q q) SetRecoveryCodesConfirmed(ctx context.Context, userID int64, confirmed bool) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET recovery_codes_confirmed = $2 WHERE id = $1`, userID, confirmed); err != nil {
		return fmt.Errorf("store: confirm recovery codes: %w", err)
	}
	return nil
}

// RecoveryCodes lists the user's recovery codes, used or not.
func (q q) RecoveryCodes(ctx context.Context, userID int64) ([]RecoveryCode, error) {
	return queryAll(ctx, q.db, "recovery codes", func(row scanner) (RecoveryCode, error) {
		var c RecoveryCode
		var used sql.NullInt64
		err := row.Scan(&c.ID, &c.Hash, &used)
		if used.Valid {
			c.UsedAt = fromMicros(used.Int64)
		}
		return c, err
	}, `SELECT id, code_hash, used_at FROM recovery_codes WHERE user_id = $1 ORDER BY id`, userID)
}

// UseRecoveryCode marks a code used and reports whether it was unused
// until now (atomic: a code works once, even on two servers at once).
func (q q) UseRecoveryCode(ctx context.Context, id int64, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: use recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
