package twofactor

import (
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// rfc6238 are the SHA-1 test vectors of RFC 6238, Appendix B (secret
// "12345678901234567890", 8 digits); the app's 6 digits are their last 6.
var rfc6238 = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestTOTPVectors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		c := f.user("alice")
		secret := f.withTOTP(c.User, "12345678901234567890")
		for _, v := range rfc6238 {
			t.Run(v.code, func(t *testing.T) {
				f.clk.Set(time.Unix(v.unix, 0))
				six := v.code[2:]
				step, err := f.tf.matchTOTP(secret, six)
				if err != nil || step != v.unix/30 {
					t.Fatalf("matchTOTP(%s) at %d = %d, %v; want step %d", six, v.unix, step, err, v.unix/30)
				}
				// Typed with a space, as apps show it.
				if _, err := f.tf.matchTOTP(secret, six[:3]+" "+six[3:]); err != nil {
					t.Fatalf("with a space: %v", err)
				}
				if err := f.tf.VerifyTOTP(t.Context(), c.User, six, meta1); err != nil {
					t.Fatalf("VerifyTOTP(%s) at %d: %v", six, v.unix, err)
				}
			})
		}
	})
}

func TestTOTPWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		c := f.user("alice")
		secret := f.withTOTP(c.User, "abcdefghijklmnopqrst")
		now := f.clk.Now()
		for _, tc := range []struct {
			steps int
			want  string // "" accepted
		}{
			{0, ""}, {-1, ""}, {1, ""},
			{2, "out of sync"}, {-2, "out of sync"}, {5, "out of sync"}, {10, "out of sync"}, {-10, "out of sync"},
			{11, "The code is wrong"}, {-11, "The code is wrong"}, {100, "The code is wrong"},
		} {
			at := now.Add(time.Duration(tc.steps) * 30 * time.Second)
			step, err := f.tf.matchTOTP(secret, code(t, secret, at))
			switch {
			case tc.want == "" && (err != nil || step != at.Unix()/30):
				t.Errorf("%+d steps: %d, %v; want accepted for step %d", tc.steps, step, err, at.Unix()/30)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || kindOf(err) != problem.Unauthenticated):
				t.Errorf("%+d steps: %v; want %q", tc.steps, err, tc.want)
			}
		}
		for _, bad := range []string{"", "12345", "1234567", "12a456"} {
			if _, err := f.tf.matchTOTP(secret, bad); kindOf(err) != problem.Invalid {
				t.Errorf("matchTOTP(%q) = %v, want Invalid", bad, err)
			}
		}
	})
}

func TestTOTPReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		c := f.user("alice")
		secret := f.withTOTP(c.User, "abcdefghijklmnopqrst")
		ctx := t.Context()
		now := f.clk.Now()
		cur, next, prev := code(t, secret, now), code(t, secret, now.Add(30*time.Second)), code(t, secret, now.Add(-30*time.Second))
		if err := f.tf.VerifyTOTP(ctx, c.User, cur, meta1); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := f.tf.VerifyTOTP(ctx, c.User, cur, meta1); err == nil || !strings.Contains(err.Error(), "already used") {
			t.Fatalf("the same code twice: %v", err)
		}
		// The next step's code (±1) is accepted, and then the current
		// and previous ones are older than the last accepted: refused.
		if err := f.tf.VerifyTOTP(ctx, c.User, next, meta1); err != nil {
			t.Fatalf("next step: %v", err)
		}
		for _, old := range []string{cur, prev} {
			if err := f.tf.VerifyTOTP(ctx, c.User, old, meta1); err == nil || !strings.Contains(err.Error(), "already used") {
				t.Fatalf("an older code after a newer one: %v", err)
			}
		}
		// The refusals are events.
		evs, err := st.UserEvents(ctx, c.User.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Tag == "account:two_factor:failure" {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d failure events, want 3", n)
		}
	})
}

func TestTOTPEnrol(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		c := f.user("alice")
		if _, err := f.tf.BeginTOTP(ctx, c); kindOf(err) != problem.Forbidden {
			t.Fatalf("BeginTOTP before recovery codes: %v", err)
		}
		codes, err := f.tf.GenerateRecoveryCodes(ctx, c, meta1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tf.BeginTOTP(ctx, c); kindOf(err) != problem.Forbidden {
			t.Fatalf("BeginTOTP before confirming recovery codes: %v", err)
		}
		if err := f.tf.ConfirmRecoveryCodes(ctx, c, codes[0], meta1); err != nil {
			t.Fatal(err)
		}
		setup, err := f.tf.BeginTOTP(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"otpauth://totp/cheeseshop:alice?", "secret=" + setup.Secret, "issuer=cheeseshop", "algorithm=SHA1", "digits=6", "period=30"} {
			if !strings.Contains(setup.URI, p) {
				t.Errorf("URI %s lacks %s", setup.URI, p)
			}
		}
		if len(setup.QRPNG) < 100 || string(setup.QRPNG[1:4]) != "PNG" {
			t.Error("no PNG QR code")
		}
		if sec, ok := f.tf.PendingTOTP(ctx, c); !ok || sec != setup.Secret {
			t.Fatalf("PendingTOTP = %q, %v", sec, ok)
		}
		if err := f.tf.ConfirmTOTP(ctx, c, wrong(code(t, setup.Secret, f.clk.Now())), meta1); err == nil {
			t.Fatal("a wrong first code enabled the app")
		}
		good := code(t, setup.Secret, f.clk.Now())
		if err := f.tf.ConfirmTOTP(ctx, c, good, meta1); err != nil {
			t.Fatalf("confirm after a wrong code: %v", err)
		}
		if has, _ := f.tf.HasTwoFactor(ctx, c.User.ID); !has {
			t.Fatal("no 2FA after enrolment")
		}
		// The enrolment code is spent: it cannot sign in.
		if err := f.tf.VerifyTOTP(ctx, c.User, good, meta1); err == nil {
			t.Fatal("the enrolment code signs in")
		}
		if _, err := f.tf.BeginTOTP(ctx, c); kindOf(err) != problem.Invalid {
			t.Fatalf("a second app: %v", err)
		}
		if err := f.tf.RemoveTOTP(ctx, c, meta1); err != nil {
			t.Fatal(err)
		}
		if has, _ := f.tf.HasTwoFactor(ctx, c.User.ID); has {
			t.Fatal("2FA after removal")
		}
	})
}
