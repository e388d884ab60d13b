package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// RequestPasswordReset asks for a one-use reset link (valid
// ResetPasswordTTL) for the account named by who, a username or an email
// address. Only the IP limit (ResetIPLimit) is checked before the answer,
// which is the same whether or not the account exists: the rest (looking
// the account up, the link, the email) happens after it, on the service's
// queue (sendPasswordReset), so that neither the answer nor its time tells
// which accounts exist.
func (s *Service) RequestPasswordReset(ctx context.Context, who string, m audit.Meta) error {
	who = strings.TrimSpace(who)
	ipKey := "reset:ip:" + ratelimit.ClientKey(m.IP)
	if _, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: ipKey, Rules: []ratelimit.Rule{ResetIPLimit}}); err != nil {
		return s.limited(err, "Too many password reset requests from your network. Try again in %s.")
	}
	if who == "" || len(who) > MaxEmailLength {
		return nil
	}
	return s.later(ctx, "password reset", func(ctx context.Context) error {
		return s.sendPasswordReset(ctx, who, m)
	})
}

// sendPasswordReset emails a reset link to the account named by who, if
// there is one, enabled; links sent earlier stop working. Past
// ResetUserLimit, nothing is sent.
func (s *Service) sendPasswordReset(ctx context.Context, who string, m audit.Meta) error {
	u, err := s.store.UserByLogin(ctx, who)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("account: reset password: %w", err)
	}
	if u.Disabled {
		return nil
	}
	userKey := fmt.Sprintf("reset:user:%d", u.ID)
	if ok, err := s.limiter.Allow(ctx, ratelimit.Limit{Key: userKey, Rules: []ratelimit.Rule{ResetUserLimit}}); err != nil {
		return err
	} else if !ok {
		s.log.InfoContext(ctx, "password reset not sent: too many", "user", u.Username, "ip", m.IP)
		return nil
	}
	if err := s.store.DeleteAccountTokens(ctx, u.ID, store.PurposeResetPassword); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	link, err := s.newLink(ctx, s.store, u, store.PurposeResetPassword, u.Email, "/account/reset-password/confirm/", ResetPasswordTTL)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: u.ID, Tag: audit.PasswordResetAsked}, nil); err != nil {
		return err
	}
	return s.mail.Send(ctx, u.Email, "reset-password", mail.Data{"Username": u.Username, "Link": link, "TTL": ResetPasswordTTL})
}

// limited turns a rate-limit refusal into an *Error with msg, whose %s is
// the time to wait.
func (s *Service) limited(err error, msg string) error {
	if ex, ok := errors.AsType[*ratelimit.Exceeded](err); ok {
		wait := ex.RetryAfter.Round(time.Second)
		return &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait, Message: fmt.Sprintf(msg, words.Duration(wait))}
	}
	return err
}

// PeekPasswordReset checks a reset link without using it, for the form
// that asks for the new password, and returns its user.
func (s *Service) PeekPasswordReset(ctx context.Context, token string) (*store.User, error) {
	t, err := s.peekLink(ctx, token, store.PurposeResetPassword)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	if u.Disabled {
		return nil, errLinkInvalid
	}
	return u, nil
}

// ResetPassword uses a reset link to set a new password. The link is used
// only once the password is acceptable, so that a typo does not spend it.
// Every session of the user ends, every reset link stops working and
// every known browser is forgotten; the user is told by email.
func (s *Service) ResetPassword(ctx context.Context, token, password, confirm string, m audit.Meta) (*store.User, error) {
	u, err := s.PeekPasswordReset(ctx, token)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	checkNewPassword(fields, password, confirm, u.Username, u.Email)
	if len(fields) > 0 {
		return nil, invalidFields(fields)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("account: reset password: %w", err)
	}
	var ended int64
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		t, err := s.takeLink(ctx, tx, token, store.PurposeResetPassword)
		if err != nil {
			return err
		}
		if t.UserID != u.ID {
			return errLinkInvalid
		}
		now := s.now()
		if err := tx.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
			return err
		}
		// Whoever confirmed a browser before the reset confirms it again.
		if _, err := tx.ForgetDevices(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.DeleteAccountTokens(ctx, u.ID, store.PurposeResetPassword); err != nil {
			return err
		}
		// The link reached the account's address: it is proven.
		if !u.EmailVerified && sameEmail(t.Email, u.Email) {
			if err := tx.SetEmail(ctx, u.ID, u.Email, true); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.EmailVerified},
				map[string]any{"email": u.Email}); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.PasswordReset},
			map[string]any{"sessions_ended": ended})
	})
	if err != nil {
		if problem.KindOf(err) != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("account: reset password: %w", err)
	}
	// The password works again at once, even after many failed guesses.
	userKey, _ := loginKeys(u.Username, m.IP)
	if err := s.limiter.Clear(ctx, userKey); err != nil {
		return nil, err
	}
	_ = s.mail.Send(ctx, u.Email, "password-reset", mail.Data{"Username": u.Username, "IP": m.IP})
	return u, nil
}

// checkCurrentPassword verifies the password of the signed-in user before a
// sensitive change, under the login limit (the slot reserved before the
// hash, given back when the password is right), so that a stolen session
// cannot be used to guess it.
func (s *Service) checkCurrentPassword(ctx context.Context, u *store.User, password string, m audit.Meta) error {
	userKey, ipKey := loginKeys(u.Username, m.IP)
	res, err := s.reservePasswordCheck(ctx, userKey, ipKey)
	if err != nil {
		return s.tooMany(ctx, err, u.ID, "password", m)
	}
	err = s.hasher.Verify(ctx, password, u.PasswordHash)
	if errors.Is(err, auth.ErrMismatch) {
		if err := audit.Record(ctx, s.store, s.now(), m, store.Event{UserID: u.ID, Tag: audit.LoginFailure},
			map[string]any{"reason": "wrong current password"}); err != nil {
			return err
		}
		return &problem.Error{Kind: problem.Unauthenticated, Message: "Your current password is wrong.",
			Fields: map[string]string{FieldCurrentPassword: "This is not your current password."}}
	} else if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return res.Release(ctx)
}

