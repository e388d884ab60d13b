package store

import (
	"context"
	"fmt"
	"time"
)

// Session states.
const (
	// SessionPending: the password was right and a second factor is awaited.
	SessionPending = "pending"
	// SessionActive: the user is signed in.
	SessionActive = "active"
)

// Session is a web sign-in. Only the SHA-256 of its cookie is stored.
type Session struct {
	IDHash          string
	UserID          int64
	State           string
	CreatedAt       time.Time
	LastSeenAt      time.Time
	ExpiresAt       time.Time // absolute end, whatever the activity
	AuthenticatedAt time.Time // when the user last proved who it is
	IP              string
	UserAgent       string
	// AuthMethod is how the session signed in: "password", "totp",
	// "webauthn", "passkey" or "recovery-code".
	AuthMethod string
	// Awaiting is what a pending session waits for: "" its second
	// factor, AwaitingDevice the emailed confirmation of a new device.
	Awaiting string
	// ConfirmHash is the SHA-256 of the secret of the link emailed to
	// confirm a new device (Awaiting = AwaitingDevice), or "".
	ConfirmHash string
}

// AwaitingDevice is a pending session whose second factor passed, waiting
// for the emailed confirmation of a browser the user has not used before.
const AwaitingDevice = "device"

const sessionColumns = `id_hash, user_id, state, created_at, last_seen_at, expires_at, authenticated_at, ip, user_agent, auth_method, awaiting, confirm_hash`

func scanSession(row interface{ Scan(...any) error }) (*Session, error) {
	var s Session
	var created, seen, expires, authed int64
	if err := row.Scan(&s.IDHash, &s.UserID, &s.State, &created, &seen, &expires, &authed, &s.IP, &s.UserAgent, &s.AuthMethod, &s.Awaiting, &s.ConfirmHash); err != nil {
		return nil, notFound(err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AuthenticatedAt = fromMicros(created), fromMicros(seen), fromMicros(expires), fromMicros(authed)
	return &s, nil
}

// CreateSession inserts a session.
func (q q) CreateSession(ctx context.Context, s *Session) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.IDHash, s.UserID, s.State, micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), micros(s.AuthenticatedAt),
		s.IP, s.UserAgent, s.AuthMethod, s.Awaiting, s.ConfirmHash)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByHash finds a session by the hash of its cookie.
func (q q) SessionByHash(ctx context.Context, idHash string) (*Session, error) {
	s, err := scanSession(q.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = $1`, idHash))
	if err != nil {
		return nil, fmt.Errorf("store: session: %w", err)
	}
	return s, nil
}

// TouchSession records activity on a session.
func (q q) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, micros(at)); err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// ReauthenticateSession records that the user of a session proved its
// identity again, and sets its state.
func (q q) ReauthenticateSession(ctx context.Context, idHash, state string, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE sessions SET state = $2, authenticated_at = $3, last_seen_at = $3 WHERE id_hash = $1`,
		idHash, state, micros(at)); err != nil {
		return fmt.Errorf("store: reauthenticate session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (q q) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user but the one whose hash is
// keep (which may be empty), and returns how many it ended.
func (q q) DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// UserSessions lists the sessions of a user, newest first.
func (q q) UserSessions(ctx context.Context, userID int64) ([]*Session, error) {
	return queryAll(ctx, q.db, fmt.Sprintf("sessions of user %d", userID), scanSession,
		`SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 ORDER BY created_at DESC`, userID)
}

// DeleteExpiredSessions removes sessions whose absolute end is before t or
// that saw no activity since idleBefore.
func (q q) DeleteExpiredSessions(ctx context.Context, t, idleBefore time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR last_seen_at < $2`, micros(t), micros(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
