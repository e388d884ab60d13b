package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

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
	// Discoverable is a passkey: a resident credential registered with
	// user verification, which signs in alone.
	Discoverable bool
	// UserVerified: the authenticator verified its user (PIN, biometric)
	// at registration.
	UserVerified bool
	// BackupEligible: the credential may be synced to other devices (it
	// never changes for a credential); BackupState: it is backed up now
	// (updated at each use).
	BackupEligible bool
	BackupState    bool
}

const keyColumns = `id, user_id, label, credential_id, public_key, credential, sign_count, created_at, last_used_at,
	discoverable, user_verified, backup_eligible, backup_state`

func scanKey(row interface{ Scan(...any) error }) (*SecurityKey, error) {
	var k SecurityKey
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&k.ID, &k.UserID, &k.Label, &k.CredentialID, &k.PublicKey, &k.Credential, &k.SignCount, &created, &used,
		&k.Discoverable, &k.UserVerified, &k.BackupEligible, &k.BackupState); err != nil {
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
	id, err := q.insertID(ctx, `INSERT INTO security_keys (user_id, label, credential_id, public_key, credential, sign_count, created_at,
		discoverable, user_verified, backup_eligible, backup_state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, k.UserID, k.Label, k.CredentialID, k.PublicKey, k.Credential, k.SignCount,
		micros(k.CreatedAt), k.Discoverable, k.UserVerified, k.BackupEligible, k.BackupState)
	if err != nil {
		return fmt.Errorf("store: add security key: %w", err)
	}
	k.ID = id
	return nil
}

// SecurityKeys lists a user's keys, oldest first.
func (q q) SecurityKeys(ctx context.Context, userID int64) ([]*SecurityKey, error) {
	return queryAll(ctx, q.db, "security keys", scanKey,
		`SELECT `+keyColumns+` FROM security_keys WHERE user_id = $1 ORDER BY id`, userID)
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
// sign counter, and whether the credential is backed up now. It only applies if the stored counter is still oldCount,
// so that two concurrent uses of a cloned key cannot both pass; it
// reports whether it applied.
func (q q) UseSecurityKey(ctx context.Context, id int64, credential string, oldCount, newCount int64, backupState bool, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE security_keys SET credential = $2, sign_count = $4, last_used_at = $5, backup_state = $6
		WHERE id = $1 AND sign_count = $3`, id, credential, oldCount, newCount, micros(at), backupState)
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
