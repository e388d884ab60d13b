// Package twofactor is the second step of signing in: authenticator apps
// (TOTP, RFC 6238), security keys (WebAuthn) and single-use recovery
// codes; enrolling and removing them; the rate limits of failed second
// steps; and the one policy that says whether a user has two-factor
// authentication and whether it must. It knows nothing of HTTP.
package twofactor

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
)

// Failed second steps allowed (as PyPI): per user 5 in 5 minutes, 20 in an
// hour and 50 in a day; per IP 10 in 5 minutes.
var (
	UserLimits = []ratelimit.Rule{{Max: 5, Window: 5 * time.Minute}, {Max: 20, Window: time.Hour}, {Max: 50, Window: 24 * time.Hour}}
	IPLimits   = []ratelimit.Rule{{Max: 10, Window: 5 * time.Minute}}
)

// ReauthWindow is how recent a proof of identity must be before a
// sensitive change (removing a method, regenerating recovery codes).
const ReauthWindow = 10 * time.Minute

// Config holds the settings of two-factor authentication.
type Config struct {
	// BaseURL is the public URL of the server; the WebAuthn relying party
	// id is its host and its origin the only accepted origin.
	BaseURL string
	// Issuer names the site in authenticator apps (default "cheeseshop").
	Issuer string
	// RequireAll is the site-wide switch (--require-2fa): every user must
	// have two-factor authentication to do anything but set it up.
	RequireAll bool
	// Mailer sends the notices of every change.
	Mailer mail.Mailer
	// Passkeys lets users register passkeys and sign in with them alone
	// (--passkeys). Off, the passkeys registered still work as security
	// keys after a password.
	Passkeys bool
	// Bound, when set, returns the projects whose mandate binds the user
	// (critical or opted in): such a user cannot remove its last second
	// factor. q is the transaction of the removal.
	Bound func(ctx context.Context, q BoundQuerier, userID int64) (projects []string, err error)
}

// BoundQuerier is what Config.Bound reads: the transaction of a removal.
type BoundQuerier interface {
	MandatedProjectsOf(ctx context.Context, userID int64) ([]*store.Project, error)
}

// Service manages second factors. It is safe for concurrent use.
type Service struct {
	store *store.Store
	// legacy checks recovery codes stored as argon2id hashes (sets made
	// before they were stored as HMACs), one at a time, apart from the
	// shared hasher of passwords.
	legacy *auth.Hasher
	sealer *auth.Sealer
	// codeKey is the HMAC key of recovery codes.
	codeKey []byte
	limiter *ratelimit.Limiter
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mail    *mail.Sender // the user's notices, through cfg.Mailer
}

// New returns a Service. secretKey is the server's secret key (kept out
// of the database), from which the key that seals TOTP secrets is
// derived. now may be nil (the wall clock).
func New(st *store.Store, secretKey []byte, cfg Config, log *slog.Logger, now func() time.Time) (*Service, error) {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "cheeseshop"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	sealer, err := auth.NewSealer(secretKey, "totp secret")
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	codeKey, err := hkdf.Key(sha256.New, secretKey, nil, "cheeseshop recovery code", 32)
	if err != nil {
		return nil, fmt.Errorf("twofactor: derive the recovery-code key: %w", err)
	}
	return &Service{store: st, legacy: auth.NewHasher(1, auth.Params{}), sealer: sealer, codeKey: codeKey,
		limiter: ratelimit.New(st, now), cfg: cfg, log: log, now: now,
		mail: &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log}}, nil
}

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// Methods are a user's second factors.
type Methods struct {
	TOTP bool
	Keys []*store.SecurityKey
	// RecoveryLeft counts the unused recovery codes; RecoveryTotal all of them.
	RecoveryLeft, RecoveryTotal int
	// RecoveryConfirmed is set once the user proved it saved its codes.
	RecoveryConfirmed bool
}

// Enabled reports whether the user has two-factor authentication: an
// authenticator app or at least one security key. Recovery codes alone
// do not count.
func (m *Methods) Enabled() bool { return m.TOTP || len(m.Keys) > 0 }

// Count is the number of second factors (recovery codes excluded).
func (m *Methods) Count() int {
	n := len(m.Keys)
	if m.TOTP {
		n++
	}
	return n
}

// MethodsOf returns the user's second factors.
func (s *Service) MethodsOf(ctx context.Context, userID int64) (*Methods, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	keys, err := s.store.SecurityKeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	codes, err := s.store.RecoveryCodes(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	m := &Methods{TOTP: u.HasTOTP, Keys: keys, RecoveryTotal: len(codes), RecoveryConfirmed: u.RecoveryCodesConfirmed}
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			m.RecoveryLeft++
		}
	}
	return m, nil
}

// Querier is what HasTwoFactor reads: the store or a transaction.
type Querier interface {
	TwoFactorMethods(ctx context.Context, userID int64) (totp bool, keys int, err error)
}

// HasTwoFactor is THE definition of "has two-factor authentication": an
// authenticator app or at least one security key (recovery codes alone do
// not count). Every policy (the site-wide switch, the critical-project
// mandate) decides with it.
func HasTwoFactor(ctx context.Context, q Querier, userID int64) (bool, error) {
	totp, keys, err := q.TwoFactorMethods(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("twofactor: %w", err)
	}
	return totp || keys > 0, nil
}

// HasTwoFactor reports whether the user has two-factor authentication.
func (s *Service) HasTwoFactor(ctx context.Context, userID int64) (bool, error) {
	return HasTwoFactor(ctx, s.store, userID)
}

