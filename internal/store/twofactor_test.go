package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// TestTwoFactorRule checks that the SQL form of the two-factor rule, in
// every query that uses it (the public figures, the collaborators a
// mandate binds, the critical projects' report), agrees with the Go rule,
// twofactor.HasTwoFactor, for every combination of factors the schema
// holds: none, recovery codes alone (unconfirmed, confirmed, used up), an
// authenticator app (enrolled, being set up, removed), security keys
// (one, two, being registered, removed), several at once, and all removed
// at once; and for a disabled account, which has its factors but counts in
// no figure.
func TestTwoFactorRule(t *testing.T) {
	t.Parallel()
	type factors func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time)
	codes := func(confirmed bool) factors {
		return func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
			storetest.Must(t, st.ReplaceRecoveryCodes(ctx, u.ID, []string{"h1", "h2"}, now))
			storetest.Must(t, st.SetRecoveryCodesConfirmed(ctx, u.ID, confirmed))
		}
	}
	usedCodes := func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
		codes(true)(ctx, t, st, u, now)
		cs, err := st.RecoveryCodes(ctx, u.ID)
		storetest.Must(t, err)
		for _, c := range cs {
			if _, err := st.UseRecoveryCode(ctx, c.ID, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	app := func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
		storetest.Must(t, st.SetTOTP(ctx, u.ID, "sealed", 0, now))
	}
	key := func(label string) factors {
		return func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
			id := fmt.Sprintf("%d-%s", u.ID, label)
			storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: u.ID, Label: label,
				CredentialID: "cred-" + id, PublicKey: "pk-" + id, Credential: "{}", CreatedAt: now}))
		}
	}
	// ceremony leaves a set-up in progress: the TOTP secret or the
	// WebAuthn registration is kept with the session until confirmed.
	ceremony := func(purpose string) factors {
		return func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
			hash := fmt.Sprintf("session-%d", u.ID)
			storetest.Must(t, st.CreateSession(ctx, &store.Session{IDHash: hash, UserID: u.ID, State: store.SessionActive,
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthenticatedAt: now}))
			storetest.Must(t, st.PutChallenge(ctx, hash, purpose, "pending", now.Add(time.Minute)))
		}
	}
	removeApp := func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
		storetest.Must(t, st.RemoveTOTP(ctx, u.ID))
	}
	removeKeys := func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
		ks, err := st.SecurityKeys(ctx, u.ID)
		storetest.Must(t, err)
		for _, k := range ks {
			storetest.Must(t, st.DeleteSecurityKey(ctx, u.ID, k.ID))
		}
	}
	removeAll := func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
		storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
			_, _, _, err := tx.RemoveAllTwoFactor(ctx, u.ID)
			return err
		}))
	}
	tests := []struct {
		name     string
		steps    []factors
		disabled bool
		want     bool
	}{
		{"nothing", nil, false, false},
		{"recovery codes unconfirmed", []factors{codes(false)}, false, false},
		{"recovery codes confirmed", []factors{codes(true)}, false, false},
		{"recovery codes used up", []factors{usedCodes}, false, false},
		{"app", []factors{codes(true), app}, false, true},
		{"app being set up", []factors{codes(true), ceremony("totp-setup")}, false, false},
		{"app removed", []factors{codes(true), app, removeApp}, false, false},
		{"one key", []factors{codes(true), key("a")}, false, true},
		{"two keys", []factors{codes(true), key("a"), key("b")}, false, true},
		{"key being registered", []factors{codes(true), ceremony("webauthn-register")}, false, false},
		{"key removed", []factors{codes(true), key("a"), removeKeys}, false, false},
		{"one of two keys removed", []factors{key("a"), key("b"), func(ctx context.Context, t *testing.T, st *store.Store, u *store.User, now time.Time) {
			ks, err := st.SecurityKeys(ctx, u.ID)
			storetest.Must(t, err)
			storetest.Must(t, st.DeleteSecurityKey(ctx, u.ID, ks[0].ID))
		}}, false, true},
		{"app and key", []factors{codes(true), app, key("a")}, false, true},
		{"app and key, app removed", []factors{codes(true), app, key("a"), removeApp}, false, true},
		{"app and key, key removed", []factors{codes(true), app, key("a"), removeKeys}, false, true},
		{"app and key without codes", []factors{app, key("a")}, false, true},
		{"everything removed", []factors{codes(true), app, key("a"), removeAll}, false, false},
		{"disabled with app", []factors{codes(true), app}, true, true},
		{"disabled with nothing", nil, true, false},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		p := &store.Project{Name: "crit", NormalizedName: "crit", UltraName: "cr1t", CreatedAt: now}
		storetest.Must(t, st.CreateProject(ctx, p))
		storetest.Must(t, st.MarkCritical(ctx, p.ID, now))
		for i, tt := range tests {
			before, err := st.TwoFactorFigures(ctx)
			storetest.Must(t, err)
			name := fmt.Sprintf("user%02d", i)
			u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", Disabled: tt.disabled, CreatedAt: now}
			storetest.Must(t, st.CreateUser(ctx, u))
			storetest.Must(t, st.AddRole(ctx, p.ID, u.ID, store.RoleMaintainer, now))
			for _, step := range tt.steps {
				step(ctx, t, st, u, now)
			}

			goRule, err := twofactor.HasTwoFactor(ctx, st, u.ID)
			storetest.Must(t, err)
			if goRule != tt.want {
				t.Errorf("%s: twofactor.HasTwoFactor = %v, want %v", tt.name, goRule, tt.want)
			}
			after, err := st.TwoFactorFigures(ctx)
			storetest.Must(t, err)
			counted := int64(0)
			if goRule && !tt.disabled {
				counted = 1
			}
			if d := after.Users2FA - before.Users2FA; d != counted {
				t.Errorf("%s: TwoFactorFigures.Users2FA grew by %d, want %d", tt.name, d, counted)
			}
			if d := after.CriticalUsers2FA - before.CriticalUsers2FA; d != counted {
				t.Errorf("%s: TwoFactorFigures.CriticalUsers2FA grew by %d, want %d", tt.name, d, counted)
			}
			collabs, err := st.MandateCollaborators(ctx, p.ID)
			storetest.Must(t, err)
			if got, ok := twoFactorOf(collabs, u.ID); !ok || got != goRule {
				t.Errorf("%s: MandateCollaborators says two-factor %v (listed: %v), HasTwoFactor %v", tt.name, got, ok, goRule)
			}
			critical, err := st.CriticalProjects(ctx)
			storetest.Must(t, err)
			if len(critical) != 1 {
				t.Fatalf("%d critical projects, want 1", len(critical))
			}
			if got, ok := twoFactorOf(critical[0].Collaborators, u.ID); !ok || got != goRule {
				t.Errorf("%s: CriticalProjects says two-factor %v (listed: %v), HasTwoFactor %v", tt.name, got, ok, goRule)
			}
		}
	})
}

// twoFactorOf returns the two-factor status of the user among cs, and
// whether it is there.
func twoFactorOf(cs []store.MandateCollaborator, userID int64) (has, ok bool) {
	for _, c := range cs {
		if c.UserID == userID {
			return c.TwoFactor, true
		}
	}
	return false, false
}
