package twofactor

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// TOTP parameters (RFC 6238 defaults, which every authenticator app
// supports): SHA-1, 6 digits, 30-second steps, a 160-bit secret.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// totpSkew is how many steps off a code may be and still be accepted.
	totpSkew = 1
	// totpSyncSkew is how many steps off a code may be to be recognised
	// as right but from a clock out of sync (and still refused).
	totpSyncSkew = 10
	// setupTTL bounds the time between showing a new secret and confirming it.
	setupTTL = 15 * time.Minute
	// purposeTOTPSetup names the pending secret in the challenge table.
	purposeTOTPSetup = "totp-setup"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// TOTPSetup is a new authenticator-app secret, shown to the user to scan
// or type, awaiting its first code.
type TOTPSetup struct {
	Secret string // base32, as typed into an app
	URI    string // otpauth://totp/...
	QRPNG  []byte // the URI as a QR code
}

// BeginTOTP makes a new secret for the user of session c and keeps it,
// sealed and bound to the session, until ConfirmTOTP (or 15 minutes).
// It needs a recent re-authentication, as every change of second factors.
func (s *Service) BeginTOTP(ctx context.Context, c *account.Current) (*TOTPSetup, error) {
	if err := s.requireRecentAuth(c); err != nil {
		return nil, err
	}
	if c.User.HasTOTP {
		return nil, problem.Errorf(problem.Invalid, "An authenticator app is already enabled. Remove it first to set up another.")
	}
	if !c.User.RecoveryCodesConfirmed {
		return nil, problem.Errorf(problem.Forbidden, "Generate your recovery codes and confirm that you saved them before you enable an authenticator app.")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.Issuer, AccountName: c.User.Username, Period: totpPeriod,
		SecretSize: 20, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("twofactor: new totp secret: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("twofactor: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("twofactor: qr code: %w", err)
	}
	sealed := s.sealer.Seal([]byte(key.Secret()), userContext(c.User.ID))
	if err := s.store.PutChallenge(ctx, c.Session.IDHash, purposeTOTPSetup, sealed, s.now().Add(setupTTL)); err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	return &TOTPSetup{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// PendingTOTP returns the secret being set up in session c, if any.
func (s *Service) PendingTOTP(ctx context.Context, c *account.Current) (string, bool) {
	sealed, expires, err := s.store.TakeChallenge(ctx, c.Session.IDHash, purposeTOTPSetup)
	if err != nil || !s.now().Before(expires) {
		return "", false
	}
	// Put it back: looking does not use it up.
	if err := s.store.PutChallenge(ctx, c.Session.IDHash, purposeTOTPSetup, sealed, expires); err != nil {
		return "", false
	}
	secret, err := s.sealer.Open(sealed, userContext(c.User.ID))
	if err != nil {
		return "", false
	}
	return string(secret), true
}

// ConfirmTOTP enables the authenticator app being set up in session c once
// the user types a code from it, after a recent re-authentication.
func (s *Service) ConfirmTOTP(ctx context.Context, c *account.Current, code string, m audit.Meta) error {
	if err := s.requireRecentAuth(c); err != nil {
		return err
	}
	res, err := s.reserve(ctx, c.User, m)
	if err != nil {
		return err
	}
	sealed, expires, err := s.store.TakeChallenge(ctx, c.Session.IDHash, purposeTOTPSetup)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.now().Before(expires)) {
		// No code was checked: the attempt does not count.
		return errors.Join(problem.Errorf(problem.Invalid, "The set-up expired. Start again: a new secret will be shown."), res.Release(ctx))
	} else if err != nil {
		return fmt.Errorf("twofactor: %w", err)
	}
	secret, err := s.sealer.Open(sealed, userContext(c.User.ID))
	if err != nil {
		return fmt.Errorf("twofactor: pending totp secret: %w", err)
	}
	step, verr := s.matchTOTP(string(secret), code)
	if verr != nil {
		// A wrong code keeps the set-up going.
		if err := s.store.PutChallenge(ctx, c.Session.IDHash, purposeTOTPSetup, sealed, expires); err != nil {
			return fmt.Errorf("twofactor: %w", err)
		}
		return s.failed(ctx, c.User, m, "totp", "", "wrong code while setting up", verr)
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetTOTP(ctx, c.User.ID, sealed, step, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.TwoFactorAdded},
			map[string]any{"method": "totp"})
	})
	if errors.Is(err, store.ErrTOTPEnabled) {
		// Another set-up (another session) won: one app per account.
		return errors.Join(problem.Errorf(problem.Invalid, "An authenticator app is already enabled on your account (set up in another session). "+
			"Remove it first to set up another."), res.Release(ctx))
	} else if err != nil {
		return fmt.Errorf("twofactor: enable totp: %w", err)
	}
	if err := res.Release(ctx); err != nil {
		return err
	}
	c.User.HasTOTP = true
	s.notify(ctx, c.User, "totp-added", nil)
	return nil
}

