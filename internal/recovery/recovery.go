// Package recovery is account recovery for users who lost every second
// factor (authenticator app, security keys and recovery codes) but still
// know their password and read the account's email: the user asks, proves
// the request by a link emailed to the account's verified address, a
// waiting period runs (during which the user is told by email and can
// cancel), and then an administrator approves it (or rejects it).
// Approving removes every second factor, ends every session, and replaces
// the password by an unusable one: the user chooses a new one with the
// emailed reset link (the password-reset page of package account). Every
// step is a security event and an email. It knows nothing of HTTP.
package recovery

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/jobs"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/maillink"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// Defaults and lifetimes.
const (
	// DefaultWait is the waiting period between the confirmation of a
	// request and the earliest approval.
	DefaultWait = 7 * 24 * time.Hour
	// ConfirmTTL is how long the confirmation link works; an unconfirmed
	// request then expires.
	ConfirmTTL = 24 * time.Hour
	// ResetTTL is how long the password-reset link sent at approval
	// works (the ordinary reset page sends new ones afterwards).
	ResetTTL = 24 * time.Hour
	// cancelSlack is how long a cancel link outlives the waiting period.
	cancelSlack = 30 * 24 * time.Hour
	maxReason   = 2000
)

// Rate limits of requests: per user (beyond, nothing is sent, silently,
// so that the answer does not tell whether the account exists) and per
// IP (reported).
var (
	UserLimit = ratelimit.Rule{Max: 3, Window: 24 * time.Hour}
	IPLimit   = ratelimit.Rule{Max: 10, Window: time.Hour}
)

// Config holds the settings of account recovery.
type Config struct {
	// BaseURL is the public URL of the server, without a trailing
	// slash; links in emails are built from it.
	BaseURL string
	// Wait is the waiting period: DefaultWait when negative; zero means
	// none (for tests and demos).
	Wait time.Duration
	// Mailer sends the emails; nil drops them with a logged warning.
	Mailer mail.Mailer
}

// Service runs account recovery. It is safe for concurrent use.
type Service struct {
	store   *store.Store
	hasher  *auth.Hasher
	limiter *ratelimit.Limiter
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mail    *mail.Sender // the user's emails, through cfg.Mailer
	// jobs runs the work of requests after the answer, which must not
	// tell (nor take longer when) the account exists.
	jobs *jobs.Queue
}

// New returns a Service; now may be nil (the wall clock).
func New(st *store.Store, hasher *auth.Hasher, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Wait < 0 {
		cfg.Wait = DefaultWait
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Service{store: st, hasher: hasher, limiter: ratelimit.New(st, now), cfg: cfg, log: log, now: now,
		mail: &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log},
		jobs: jobs.New(account.JobWorkers, account.JobBacklog, log)}
}

// Drain waits until the requests queued so far are handled, or ctx ends.
func (s *Service) Drain(ctx context.Context) error { return s.jobs.Drain(ctx) }

// Close handles the requests already queued and stops: call it once the
// HTTP server has stopped.
func (s *Service) Close() { s.jobs.Close() }

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// EligibleAt is the earliest time a waiting request may be approved (zero
// while it is not confirmed).
func (s *Service) EligibleAt(r *store.RecoveryRequest) time.Time {
	if r.ConfirmedAt.IsZero() {
		return time.Time{}
	}
	return r.ConfirmedAt.Add(s.cfg.Wait)
}

// Ready reports whether a request may be approved now: confirmed, and its
// waiting period over.
func (s *Service) Ready(r *store.RecoveryRequest) bool {
	return r.State == store.RecoveryWaiting && !s.now().Before(s.EligibleAt(r))
}

var errLink = &problem.Error{Kind: problem.NotFound,
	Message: "This link is not valid, has expired, or was already used. Links from our emails work once."}

// IsLinkError reports whether err says an emailed link does not work.
func IsLinkError(err error) bool {
	e, ok := errors.AsType[*problem.Error](err)
	return ok && e == errLink
}

// newLink stores a one-use token for u and returns the page URL carrying
// it (maillink.New).
func (s *Service) newLink(ctx context.Context, q *store.Tx, u *store.User, purpose, page string, ttl time.Duration) (string, error) {
	link, err := maillink.New(ctx, q, &store.AccountToken{UserID: u.ID, Purpose: purpose, Email: u.Email}, s.now(), ttl, s.cfg.BaseURL+page)
	if err != nil {
		return "", fmt.Errorf("recovery: %w", err)
	}
	return link, nil
}

