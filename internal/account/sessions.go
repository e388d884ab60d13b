package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/useragent"
)

// Bounds of what a session shows of its client's own words (its
// User-Agent is stored up to 512 bytes).
const (
	maxShownAgent = 256
	maxShownIP    = 64
)

// SessionView is one session of a user as its owner sees it on the
// sessions page. Every text in it came from the session's client: it is
// bounded and printable, and still to be escaped.
type SessionView struct {
	// ID names the session in its "sign out" form: derived from the
	// session's lookup key (SessionID), never the key itself.
	ID string
	// Current is the session of the request.
	Current bool
	// Pending: a password was given and the session waits for its
	// second factor, or (Awaiting = store.AwaitingDevice) for the
	// emailed confirmation of a new device.
	Pending  bool
	Awaiting string
	// AuthMethod is how it signed in (store.Session.AuthMethod).
	AuthMethod string
	IP         string
	// UserAgent is the client's User-Agent without control characters,
	// cut; Device its summary ("Firefox 133 on Linux").
	UserAgent string
	Device    string
	// CreatedAt is when it signed in; LastSeenAt its last request
	// (recorded at most once a minute).
	CreatedAt, LastSeenAt time.Time
}

// SessionID is the public id of the session whose lookup key (the hash of
// its cookie) is idHash: the first 16 bytes of an HMAC of it under the
// deployment's secret, in hex. The lookup key itself must not appear in a
// page: whoever reads it could not sign in with it, but it is the
// session's row key, and the page needs no more than a name.
func (s *Service) SessionID(idHash string) string { return s.publicID("session-id", idHash) }

// publicID names a row whose key is key in a page: the first 16 bytes of
// an HMAC of it under the deployment's secret, for purpose, in hex.
func (s *Service) publicID(purpose, key string) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(purpose + "\x00"))
	mac.Write([]byte(key))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// live reports whether a session is still usable at now: neither past its
// end nor idle.
func (s *Service) live(x *store.Session, now time.Time) bool {
	return now.Before(x.ExpiresAt) && now.Sub(x.LastSeenAt) < s.cfg.IdleTimeout
}

// Sessions lists the live sessions of the user (signed in, or waiting
// for a second factor or a device confirmation), the latest activity
// first.
func (s *Service) Sessions(ctx context.Context, c *Current) ([]SessionView, error) {
	all, err := s.store.UserSessions(ctx, c.User.ID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	now := s.now()
	var out []SessionView
	for _, x := range all {
		if !s.live(x, now) {
			continue
		}
		out = append(out, SessionView{
			ID: s.SessionID(x.IDHash), Current: x.IDHash == c.Session.IDHash,
			Pending: x.State == store.SessionPending, Awaiting: x.Awaiting, AuthMethod: x.AuthMethod,
			IP: useragent.Printable(x.IP, maxShownIP), UserAgent: useragent.Printable(x.UserAgent, maxShownAgent),
			Device: useragent.Summary(x.UserAgent), CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
		})
	}
	// The store lists them by creation, newest first: a stable sort
	// keeps that order among equal activity.
	slices.SortStableFunc(out, func(a, b SessionView) int { return b.LastSeenAt.Compare(a.LastSeenAt) })
	return out, nil
}

// SignOutSession ends the user's session named id (a SessionID), one of
// its own only: any other id, another user's session's included, is not
// found. Ending the request's own session is signing out (a Logout);
// ending another records an event with that session's address and
// agent. current reports which it was.
func (s *Service) SignOutSession(ctx context.Context, c *Current, id string, m audit.Meta) (current bool, err error) {
	all, err := s.store.UserSessions(ctx, c.User.ID)
	if err != nil {
		return false, fmt.Errorf("account: %w", err)
	}
	i := slices.IndexFunc(all, func(x *store.Session) bool {
		return hmac.Equal([]byte(s.SessionID(x.IDHash)), []byte(id))
	})
	if i < 0 || !s.live(all[i], s.now()) {
		return false, problem.Errorf(problem.NotFound, "There is no such session: it may have ended already.")
	}
	x := all[i]
	if x.IDHash == c.Session.IDHash {
		return true, s.Logout(ctx, c, m)
	}
	if err := s.store.DeleteSession(ctx, x.IDHash); err != nil {
		return false, fmt.Errorf("account: %w", err)
	}
	return false, s.revoked(ctx, c, x, m)
}

// revoked records that the user of c ended its other session x.
func (s *Service) revoked(ctx context.Context, c *Current, x *store.Session, m audit.Meta) error {
	details := map[string]any{"ip": x.IP, "user_agent": x.UserAgent}
	if x.State == store.SessionPending {
		details["pending"] = true
	}
	return audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.SessionRevoked}, details)
}

// maxRevokedEvents bounds the events of one LogoutEverywhere: a user may
// have many sessions (each sign-in makes one), and one event for each
// would let whoever knows the password make a sign-out write without
// bound.
const maxRevokedEvents = 20

// revokedEvents records the end of each live session of sessions (listed
// before LogoutEverywhere ended them) but c's, the newest first, at most
// maxRevokedEvents of them.
func (s *Service) revokedEvents(ctx context.Context, c *Current, sessions []*store.Session, m audit.Meta) error {
	now, n := s.now(), 0
	for _, x := range sessions {
		if x.IDHash == c.Session.IDHash || !s.live(x, now) {
			continue
		}
		if n++; n > maxRevokedEvents {
			break
		}
		if err := s.revoked(ctx, c, x, m); err != nil {
			return err
		}
	}
	return nil
}
