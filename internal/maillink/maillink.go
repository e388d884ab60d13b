// Package maillink makes and checks the one-use links sent by email
// (verifying an address, resetting a password, confirming or cancelling
// an account recovery): a random secret in the link's URL, of which only
// the SHA-256 is stored, as a store.AccountToken with a purpose, a user
// and an expiry. It knows nothing of HTTP: the pages that take the links
// call the services, which call here.
package maillink

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/store"
)

// maxSecret bounds the secret of a link read from a request; longer is
// never one of ours.
const maxSecret = 128

// Why Find refuses a link. Each service says it to the user in its words.
var (
	// ErrUnknown is a secret that is no token's, or a used token's.
	ErrUnknown = errors.New("maillink: unknown or used link")
	// ErrExpired is a token past its expiry.
	ErrExpired = errors.New("maillink: expired link")
)

// Creator is the store or a transaction.
type Creator interface {
	CreateAccountToken(ctx context.Context, t *store.AccountToken) error
}

// New stores a one-use token for t's user, purpose and email address,
// made now and working for ttl, and returns page (an absolute URL)
// carrying its secret. It sets t's hash and times; store errors are
// returned as they are.
func New(ctx context.Context, q Creator, t *store.AccountToken, now time.Time, ttl time.Duration, page string) (string, error) {
	secret := rand.Text() + rand.Text()
	t.Hash, t.CreatedAt, t.ExpiresAt = auth.HashToken(secret), now, now.Add(ttl)
	if err := q.CreateAccountToken(ctx, t); err != nil {
		return "", err
	}
	return page + "?token=" + url.QueryEscape(secret), nil
}

// Find returns the token of the link whose secret is secret, found by its
// hash with find (which peeks at it or takes it), refusing with ErrUnknown
// and ErrExpired (at now) the links that do not work; find's other errors
// are returned as they are.
func Find(secret string, now time.Time, find func(hash string) (*store.AccountToken, error)) (*store.AccountToken, error) {
	if secret == "" || len(secret) > maxSecret {
		return nil, ErrUnknown
	}
	t, err := find(auth.HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknown
	} else if err != nil {
		return nil, err
	}
	if !now.Before(t.ExpiresAt) {
		return nil, ErrExpired
	}
	return t, nil
}
