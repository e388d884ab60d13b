package store

import (
	"context"
	"fmt"
)

// TwoFactorMethods counts the user's second factors: whether it has an
// authenticator app, and how many security keys.
func (q q) TwoFactorMethods(ctx context.Context, userID int64) (totp bool, keys int, err error) {
	err = q.db.QueryRowContext(ctx, `SELECT totp_secret IS NOT NULL, (SELECT count(*) FROM security_keys WHERE user_id = $1)
		FROM users WHERE id = $1`, userID).Scan(&totp, &keys)
	if err != nil {
		return false, 0, fmt.Errorf("store: two-factor methods of user %d: %w", userID, notFound(err))
	}
	return totp, keys, nil
}

// RemoveAllTwoFactor removes every second factor of a user: its
// authenticator app, its security keys, its recovery codes (and their
// confirmation). It reports what there was. Run it in a transaction
// (Store.InTx) to remove them all or none.
func (q q) RemoveAllTwoFactor(ctx context.Context, userID int64) (totp bool, keys, codes int64, err error) {
	if totp, _, err = q.TwoFactorMethods(ctx, userID); err != nil {
		return false, 0, 0, err
	}
	if err = q.RemoveTOTP(ctx, userID); err != nil {
		return false, 0, 0, err
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM security_keys WHERE user_id = $1`, userID)
	if err != nil {
		return false, 0, 0, fmt.Errorf("store: remove security keys of user %d: %w", userID, err)
	}
	keys, _ = res.RowsAffected()
	res, err = q.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
	if err != nil {
		return false, 0, 0, fmt.Errorf("store: remove recovery codes of user %d: %w", userID, err)
	}
	codes, _ = res.RowsAffected()
	if err = q.SetRecoveryCodesConfirmed(ctx, userID, false); err != nil {
		return false, 0, 0, err
	}
	return totp, keys, codes, nil
}