// ChangePassword sets a new password for the signed-in user, who gives its
// current one. Every other session ends, reset links stop working, every
// known browser is forgotten, and the user is told by email.
func (s *Service) ChangePassword(ctx context.Context, c *Current, current, password, confirm string, m audit.Meta) error {
	u := c.User
	if err := s.checkCurrentPassword(ctx, u, current, m); err != nil {
		return err
	}
	fields := map[string]string{}
	checkNewPassword(fields, password, confirm, u.Username, u.Email)
	if len(fields) == 0 && password == current {
		fields[FieldPassword] = "This is your current password: choose a new one."
	}
	if len(fields) > 0 {
		return invalidFields(fields)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := tx.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		ended, err := tx.DeleteUserSessions(ctx, u.ID, c.Session.IDHash)
		if err != nil {
			return err
		}
		// As at a reset: every browser confirms itself again.
		if _, err := tx.ForgetDevices(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.DeleteAccountTokens(ctx, u.ID, store.PurposeResetPassword); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.PasswordChanged},
			map[string]any{"sessions_ended": ended})
	})
	if err != nil {
		return fmt.Errorf("account: change password: %w", err)
	}
	_ = s.mail.Send(ctx, u.Email, "password-changed", mail.Data{"Username": u.Username, "IP": m.IP})
	return nil
}

// ChangeEmail replaces the signed-in user's address, after its current
// password, if Config.CheckEmail accepts it. The new address is unverified
// until the user follows the link emailed to it; the old address is told.
func (s *Service) ChangeEmail(ctx context.Context, c *Current, email, password string, m audit.Meta) error {
	u := c.User
	email = strings.TrimSpace(email)
	// The domain first: its refusal writes nothing, not even a password
	// check.
	if checkEmail(email) == "" && !sameEmail(email, u.Email) {
		if msg, err := s.emailRefusal(ctx, email); err != nil {
			return err
		} else if msg != "" {
			return invalidFields(map[string]string{FieldEmail: msg})
		}
	}
	if err := s.checkCurrentPassword(ctx, u, password, m); err != nil {
		return err
	}
	if msg := checkEmail(email); msg != "" {
		return invalidFields(map[string]string{FieldEmail: msg})
	}
	if sameEmail(email, u.Email) {
		return invalidFields(map[string]string{FieldEmail: "This is already your email address."})
	}
	// Whether an address is taken is told here (the change must be refused),
	// so the addresses a user may try are limited.
	key := fmt.Sprintf("email-change:user:%d", u.ID)
	if _, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: key, Rules: []ratelimit.Rule{EmailChangeLimit}}); err != nil {
		return s.limited(err, "Too many email address changes. Try again in %s.")
	}
	taken := invalidFields(map[string]string{FieldEmail: "This email address is already used by another account."})
	if t, err := s.emailTaken(ctx, email); err != nil {
		return fmt.Errorf("account: change email: %w", err)
	} else if t {
		return taken
	}
	old := u.Email
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetEmail(ctx, u.ID, email, false); err != nil {
			return err
		}
		for _, p := range []string{store.PurposeVerifyEmail, store.PurposeResetPassword} {
			if err := tx.DeleteAccountTokens(ctx, u.ID, p); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.EmailChanged},
			map[string]any{"old": old, "new": email})
	})
	if store.IsUniqueViolation(err) {
		return taken
	} else if err != nil {
		return fmt.Errorf("account: change email: %w", err)
	}
	u.Email, u.EmailVerified = email, false
	_ = s.mail.Send(ctx, old, "email-changed", mail.Data{"Username": u.Username, "Old": old, "New": email, "IP": m.IP})
	_ = s.sendVerification(ctx, u, email)
	return nil
}

// History returns the latest security events of the user, newest first.
func (s *Service) History(ctx context.Context, c *Current, limit int) ([]*store.Event, error) {
	ev, err := s.store.UserEvents(ctx, c.User.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	return ev, nil
}

// SetDisabled disables (or re-enables) an account, for an administrator
// (by; nil: the command line). Disabling ends every session of the user
// at once; its API tokens are refused from then on (on other replicas,
// and on this one until index.Service.AccessChanged is called, once they
// follow the journal).
func (s *Service) SetDisabled(ctx context.Context, by *store.User, username string, disabled bool, m audit.Meta) (*store.User, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "There is no user named %q.", username)
	} else if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	tag := audit.AccountEnabled
	if disabled {
		tag = audit.AccountDisabled
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserDisabled(ctx, u.ID, disabled); err != nil {
			return err
		}
		var ended int64
		if disabled {
			if ended, err = tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
				return err
			}
			// Every replica forgets the readers of the user's tokens
			// it cached (index.Service.ReaderForToken).
			if _, err := tx.AddJournal(ctx, 0, "", store.ActionAccessChanged, s.now()); err != nil {
				return err
			}
		}
		details := map[string]any{"sessions_ended": ended}
		var actor int64
		if by != nil {
			actor, details["by"] = by.ID, by.Username
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: u.ID, ActorID: actor, Tag: tag}, details)
	})
	if err != nil {
		return nil, fmt.Errorf("account: disable %q: %w", username, err)
	}
	u.Disabled = disabled
	return u, nil
}
