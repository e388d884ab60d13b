package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User is an account.
type User struct {
	ID           int64
	Username     string
	Email        string
	PasswordHash string
	IsAdmin      bool
	Disabled     bool
	// EmailVerified is set once the user followed the link sent to Email.
	EmailVerified     bool
	PasswordChangedAt time.Time // zero: never changed since creation
	LastLoginAt       time.Time // zero: never signed in to the web UI
	// HasTOTP is set while an authenticator app is enrolled.
	HasTOTP bool
	// RecoveryCodesConfirmed is set once the user typed back one of its
	// recovery codes, proving it saved them.
	RecoveryCodesConfirmed bool
	CreatedAt              time.Time
}

const userColumns = `id, username, email, password_hash, is_admin, disabled, email_verified, password_changed_at, last_login_at,
	totp_secret IS NOT NULL, recovery_codes_confirmed, created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created, pwChanged int64
	var lastLogin sql.NullInt64
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &u.PasswordHash, &u.IsAdmin, &u.Disabled, &u.EmailVerified,
		&pwChanged, &lastLogin, &u.HasTOTP, &u.RecoveryCodesConfirmed, &created); err != nil {
		return nil, notFound(err)
	}
	u.CreatedAt = fromMicros(created)
	if pwChanged != 0 {
		u.PasswordChangedAt = fromMicros(pwChanged)
	}
	if lastLogin.Valid {
		u.LastLoginAt = fromMicros(lastLogin.Int64)
	}
	return &u, nil
}

// CreateUser inserts a user and sets its ID. Usernames are unique without
// regard to case; a clash is reported as a unique violation.
func (q q) CreateUser(ctx context.Context, u *User) error {
	id, err := q.insertID(ctx, `INSERT INTO users (username, username_lower, email, password_hash, is_admin, disabled, email_verified, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.Username, strings.ToLower(u.Username), u.Email, u.PasswordHash, u.IsAdmin, u.Disabled, u.EmailVerified, micros(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create user %q: %w", u.Username, err)
	}
	u.ID = id
	return nil
}

// UserByUsername finds a user by name, without regard to case.
func (q q) UserByUsername(ctx context.Context, username string) (*User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username_lower = $1`, strings.ToLower(username)))
	if err != nil {
		return nil, fmt.Errorf("store: user %q: %w", username, err)
	}
	return u, nil
}

// UserByID finds a user by id.
func (q q) UserByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

// SetUserDisabled disables or re-enables an account.
func (q q) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET disabled = $2 WHERE id = $1`, id, disabled); err != nil {
		return fmt.Errorf("store: disable user %d: %w", id, err)
	}
	return nil
}

// UserByEmail finds the user with an email address, without regard to case.
func (q q) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1)`, email))
	if err != nil {
		return nil, fmt.Errorf("store: user with email %q: %w", email, err)
	}
	return u, nil
}

// UserByLogin finds the user that who names, as the forms that ask for
// "username or email" take it: by username, else (when who has an @) by
// email address.
func (q q) UserByLogin(ctx context.Context, who string) (*User, error) {
	u, err := q.UserByUsername(ctx, who)
	if errors.Is(err, ErrNotFound) && strings.Contains(who, "@") {
		return q.UserByEmail(ctx, who)
	}
	return u, err
}

// SetPassword replaces a user's password hash.
func (q q) SetPassword(ctx context.Context, id int64, hash string, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1`,
		id, hash, micros(at)); err != nil {
		return fmt.Errorf("store: set password of user %d: %w", id, err)
	}
	return nil
}

// SetEmail replaces a user's email address and whether it is verified. A
// clash with another account's address is a unique violation.
func (q q) SetEmail(ctx context.Context, id int64, email string, verified bool) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET email = $2, email_verified = $3 WHERE id = $1`, id, email, verified); err != nil {
		return fmt.Errorf("store: set email of user %d: %w", id, err)
	}
	return nil
}

// SetLastLogin records a successful sign-in.
func (q q) SetLastLogin(ctx context.Context, id int64, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, id, micros(at)); err != nil {
		return fmt.Errorf("store: set last login of user %d: %w", id, err)
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

// Administrators returns the enabled administrators, by username.
func (q q) Administrators(ctx context.Context) ([]*User, error) {
	return queryAll(ctx, q.db, "administrators", scanUser,
		`SELECT `+userColumns+` FROM users WHERE is_admin AND NOT disabled ORDER BY username_lower`)
}
