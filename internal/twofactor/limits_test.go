package twofactor

import (
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// limitsFixture is a user with an authenticator app, and helpers to fail
// and pass its second step at the fixture's clock.
type limitsFixture struct {
	*fixture
	u      *store.User
	secret string
	m      audit.Meta
	prefix string
}

// newLimitsFixture makes the user prefix+"alice", failing from its own IP
// (the subtests share a database).
func newLimitsFixture(t *testing.T, st *store.Store, prefix, ip string) *limitsFixture {
	f := newFixture(t, st)
	c := f.user(prefix + "alice")
	return &limitsFixture{fixture: f, u: c.User, secret: f.withTOTP(c.User, "abcdefghijklmnopqrst"),
		m: audit.Meta{IP: ip, UserAgent: "test"}, prefix: prefix}
}

// fail gives n wrong codes, each of which must be answered "wrong".
func (f *limitsFixture) fail(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		err := f.tf.VerifyTOTP(t.Context(), f.u, wrong(code(t, f.secret, f.clk.Now())), f.m)
		if err == nil || !strings.Contains(err.Error(), "The code is wrong") {
			t.Fatalf("failure %d of %d at %s: %v", i+1, n, f.clk.Now(), err)
		}
	}
}

// limited checks that even the right code is refused with 429.
func (f *limitsFixture) limited(t *testing.T, what string) {
	t.Helper()
	err := f.tf.VerifyTOTP(t.Context(), f.u, code(t, f.secret, f.clk.Now()), f.m)
	e, ok := err.(*problem.Error)
	if !ok || e.Kind != problem.TooManyRequests || e.RetryAfter <= 0 {
		t.Fatalf("%s: the right code got %v, want 429", what, err)
	}
}

// passes checks that the right code is accepted.
func (f *limitsFixture) passes(t *testing.T, what string) {
	t.Helper()
	f.clk.Add(30 * time.Second) // a fresh code
	if err := f.tf.VerifyTOTP(t.Context(), f.u, code(t, f.secret, f.clk.Now()), f.m); err != nil {
		t.Fatalf("%s: the right code got %v", what, err)
	}
}

func TestLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Run("5 per 5 minutes", func(t *testing.T) {
			f := newLimitsFixture(t, st, "a", "192.0.2.11")
			f.fail(t, 5) // the 5th failure is still "wrong"
			f.limited(t, "6th attempt")
			f.clk.Add(5*time.Minute - time.Second)
			f.limited(t, "a second before 5 minutes")
			f.clk.Add(-29 * time.Second)
			f.passes(t, "5 minutes and a second after") // passes moves the clock 30 s on
		})
		t.Run("20 per hour", func(t *testing.T) {
			f := newLimitsFixture(t, st, "b", "192.0.2.12")
			start := f.clk.Now()
			for round := range 4 {
				f.fail(t, 5)
				if round < 3 {
					f.clk.Add(5*time.Minute + time.Second)
				}
			}
			f.clk.Add(5*time.Minute + time.Second)
			f.limited(t, "21st attempt within the hour, past the 5-minute window")
			f.clk.Set(start.Add(time.Hour - time.Second))
			f.limited(t, "just before the hour")
			f.clk.Set(start.Add(time.Hour + time.Second - 30*time.Second))
			f.passes(t, "an hour after the first failures")
		})
		t.Run("50 per day", func(t *testing.T) {
			f := newLimitsFixture(t, st, "c", "192.0.2.13")
			start := f.clk.Now()
			// 20 in each of two hours, 10 in the third: 50.
			for hour, n := range []int{20, 20, 10} {
				f.clk.Set(start.Add(time.Duration(hour) * (time.Hour + time.Minute)))
				for i := 0; i < n; i += 5 {
					f.fail(t, 5)
					f.clk.Add(5*time.Minute + time.Second)
				}
			}
			f.clk.Set(start.Add(5 * time.Hour))
			f.limited(t, "51st attempt within the day")
			f.clk.Set(start.Add(24*time.Hour - time.Second))
			f.limited(t, "just before a day")
			f.clk.Set(start.Add(24*time.Hour + time.Second - 30*time.Second))
			f.passes(t, "a day after the first failures")
		})
		t.Run("10 per IP per 5 minutes", func(t *testing.T) {
			f := newLimitsFixture(t, st, "d", "192.0.2.14")
			bob := f.user("dbob").User
			carol := f.user("dcarol").User
			ctx := t.Context()
			f.fail(t, 5) // alice: 5 from the IP
			for i := range 5 {
				err := f.tf.VerifyTOTP(ctx, bob, "000000", f.m) // bob has no app: a failure too
				if kindOf(err) != problem.Invalid {
					t.Fatalf("bob's failure %d: %v", i+1, err)
				}
			}
			// carol has failed nothing, but her IP has failed 10 times.
			err := f.tf.VerifyTOTP(ctx, carol, "000000", f.m)
			if kindOf(err) != problem.TooManyRequests {
				t.Fatalf("11th attempt from the IP: %v, want 429", err)
			}
			// From another IP, carol is only told her code is wrong.
			err = f.tf.VerifyTOTP(ctx, carol, "000000", audit.Meta{IP: "198.51.100.7"})
			if kindOf(err) != problem.Invalid {
				t.Fatalf("from another IP: %v", err)
			}
			f.clk.Add(5*time.Minute + time.Second)
			err = f.tf.VerifyTOTP(ctx, carol, "000000", f.m)
			if kindOf(err) != problem.Invalid {
				t.Fatalf("after 5 minutes: %v", err)
			}
			evs, _ := st.UserEvents(ctx, carol.ID, 100)
			limited := false
			for _, e := range evs {
				limited = limited || e.Tag == audit.RateLimited
			}
			if !limited {
				t.Error("the refusal is not an event")
			}
		})
	})
}
