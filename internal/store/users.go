package store

import (
	"context"
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
	CreatedAt    time.Time
}

const userColumns = `id, username, email, password_hash, is_admin, disabled, created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &u.PasswordHash, &u.IsAdmin, &u.Disabled, &created); err != nil {
		return nil, notFound(err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// CreateUser inserts a user and sets its ID. Usernames are unique without
// regard to case; a clash is reported as a unique violation.
func (q q) CreateUser(ctx context.Context, u *User) error {
	id, err := q.insertID(ctx, `INSERT INTO users (username, username_lower, email, password_hash, is_admin, disabled, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.Username, strings.ToLower(u.Username), u.Email, u.PasswordHash, u.IsAdmin, u.Disabled, micros(u.CreatedAt))
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
