package index

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// maxTokenName bounds a token's name, in characters.
const maxTokenName = 100

// TokenRequest describes a token to create.
type TokenRequest struct {
	Name string
	// Projects limits the token to these projects, on each of which the
	// user must hold a role; empty: every project of the user.
	Projects []string
	// Expires is when the token stops working; nil: never.
	Expires *time.Time
}

// NewToken is a token just created, with its secret, which is never
// shown again.
type NewToken struct {
	Token  *store.Token
	Secret string
}

// tokenScope describes a token's scope for events and pages.
func tokenScope(t *store.Token, names []string) string {
	if !t.Scoped {
		return "all projects"
	}
	return "projects: " + strings.Join(names, ", ")
}

// userTokens refuses token management through a scoped token: it must
// not be able to mint or revoke wider credentials.
func userTokens(p *Principal) error {
	if p.Token != nil && p.Token.Scoped {
		return errorf(Forbidden, "A token scoped to projects cannot manage API tokens. Use the web UI or a token for all your projects.")
	}
	return nil
}

// CreateToken creates an API token for p's user and returns its secret,
// which is shown this once. The user's email address must be verified.
func (s *Service) CreateToken(ctx context.Context, p *Principal, m audit.Meta, req TokenRequest) (*NewToken, error) {
	if err := userTokens(p); err != nil {
		return nil, err
	}
	if !p.User.EmailVerified {
		return nil, errorf(Forbidden, "Verify your email address before creating API tokens.")
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > maxTokenName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errorf(Invalid, "Give the token a name of 1 to %d printable characters, to tell it apart.", maxTokenName)
	}
	now := s.now()
	if req.Expires != nil && !req.Expires.After(now) {
		return nil, errorf(Invalid, "The expiry date must be in the future.")
	}
	secret, hash := auth.NewToken()
	t := &store.Token{UserID: p.User.ID, Name: name, Prefix: auth.DisplayPrefix(secret), Hash: hash, Scoped: len(req.Projects) > 0, CreatedAt: now}
	if req.Expires != nil {
		t.ExpiresAt = req.Expires.UTC()
	}
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		var names []string
		for _, pn := range req.Projects {
			proj, err := tx.ProjectByName(ctx, pep.NormalizeName(pn))
			if errors.Is(err, store.ErrNotFound) {
				return errorf(Invalid, "No project named '%s'.", pn)
			} else if err != nil {
				return err
			}
			if _, err := tx.RoleOf(ctx, proj.ID, p.User.ID); errors.Is(err, store.ErrNotFound) {
				return errorf(Forbidden, "You are not a collaborator on '%s': a token can only be scoped to your projects.", proj.Name)
			} else if err != nil {
				return err
			}
			if err := s.mandated(ctx, tx, p, proj, ActionScopedToken); err != nil {
				return err
			}
			if !slices.Contains(t.ProjectIDs, proj.ID) {
				t.ProjectIDs = append(t.ProjectIDs, proj.ID)
				names = append(names, proj.Name)
			}
		}
		t.ProjectNames = names
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.TokenCreated},
			map[string]any{"name": name, "scope": tokenScope(t, names), "prefix": t.Prefix})
	})
	if err != nil {
		return nil, wrap(err, "create token")
	}
	return &NewToken{Token: t, Secret: secret}, nil
}

// ListTokens returns p's user's tokens, newest first (never their secrets).
func (s *Service) ListTokens(ctx context.Context, p *Principal) ([]*store.Token, error) {
	if err := userTokens(p); err != nil {
		return nil, err
	}
	ts, err := s.store.UserTokens(ctx, p.User.ID)
	return ts, wrap(err, "list tokens")
}

// RevokeToken deletes one of p's user's tokens; another user's token is
// not found.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, m audit.Meta, id int64) error {
	if err := userTokens(p); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		t, err := tx.UserToken(ctx, p.User.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(NotFound, "You have no API token number %d.", id)
		} else if err != nil {
			return err
		}
		if err := tx.DeleteToken(ctx, t.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.TokenRevoked},
			map[string]any{"name": t.Name, "prefix": t.Prefix})
	})
	return wrap(err, "revoke token %d", id)
}

// touchToken records a token's use and its security event, at most once
// per tokenTouchInterval (the caller checks).
func (s *Service) touchToken(ctx context.Context, t *store.Token, u *store.User, now time.Time, m audit.Meta) error {
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.TouchToken(ctx, t.ID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: u.ID, ActorID: u.ID, Tag: audit.TokenUsed},
			map[string]any{"name": t.Name, "prefix": t.Prefix})
	})
}
