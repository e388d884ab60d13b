package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/maillink"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Lifetimes of the links sent by email.
const (
	VerifyEmailTTL   = 24 * time.Hour
	ResetPasswordTTL = time.Hour
)

// Link refusals. Both are *Error of kind NotFound; the web layer offers a
// new link.
var (
	errLinkInvalid = &problem.Error{Kind: problem.NotFound, Message: "This link is not valid, or it was already used. Links from our emails work once."}
	errLinkExpired = &problem.Error{Kind: problem.NotFound, Message: "This link has expired."}
)

// IsLinkError reports whether err says an emailed link is unknown, used or
// expired.
func IsLinkError(err error) bool {
	e, ok := errors.AsType[*problem.Error](err)
	return ok && (e == errLinkInvalid || e == errLinkExpired)
}

// tokenTaker is the store or a transaction.
type tokenTaker interface {
	TakeAccountToken(ctx context.Context, hash, purpose string) (*store.AccountToken, error)
}

// newLink stores a one-use token for u and returns the page URL carrying
// it (maillink.New).
func (s *Service) newLink(ctx context.Context, q maillink.Creator, u *store.User, purpose, email, page string, ttl time.Duration) (string, error) {
	link, err := maillink.New(ctx, q, &store.AccountToken{UserID: u.ID, Purpose: purpose, Email: email}, s.now(), ttl, s.cfg.BaseURL+page)
	if err != nil {
		return "", fmt.Errorf("account: %w", err)
	}
	return link, nil
}

// peekLink returns the token of a link without using it, refusing unknown
// and expired ones.
func (s *Service) peekLink(ctx context.Context, secret, purpose string) (*store.AccountToken, error) {
	return s.findLink(secret, func(hash string) (*store.AccountToken, error) {
		return s.store.PeekAccountToken(ctx, hash, purpose)
	})
}

// takeLink uses up the token of a link (once: a second taker finds
// nothing), refusing unknown and expired ones.
func (s *Service) takeLink(ctx context.Context, q tokenTaker, secret, purpose string) (*store.AccountToken, error) {
	return s.findLink(secret, func(hash string) (*store.AccountToken, error) {
		return q.TakeAccountToken(ctx, hash, purpose)
	})
}

// findLink returns the token of the link whose secret is secret, found
// by its hash with find (maillink.Find), refusing unknown and expired
// ones.
func (s *Service) findLink(secret string, find func(hash string) (*store.AccountToken, error)) (*store.AccountToken, error) {
	t, err := maillink.Find(secret, s.now(), find)
	switch {
	case errors.Is(err, maillink.ErrUnknown):
		return nil, errLinkInvalid
	case errors.Is(err, maillink.ErrExpired):
		return nil, errLinkExpired
	case err != nil:
		return nil, fmt.Errorf("account: %w", err)
	}
	return t, nil
}

// sendVerification emails u a link proving that it receives mail at email.
func (s *Service) sendVerification(ctx context.Context, u *store.User, email string) error {
	link, err := s.newLink(ctx, s.store, u, store.PurposeVerifyEmail, email, "/account/verify-email/", VerifyEmailTTL)
	if err != nil {
		return err
	}
	return s.mail.Send(ctx, email, "verify-email",
		mail.Data{"Username": u.Username, "Email": email, "Link": link, "TTL": VerifyEmailTTL})
}

// sameEmail compares addresses as the database's unique index does.
func sameEmail(a, b string) bool { return strings.EqualFold(a, b) }