// VerifyTOTP checks a code from the user's authenticator app, for a
// sign-in or a re-authentication: it must match within one step, and be
// later than the last accepted code (a code works once).
func (s *Service) VerifyTOTP(ctx context.Context, u *store.User, code string, m audit.Meta) error {
	res, err := s.reserve(ctx, u, m)
	if err != nil {
		return err
	}
	t, err := s.store.TOTPOf(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return s.failed(ctx, u, m, "totp", "", "no authenticator app", problem.Errorf(problem.Invalid, "No authenticator app is enabled on this account."))
	} else if err != nil {
		return fmt.Errorf("twofactor: %w", err)
	}
	secret, err := s.sealer.Open(t.Sealed, userContext(u.ID))
	if err != nil {
		return fmt.Errorf("twofactor: totp secret of %s: %w", u.Username, err)
	}
	step, verr := s.matchTOTP(string(secret), code)
	if verr != nil {
		return s.failed(ctx, u, m, "totp", "", verr.Error(), verr)
	}
	ok, err := s.store.AdvanceTOTPStep(ctx, u.ID, step)
	if err != nil {
		return fmt.Errorf("twofactor: %w", err)
	}
	if !ok {
		return s.failed(ctx, u, m, "totp", "", "code already used", problem.Errorf(problem.Unauthenticated,
			"This code was already used. Wait for your app to show the next code."))
	}
	return res.Release(ctx)
}

// matchTOTP returns the time step whose code is code, within ±1 step of
// now; a code from a few steps away is refused as "out of sync".
func (s *Service) matchTOTP(secret, code string) (int64, error) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, problem.Errorf(problem.Invalid, "Enter the 6 digits your authenticator app shows.")
	}
	now := s.now()
	cur := now.Unix() / totpPeriod
	match := func(step int64) bool {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		return err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
	}
	// The current step first, then the nearest: a code is accepted for
	// the closest step it matches.
	for _, d := range []int64{0, -1, 1} {
		if match(cur + d) {
			return cur + d, nil
		}
	}
	for d := int64(totpSkew + 1); d <= totpSyncSkew; d++ {
		if match(cur-d) || match(cur+d) {
			return 0, problem.Errorf(problem.Unauthenticated, "The code is %d seconds off: your device's clock is out of sync. "+
				"Set its time automatically (network time), then try again.", d*totpPeriod)
		}
	}
	return 0, problem.Errorf(problem.Unauthenticated, "The code is wrong. Enter the code your authenticator app shows now.")
}

// RemoveTOTP removes the user's authenticator app, after a recent
// re-authentication, unless it is the last second factor while a policy
// requires one.
func (s *Service) RemoveTOTP(ctx context.Context, c *account.Current, m audit.Meta) error {
	if err := s.requireRecentAuth(c); err != nil {
		return err
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		totpOn, err := s.removable(ctx, tx, c.User)
		if err != nil {
			return err
		}
		if !totpOn {
			return problem.Errorf(problem.NotFound, "No authenticator app is enabled on this account.")
		}
		if err := tx.RemoveTOTP(ctx, c.User.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.TwoFactorRemoved},
			map[string]any{"method": "totp"})
	})
	if problem.KindOf(err) != 0 {
		return err
	} else if err != nil {
		return fmt.Errorf("twofactor: remove totp: %w", err)
	}
	c.User.HasTOTP = false
	s.notify(ctx, c.User, "totp-removed", nil)
	return nil
}

// removable locks the user's row for the transaction of a removal, then
// refuses it when the user has one second factor left while a policy
// requires two-factor authentication of it. The count and the removal
// are in one transaction, behind the lock, so that two removals at once
// (the app and the only key, or two keys) cannot both see two methods
// and leave none. It returns whether the user has an authenticator app.
func (s *Service) removable(ctx context.Context, tx *store.Tx, u *store.User) (totpOn bool, err error) {
	if err := tx.LockUser(ctx, u.ID); err != nil {
		return false, err
	}
	totpOn, keys, err := tx.TwoFactorMethods(ctx, u.ID)
	if err != nil {
		return false, err
	}
	n := keys
	if totpOn {
		n++
	}
	if n > 1 {
		return totpOn, nil
	}
	req, err := s.Required(ctx, u)
	if err != nil {
		return false, err
	}
	if req != "" {
		return false, problem.Errorf(problem.Forbidden, "This is your last two-factor method, and %s. Add another method before removing this one.", req.Explain())
	}
	if s.cfg.Bound != nil {
		projects, err := s.cfg.Bound(ctx, tx, u.ID)
		if err != nil {
			return false, fmt.Errorf("twofactor: %w", err)
		}
		if len(projects) > 0 {
			return false, problem.Errorf(problem.Forbidden, "This is your last two-factor method, and two-factor authentication is required of the collaborators of %s (critical or opted in). Add another method before removing this one.",
				quoteList(projects))
		}
	}
	return totpOn, nil
}

// quoteList writes 'a', 'b' and 'c'.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// Explain says, for a person, why two-factor authentication is required.
func (r Requirement) Explain() string {
	switch r {
	case RequiredSiteWide:
		return "this index requires two-factor authentication of every account"
	}
	return "a policy requires two-factor authentication of you (" + string(r) + ")"
}

// userContext binds a sealed secret to its user.
func userContext(userID int64) []byte { return []byte("user:" + strconv.FormatInt(userID, 10)) }
