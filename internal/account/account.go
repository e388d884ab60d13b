// Package account is about people: registering, proving an email address,
// signing in to the web UI (a password, then — when enrolled — a second
// factor), sessions shared by every server through the database, password
// changes and resets, and the rate limits that slow down guessing. It
// knows nothing of HTTP: the web layer turns cookies into calls here.
package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/jobs"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// Defaults for Config.
const (
	DefaultIdleTimeout     = 12 * time.Hour
	DefaultAbsoluteTimeout = 7 * 24 * time.Hour
	// DefaultPendingTimeout bounds the time between the password and the
	// second factor.
	DefaultPendingTimeout = 5 * time.Minute
)

// Failed logins allowed, per user and per IP (as PyPI).
var LoginLimit = ratelimit.Rule{Max: 10, Window: 5 * time.Minute}

// Config holds the settings of accounts.
type Config struct {
	// BaseURL is the public URL of the server, without a trailing slash;
	// links in emails are built from it.
	BaseURL         string
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	PendingTimeout  time.Duration
	// Mailer sends the account emails (verification links, password
	// resets, notices). Nil drops them with a logged warning.
	Mailer mail.Mailer
	// HasSecondFactor says whether a user has a second factor, which it
	// must then pass after its password (twofactor.HasTwoFactor). Nil:
	// nobody has one.
	HasSecondFactor func(ctx context.Context, userID int64) (bool, error)
	// PasswordChecksPerIP bounds the password hashes per client address,
	// right or wrong (zero: DefaultPasswordChecksPerIP).
	PasswordChecksPerIP ratelimit.Rule

	// CheckEmail decides whether a new address (at registration and
	// email change) may be used: a *problem.Error of kind Invalid refuses
	// it with its message (emaildomain.Service.Check). Nil: any address
	// of a valid form.
	CheckEmail func(ctx context.Context, email string) error
	// NewDeviceConfirmation makes a sign-in by an authenticator app or a
	// recovery code, from a browser the account has not used, wait for a
	// link emailed to the account (see device.go). False: no sign-in
	// waits.
	NewDeviceConfirmation bool
}

// Service manages accounts and sessions. It is safe for concurrent use.
type Service struct {
	store   *store.Store
	hasher  *auth.Hasher
	limiter *ratelimit.Limiter
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mail    *mail.Sender // the user's emails, through cfg.Mailer
	secret  []byte       // deployment-wide, from the database
	// cookieKey signs device cookies and knownKey makes the keys of known
	// devices: both derived from secret (deviceKeys).
	cookieKey, knownKey []byte
	// dummyHash is verified against when a username does not exist, so
	// that a wrong username costs as much time as a wrong password.
	dummyHash string
	// jobs runs what must not delay an answer that would tell a secret:
	// the work and mail of password-reset requests and registrations.
	jobs *jobs.Queue
}

// Background jobs: at most JobWorkers at once (mostly sending mail), and
// at most JobBacklog waiting; beyond, requests wait for room.
const (
	JobWorkers = 2
	JobBacklog = 1000
)

// New returns a Service, loading (or creating) the deployment's secret.
// now may be nil (the wall clock).
func New(ctx context.Context, st *store.Store, hasher *auth.Hasher, cfg Config, log *slog.Logger, now func() time.Time) (*Service, error) {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.PendingTimeout <= 0 {
		cfg.PendingTimeout = DefaultPendingTimeout
	}
	if cfg.PasswordChecksPerIP.Max <= 0 || cfg.PasswordChecksPerIP.Window <= 0 {
		cfg.PasswordChecksPerIP = DefaultPasswordChecksPerIP
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	secret, err := st.Secret(ctx, "session", func() string { return rand.Text() + rand.Text() }, now())
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	dummy, err := hasher.Hash(ctx, rand.Text())
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	cookieKey, knownKey := deviceKeys([]byte(secret))
	return &Service{store: st, hasher: hasher, limiter: ratelimit.New(st, now), cfg: cfg, log: log, now: now,
		mail:   &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log},
		secret: []byte(secret), cookieKey: cookieKey, knownKey: knownKey,
		dummyHash: dummy, jobs: jobs.New(JobWorkers, JobBacklog, log)}, nil
}

