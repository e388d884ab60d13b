package twofactor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/store"
)

// Recovery codes: 8 codes of 16 hex characters (64 random bits each),
// stored as argon2id hashes, each usable once.
const (
	RecoveryCodeCount = 8
	recoveryCodeBytes = 8
	// RecoveryLowWater is the number of codes left at which the user is
	// warned to generate new ones.
	RecoveryLowWater = 2
)

// GenerateRecoveryCodes replaces the user's recovery codes with 8 new
// ones, returned once, in the clear, to be shown. Until the user types
// one back (ConfirmRecoveryCodes) no first second factor can be enabled.
// Generating them, the first time as later, needs a recent
// re-authentication: the codes pass the second step.
func (s *Service) GenerateRecoveryCodes(ctx context.Context, c *account.Current, m audit.Meta) ([]string, error) {
	if err := s.requireRecentAuth(c); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, recoveryCodeBytes)
		rand.Read(b)
		codes[i] = hex.EncodeToString(b)
		h, err := s.hasher.Hash(ctx, codes[i])
		if err != nil {
			return nil, fmt.Errorf("twofactor: hash recovery code: %w", err)
		}
		hashes[i] = h
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(ctx, c.User.ID, hashes, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.RecoveryCodesGenerated}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("twofactor: generate recovery codes: %w", err)
	}
	c.User.RecoveryCodesConfirmed = false
	s.notify(ctx, c.User, "Recovery codes generated",
		"New recovery codes were generated for your account; the earlier ones no longer work.\n")
	return codes, nil
}

// ConfirmRecoveryCodes takes one of the freshly generated codes typed
// back by the user, proving it saved them. The code is not used up.
func (s *Service) ConfirmRecoveryCodes(ctx context.Context, c *account.Current, code string, m audit.Meta) error {
	if err := s.checkLimits(ctx, c.User, m); err != nil {
		return err
	}
	rc, err := s.findRecoveryCode(ctx, c.User.ID, code)
	if err != nil {
		return s.failed(ctx, c.User, m, "recovery-code", "", "wrong code while confirming", err)
	}
	if !rc.UsedAt.IsZero() {
		return errorf(account.Invalid, "That code was already used. Type one you have not used.")
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetRecoveryCodesConfirmed(ctx, c.User.ID, true); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.RecoveryCodesConfirmed}, nil)
	})
	if err != nil {
		return fmt.Errorf("twofactor: confirm recovery codes: %w", err)
	}
	c.User.RecoveryCodesConfirmed = true
	return nil
}

// UseRecoveryCode spends one of the user's recovery codes as its second
// step (sign-in or re-authentication) and returns how many are left. The
// use is an event and an email.
func (s *Service) UseRecoveryCode(ctx context.Context, u *store.User, code string, m audit.Meta) (left int, err error) {
	if err := s.checkLimits(ctx, u, m); err != nil {
		return 0, err
	}
	rc, err := s.findRecoveryCode(ctx, u.ID, code)
	if err != nil {
		return 0, s.failed(ctx, u, m, "recovery-code", "", "wrong code", err)
	}
	now := s.now()
	ok, err := s.store.UseRecoveryCode(ctx, rc.ID, now)
	if err != nil {
		return 0, fmt.Errorf("twofactor: %w", err)
	}
	if !ok || !rc.UsedAt.IsZero() {
		return 0, s.failed(ctx, u, m, "recovery-code", "", "code already used",
			errorf(account.Unauthorized, "This recovery code was already used. Each code works once: use another."))
	}
	codes, err := s.store.RecoveryCodes(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("twofactor: %w", err)
	}
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			left++
		}
	}
	if err := s.record(ctx, u, m, audit.RecoveryCodeUsed, map[string]any{"left": left}); err != nil {
		return 0, err
	}
	s.notify(ctx, u, "Recovery code used",
		fmt.Sprintf("A recovery code was used to sign in to your account, from %s. %d codes are left.\n%s", m.IP, left,
			lowCodesAdvice(left, s.cfg.BaseURL)))
	return left, nil
}

// lowCodesAdvice tells the user to make new codes when few are left.
func lowCodesAdvice(left int, base string) string {
	if left > RecoveryLowWater {
		return ""
	}
	return "Generate new recovery codes now: " + base + "/manage/account/recovery-codes/\n"
}

// findRecoveryCode returns the stored code that code matches. Every
// stored hash is checked, so the time taken does not tell which matched.
func (s *Service) findRecoveryCode(ctx context.Context, userID int64, code string) (*store.RecoveryCode, error) {
	code = strings.ToLower(strings.Join(strings.Fields(code), ""))
	if len(code) != 2*recoveryCodeBytes || strings.Trim(code, "0123456789abcdef") != "" {
		return nil, errorf(account.Invalid, "A recovery code is 16 characters: digits and the letters a to f.")
	}
	codes, err := s.store.RecoveryCodes(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	var found *store.RecoveryCode
	for i := range codes {
		err := s.hasher.Verify(ctx, code, codes[i].Hash)
		if err == nil && found == nil {
			found = &codes[i]
		} else if err != nil && !errors.Is(err, auth.ErrMismatch) {
			return nil, fmt.Errorf("twofactor: %w", err)
		}
	}
	if found == nil {
		return nil, errorf(account.Unauthorized, "The recovery code is wrong.")
	}
	return found, nil
}