// peek returns the user of a link's token without using it.
func (s *Service) peek(ctx context.Context, secret, purpose string) (*store.User, error) {
	t, err := s.findLink(secret, func(hash string) (*store.AccountToken, error) {
		return s.store.PeekAccountToken(ctx, hash, purpose)
	})
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return u, nil
}

// take uses up a link's token and returns its user id.
func (s *Service) take(ctx context.Context, tx *store.Tx, secret, purpose string) (int64, error) {
	t, err := s.findLink(secret, func(hash string) (*store.AccountToken, error) {
		return tx.TakeAccountToken(ctx, hash, purpose)
	})
	if err != nil {
		return 0, err
	}
	return t.UserID, nil
}

// findLink returns the token of the link whose secret is secret, found by
// its hash with find (maillink.Find), refusing with errLink the links that
// do not work.
func (s *Service) findLink(secret string, find func(hash string) (*store.AccountToken, error)) (*store.AccountToken, error) {
	t, err := maillink.Find(secret, s.now(), find)
	if errors.Is(err, maillink.ErrUnknown) || errors.Is(err, maillink.ErrExpired) {
		return nil, errLink
	} else if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return t, nil
}

// expireStale marks expired the requests whose confirmation link ran out.
func (s *Service) expireStale(ctx context.Context) error {
	now := s.now()
	if _, err := s.store.ExpireRecoveryRequests(ctx, now.Add(-ConfirmTTL), now); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	return nil
}

// Request files a recovery request for the account named by who (a
// username or an email address), with the user's explanation, and emails
// a confirmation link (and a cancel link) to the account's verified
// address. Only the IP limit is checked (and reported) before the answer,
// which is the same whether or not the account exists, has a verified
// address, already has a request, or asked too often (UserLimit): the
// rest happens after it, on the service's queue (file), so that the time
// of the answer does not tell either.
func (s *Service) Request(ctx context.Context, who, reason string, m audit.Meta) error {
	who = strings.TrimSpace(who)
	reason = strings.TrimSpace(reason)
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	ipKey := "recovery:ip:" + ratelimit.ClientKey(m.IP)
	if _, err := s.limiter.Reserve(ctx, ratelimit.Limit{Key: ipKey, Rules: []ratelimit.Rule{IPLimit}}); err != nil {
		if ex, ok := errors.AsType[*ratelimit.Exceeded](err); ok {
			wait := ex.RetryAfter.Round(time.Second)
			return &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait,
				Message: fmt.Sprintf("Too many recovery requests from your network. Try again in %s.", wait)}
		}
		return err
	}
	if who == "" || len(who) > 254 {
		return nil
	}
	err := s.jobs.Go(ctx, "recovery request", func(ctx context.Context) {
		if err := s.file(ctx, who, reason, m); err != nil {
			s.log.ErrorContext(ctx, "recovery request", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("recovery: request: %w", err)
	}
	return nil
}

// file files the request of Request, if the account exists, is enabled,
// has a verified address and has not asked too often.
func (s *Service) file(ctx context.Context, who, reason string, m audit.Meta) error {
	u, err := s.store.UserByLogin(ctx, who)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("recovery: request: %w", err)
	}
	if u.Disabled || !u.EmailVerified {
		s.log.InfoContext(ctx, "recovery request not filed", "user", u.Username, "disabled", u.Disabled, "verified", u.EmailVerified)
		return nil
	}
	userKey := fmt.Sprintf("recovery:user:%d", u.ID)
	if ok, err := s.limiter.Allow(ctx, ratelimit.Limit{Key: userKey, Rules: []ratelimit.Rule{UserLimit}}); err != nil {
		return err
	} else if !ok {
		s.log.InfoContext(ctx, "recovery request not filed: too many", "user", u.Username, "ip", m.IP)
		return nil
	}
	if err := s.expireStale(ctx); err != nil {
		return err
	}
	var confirmLink, cancelLink string
	var waiting bool
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		open, err := tx.OpenRecoveryRequest(ctx, u.ID)
		switch {
		case err == nil && open.State == store.RecoveryWaiting:
			// Confirmed already: the waiting period runs; say so again.
			waiting = true
			cancelLink, err = s.newLink(ctx, tx, u, store.PurposeRecoveryCancel, "/account/recovery/cancel/",
				s.EligibleAt(open).Sub(now)+cancelSlack)
			return err
		case err == nil:
			// An unconfirmed request is replaced by the new one.
			if _, err := tx.DecideRecoveryRequest(ctx, open.ID, store.RecoveryExpired, false, 0, now); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := tx.DeleteAccountTokens(ctx, u.ID, store.PurposeRecoveryConfirm); err != nil {
			return err
		}
		r := &store.RecoveryRequest{UserID: u.ID, State: store.RecoveryPendingConfirmation, CreatedAt: now, Reason: reason}
		if err := tx.CreateRecoveryRequest(ctx, r); err != nil {
			return err
		}
		if confirmLink, err = s.newLink(ctx, tx, u, store.PurposeRecoveryConfirm, "/account/recovery/confirm/", ConfirmTTL); err != nil {
			return err
		}
		if cancelLink, err = s.newLink(ctx, tx, u, store.PurposeRecoveryCancel, "/account/recovery/cancel/",
			ConfirmTTL+s.cfg.Wait+cancelSlack); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, Tag: audit.RecoveryRequested},
			map[string]any{"request": r.ID, "reason": reason})
	})
	if err != nil {
		return fmt.Errorf("recovery: request: %w", err)
	}
	if waiting {
		_ = s.mail.Send(ctx, u.Email, "recovery-waiting", mail.Data{"Username": u.Username, "IP": m.IP, "CancelLink": cancelLink})
		return nil
	}
	_ = s.mail.Send(ctx, u.Email, "recovery-confirm", mail.Data{"Username": u.Username, "IP": m.IP,
		"ConfirmTTL": ConfirmTTL, "ConfirmLink": confirmLink, "Wait": s.cfg.Wait, "CancelLink": cancelLink})
	return nil
}

