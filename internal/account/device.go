package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/useragent"
	"cheeseshop/internal/words"
)

// New-device confirmation. A sign-in whose second step was an
// authenticator app or a recovery code — both of which a phishing page can
// relay — from a browser the account has not used before waits for a
// link emailed to the account, which works only in that browser: a
// phisher who relays the password and the code still cannot finish. A
// browser is told apart by its device cookie (a random device id and its
// HMAC under a key derived from the deployment's secret, so that a forged
// one is refused before any query), and known for a user by a
// known_devices row keyed by an HMAC of the user id and the device id (a
// browser known for one account proves nothing for another). Security
// keys and passkeys, which cannot be phished, never wait.

// DeviceConfirmTTL is how long a sign-in waits for the confirmation of its
// new browser, and its emailed link works.
const DeviceConfirmTTL = 15 * time.Minute

// Rate limits of the confirmation: failed posts of a link per client
// address, and emails of a new link per user.
var (
	DeviceLinkLimit   = ratelimit.Rule{Max: 10, Window: 15 * time.Minute}
	DeviceResendLimit = ratelimit.Rule{Max: 3, Window: 15 * time.Minute}
)

// deviceIDLen is the length of a device id (rand.Text).
const deviceIDLen = 26

// SecondStep is the outcome of a passed second step.
type SecondStep struct {
	// Cookie is the signed-in session's cookie, which replaces the
	// pending session's; "" while AwaitingDevice.
	Cookie string
	// AwaitingDevice says that the browser is new to the account: the
	// session stays pending until the link emailed to the account is
	// opened in this browser (ConfirmDevice).
	AwaitingDevice bool
	// RenewDevice: the browser's device cookie is to be set again for
	// its full lifetime (RememberDevice wrote).
	RenewDevice bool
}

// AwaitingDevice reports whether the session passed its second step and
// waits for the emailed confirmation of its browser.
func (c *Current) AwaitingDevice() bool {
	return c.Pending() && c.Session.Awaiting == store.AwaitingDevice
}

// deviceKeys derives the keys of device cookies and known devices from
// the deployment's secret, one for each use.
func deviceKeys(secret []byte) (cookieKey, knownKey []byte) {
	derive := func(purpose string) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(purpose))
		return mac.Sum(nil)
	}
	return derive("device-cookie"), derive("known-device")
}

// NewDeviceCookie mints the value of a new browser's device cookie: a
// random device id and its HMAC.
func (s *Service) NewDeviceCookie() string {
	id := rand.Text()
	return id + "." + s.deviceMAC(id)
}

// DeviceID returns the device id of a device cookie's value, or "" when
// the value is not one this deployment minted (forged or altered).
func (s *Service) DeviceID(cookie string) string {
	id, mac, ok := strings.Cut(cookie, ".")
	if !ok || len(id) != deviceIDLen || !hmac.Equal([]byte(mac), []byte(s.deviceMAC(id))) {
		return ""
	}
	return id
}

func (s *Service) deviceMAC(id string) string {
	mac := hmac.New(sha256.New, s.cookieKey)
	mac.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// deviceHash is the known_devices key of a browser for a user.
func (s *Service) deviceHash(userID int64, device string) string {
	mac := hmac.New(sha256.New, s.knownKey)
	mac.Write([]byte(strconv.FormatInt(userID, 10)))
	mac.Write([]byte{0})
	mac.Write([]byte(device))
	return hex.EncodeToString(mac.Sum(nil))
}

// KnownDevice reports whether the browser of device (a DeviceID) is known
// for the user.
func (s *Service) KnownDevice(ctx context.Context, userID int64, device string) (bool, error) {
	if device == "" {
		return false, nil
	}
	_, err := s.store.KnownDevice(ctx, userID, s.deviceHash(userID, device))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("account: %w", err)
	}
	return true, nil
}

// RememberDevice records that the user signed in (or set up a second
// factor) in the browser of device (a DeviceID), which is then known for
// that user: a sign-in from it is not asked to confirm it again. A known
// browser's last use, address and user agent are updated at most once per
// DeviceRefresh. It reports whether it wrote (the browser is new to the
// user, or was last seen more than DeviceRefresh ago): then the browser's
// device cookie is to be renewed, so that a browser in use keeps it.
func (s *Service) RememberDevice(ctx context.Context, userID int64, device string, m audit.Meta) (bool, error) {
	if device == "" {
		return false, errors.New("account: remember device: no device id")
	}
	now := s.now()
	wrote, err := s.store.RememberDevice(ctx, &store.KnownDevice{UserID: userID, DeviceHash: s.deviceHash(userID, device),
		IP: m.IP, UserAgent: truncate(m.UserAgent, 512), LastSeenAt: now}, now.Add(-DeviceRefresh))
	if err != nil {
		return false, fmt.Errorf("account: %w", err)
	}
	return wrote, nil
}

