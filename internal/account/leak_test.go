package account

import (
	"context"
	"errors"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail/mailtest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestRegisterTakenEmail: registering with an address that already has an
// account is answered as registering with a new one; nothing is created,
// and the owner of the address is told (at most RegisterNoticeLimit times
// an hour) and sees it in its history.
func TestRegisterTakenEmail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		alice := f.register(t, "alice")
		reg := func(name, email string) error {
			return f.svc.Register(ctx, Registration{Username: name, Email: email, Password: pw, PasswordConfirm: pw}, here)
		}
		fresh := reg("newcomer", "newcomer@example.org")
		taken := reg("mallory", "ALICE@example.org")
		if fresh != nil || taken != nil {
			t.Fatalf("a new address is answered %v, a registered one %v: they must be answered alike", fresh, taken)
		}
		storetest.Must(t, f.svc.Drain(ctx))
		if _, err := st.UserByUsername(ctx, "mallory"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an account was created with a registered address: %v", err)
		}
		if _, err := st.UserByUsername(ctx, "newcomer"); err != nil {
			t.Fatalf("the new account was not created: %v", err)
		}
		notices := func() (n int) {
			for _, m := range f.mail.All() {
				if m.To == "alice@example.org" && strings.Contains(m.Subject, "Someone tried to create an account") {
					n++
					if !strings.Contains(m.Text, "mallory") || !strings.Contains(m.Text, "/account/reset-password/") {
						t.Errorf("the notice does not say what happened and what to do:\n%s", m.Text)
					}
				}
			}
			return n
		}
		if notices() != 1 {
			t.Fatalf("%d notices to the owner of the address, want 1", notices())
		}
		evs, _ := st.UserEvents(ctx, alice.User.ID, 20)
		found := false
		for _, e := range evs {
			found = found || e.Tag == audit.RegisterEmailTaken
		}
		if !found {
			t.Fatal("the attempt is not in the owner's history")
		}
		// A flood of attempts does not flood the owner's mailbox.
		for range RegisterNoticeLimit.Max + 3 {
			storetest.Must(t, reg("mallory", "alice@example.org"))
		}
		if n := notices(); n != RegisterNoticeLimit.Max {
			t.Fatalf("%d notices, want %d", n, RegisterNoticeLimit.Max)
		}
		// The username is still reported as taken, as PyPI does.
		wantKind(t, "taken username", reg("ALICE", "someone@example.org"), problem.Invalid, "Correct the fields")
	})
}

// TestPasswordResetAnswersFirst: the answer to a reset request does not
// wait for the work that only an existing account needs (looking it up,
// the link, the email), so its time cannot tell whether the account
// exists: with the mail blocked, requests for an existing and an unknown
// account are both answered; the email goes out afterwards.
func TestPasswordResetAnswersFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		f.register(t, "gus")
		gate := mailtest.NewGate(f.mail)
		f.svc.mail.Mailer = gate
		gate.AnsweredFirst(t, "the answer to a reset request", func() error {
			return errors.Join(f.svc.RequestPasswordReset(ctx, "gus", here), f.svc.RequestPasswordReset(ctx, "nobody", here))
		})
		tok := lastToken(t, f.mail, "gus@example.org")
		if _, err := f.svc.PeekPasswordReset(ctx, tok); err != nil {
			t.Fatalf("the link sent after the answer does not work: %v", err)
		}
	})
}