// later runs fn after the answer, on the service's queue, logging its
// failure; it returns an error only when the job could not be queued.
func (s *Service) later(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	err := s.jobs.Go(ctx, name, func(ctx context.Context) {
		if err := fn(ctx); err != nil {
			s.log.ErrorContext(ctx, "background job failed", "job", name, "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return nil
}

// Drain waits until the background work queued so far (registrations,
// password-reset requests) is done, or ctx ends.
func (s *Service) Drain(ctx context.Context) error { return s.jobs.Drain(ctx) }

// Close finishes the background work already queued and stops: call it
// once the HTTP server has stopped.
func (s *Service) Close() { s.jobs.Close() }

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// Limiter returns the shared rate limiter.
func (s *Service) Limiter() *ratelimit.Limiter { return s.limiter }

func (s *Service) tooMany(ctx context.Context, err error, userID int64, what string, m audit.Meta) error {
	ex, ok := errors.AsType[*ratelimit.Exceeded](err)
	if !ok {
		return err
	}
	if userID != 0 {
		if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: userID, Tag: audit.RateLimited},
			map[string]any{"limit": what}); err != nil {
			s.log.ErrorContext(ctx, "record event", "err", err)
		}
	}
	wait := ex.RetryAfter.Round(time.Second)
	msg := fmt.Sprintf("Too many failed %s attempts. Try again in %s.", what, words.Duration(wait))
	if strings.HasPrefix(ex.Key, "hash:") {
		msg = fmt.Sprintf("Too many password checks from your address. Try again in %s.", words.Duration(wait))
	}
	return &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait, Message: msg}
}

// Login is the result of a correct password.
type Login struct {
	User *store.User
	// Cookie is the new session's secret, for the session cookie.
	Cookie  string
	Session *store.Session
	// Pending is true when a second factor must follow before the
	// session is signed in.
	Pending bool
}

// Current is a signed-in (or pending) session and its user.
type Current struct {
	Session *store.Session
	User    *store.User
}

// Pending reports whether the session still waits for a second factor.
func (c *Current) Pending() bool { return c.Session.State == store.SessionPending }

// SecondFactorRequired decides whether a user must pass a second factor
// after its password. Until two-factor methods exist, nobody must.
func (s *Service) secondFactorRequired(ctx context.Context, u *store.User) (bool, error) {
	if s.cfg.HasSecondFactor == nil {
		return false, nil
	}
	return s.cfg.HasSecondFactor(ctx, u.ID)
}

// loginKeys are the rate-limit keys of a password check: the user's name
// (any case), and the client's address (an IPv6 client by its /64).
func loginKeys(username, ip string) (userKey, ipKey string) {
	return "login:user:" + strings.ToLower(username), "login:ip:" + ratelimit.ClientKey(ip)
}

// loginLimits are the limits of a password check: LoginLimit per user and
// per IP.
func loginLimits(userKey, ipKey string) []ratelimit.Limit {
	rules := []ratelimit.Rule{LoginLimit}
	return []ratelimit.Limit{{Key: userKey, Rules: rules}, {Key: ipKey, Rules: rules}}
}

// DefaultPasswordChecksPerIP bounds the password hashes one client address
// may cause, right passwords included: LoginLimit counts only failures, so
// without it a client that knows one password (its own account) could
// make the server hash without end. 300 in 5 minutes (one a second) is far
// above what the people behind one office's address sign in, and costs
// about 3% of a core at production argon2id parameters.
var DefaultPasswordChecksPerIP = ratelimit.Rule{Max: 300, Window: 5 * time.Minute}

// reservePasswordCheck reserves a password check's slots before the hash:
// the failure slots per user and per address (LoginLimit; the returned
// reservation, to be released when the password is right), then one of
// the address's hashing budget (Config.PasswordChecksPerIP), which is
// never given back.
func (s *Service) reservePasswordCheck(ctx context.Context, userKey, ipKey string) (*ratelimit.Reservation, error) {
	res, err := s.limiter.Reserve(ctx, loginLimits(userKey, ipKey)...)
	if err != nil {
		return nil, err
	}
	budget := ratelimit.Limit{Key: "hash:" + ipKey, Rules: []ratelimit.Rule{s.cfg.PasswordChecksPerIP}}
	if _, err := s.limiter.Reserve(ctx, budget); err != nil {
		return nil, errors.Join(err, res.Release(ctx))
	}
	return res, nil
}

// Login checks a username and password, and starts a session: signed in,
// or pending when a second factor must follow. Every attempt reserves a
// slot per user and per IP before the password is hashed, and a right
// password gives it back; past LoginLimit every attempt is refused with
// the time to wait, unhashed. A disabled account answers its right
// password exactly as a wrong one (and counts and records it), so that
// the answer does not confirm the password. A new session is always
// created (never reused), so that a session id planted before login is
// worthless.
func (s *Service) Login(ctx context.Context, username, password string, m audit.Meta) (*Login, error) {
	username = strings.TrimSpace(username)
	userKey, ipKey := loginKeys(username, m.IP)
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("account: login: %w", err)
	}
	if u == nil && strings.Contains(username, "@") {
		if byMail, err := s.store.UserByEmail(ctx, username); err == nil {
			u = byMail
			userKey, _ = loginKeys(u.Username, m.IP)
		}
	}
	var uid int64
	if u != nil {
		uid = u.ID
	}
	// The attempt takes its slot before the password is hashed, so that
	// parallel guesses cannot all pass the limit.
	res, err := s.reservePasswordCheck(ctx, userKey, ipKey)
	if err != nil {
		return nil, s.tooMany(ctx, err, uid, "login", m)
	}
	wrong := problem.Errorf(problem.Unauthenticated, "The username or password is wrong.")
	if u == nil {
		_ = s.hasher.Verify(ctx, password, s.dummyHash)
		return nil, wrong
	}
	if err := s.hasher.Verify(ctx, password, u.PasswordHash); err != nil {
		if !errors.Is(err, auth.ErrMismatch) {
			return nil, fmt.Errorf("account: login: %w", err)
		}
		if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: u.ID, Tag: audit.LoginFailure},
			map[string]any{"reason": "wrong password"}); err != nil {
			return nil, err
		}
		return nil, wrong
	}
	if u.Disabled {
		// Answered as a wrong password, and counted as one: the answer
		// must not confirm the password (the administrators tell the
		// owner why the account is disabled).
		if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: u.ID, Tag: audit.LoginFailure},
			map[string]any{"reason": "account disabled"}); err != nil {
			return nil, err
		}
		return nil, wrong
	}
	// A right password is not a failed login.
	if err := res.Release(ctx); err != nil {
		return nil, err
	}
	pending, err := s.secondFactorRequired(ctx, u)
	if err != nil {
		return nil, err
	}
	state, method := store.SessionActive, "password"
	if pending {
		state, method = store.SessionPending, ""
	}
	cookie, sess, err := s.startSession(ctx, u, state, method, m)
	if err != nil {
		return nil, err
	}
	if !pending {
		if err := s.signedIn(ctx, u, m); err != nil {
			return nil, err
		}
	}
	return &Login{User: u, Cookie: cookie, Session: sess, Pending: pending}, nil
}

