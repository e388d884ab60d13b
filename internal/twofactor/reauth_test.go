package twofactor

import (
	"context"
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestChangesNeedRecentAuth: every change of a user's second factors,
// adding as removing, is refused by the domain itself to a session whose
// proof of identity is older than ReauthWindow, whatever page calls it;
// a fresh proof lets the same call through.
func TestChangesNeedRecentAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		c := f.user("alice")
		storetest.Must(t, st.SetRecoveryCodesConfirmed(ctx, c.User.ID, true))
		c.User.RecoveryCodesConfirmed = true
		changes := []struct {
			name string
			do   func(ctx context.Context, c *account.Current) error
		}{
			{"generate recovery codes", func(ctx context.Context, c *account.Current) error {
				_, err := f.tf.GenerateRecoveryCodes(ctx, c, meta1)
				return err
			}},
			{"begin an authenticator app", func(ctx context.Context, c *account.Current) error {
				_, err := f.tf.BeginTOTP(ctx, c)
				return err
			}},
			{"confirm an authenticator app", func(ctx context.Context, c *account.Current) error {
				return f.tf.ConfirmTOTP(ctx, c, "123456", meta1)
			}},
			{"begin a security key", func(ctx context.Context, c *account.Current) error {
				_, err := f.tf.BeginKeyRegistration(ctx, c)
				return err
			}},
			{"register a security key", func(ctx context.Context, c *account.Current) error {
				_, err := f.tf.FinishKeyRegistration(ctx, c, "key", []byte("{}"), meta1)
				return err
			}},
			{"remove the authenticator app", func(ctx context.Context, c *account.Current) error {
				return f.tf.RemoveTOTP(ctx, c, meta1)
			}},
			{"remove a security key", func(ctx context.Context, c *account.Current) error {
				return f.tf.RemoveKey(ctx, c, 1, meta1)
			}},
		}
		f.clk.Add(ReauthWindow + time.Second)
		for _, ch := range changes {
			err := ch.do(ctx, c)
			if !errors.Is(err, auth.ErrReauthRequired) || kindOf(err) != problem.Forbidden {
				t.Errorf("%s with a stale session: %v, want a refusal for want of re-authentication", ch.name, err)
			}
		}
		if codes, _ := st.RecoveryCodes(ctx, c.User.ID); len(codes) != 0 {
			t.Fatalf("a stale session generated %d recovery codes", len(codes))
		}
		storetest.Must(t, f.acct.Reauthenticated(ctx, c, "password", "", meta1))
		for _, ch := range changes {
			if err := ch.do(ctx, c); errors.Is(err, auth.ErrReauthRequired) {
				t.Errorf("%s after re-authenticating: %v", ch.name, err)
			}
		}
	})
}
