package twofactor

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestHasTwoFactor: an authenticator app or a security key counts;
// recovery codes alone do not.
func TestHasTwoFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := time.Now()
		users := map[string]*store.User{}
		for _, name := range []string{"none", "codes", "app", "key", "both"} {
			u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", CreatedAt: now}
			storetest.Must(t, st.CreateUser(ctx, u))
			users[name] = u
		}
		storetest.Must(t, st.ReplaceRecoveryCodes(ctx, users["codes"].ID, []string{"h1", "h2"}, now))
		storetest.Must(t, st.SetRecoveryCodesConfirmed(ctx, users["codes"].ID, true))
		for _, name := range []string{"app", "both"} {
			storetest.Must(t, st.SetTOTP(ctx, users[name].ID, "sealed", 0, now))
		}
		for _, name := range []string{"key", "both"} {
			storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: users[name].ID, Label: "yubikey",
				CredentialID: "cred-" + name, PublicKey: "pk-" + name, Credential: "{}", CreatedAt: now}))
		}
		for name, want := range map[string]bool{"none": false, "codes": false, "app": true, "key": true, "both": true} {
			got, err := HasTwoFactor(ctx, st, users[name].ID)
			storetest.Must(t, err)
			if got != want {
				t.Errorf("HasTwoFactor(%s) = %v, want %v", name, got, want)
			}
		}

		for _, requireAll := range []bool{false, true} {
			s, err := New(st, []byte(strings.Repeat("k", 32)), Config{RequireAll: requireAll},
				slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			storetest.Must(t, err)
			for name, has := range map[string]bool{"none": false, "codes": false, "app": true, "key": true} {
				msg, err := s.UploadGate(ctx, users[name])
				storetest.Must(t, err)
				if refused := msg != ""; refused != (requireAll && !has) {
					t.Errorf("RequireAll=%v: UploadGate(%s) = %q", requireAll, name, msg)
				}
				if msg != "" && !strings.Contains(msg, "/manage/account/two-factor/") {
					t.Errorf("the refusal does not say where to set up 2FA: %q", msg)
				}
			}
		}
	})
}
