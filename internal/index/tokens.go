package index

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
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
	// Manage lets the token use the management API (yank, roles,
	// invitations) within its projects, as PyPI's tokens never do;
	// otherwise it uploads, nothing more.
	Manage bool
	// ReadOnly makes a token that only reads the index (pip and uv
	// installs, a private index's CI): never an upload or a management
	// call. It may be scoped to any project the user may read, and is
	// not bound by the two-factor mandate, which never gates reads.
	ReadOnly bool
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

// TokenPermission describes what a token may do, for events, emails and
// pages.
func TokenPermission(t *store.Token) string {
	switch {
	case t.ReadOnly:
		return "read only"
	case t.CanManage:
		return "upload and manage"
	}
	return "upload only"
}

// sessionOnly refuses token management through any API token, whatever
// its scope: a leaked token must not mint, list or revoke credentials.
// The attempt is recorded.
func (s *Service) sessionOnly(ctx context.Context, p *Principal) error {
	if p.Token != nil {
		s.tokenRefused(ctx, p, "to handle API tokens")
		return problem.Errorf(problem.Forbidden, "API tokens cannot create, list or revoke API tokens. Sign in to the web UI and use %s/manage/account/tokens/.", s.cfg.BaseURL)
	}
	return nil
}

// CreateToken creates an API token for p's user, who must act through a
// signed-in session that proved its identity lately (with its second
// factor when it has one), and returns its secret, which is shown this
// once. The user's email address must be verified. A token that may
// manage projects is refused for any of them whose two-factor mandate
// the user does not meet. The user is told by email.
func (s *Service) CreateToken(ctx context.Context, p *Principal, m audit.Meta, req TokenRequest) (*NewToken, error) {
	if err := s.sessionOnly(ctx, p); err != nil {
		return nil, err
	}
	if !p.User.EmailVerified {
		return nil, problem.Errorf(problem.Forbidden, "Verify your email address before creating API tokens.")
	}
	if !p.RecentAuth {
		return nil, problem.Wrap(auth.ErrReauthRequired, problem.Forbidden, fmt.Sprintf(
			"Confirm it is you before creating an API token: re-authenticate in the web UI at %s/manage/account/reauth/ "+
				"(with your second factor if you have one), then create the token within 10 minutes.", s.cfg.BaseURL))
	}
	return s.createToken(ctx, p, m, req, "")
}

// AdminCreateToken creates an API token for the named user on an
// administrator's command (the admin command line, which acts with the
// database's own access): no session, no re-authentication, but the same
// scope checks, the same two-factor mandate, the same event and the same
// email to the user.
func (s *Service) AdminCreateToken(ctx context.Context, username string, m audit.Meta, req TokenRequest) (*NewToken, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.NotFound, "No user named %q: create it with `cheeseshop admin user create`.", username)
	} else if err != nil {
		return nil, wrap(err, "create token for %s", username)
	}
	if u.Disabled {
		return nil, problem.Errorf(problem.Forbidden, "The account %q is disabled: enable it before creating tokens for it.", u.Username)
	}
	return s.createToken(ctx, &Principal{User: u, Meta: m}, m, req, "administrator")
}