// signedIn records a completed sign-in; details name the second factor.
func (s *Service) signedIn(ctx context.Context, u *store.User, m audit.Meta, details ...map[string]any) error {
	now := s.now()
	if err := s.store.SetLastLogin(ctx, u.ID, now); err != nil {
		return err
	}
	var d map[string]any
	if len(details) > 0 {
		d = details[0]
	}
	return audit.Record(ctx, s.store, now, m, store.Event{UserID: u.ID, Tag: audit.LoginSuccess}, d)
}

// CompleteSecondFactor signs in the user of a pending session that passed
// its second step (method "totp", "webauthn" or "recovery-code"; label
// names the key) in the browser of device (a DeviceID, "" for none). The
// pending session is replaced by a new, active one (a new id, as at every
// change of privilege), whose cookie is returned, and the browser is
// remembered for the user. But an app or a recovery code in a browser the
// user has not used before (with Config.NewDeviceConfirmation) keeps the
// session pending, awaiting the link emailed to the account
// (SecondStep.AwaitingDevice; ConfirmDevice).
func (s *Service) CompleteSecondFactor(ctx context.Context, c *Current, method, label, device string, m audit.Meta) (*SecondStep, error) {
	if !c.Pending() {
		return nil, problem.Errorf(problem.Invalid, "This session is already signed in.")
	}
	if c.AwaitingDevice() {
		return nil, problem.Errorf(problem.Invalid, "This sign-in waits for the link we emailed you.")
	}
	wait, err := s.needsDeviceConfirmation(ctx, c.User.ID, method, device)
	if err != nil {
		return nil, err
	}
	if wait {
		if err := s.awaitDevice(ctx, c, method, m); err != nil {
			return nil, err
		}
		return &SecondStep{AwaitingDevice: true}, nil
	}
	if err := s.store.DeleteSession(ctx, c.Session.IDHash); err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	cookie, _, err := s.startSession(ctx, c.User, store.SessionActive, method, m)
	if err != nil {
		return nil, err
	}
	var renew bool
	if device != "" {
		if renew, err = s.RememberDevice(ctx, c.User.ID, device, m); err != nil {
			return nil, err
		}
	}
	details := map[string]any{"two_factor_method": method}
	if label != "" {
		details["label"] = label
	}
	if err := s.signedIn(ctx, c.User, m, details); err != nil {
		return nil, err
	}
	return &SecondStep{Cookie: cookie, RenewDevice: renew}, nil
}