// needsDeviceConfirmation says whether a second step by method, in the
// browser of device, must wait for the emailed confirmation.
func (s *Service) needsDeviceConfirmation(ctx context.Context, userID int64, method, device string) (bool, error) {
	if !s.cfg.NewDeviceConfirmation || (method != "totp" && method != "recovery-code") {
		return false, nil
	}
	known, err := s.KnownDevice(ctx, userID, device)
	return !known, err
}

// awaitDevice keeps the pending session c, whose second step passed by
// method in a browser new to its user, waiting for the confirmation of
// the browser: it stores the SHA-256 of a new link's secret, gives the
// session DeviceConfirmTTL, records the event and emails the link.
func (s *Service) awaitDevice(ctx context.Context, c *Current, method string, m audit.Meta) error {
	secret := newLinkSecret()
	expires := s.now().Add(DeviceConfirmTTL)
	err := s.store.AwaitDevice(ctx, c.Session.IDHash, method, auth.HashToken(secret), expires)
	if errors.Is(err, store.ErrNotFound) {
		return problem.Errorf(problem.Unauthenticated, "Your sign-in expired. Log in again.")
	} else if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	c.Session.Awaiting, c.Session.AuthMethod, c.Session.ConfirmHash, c.Session.ExpiresAt =
		store.AwaitingDevice, method, auth.HashToken(secret), expires
	if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: c.User.ID, Tag: audit.LoginNewDevice},
		map[string]any{"two_factor_method": method}); err != nil {
		return err
	}
	return s.sendDeviceLink(ctx, c, secret, m)
}

// sendDeviceLink emails the user of c the link of secret.
func (s *Service) sendDeviceLink(ctx context.Context, c *Current, secret string, m audit.Meta) error {
	used, factor := "a code from its authenticator app", "authenticator app"
	if c.Session.AuthMethod == "recovery-code" {
		used, factor = "a recovery code", "recovery codes"
	}
	// The User-Agent is the signing-in client's own words, maybe a
	// phisher's: without line breaks and bidirectional overrides, which
	// could forge lines of this email or reorder them.
	browser := useragent.Printable(m.UserAgent, 200)
	if browser == "" {
		browser = "(not told)"
	}
	return s.mail.Send(ctx, c.User.Email, "new-device", mail.Data{"Username": c.User.Username, "Used": used, "Factor": factor,
		"When": s.now(), "IP": m.IP, "Browser": browser, "TTL": DeviceConfirmTTL,
		"Link": s.cfg.BaseURL + "/account/confirm-device/?token=" + secret})
}

// ResendDeviceLink emails a new link to confirm the browser of c, a
// session awaiting it; the earlier links stop working. At most
// DeviceResendLimit emails per user.
func (s *Service) ResendDeviceLink(ctx context.Context, c *Current, m audit.Meta) error {
	if !c.AwaitingDevice() {
		return problem.Errorf(problem.Invalid, "This sign-in does not wait for an emailed link.")
	}
	limit := ratelimit.Limit{Key: "device-link:resend:" + strconv.FormatInt(c.User.ID, 10), Rules: []ratelimit.Rule{DeviceResendLimit}}
	if _, err := s.limiter.Reserve(ctx, limit); err != nil {
		if ex, ok := errors.AsType[*ratelimit.Exceeded](err); ok {
			wait := ex.RetryAfter.Round(time.Second)
			return &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait,
				Message: fmt.Sprintf("We sent several links already. Try again in %s, or check your spam folder.", words.Duration(wait))}
		}
		return err
	}
	secret := newLinkSecret()
	err := s.store.RenewDeviceConfirmation(ctx, c.Session.IDHash, auth.HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return problem.Errorf(problem.Unauthenticated, "Your sign-in expired. Log in again.")
	} else if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	c.Session.ConfirmHash = auth.HashToken(secret)
	return s.sendDeviceLink(ctx, c, secret, m)
}

// DeviceLink is what a link to confirm a new browser is to the browser
// that opens it.
type DeviceLink int

const (
	// DeviceLinkDead is a link that does not work: unknown, already
	// used, expired, or its sign-in ended.
	DeviceLinkDead DeviceLink = iota
	// DeviceLinkElsewhere is a working link opened in a browser other
	// than the one signing in: it confirms nothing there.
	DeviceLinkElsewhere
	// DeviceLinkHere is a working link opened in the browser signing in.
	DeviceLinkHere
)

