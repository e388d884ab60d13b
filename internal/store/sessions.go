package store

import (
	"context"
	"database/sql"
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

// AwaitDevice turns a pending session whose second step passed (by
// method) into one awaiting the emailed confirmation of a new device:
// confirmHash is the SHA-256 of the link's secret, expires its new end.
// ErrNotFound when the session is gone, or no longer waits for its
// second step.
func (q q) AwaitDevice(ctx context.Context, idHash, method, confirmHash string, expires time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE sessions SET awaiting = $2, auth_method = $3, confirm_hash = $4, expires_at = $5
		WHERE id_hash = $1 AND state = $6 AND awaiting = ''`,
		idHash, AwaitingDevice, method, confirmHash, micros(expires), SessionPending)
	return affectedOne(res, err, "await device")
}

// RenewDeviceConfirmation replaces the link secret's hash of a session
// awaiting its device's confirmation (a new email, the old link dead);
// ErrNotFound when no session of idHash awaits it.
func (q q) RenewDeviceConfirmation(ctx context.Context, idHash, confirmHash string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE sessions SET confirm_hash = $2 WHERE id_hash = $1 AND awaiting = $3`,
		idHash, confirmHash, AwaitingDevice)
	return affectedOne(res, err, "renew device confirmation")
}

// SessionByConfirmHash finds the session awaiting the confirmation of a
// new device whose link secret's SHA-256 is confirmHash.
func (q q) SessionByConfirmHash(ctx context.Context, confirmHash string) (*Session, error) {
	s, err := scanSession(q.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE confirm_hash = $1 AND confirm_hash <> '' AND awaiting = $2`,
		confirmHash, AwaitingDevice))
	if err != nil {
		return nil, fmt.Errorf("store: session by confirmation: %w", err)
	}
	return s, nil
}

// TakeAwaitingSession ends the session of idHash if it awaits the
// confirmation of its device by the link whose secret's SHA-256 is
// confirmHash and has not expired at now, and reports whether it did: of
// two takers of one link, one wins.
func (q q) TakeAwaitingSession(ctx context.Context, idHash, confirmHash string, now time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 AND awaiting = $2 AND confirm_hash = $3 AND expires_at > $4`,
		idHash, AwaitingDevice, confirmHash, micros(now))
	if err != nil {
		return false, fmt.Errorf("store: take awaiting session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: take awaiting session: %w", err)
	}
	return n == 1, nil
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

// affectedOne turns the result of an update of one session into
// ErrNotFound when no row changed; what names the update in errors.
func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}