// Reauthenticated records that the user of a signed-in session proved its
// identity again (with method), for the changes that require a recent
// proof.
func (s *Service) Reauthenticated(ctx context.Context, c *Current, method, label string, m audit.Meta) error {
	now := s.now()
	if err := s.store.ReauthenticateSession(ctx, c.Session.IDHash, store.SessionActive, now); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	c.Session.AuthenticatedAt = now
	return audit.Record(ctx, s.store, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.Reauthenticated},
		map[string]any{"method": method, "label": label})
}

// RecentlyAuthenticated reports whether the session's user proved its
// identity within window.
func (s *Service) RecentlyAuthenticated(c *Current, window time.Duration) bool {
	return s.now().Sub(c.Session.AuthenticatedAt) < window
}

// CheckPassword verifies the password of a signed-in user (for a
// re-authentication without a second factor) under the login limit: the
// slot is reserved before the hash, and given back when it is right.
func (s *Service) CheckPassword(ctx context.Context, u *store.User, password string, m audit.Meta) error {
	userKey, ipKey := loginKeys(u.Username, m.IP)
	res, err := s.reservePasswordCheck(ctx, userKey, ipKey)
	if err != nil {
		return s.tooMany(ctx, err, u.ID, "login", m)
	}
	if err := s.hasher.Verify(ctx, password, u.PasswordHash); err != nil {
		if !errors.Is(err, auth.ErrMismatch) {
			return fmt.Errorf("account: %w", err)
		}
		if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: u.ID, Tag: audit.LoginFailure},
			map[string]any{"reason": "wrong password at re-authentication"}); err != nil {
			return err
		}
		return problem.Errorf(problem.Unauthenticated, "The password is wrong.")
	}
	return res.Release(ctx)
}

