package twofactor

import (
	"context"
	"encoding/base32"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// fixture is a Service over st with an injected clock.
type fixture struct {
	t    *testing.T
	st   *store.Store
	tf   *Service
	acct *account.Service
	clk  *clocktest.Clock
	// outbox is the folder of the emails sent (mail.ReadOutbox).
	outbox string
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	clk := clocktest.New(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hasher := auth.NewHasher(1, auth.MinParams)
	outbox := t.TempDir()
	tf, err := New(st, []byte(strings.Repeat("test secret key ", 4)),
		Config{BaseURL: "http://index.test", Mailer: &mail.Outbox{Dir: outbox, From: "index@example.org"}, Passkeys: true}, log, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := account.New(t.Context(), st, hasher, account.Config{BaseURL: "http://index.test", HasSecondFactor: tf.HasTwoFactor}, log, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acct.Close)
	return &fixture{t: t, st: st, tf: tf, acct: acct, clk: clk, outbox: outbox}
}

const testPassword = "a long enough password"

// user creates an account and returns a signed-in session of it.
func (f *fixture) user(name string) *account.Current {
	f.t.Helper()
	ctx := f.t.Context()
	hash, err := auth.NewHasher(1, auth.MinParams).Hash(ctx, testPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: hash, EmailVerified: true, CreatedAt: f.clk.Now()}
	if err := f.st.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	return f.session(name)
}

// session logs the user in (without a second step) and returns its session.
func (f *fixture) session(name string) *account.Current {
	f.t.Helper()
	l, err := f.acct.Login(f.t.Context(), name, testPassword, audit.Meta{IP: "192.0.2.1"})
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := f.acct.Session(f.t.Context(), l.Cookie)
	if err != nil || c == nil {
		f.t.Fatalf("session of %s: %v", name, err)
	}
	return c
}

// withTOTP gives the user an authenticator app with the raw secret,
// directly in the store (last accepted step 0).
func (f *fixture) withTOTP(u *store.User, raw string) string {
	f.t.Helper()
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(raw))
	sealed := f.tf.sealer.Seal([]byte(secret), userContext(u.ID))
	if err := f.st.SetTOTP(context.Background(), u.ID, sealed, 0, f.clk.Now()); err != nil {
		f.t.Fatal(err)
	}
	u.HasTOTP = true
	return secret
}

// code is the app's code for secret at t.
func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrong is a 6-digit code that differs from c in every digit.
func wrong(c string) string {
	b := []byte(c)
	for i := range b {
		b[i] = '0' + (b[i]-'0'+5)%10
	}
	return string(b)
}

var meta1 = audit.Meta{IP: "192.0.2.1", UserAgent: "test"}

func kindOf(err error) problem.Kind { return problem.KindOf(err) }
