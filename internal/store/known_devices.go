package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// KnownDevice is a browser in which a user completed a sign-in (or
// confirmed a new one by email, or set up a second factor). DeviceHash is
// an HMAC of the user id and the browser's random device id, made by the
// account service: the table cannot be turned back into device cookies,
// and a browser known for one account proves nothing for another.
type KnownDevice struct {
	UserID     int64
	DeviceHash string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// KnownDevice returns the known device of userID whose hash is
// deviceHash; ErrNotFound when the browser is not known for that user.
func (q q) KnownDevice(ctx context.Context, userID int64, deviceHash string) (*KnownDevice, error) {
	var d KnownDevice
	var created, seen int64
	err := q.db.QueryRowContext(ctx, `SELECT user_id, device_hash, ip, user_agent, created_at, last_seen_at
		FROM known_devices WHERE user_id = $1 AND device_hash = $2`, userID, deviceHash).
		Scan(&d.UserID, &d.DeviceHash, &d.IP, &d.UserAgent, &created, &seen)
	if err != nil {
		return nil, fmt.Errorf("store: known device of user %d: %w", userID, notFound(err))
	}
	d.CreatedAt, d.LastSeenAt = fromMicros(created), fromMicros(seen)
	return &d, nil
}

// RememberDevice records that d's user used the browser d at
// d.LastSeenAt: a new known device (created then), or the last use of a
// known one (its address and browser updated, its creation kept).
func (q q) RememberDevice(ctx context.Context, d *KnownDevice) error {
	if d.DeviceHash == "" {
		return errors.New("store: remember device: no device hash")
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO known_devices (user_id, device_hash, ip, user_agent, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (user_id, device_hash) DO UPDATE SET ip = excluded.ip, user_agent = excluded.user_agent,
			last_seen_at = excluded.last_seen_at`,
		d.UserID, d.DeviceHash, d.IP, d.UserAgent, micros(d.LastSeenAt))
	if err != nil {
		return fmt.Errorf("store: remember device of user %d: %w", d.UserID, err)
	}
	return nil
}

// ForgetDevices forgets every browser known for userID (at a password
// change or reset, which is also how an account recovery ends: the owner
// takes the account back, and a browser an intruder confirmed must be
// confirmed again); it returns how many went.
func (q q) ForgetDevices(ctx context.Context, userID int64) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM known_devices WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: forget devices of user %d: %w", userID, err)
	}
	return res.RowsAffected()
}
