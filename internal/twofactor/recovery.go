package twofactor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Recovery codes: 8 codes of 16 hex characters (64 random bits each),
// stored as an HMAC-SHA-256 under a key derived from the server's secret
// key (see codeMAC), each usable once.
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
		hashes[i] = s.codeMAC(c.User.ID, codes[i])
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
	s.notify(ctx, c.User, "recovery-codes-generated", nil)
	return codes, nil
}

// ConfirmRecoveryCodes takes one of the freshly generated codes typed
// back by the user, proving it saved them. The code is not used up.
func (s *Service) ConfirmRecoveryCodes(ctx context.Context, c *account.Current, code string, m audit.Meta) error {
	res, err := s.reserve(ctx, c.User, m)
	if err != nil {
		return err
	}
	rc, err := s.findRecoveryCode(ctx, c.User.ID, code)
	if err != nil {
		return s.failed(ctx, c.User, m, "recovery-code", "", "wrong code while confirming", err)
	}
	// A code of the user's: not a failed attempt.
	if err := res.Release(ctx); err != nil {
		return err
	}
	if !rc.UsedAt.IsZero() {
		return problem.Errorf(problem.Invalid, "That code was already used. Type one you have not used.")
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
	res, err := s.reserve(ctx, u, m)
	if err != nil {
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
			problem.Errorf(problem.Unauthenticated, "This recovery code was already used. Each code works once: use another."))
	}
	if err := res.Release(ctx); err != nil {
		return 0, err
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
	s.notify(ctx, u, "recovery-code-used", mail.Data{"IP": m.IP, "Left": left, "Low": left <= RecoveryLowWater})
	return left, nil
}

// macPrefix marks a recovery code stored as an HMAC (codeMAC); codes of
// sets generated before are argon2id PHC strings ("$argon2id$…").
const macPrefix = "hmac-sha256$"

// codeMAC is how a recovery code is stored: HMAC-SHA-256, under a key
// derived from the server's secret key (kept out of the database), of the
// user's id and the code. A code is 64 random bits, so a keyed hash is
// enough: without the key a stolen database row tells nothing, and with it
// 2^64 guesses are still out of reach; unlike a password hash it costs a
// check nothing, so checking codes cannot starve sign-ins.
func (s *Service) codeMAC(userID int64, code string) string {
	mac := hmac.New(sha256.New, s.codeKey)
	mac.Write(userContext(userID))
	mac.Write([]byte{0})
	mac.Write([]byte(code))
	return macPrefix + hex.EncodeToString(mac.Sum(nil))
}

// findRecoveryCode returns the stored code that code matches. Every
// stored code is compared, in constant time, so the time taken does not
// tell which matched. A set made by GenerateRecoveryCodes costs one HMAC;
// a set made before codes were stored as HMACs (argon2id hashes, which
// cannot be converted: the codes themselves are not kept) costs up to 8
// argon2id verifications, on a hasher of its own that runs one at a time
// (legacy), so that they never take the slots of sign-ins.
func (s *Service) findRecoveryCode(ctx context.Context, userID int64, code string) (*store.RecoveryCode, error) {
	code = strings.ToLower(strings.Join(strings.Fields(code), ""))
	if len(code) != 2*recoveryCodeBytes || strings.Trim(code, "0123456789abcdef") != "" {
		return nil, problem.Errorf(problem.Invalid, "A recovery code is 16 characters: digits and the letters a to f.")
	}
	codes, err := s.store.RecoveryCodes(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	want := []byte(s.codeMAC(userID, code))
	var found *store.RecoveryCode
	for i := range codes {
		var match bool
		if strings.HasPrefix(codes[i].Hash, macPrefix) {
			match = subtle.ConstantTimeCompare(want, []byte(codes[i].Hash)) == 1
		} else {
			err := s.legacy.Verify(ctx, code, codes[i].Hash)
			if err != nil && !errors.Is(err, auth.ErrMismatch) {
				return nil, fmt.Errorf("twofactor: %w", err)
			}
			match = err == nil
		}
		if match && found == nil {
			found = &codes[i]
		}
	}
	if found == nil {
		return nil, problem.Errorf(problem.Unauthenticated, "The recovery code is wrong.")
	}
	return found, nil
}