// createToken creates the token of req for p's user; by names who made
// it when it is not the user itself.
func (s *Service) createToken(ctx context.Context, p *Principal, m audit.Meta, req TokenRequest, by string) (*NewToken, error) {
	name := strings.TrimSpace(req.Name)
	if name == "" || utf8.RuneCountInString(name) > maxTokenName || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, problem.Errorf(problem.Invalid, "Give the token a name of 1 to %d printable characters, to tell it apart.", maxTokenName)
	}
	if req.ReadOnly && req.Manage {
		return nil, problem.Errorf(problem.Invalid, "A token either only reads or may manage projects, not both.")
	}
	now := s.now()
	if req.Expires != nil && !req.Expires.After(now) {
		return nil, problem.Errorf(problem.Invalid, "The expiry date must be in the future.")
	}
	secret, hash := auth.NewToken()
	t := &store.Token{UserID: p.User.ID, Name: name, Prefix: auth.DisplayPrefix(secret), Hash: hash, Scoped: len(req.Projects) > 0,
		CanManage: req.Manage, ReadOnly: req.ReadOnly, CreatedAt: now}
	if req.Expires != nil {
		t.ExpiresAt = req.Expires.UTC()
	}
	err := s.writeTx(ctx, p, m, func(tx *store.Tx) error {
		var names []string
		for _, pn := range req.Projects {
			proj, err := tx.ProjectByName(ctx, pep.NormalizeName(pn))
			if errors.Is(err, store.ErrNotFound) {
				return problem.Errorf(problem.Invalid, "No project named '%s'.", pn)
			} else if err != nil {
				return err
			}
			if req.ReadOnly {
				// A read token reads what its user reads, no more.
				reader, err := s.ReaderForUser(ctx, p.User)
				if err != nil {
					return err
				}
				if !s.CanRead(reader, proj) {
					return problem.Errorf(problem.Invalid, "No project named '%s'.", pn)
				}
				if !slices.Contains(t.ProjectIDs, proj.ID) {
					t.ProjectIDs = append(t.ProjectIDs, proj.ID)
					names = append(names, proj.Name)
				}
				continue
			}
			if err := s.unhide(ctx, tx, p, proj, pn); problem.KindOf(err) == problem.NotFound {
				return problem.Errorf(problem.Invalid, "No project named '%s'.", pn)
			} else if err != nil {
				return err
			}
			if _, err := tx.RoleOf(ctx, proj.ID, p.User.ID); errors.Is(err, store.ErrNotFound) {
				return problem.Errorf(problem.Forbidden, "You are not a collaborator on '%s': a token can only be scoped to your projects.", proj.Name)
			} else if err != nil {
				return err
			}
			action := ActionScopedToken
			if req.Manage {
				action = ActionManageToken
			}
			if err := s.mandated(ctx, tx, p, proj, action); err != nil {
				return err
			}
			if !slices.Contains(t.ProjectIDs, proj.ID) {
				t.ProjectIDs = append(t.ProjectIDs, proj.ID)
				names = append(names, proj.Name)
			}
		}
		if req.Manage && !t.Scoped {
			// A token for all the user's projects manages those that
			// require two-factor authentication too.
			projects, err := tx.MandatedProjectsOf(ctx, p.User.ID)
			if err != nil {
				return err
			}
			for _, proj := range projects {
				if err := s.mandated(ctx, tx, p, proj, ActionManageToken); err != nil {
					return err
				}
			}
		}
		t.ProjectNames = names
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		details := map[string]any{"name": name, "scope": tokenScope(t, names), "permission": TokenPermission(t), "prefix": t.Prefix}
		if by != "" {
			details["by"] = by
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.TokenCreated}, details)
	})
	if err != nil {
		return nil, wrap(err, "create token")
	}
	s.tokenNotice(ctx, p.User, t, m, by)
	return &NewToken{Token: t, Secret: secret}, nil
}

// tokenNotice emails the user about a token just created for it, so that
// a token minted by someone else (a stolen session, an administrator) is
// seen. A failure to send is logged, not fatal: the token exists.
func (s *Service) tokenNotice(ctx context.Context, u *store.User, t *store.Token, m audit.Meta, by string) {
	expires := "never"
	if !t.ExpiresAt.IsZero() {
		expires = t.ExpiresAt.Format(time.RFC3339)
	}
	_ = s.mail.Send(ctx, u.Email, "token-created", mail.Data{"Username": u.Username, "By": by, "IP": m.IP,
		"Name": t.Name, "Prefix": t.Prefix, "Projects": tokenScope(t, t.ProjectNames), "Permission": TokenPermission(t),
		"Expires": expires})
}

// ListTokens returns p's user's tokens, newest first (never their
// secrets), to a signed-in session only.
func (s *Service) ListTokens(ctx context.Context, p *Principal) ([]*store.Token, error) {
	if err := s.sessionOnly(ctx, p); err != nil {
		return nil, err
	}
	ts, err := s.store.UserTokens(ctx, p.User.ID)
	return ts, wrap(err, "list tokens")
}

// RevokeToken deletes one of p's user's tokens, for a signed-in session
// only; another user's token is not found. The user is told by email.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, m audit.Meta, id int64) error {
	if err := s.sessionOnly(ctx, p); err != nil {
		return err
	}
	var t *store.Token
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.UserToken(ctx, p.User.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "You have no API token number %d.", id)
		} else if err != nil {
			return err
		}
		if err := tx.DeleteToken(ctx, t.ID); err != nil {
			return err
		}
		if err := s.accessChanged(ctx, tx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.TokenRevoked},
			map[string]any{"name": t.Name, "prefix": t.Prefix})
	})
	if err != nil {
		return wrap(err, "revoke token %d", id)
	}
	s.AccessChanged()
	s.revokeNotice(ctx, p.User, t, m)
	return nil
}

// revokeNotice emails the user about a token just revoked, so that a
// stolen session cutting off the user's CI is seen. A failure to send is
// logged, not fatal: the token is gone.
func (s *Service) revokeNotice(ctx context.Context, u *store.User, t *store.Token, m audit.Meta) {
	_ = s.mail.Send(ctx, u.Email, "token-revoked", mail.Data{"Username": u.Username, "Name": t.Name, "Prefix": t.Prefix, "IP": m.IP})
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