// Requirement says why a policy requires two-factor authentication of a
// user ("" when none does).
type Requirement string

// The policies that can require two-factor authentication.
const (
	RequiredSiteWide Requirement = "site-wide"
)

// Required returns the first policy that requires two-factor
// authentication of the user, or "".
func (s *Service) Required(ctx context.Context, u *store.User) (Requirement, error) {
	if s.cfg.RequireAll {
		return RequiredSiteWide, nil
	}
	return "", nil
}

// SetupURL is where a user enrols a second factor.
func (s *Service) SetupURL() string { return s.cfg.BaseURL + "/manage/account/two-factor/" }

// MissingError explains to a user without two-factor authentication why
// it is refused and how to fix it, or returns nil when it may go on.
func (s *Service) MissingError(ctx context.Context, u *store.User) error {
	req, err := s.Required(ctx, u)
	if err != nil || req == "" {
		return err
	}
	has, err := s.HasTwoFactor(ctx, u.ID)
	if err != nil || has {
		return err
	}
	return &problem.Error{Kind: problem.Forbidden, Message: fmt.Sprintf(
		"User '%s' does not have two-factor authentication enabled, which this index requires. "+
			"Enable an authenticator app or a security key at %s, then try again.", u.Username, s.SetupURL())}
}

// RecentlyAuthenticated reports whether the user of the signed-in
// session c proved its identity (signed in, or re-authenticated) within
// ReauthWindow.
func (s *Service) RecentlyAuthenticated(c *account.Current) bool {
	return c != nil && c.Session != nil && !c.Pending() && s.now().Sub(c.Session.AuthenticatedAt) < ReauthWindow
}

// requireRecentAuth refuses a change to the credentials of c's user
// unless c proved its identity within ReauthWindow: a session cookie
// stolen earlier cannot enrol the thief's own second factor, or remove
// the owner's. Every such change checks it here, whatever page asked.
func (s *Service) requireRecentAuth(c *account.Current) error {
	if c == nil || c.Session == nil || c.Pending() {
		return problem.Errorf(problem.Unauthenticated, "Sign in first.")
	}
	if s.RecentlyAuthenticated(c) {
		return nil
	}
	return problem.Wrap(auth.ErrReauthRequired, problem.Forbidden, fmt.Sprintf(
		"Confirm it is you: changing your second factors needs a proof of identity from the last %d minutes. "+
			"Re-authenticate at %s/manage/account/reauth/, then try again.", int(ReauthWindow/time.Minute), s.cfg.BaseURL))
}

// limitKeys are the rate-limit keys of a user's second steps: the user,
// and the client's address (an IPv6 client by its /64).
func limitKeys(userID int64, ip string) (user, byIP string) {
	return "2fa:user:" + strconv.FormatInt(userID, 10), "2fa:ip:" + ratelimit.ClientKey(ip)
}

// reserve takes a slot of the second-step limits of the user and of its
// IP, before a code or a key is checked, so that parallel guesses cannot
// all pass the limits; it refuses with the time to wait when either is
// full. The caller releases the slot when the attempt succeeds (a right
// code does not count) and keeps it otherwise.
func (s *Service) reserve(ctx context.Context, u *store.User, m audit.Meta) (*ratelimit.Reservation, error) {
	userKey, ipKey := limitKeys(u.ID, m.IP)
	res, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: userKey, Rules: UserLimits}, ratelimit.Limit{Key: ipKey, Rules: IPLimits})
	if err != nil {
		ex, ok := errors.AsType[*ratelimit.Exceeded](err)
		if !ok {
			return nil, fmt.Errorf("twofactor: %w", err)
		}
		_ = s.record(ctx, u, m, audit.RateLimited, map[string]any{"limit": "second step"})
		wait := ex.RetryAfter.Round(time.Second)
		return nil, &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait,
			Message: fmt.Sprintf("Too many failed two-factor attempts. Try again in %s.", wait)}
	}
	return res, nil
}

// failed records a failed second step (its slot, reserved, stays
// counted) and emails the user; it returns refusal, the error to show.
func (s *Service) failed(ctx context.Context, u *store.User, m audit.Meta, method, label, reason string, refusal error) error {
	if err := s.record(ctx, u, m, audit.TwoFactorFailure, map[string]any{"method": method, "label": label, "reason": reason}); err != nil {
		return err
	}
	s.notify(ctx, u, "twofactor-failed", mail.Data{"Method": method, "Reason": reason, "IP": m.IP})
	return refusal
}

// record stores an event of the user.
func (s *Service) record(ctx context.Context, u *store.User, m audit.Meta, tag string, details map[string]any) error {
	return audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: tag}, details)
}

// notify emails the user the notice name, whose data gets the user's
// name; a failure to send is logged (by the sender), not fatal.
func (s *Service) notify(ctx context.Context, u *store.User, name string, data mail.Data) {
	if data == nil {
		data = mail.Data{}
	}
	data["Username"] = u.Username
	_ = s.mail.Send(ctx, u.Email, name, data)
}

// UploadGate is index.Config.UploadGate: it refuses uploads by users
// without two-factor authentication while a policy requires it, with the
// message that says how to fix it.
func (s *Service) UploadGate(ctx context.Context, u *store.User) (string, error) {
	err := s.MissingError(ctx, u)
	if e, ok := errors.AsType[*problem.Error](err); ok {
		return e.Message, nil
	}
	return "", err
}
