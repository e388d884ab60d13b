package account

import (
	"context"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestDeviceEmailHostileAgent: the new-device email is sent to the
// account's owner but shows the User-Agent of whoever signs in, a phisher
// maybe. Its line breaks (U+2028, NEL) and bidirectional overrides must
// not reach the email, where they could forge lines ("Not you? Go to
// ...") or reorder the text around them.
func TestDeviceEmailHostileAgent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newDeviceFixture(t, st, true)
		f.register(t, "ann")
		c, _ := f.pending(t, "ann")
		hostile := audit.Meta{IP: "192.0.2.9", UserAgent: "Firefox\u2028\u2028Not you? Open https://evil.example/\u0085\u202eknil\u202c\tend"}
		if _, err := f.svc.CompleteSecondFactor(t.Context(), c, "totp", "", f.device(t), hostile); err != nil {
			t.Fatal(err)
		}
		text := f.mail.All()[len(f.mail.All())-1].Text
		for _, bad := range []string{"\u2028", "\u0085", "\u202e", "\u202c"} {
			if strings.Contains(text, bad) {
				t.Errorf("the email holds %+q of the client's User-Agent:\n%s", bad, text)
			}
		}
		if !strings.Contains(text, "Browser: FirefoxNot you?") {
			t.Errorf("the email lacks the cleaned User-Agent:\n%s", text)
		}
	})
}

// TestPasswordResetForgetsDevices: a password reset or change is how an
// owner takes its account back (the new-device email itself says
// "change your password"); a browser an intruder had confirmed, say with
// a link its victim pasted into a phishing page, must not stay exempt
// from the emailed confirmation afterwards.
func TestPasswordResetForgetsDevices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		for _, how := range []string{"reset", "change"} {
			ann := f.register(t, "ann"+how).User
			bob := f.register(t, "bob"+how).User
			dev := f.device(t)
			for _, id := range []int64{ann.ID, bob.ID} {
				_, err := f.svc.RememberDevice(ctx, id, dev, here)
				storetest.Must(t, err)
			}
			switch how {
			case "reset":
				storetest.Must(t, f.svc.RequestPasswordReset(ctx, ann.Username, here))
				_, err := f.svc.ResetPassword(ctx, lastToken(t, f.mail, ann.Email), "brand new password", "brand new password", here)
				storetest.Must(t, err)
			case "change":
				c, _ := f.pending(t, ann.Username)
				step, err := f.svc.CompleteSecondFactor(ctx, c, "webauthn", "key", dev, here)
				storetest.Must(t, err)
				storetest.Must(t, f.svc.ChangePassword(ctx, f.current(t, step.Cookie), pw, "brand new password", "brand new password", here))
			}
			if known, err := f.svc.KnownDevice(ctx, ann.ID, dev); err != nil || known {
				t.Fatalf("ann's browser is still known after her password %s: %v, %v", how, known, err)
			}
			if known, err := f.svc.KnownDevice(ctx, bob.ID, dev); err != nil || !known {
				t.Fatalf("bob's browser was forgotten by ann's password %s: %v, %v", how, known, err)
			}
		}
	})
}

// TestSecondStepRace: a phishing relay that posts its victim's code twice
// at once, from a browser new to the account, gets no signed-in session:
// of the concurrent second steps one waits for the emailed link, the
// others are refused, and one email goes out.
func TestSecondStepRace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newDeviceFixture(t, st, true)
		f.register(t, "ann")
		c, cookie := f.pending(t, "ann")
		dev := f.device(t)
		before := len(f.mail.All())
		const n = 4
		var wg sync.WaitGroup
		var mu sync.Mutex
		waits := 0
		for range n {
			wg.Go(func() {
				own := *c // each request resolves its own copy of the session
				sess := *c.Session
				own.Session = &sess
				step, err := f.svc.CompleteSecondFactor(context.Background(), &own, "totp", "", dev, here)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && step.AwaitingDevice:
					waits++
				case err == nil:
					t.Errorf("a concurrent second step signed in: %+v", step)
				case problem.KindOf(err) == 0:
					t.Errorf("a concurrent second step failed: %v", err)
				}
			})
		}
		wg.Wait()
		if waits != 1 || len(f.mail.All()) != before+1 {
			t.Fatalf("%d second steps wait, %d emails; want 1 and 1", waits, len(f.mail.All())-before)
		}
		if c := f.current(t, cookie); !c.AwaitingDevice() {
			t.Fatalf("the session after the race: %+v", c.Session)
		}
	})
}
