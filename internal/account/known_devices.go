package account

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/useragent"
)

// The lifecycle of known devices (the browsers that skip the emailed
// confirmation of a new device). The user sees them on the sessions page
// and forgets any or all of them; they are all forgotten when the
// password changes (from the account page or by a reset link) or an
// account recovery is approved, since whoever had the password or the
// second factors then may have had a browser confirmed; and a browser
// not seen for KnownDeviceTTL is swept. Forgetting a browser signs
// nothing out: it only makes its next sign-in with an authenticator app
// or a recovery code wait for the emailed link again.

// DeviceRefresh is how often a known device's last use is recorded, and
// its device cookie renewed, at most: once a day.
const DeviceRefresh = 24 * time.Hour

// KnownDeviceTTL is how long a browser stays known without being used: a
// little over a year, past the device cookie's own year, which a browser
// in use renews (DeviceRefresh).
const KnownDeviceTTL = 400 * 24 * time.Hour

// KnownDeviceView is one known device of a user as its owner sees it on
// the sessions page. Its texts came from the browser: bounded and
// printable, and still to be escaped.
type KnownDeviceView struct {
	// ID names the device in its "forget" form: derived from its
	// known_devices key (KnownDeviceID), never the key itself.
	ID string
	// Current is the browser of the request.
	Current bool
	IP      string
	// UserAgent is its User-Agent when last seen, without control
	// characters, cut; Device its summary ("Firefox 133 on Linux").
	UserAgent string
	Device    string
	// CreatedAt is when it was first confirmed (or a sign-in completed
	// in it); LastSeenAt its last recorded use (at most once a day).
	CreatedAt, LastSeenAt time.Time
}

// KnownDeviceID is the public id of the known device whose key is
// deviceHash: the first 16 bytes of an HMAC of it under the deployment's
// secret, in hex, as SessionID does for sessions.
func (s *Service) KnownDeviceID(deviceHash string) string {
	return s.publicID("known-device-id", deviceHash)
}

// KnownDevices lists the known devices of the user of c, the latest used
// first; device (a DeviceID, "" for none) is the browser of the request,
// marked Current.
func (s *Service) KnownDevices(ctx context.Context, c *Current, device string) ([]KnownDeviceView, error) {
	all, err := s.store.UserKnownDevices(ctx, c.User.ID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	var current string
	if device != "" {
		current = s.deviceHash(c.User.ID, device)
	}
	out := make([]KnownDeviceView, 0, len(all))
	for _, d := range all {
		out = append(out, KnownDeviceView{
			ID: s.KnownDeviceID(d.DeviceHash), Current: d.DeviceHash == current,
			IP: useragent.Printable(d.IP, maxShownIP), UserAgent: useragent.Printable(d.UserAgent, maxShownAgent),
			Device: useragent.Summary(d.UserAgent), CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt,
		})
	}
	return out, nil
}

// errNoKnownDevice refuses an id that names none of the user's known
// devices.
var errNoKnownDevice = &problem.Error{Kind: problem.NotFound,
	Message: "There is no such browser among those that skip the emailed confirmation: it may have been forgotten already."}

// ForgetDevice forgets the user's known device named id (a
// KnownDeviceID), one of its own only: any other id, another user's
// device's included, is not found. Its next sign-in with an
// authenticator app or a recovery code waits for the emailed link again;
// no session ends.
func (s *Service) ForgetDevice(ctx context.Context, c *Current, id string, m audit.Meta) error {
	all, err := s.store.UserKnownDevices(ctx, c.User.ID)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	i := slices.IndexFunc(all, func(d *store.KnownDevice) bool {
		return hmac.Equal([]byte(s.KnownDeviceID(d.DeviceHash)), []byte(id))
	})
	if i < 0 {
		return errNoKnownDevice
	}
	d := all[i]
	if err := s.store.ForgetDevice(ctx, c.User.ID, d.DeviceHash); errors.Is(err, store.ErrNotFound) {
		return errNoKnownDevice
	} else if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.DeviceForgotten},
		map[string]any{"ip": d.IP, "user_agent": d.UserAgent})
}

// ForgetDevices forgets every known device of the user of c, and records
// it; it returns how many there were. No session ends.
func (s *Service) ForgetDevices(ctx context.Context, c *Current, m audit.Meta) (int64, error) {
	n, err := s.store.ForgetUserDevices(ctx, c.User.ID)
	if err != nil {
		return 0, fmt.Errorf("account: %w", err)
	}
	if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.DevicesForgotten},
		map[string]any{"devices": n}); err != nil {
		return 0, err
	}
	return n, nil
}
