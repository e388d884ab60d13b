package twofactor

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

// codesLeft finds the count in the email of a used recovery code.
var codesLeft = regexp.MustCompile(`(\d+) codes are left`)

func TestRecoveryCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		c := f.user("alice")
		codes, err := f.tf.GenerateRecoveryCodes(ctx, c, meta1)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, code := range codes {
			if !hex16.MatchString(code) || seen[code] {
				t.Fatalf("codes %q: want 8 distinct codes of 16 hex", codes)
			}
			seen[code] = true
		}
		if len(codes) != 8 {
			t.Fatalf("%d codes, want 8", len(codes))
		}
		stored, _ := st.RecoveryCodes(ctx, c.User.ID)
		for _, rc := range stored {
			if seen[rc.Hash] || !strings.HasPrefix(rc.Hash, macPrefix) || len(rc.Hash) != len(macPrefix)+64 {
				t.Fatalf("a code is stored as %q, not as an HMAC-SHA-256", rc.Hash)
			}
		}
		m, _ := f.tf.MethodsOf(ctx, c.User.ID)
		if m.RecoveryLeft != 8 || m.RecoveryConfirmed || m.Enabled() {
			t.Fatalf("methods after generating: %+v", m)
		}

		// Regenerating replaces the set; confirmation needs a new code.
		old := codes
		if codes, err = f.tf.GenerateRecoveryCodes(ctx, c, meta1); err != nil {
			t.Fatal(err)
		}
		if err := f.tf.ConfirmRecoveryCodes(ctx, c, old[0], meta1); kindOf(err) != problem.Unauthenticated {
			t.Fatalf("confirming with an old code: %v", err)
		}
		if err := f.tf.ConfirmRecoveryCodes(ctx, c, "not a code", meta1); kindOf(err) != problem.Invalid {
			t.Fatalf("confirming with garbage: %v", err)
		}
		if err := f.tf.ConfirmRecoveryCodes(ctx, c, codes[5], meta1); err != nil {
			t.Fatal(err)
		}
		if m, _ := f.tf.MethodsOf(ctx, c.User.ID); !m.RecoveryConfirmed || m.RecoveryLeft != 8 || m.Enabled() {
			t.Fatalf("methods after confirming (recovery codes alone are not 2FA): %+v", m)
		}
		if _, err := f.tf.UseRecoveryCode(ctx, c.User, old[1], meta1); err == nil {
			t.Fatal("an old code works after regeneration")
		}

		// Each works once; the count goes down to 0.
		for i, code := range codes {
			f.clk.Add(61 * time.Minute) // keep clear of the rate limits
			left, err := f.tf.UseRecoveryCode(ctx, c.User, code, meta1)
			if err != nil || left != 7-i {
				t.Fatalf("code %d: left %d, %v; want %d", i, left, err, 7-i)
			}
			if i == 0 {
				if _, err := f.tf.UseRecoveryCode(ctx, c.User, code, meta1); err == nil {
					t.Fatal("a code works twice")
				}
			}
		}
		if err := f.tf.ConfirmRecoveryCodes(ctx, c, codes[0], meta1); kindOf(err) != problem.Invalid {
			t.Error("confirming with a used code")
		}
		// Each use is told by email, with advice once few codes are left.
		msgs, err := mail.ReadOutbox(f.outbox)
		if err != nil {
			t.Fatal(err)
		}
		used := 0
		for _, m := range msgs {
			if m.Subject != "Recovery code used" {
				continue
			}
			used++
			var left int
			if match := codesLeft.FindStringSubmatch(m.Text); match == nil {
				t.Errorf("no count of the codes left:\n%s", m.Text)
			} else if left, _ = strconv.Atoi(match[1]); strings.Contains(m.Text, "Generate new recovery codes now") != (left <= RecoveryLowWater) {
				t.Errorf("%d codes left, advice given = %v", left, !(left <= RecoveryLowWater))
			}
		}
		if used != 8 {
			t.Errorf("%d emails of a used code, want 8", used)
		}
		evs, _ := st.UserEvents(ctx, c.User.ID, 100)
		count := map[string]int{}
		for _, e := range evs {
			count[e.Tag]++
		}
		if count["account:recovery_codes:generated"] != 2 || count["account:recovery_codes:used"] != 8 || count["account:recovery_codes:confirmed"] != 1 {
			t.Errorf("events: %v", count)
		}
	})
}

// TestRecoveryCodeCost: checking a recovery code costs no password hash
// (codes are HMACs), so that guesses cannot starve sign-ins through the
// shared hasher; a set made before (argon2id hashes, which cannot be
// converted since the codes are not kept) still works, on the service's
// own one-at-a-time hasher; the HMAC is bound to the user and to the
// server's secret key.
func TestRecoveryCodeCost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		c := f.user("alice")
		codes, err := f.tf.GenerateRecoveryCodes(ctx, c, meta1)
		storetest.Must(t, err)
		if n := f.tf.legacy.Verifications(); n != 0 {
			t.Fatalf("generating codes ran %d argon2id", n)
		}
		if _, err := f.tf.UseRecoveryCode(ctx, c.User, "0123456789abcdef", meta1); kindOf(err) != problem.Unauthenticated {
			t.Fatalf("a wrong code: %v", err)
		}
		if _, err := f.tf.UseRecoveryCode(ctx, c.User, codes[2], meta1); err != nil {
			t.Fatal(err)
		}
		if n := f.tf.legacy.Verifications(); n != 0 {
			t.Fatalf("checking codes ran %d argon2id", n)
		}

		// Another user's stored code, copied, does not match for alice;
		// nor does a code under another server key.
		bob := f.user("bob")
		bobCodes, err := f.tf.GenerateRecoveryCodes(ctx, bob, meta1)
		storetest.Must(t, err)
		if f.tf.codeMAC(c.User.ID, bobCodes[0]) == f.tf.codeMAC(bob.User.ID, bobCodes[0]) {
			t.Fatal("the stored form of a code does not depend on its user")
		}
		other, err := New(st, []byte(strings.Repeat("another secret key ", 4)), Config{}, nil, f.clk.Now)
		storetest.Must(t, err)
		if other.codeMAC(bob.User.ID, bobCodes[0]) == f.tf.codeMAC(bob.User.ID, bobCodes[0]) {
			t.Fatal("the stored form of a code does not depend on the server key")
		}

		// A legacy set: argon2id hashes, as stored before.
		legacy := []string{"00112233445566aa", "8899aabbccddeeff"}
		var hashes []string
		for _, code := range legacy {
			h, err := auth.NewHasher(1, auth.MinParams).Hash(ctx, code)
			storetest.Must(t, err)
			hashes = append(hashes, h)
		}
		storetest.Must(t, st.ReplaceRecoveryCodes(ctx, c.User.ID, hashes, f.clk.Now()))
		f.clk.Add(time.Hour)
		left, err := f.tf.UseRecoveryCode(ctx, c.User, legacy[1], meta1)
		if err != nil || left != 1 {
			t.Fatalf("a code of a legacy set: left %d, %v", left, err)
		}
		if n := f.tf.legacy.Verifications(); n != uint64(len(legacy)) {
			t.Fatalf("a legacy check ran %d argon2id on the legacy hasher, want %d (every stored code)", n, len(legacy))
		}
		if _, err := f.tf.UseRecoveryCode(ctx, c.User, legacy[1], meta1); kindOf(err) != problem.Unauthenticated {
			t.Fatalf("a legacy code used twice: %v", err)
		}
	})
}