// PeekConfirm checks a confirmation link without using it, for the page
// that asks to confirm, and returns its user.
func (s *Service) PeekConfirm(ctx context.Context, token string) (*store.User, error) {
	return s.peek(ctx, token, store.PurposeRecoveryConfirm)
}

// PeekCancel checks a cancel link without using it.
func (s *Service) PeekCancel(ctx context.Context, token string) (*store.User, error) {
	return s.peek(ctx, token, store.PurposeRecoveryCancel)
}

// Confirm uses a confirmation link: the user's request pending
// confirmation starts its waiting period. The user is emailed when it
// ends, with a link to cancel.
func (s *Service) Confirm(ctx context.Context, token string, m audit.Meta) (*store.RecoveryRequest, error) {
	if err := s.expireStale(ctx); err != nil {
		return nil, err
	}
	var r *store.RecoveryRequest
	var u *store.User
	var cancelLink string
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		uid, err := s.take(ctx, tx, token, store.PurposeRecoveryConfirm)
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, uid); err != nil {
			return err
		}
		r, err = tx.OpenRecoveryRequest(ctx, uid)
		if errors.Is(err, store.ErrNotFound) || (err == nil && r.State != store.RecoveryPendingConfirmation) {
			return errLink
		} else if err != nil {
			return err
		}
		now := s.now()
		if ok, err := tx.ConfirmRecoveryRequest(ctx, r.ID, now); err != nil {
			return err
		} else if !ok {
			return errLink
		}
		r.State, r.ConfirmedAt = store.RecoveryWaiting, now
		if cancelLink, err = s.newLink(ctx, tx, u, store.PurposeRecoveryCancel, "/account/recovery/cancel/",
			s.cfg.Wait+cancelSlack); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.RecoveryConfirmed},
			map[string]any{"request": r.ID})
	})
	if err != nil {
		if problem.KindOf(err) != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("recovery: confirm: %w", err)
	}
	_ = s.mail.Send(ctx, u.Email, "recovery-confirmed", mail.Data{"Username": u.Username, "IP": m.IP,
		"EligibleAt": s.EligibleAt(r), "CancelLink": cancelLink})
	return r, nil
}

