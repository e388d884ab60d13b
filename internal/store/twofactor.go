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
	rows, err := q.db.QueryContext(ctx, `SELECT id, code_hash, used_at FROM recovery_codes WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: recovery codes: %w", err)
	}
	defer rows.Close()
	var out []RecoveryCode
	for rows.Next() {
		var c RecoveryCode
		var used sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Hash, &used); err != nil {
			return nil, fmt.Errorf("store: recovery codes: %w", err)
		}
		if used.Valid {
			c.UsedAt = fromMicros(used.Int64)
		}
		out = append(out, c)
	}
	return out, rows.Err()
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

// SecurityKey is a WebAuthn credential of a user. Credential holds the
// library's whole credential record as JSON (flags, transports,
// attestation), so that every check it makes at login has its data.
type SecurityKey struct {
	ID           int64
	UserID       int64
	Label        string
	CredentialID string // base64url
	PublicKey    string // base64url
	Credential   string // JSON
	SignCount    int64
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero: never used
}

const keyColumns = `id, user_id, label, credential_id, public_key, credential, sign_count, created_at, last_used_at`

func scanKey(row interface{ Scan(...any) error }) (*SecurityKey, error) {
	var k SecurityKey
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&k.ID, &k.UserID, &k.Label, &k.CredentialID, &k.PublicKey, &k.Credential, &k.SignCount, &created, &used); err != nil {
		return nil, notFound(err)
	}
	k.CreatedAt = fromMicros(created)
	if used.Valid {
		k.LastUsedAt = fromMicros(used.Int64)
	}
	return &k, nil
}

// AddSecurityKey inserts a key and sets its ID. A label already used by
// the user, or a credential id or public key already registered, is a
// unique violation.
func (q q) AddSecurityKey(ctx context.Context, k *SecurityKey) error {
	id, err := q.insertID(ctx, `INSERT INTO security_keys (user_id, label, credential_id, public_key, credential, sign_count, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.UserID, k.Label, k.CredentialID, k.PublicKey, k.Credential, k.SignCount, micros(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add security key: %w", err)
	}
	k.ID = id
	return nil
}

// SecurityKeys lists a user's keys, oldest first.
func (q q) SecurityKeys(ctx context.Context, userID int64) ([]*SecurityKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM security_keys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: security keys: %w", err)
	}
	defer rows.Close()
	var out []*SecurityKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: security keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// SecurityKeyByCredentialID finds a key by its credential id.
func (q q) SecurityKeyByCredentialID(ctx context.Context, credentialID string) (*SecurityKey, error) {
	k, err := scanKey(q.db.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM security_keys WHERE credential_id = $1`, credentialID))
	if err != nil {
		return nil, fmt.Errorf("store: security key: %w", err)
	}
	return k, nil
}

// UseSecurityKey records a successful use: the updated credential and
// sign counter. It only applies if the stored counter is still oldCount,
// so that two concurrent uses of a cloned key cannot both pass; it
// reports whether it applied.
func (q q) UseSecurityKey(ctx context.Context, id int64, credential string, oldCount, newCount int64, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE security_keys SET credential = $2, sign_count = $4, last_used_at = $5
		WHERE id = $1 AND sign_count = $3`, id, credential, oldCount, newCount, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: use security key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RenameSecurityKey changes the label of one of the user's keys.
func (q q) RenameSecurityKey(ctx context.Context, userID, id int64, label string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE security_keys SET label = $3 WHERE id = $1 AND user_id = $2`, id, userID, label)
	if err != nil {
		return fmt.Errorf("store: rename security key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: rename security key %d: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteSecurityKey removes one of the user's keys.
func (q q) DeleteSecurityKey(ctx context.Context, userID, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM security_keys WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("store: delete security key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete security key %d: %w", id, ErrNotFound)
	}
	return nil
}

// LockUser locks the user's row for the rest of the transaction, so that
// changes to its second factors that check what is left first (never
// remove the last method of a user bound by a mandate) run one after the
// other: a row lock on PostgreSQL, and on SQLite the database's write
// lock, which BEGIN IMMEDIATE already holds.
func (q q) LockUser(ctx context.Context, userID int64) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET totp_last_step = totp_last_step WHERE id = $1`, userID)
	if err != nil {
		return fmt.Errorf("store: lock user %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: lock user %d: %w", userID, err)
	} else if n == 0 {
		return fmt.Errorf("store: lock user %d: %w", userID, ErrNotFound)
	}
	return nil
}

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