// startSession creates a session of u in state, signed in with method
// ("" for a pending session), and returns its cookie.
func (s *Service) startSession(ctx context.Context, u *store.User, state, method string, m audit.Meta) (string, *store.Session, error) {
	now := s.now()
	cookie := rand.Text() + rand.Text()
	end := now.Add(s.cfg.AbsoluteTimeout)
	if state == store.SessionPending {
		end = now.Add(s.cfg.PendingTimeout)
	}
	sess := &store.Session{IDHash: auth.HashToken(cookie), UserID: u.ID, State: state, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: end, AuthenticatedAt: now, IP: m.IP, UserAgent: truncate(m.UserAgent, 512), AuthMethod: method}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("account: %w", err)
	}
	return cookie, sess, nil
}

// truncate cuts a client's text (its User-Agent) to at most n bytes of
// valid UTF-8 without NUL: PostgreSQL refuses both in a text column (an
// agent with a byte 0xff would fail the write), and a cut may split a
// character.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

// sessionTouchInterval is how stale a session's recorded activity may be.
const sessionTouchInterval = time.Minute

// Session resolves a session cookie. It returns (nil, nil) for an unknown,
// expired or idle session, or one whose user is disabled (which ends it).
func (s *Service) Session(ctx context.Context, cookie string) (*Current, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, nil
	}
	sess, err := s.store.SessionByHash(ctx, auth.HashToken(cookie))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.IdleTimeout {
		if err := s.store.DeleteSession(ctx, sess.IDHash); err != nil {
			return nil, fmt.Errorf("account: %w", err)
		}
		return nil, nil
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	if u.Disabled {
		if _, err := s.store.DeleteUserSessions(ctx, u.ID, ""); err != nil {
			return nil, fmt.Errorf("account: %w", err)
		}
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchInterval {
		if err := s.store.TouchSession(ctx, sess.IDHash, now); err != nil {
			return nil, fmt.Errorf("account: %w", err)
		}
		sess.LastSeenAt = now
	}
	return &Current{Session: sess, User: u}, nil
}

// Logout ends the session of cookie.
func (s *Service) Logout(ctx context.Context, c *Current, m audit.Meta) error {
	if err := s.store.DeleteSession(ctx, c.Session.IDHash); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: c.User.ID, Tag: audit.Logout}, nil)
}

// DropSession ends the session without recording a logout: sign-in
// replaces the browser's previous session by a new one.
func (s *Service) DropSession(ctx context.Context, c *Current) error {
	if err := s.store.DeleteSession(ctx, c.Session.IDHash); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return nil
}

// UserByUsername returns the user of a username (in any case), disabled
// or not; store.ErrNotFound when there is none.
func (s *Service) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	return s.store.UserByUsername(ctx, username)
}

// LogoutEverywhere ends every other session of the user, and records it:
// one event with their number, then one for each live session it ended
// (revokedEvents).
func (s *Service) LogoutEverywhere(ctx context.Context, c *Current, m audit.Meta) (int64, error) {
	before, err := s.store.UserSessions(ctx, c.User.ID)
	if err != nil {
		return 0, fmt.Errorf("account: %w", err)
	}
	n, err := s.store.DeleteUserSessions(ctx, c.User.ID, c.Session.IDHash)
	if err != nil {
		return 0, fmt.Errorf("account: %w", err)
	}
	if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: c.User.ID, Tag: audit.LogoutEverywhere},
		map[string]any{"sessions": n}); err != nil {
		return n, err
	}
	return n, s.revokedEvents(ctx, c, before, m)
}

// CSRFToken returns the form token of a session (or, for a visitor who is
// not signed in, of its anonymous cookie): an HMAC under the deployment's
// secret, so that it needs no storage and every server agrees.
func (s *Service) CSRFToken(binding string) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte("csrf\x00"))
	mac.Write([]byte(binding))
	return hex.EncodeToString(mac.Sum(nil))
}

// CheckCSRF compares a submitted form token with the expected one in
// constant time.
func (s *Service) CheckCSRF(binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(s.CSRFToken(binding)), []byte(token)) == 1
}
