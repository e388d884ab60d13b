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
// known one last seen before staleBefore (its address and browser
// updated, its creation kept); a known device seen since is left as it
// is. It reports whether it wrote: the device is new, or was stale.
func (q q) RememberDevice(ctx context.Context, d *KnownDevice, staleBefore time.Time) (bool, error) {
	if d.DeviceHash == "" {
		return false, errors.New("store: remember device: no device hash")
	}
	res, err := q.db.ExecContext(ctx, `INSERT INTO known_devices (user_id, device_hash, ip, user_agent, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (user_id, device_hash) DO UPDATE SET ip = excluded.ip, user_agent = excluded.user_agent,
			last_seen_at = excluded.last_seen_at
		WHERE known_devices.last_seen_at < $6`,
		d.UserID, d.DeviceHash, d.IP, d.UserAgent, micros(d.LastSeenAt), micros(staleBefore))
	if err != nil {
		return false, fmt.Errorf("store: remember device of user %d: %w", d.UserID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: remember device of user %d: %w", d.UserID, err)
	}
	return n > 0, nil
}

// UserKnownDevices lists the known devices of a user, the latest used
// first.
func (q q) UserKnownDevices(ctx context.Context, userID int64) ([]*KnownDevice, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT user_id, device_hash, ip, user_agent, created_at, last_seen_at
		FROM known_devices WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC, device_hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: known devices of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []*KnownDevice
	for rows.Next() {
		var d KnownDevice
		var created, seen int64
		if err := rows.Scan(&d.UserID, &d.DeviceHash, &d.IP, &d.UserAgent, &created, &seen); err != nil {
			return nil, fmt.Errorf("store: known devices of user %d: %w", userID, err)
		}
		d.CreatedAt, d.LastSeenAt = fromMicros(created), fromMicros(seen)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: known devices of user %d: %w", userID, err)
	}
	return out, nil
}

// ForgetDevice removes the known device of userID whose hash is
// deviceHash; ErrNotFound when there is none (already forgotten).
func (q q) ForgetDevice(ctx context.Context, userID int64, deviceHash string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM known_devices WHERE user_id = $1 AND device_hash = $2`, userID, deviceHash)
	if err != nil {
		return fmt.Errorf("store: forget device of user %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: forget device of user %d: %w", userID, err)
	} else if n == 0 {
		return fmt.Errorf("store: forget device of user %d: %w", userID, ErrNotFound)
	}
	return nil
}

// ForgetUserDevices removes every known device of a user: a sign-in from
// any of its browsers asks again for the emailed confirmation. It returns
// how many went.
func (q q) ForgetUserDevices(ctx context.Context, userID int64) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM known_devices WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: forget devices of user %d: %w", userID, err)
	}
	return res.RowsAffected()
}

// DeleteStaleKnownDevices removes the known devices last seen before
// before, of every user; it returns how many went.
func (q q) DeleteStaleKnownDevices(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM known_devices WHERE last_seen_at < $1`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete stale known devices: %w", err)
	}
	return res.RowsAffected()
}