// Cancel uses a cancel link: the user's open request is cancelled, and
// nothing of the account changes.
func (s *Service) Cancel(ctx context.Context, token string, m audit.Meta) (*store.RecoveryRequest, error) {
	return s.cancelOf(ctx, m, func(tx *store.Tx) (int64, error) {
		return s.take(ctx, tx, token, store.PurposeRecoveryCancel)
	})
}

// CancelMine cancels the open request of a signed-in user.
func (s *Service) CancelMine(ctx context.Context, u *store.User, m audit.Meta) (*store.RecoveryRequest, error) {
	return s.cancelOf(ctx, m, func(*store.Tx) (int64, error) { return u.ID, nil })
}

// cancelOf cancels the open request of the user that who names, within
// the transaction in which who runs, and tells the user.
func (s *Service) cancelOf(ctx context.Context, m audit.Meta, who func(*store.Tx) (int64, error)) (*store.RecoveryRequest, error) {
	var r *store.RecoveryRequest
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		uid, err := who(tx)
		if err != nil {
			return err
		}
		r, err = s.cancel(ctx, tx, uid, m)
		return err
	})
	if err != nil {
		if problem.KindOf(err) != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("recovery: cancel: %w", err)
	}
	_ = s.mail.Send(ctx, r.Email, "recovery-cancelled", mail.Data{"Username": r.Username, "IP": m.IP})
	return r, nil
}

func (s *Service) cancel(ctx context.Context, tx *store.Tx, userID int64, m audit.Meta) (*store.RecoveryRequest, error) {
	r, err := tx.OpenRecoveryRequest(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "There is no recovery request of this account to cancel: it was already decided, cancelled or expired.")
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if ok, err := tx.DecideRecoveryRequest(ctx, r.ID, store.RecoveryCancelled, false, 0, now); err != nil {
		return nil, err
	} else if !ok {
		return nil, problem.Errorf(problem.NotFound, "This recovery request was already decided.")
	}
	for _, p := range []string{store.PurposeRecoveryConfirm, store.PurposeRecoveryCancel} {
		if err := tx.DeleteAccountTokens(ctx, userID, p); err != nil {
			return nil, err
		}
	}
	r.State, r.DecidedAt = store.RecoveryCancelled, now
	return r, audit.Record(ctx, tx, now, m, store.Event{UserID: userID, ActorID: userID, Tag: audit.RecoveryCancelled},
		map[string]any{"request": r.ID})
}

// Open returns the user's open request, or nil.
func (s *Service) Open(ctx context.Context, userID int64) (*store.RecoveryRequest, error) {
	if err := s.expireStale(ctx); err != nil {
		return nil, err
	}
	r, err := s.store.OpenRecoveryRequest(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return r, nil
}

// Pending lists the open requests (waiting, and pending confirmation),
// oldest first, for the administrators.
func (s *Service) Pending(ctx context.Context) ([]*store.RecoveryRequest, error) {
	if err := s.expireStale(ctx); err != nil {
		return nil, err
	}
	rs, err := s.store.RecoveryRequests(ctx, 500, store.RecoveryWaiting, store.RecoveryPendingConfirmation)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return rs, nil
}

func (s *Service) decidable(ctx context.Context, admin *store.User, id int64) (*store.RecoveryRequest, error) {
	if admin == nil || !admin.IsAdmin {
		return nil, problem.Errorf(problem.Forbidden, "Only administrators decide recovery requests.")
	}
	r, err := s.store.RecoveryRequestByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "There is no recovery request %d.", id)
	} else if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if r.UserID == admin.ID {
		return nil, problem.Errorf(problem.Forbidden, "Another administrator must decide your own recovery request.")
	}
	return r, nil
}

