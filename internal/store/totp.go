package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TOTP is a user's authenticator app: its sealed secret and the last
// accepted time step (the replay guard).
type TOTP struct {
	Sealed    string
	LastStep  int64
	EnabledAt time.Time
}

// TOTPOf returns the user's authenticator app, or ErrNotFound.
func (q q) TOTPOf(ctx context.Context, userID int64) (*TOTP, error) {
	var sealed sql.NullString
	var step int64
	var enabled sql.NullInt64
	err := q.db.QueryRowContext(ctx, `SELECT totp_secret, totp_last_step, totp_enabled_at FROM users WHERE id = $1`, userID).
		Scan(&sealed, &step, &enabled)
	if err != nil {
		return nil, fmt.Errorf("store: totp of user %d: %w", userID, notFound(err))
	}
	if !sealed.Valid {
		return nil, fmt.Errorf("store: totp of user %d: %w", userID, ErrNotFound)
	}
	t := &TOTP{Sealed: sealed.String, LastStep: step}
	if enabled.Valid {
		t.EnabledAt = fromMicros(enabled.Int64)
	}
	return t, nil
}

// ErrTOTPEnabled is SetTOTP's refusal to replace an enabled app.
var ErrTOTPEnabled = errors.New("store: an authenticator app is already enabled")

// SetTOTP enrols an authenticator app; step is the time step of the code
// that confirmed it, which can then not be used again. A user has one app
// at most: it never replaces an enabled one (ErrTOTPEnabled), in one
// statement, so that of two set-ups confirmed at once only one wins.
func (q q) SetTOTP(ctx context.Context, userID int64, sealed string, step int64, at time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET totp_secret = $2, totp_last_step = $3, totp_enabled_at = $4
		WHERE id = $1 AND totp_secret IS NULL`, userID, sealed, step, micros(at))
	if err != nil {
		return fmt.Errorf("store: set totp of user %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: set totp of user %d: %w", userID, err)
	} else if n == 0 {
		return fmt.Errorf("store: set totp of user %d: %w", userID, ErrTOTPEnabled)
	}
	return nil
}

// RemoveTOTP removes the user's authenticator app.
func (q q) RemoveTOTP(ctx context.Context, userID int64) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_last_step = 0, totp_enabled_at = NULL WHERE id = $1`, userID); err != nil {
		return fmt.Errorf("store: remove totp of user %d: %w", userID, err)
	}
	return nil
}

// AdvanceTOTPStep records step as the last accepted one if it is later
// than the recorded one, and reports whether it was. It is atomic: of two
// servers accepting the same code at once, only one wins.
func (q q) AdvanceTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL AND totp_last_step < $2`,
		userID, step)
	if err != nil {
		return false, fmt.Errorf("store: advance totp step of user %d: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
