package account

import (
	"context"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// PasskeySignedIn signs in u, who proved itself with its passkey named
// label (twofactor.FinishPasskeyLogin): a passkey is two factors by
// itself, so the new session is active at once, signed in with method
// "passkey", and the sign-in is recorded as one with that second factor.
// It returns the session's cookie.
func (s *Service) PasskeySignedIn(ctx context.Context, u *store.User, label string, m audit.Meta) (string, error) {
	if u.Disabled {
		return "", problem.Errorf(problem.Forbidden, "This account is disabled. The administrators of this site can tell you why.")
	}
	cookie, _, err := s.startSession(ctx, u, store.SessionActive, "passkey", m)
	if err != nil {
		return "", err
	}
	if err := s.signedIn(ctx, u, m, map[string]any{"two_factor_method": "passkey", "label": label}); err != nil {
		return "", err
	}
	return cookie, nil
}