// Approve approves a waiting request whose waiting period is over, for
// an administrator: in one transaction every second factor of the user
// (authenticator app, security keys, recovery codes) is removed, whatever
// mandate binds the user; every session ends; every known device is
// forgotten (a sign-in with a new authenticator app asks again for the
// emailed confirmation of its browser); the password is replaced by a
// random one nobody knows; and the user is emailed a link to choose a
// new password.
func (s *Service) Approve(ctx context.Context, admin *store.User, id int64, m audit.Meta) (*store.RecoveryRequest, error) {
	r, err := s.decidable(ctx, admin, id)
	if err != nil {
		return nil, err
	}
	if r.State != store.RecoveryWaiting {
		return nil, problem.Errorf(problem.Invalid, "Only a confirmed request can be approved; this one is %s.", r.State)
	}
	if now := s.now(); now.Before(s.EligibleAt(r)) {
		return nil, problem.Errorf(problem.Forbidden, "The waiting period of this request runs until %s: it cannot be approved before.",
			words.Time(s.EligibleAt(r)))
	}
	unusable, err := s.hasher.Hash(ctx, rand.Text()+rand.Text())
	if err != nil {
		return nil, fmt.Errorf("recovery: approve: %w", err)
	}
	var resetLink string
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if ok, err := tx.DecideRecoveryRequest(ctx, r.ID, store.RecoveryApproved, true, admin.ID, now); err != nil {
			return err
		} else if !ok {
			return problem.Errorf(problem.Invalid, "This request is no longer waiting.")
		}
		totp, keys, codes, err := tx.RemoveAllTwoFactor(ctx, r.UserID)
		if err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, r.UserID, unusable, now); err != nil {
			return err
		}
		ended, err := tx.DeleteUserSessions(ctx, r.UserID, "")
		if err != nil {
			return err
		}
		// The browsers confirmed by whoever had the second factors (the
		// owner who lost them, or an attacker) must confirm again.
		forgotten, err := tx.ForgetUserDevices(ctx, r.UserID)
		if err != nil {
			return err
		}
		for _, p := range []string{store.PurposeResetPassword, store.PurposeRecoveryConfirm, store.PurposeRecoveryCancel} {
			if err := tx.DeleteAccountTokens(ctx, r.UserID, p); err != nil {
				return err
			}
		}
		u := &store.User{ID: r.UserID, Email: r.Email}
		if resetLink, err = s.newLink(ctx, tx, u, store.PurposeResetPassword, "/account/reset-password/confirm/", ResetTTL); err != nil {
			return err
		}
		r.State, r.DecidedAt, r.DecidedBy = store.RecoveryApproved, now, admin.ID
		return audit.Record(ctx, tx, now, m, store.Event{UserID: r.UserID, ActorID: admin.ID, Tag: audit.RecoveryApproved},
			map[string]any{"request": r.ID, "by": admin.Username, "totp": totp, "security_keys": keys,
				"recovery_codes": codes, "sessions_ended": ended, "devices_forgotten": forgotten})
	})
	if err != nil {
		if problem.KindOf(err) != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("recovery: approve: %w", err)
	}
	_ = s.mail.Send(ctx, r.Email, "recovery-approved", mail.Data{"Username": r.Username, "ResetTTL": ResetTTL, "ResetLink": resetLink})
	return r, nil
}

// Reject rejects an open request, for an administrator; note is told to
// the user.
func (s *Service) Reject(ctx context.Context, admin *store.User, id int64, note string, m audit.Meta) (*store.RecoveryRequest, error) {
	r, err := s.decidable(ctx, admin, id)
	if err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	if len(note) > maxReason {
		note = note[:maxReason]
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if ok, err := tx.DecideRecoveryRequest(ctx, r.ID, store.RecoveryRejected, false, admin.ID, now); err != nil {
			return err
		} else if !ok {
			return problem.Errorf(problem.Invalid, "This request is no longer open.")
		}
		for _, p := range []string{store.PurposeRecoveryConfirm, store.PurposeRecoveryCancel} {
			if err := tx.DeleteAccountTokens(ctx, r.UserID, p); err != nil {
				return err
			}
		}
		r.State, r.DecidedAt, r.DecidedBy = store.RecoveryRejected, now, admin.ID
		return audit.Record(ctx, tx, now, m, store.Event{UserID: r.UserID, ActorID: admin.ID, Tag: audit.RecoveryRejected},
			map[string]any{"request": r.ID, "by": admin.Username, "note": note})
	})
	if err != nil {
		if problem.KindOf(err) != 0 {
			return nil, err
		}
		return nil, fmt.Errorf("recovery: reject: %w", err)
	}
	_ = s.mail.Send(ctx, r.Email, "recovery-rejected", mail.Data{"Username": r.Username, "Note": note})
	return r, nil
}