// linkSecretLen is the length of a link's secret (two rand.Text): no
// other is looked up. The lookup of a link opened in another browser
// (store.SessionByConfirmHash) reads sessions by a column without an
// index, so anything but a well-formed secret is refused before it.
const linkSecretLen = 52

// newLinkSecret returns the secret of a new link.
func newLinkSecret() string { return rand.Text() + rand.Text() }

// CheckDeviceLink tells what the link of secret is to the browser whose
// session is c (nil: none), from the address of m. Only a link that does
// not work here costs something: it counts against DeviceLinkLimit per
// client address, past which it is refused (TooManyRequests) before any
// lookup.
func (s *Service) CheckDeviceLink(ctx context.Context, c *Current, secret string, m audit.Meta) (DeviceLink, error) {
	hash := auth.HashToken(secret)
	now := s.now()
	if c != nil && c.AwaitingDevice() && len(secret) == linkSecretLen &&
		subtle.ConstantTimeCompare([]byte(c.Session.ConfirmHash), []byte(hash)) == 1 && now.Before(c.Session.ExpiresAt) {
		return DeviceLinkHere, nil
	}
	limit := ratelimit.Limit{Key: "device-link:ip:" + ratelimit.ClientKey(m.IP), Rules: []ratelimit.Rule{DeviceLinkLimit}}
	if _, err := s.limiter.Reserve(ctx, limit); err != nil {
		var uid int64
		if c != nil {
			uid = c.User.ID
		}
		return DeviceLinkDead, s.tooMany(ctx, err, uid, "confirmation link", m)
	}
	if len(secret) != linkSecretLen {
		return DeviceLinkDead, nil
	}
	sess, err := s.store.SessionByConfirmHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return DeviceLinkDead, nil
	} else if err != nil {
		return DeviceLinkDead, fmt.Errorf("account: %w", err)
	}
	if !now.Before(sess.ExpiresAt) {
		return DeviceLinkDead, nil
	}
	return DeviceLinkElsewhere, nil
}

// Refusals of ConfirmDevice.
var (
	errDeviceLinkDead = &problem.Error{Kind: problem.NotFound,
		Message: "This link does not work any more: it was already used, it expired, or that sign-in ended. Sign in again to get a new one."}
	errDeviceLinkElsewhere = &problem.Error{Kind: problem.Forbidden,
		Message: "This link only works in the browser where you are signing in. Copy it into that browser's address bar (or open the email there). Opening it here confirmed nothing."}
)

// Err is the refusal of a link that does not work in the browser that
// opened it (nil for DeviceLinkHere), for the user.
func (l DeviceLink) Err() error {
	switch l {
	case DeviceLinkHere:
		return nil
	case DeviceLinkElsewhere:
		return errDeviceLinkElsewhere
	}
	return errDeviceLinkDead
}

// IsDeviceLinkError reports whether err is ConfirmDevice's refusal of a
// dead link, or of a link opened in another browser.
func IsDeviceLinkError(err error) bool {
	e, ok := errors.AsType[*problem.Error](err)
	return ok && (e == errDeviceLinkDead || e == errDeviceLinkElsewhere)
}

// ConfirmDevice finishes the sign-in of c, a session awaiting the
// confirmation of its browser, with the link of secret, which must be the
// one emailed to it (in constant time): the session is replaced by a new,
// active one (whose cookie is returned), the browser of device (a
// DeviceID) is remembered for the user and the sign-in recorded. The link
// works once: of two concurrent confirmations, one wins. Failed attempts
// count against DeviceLinkLimit per client address (CheckDeviceLink).
func (s *Service) ConfirmDevice(ctx context.Context, c *Current, secret, device string, m audit.Meta) (string, error) {
	state, err := s.CheckDeviceLink(ctx, c, secret, m)
	if err != nil {
		return "", err
	}
	if err := state.Err(); err != nil {
		return "", err
	}
	won, err := s.store.TakeAwaitingSession(ctx, c.Session.IDHash, auth.HashToken(secret), s.now())
	if err != nil {
		return "", fmt.Errorf("account: %w", err)
	}
	if !won {
		return "", errDeviceLinkDead
	}
	method := c.Session.AuthMethod
	cookie, _, err := s.startSession(ctx, c.User, store.SessionActive, method, m)
	if err != nil {
		return "", err
	}
	if device != "" {
		if _, err := s.RememberDevice(ctx, c.User.ID, device, m); err != nil {
			return "", err
		}
	}
	if err := s.signedIn(ctx, c.User, m, map[string]any{"two_factor_method": method, "new_device": true}); err != nil {
		return "", err
	}
	return cookie, nil
}
