package account

import (
	"testing"
	"time"

	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newFixture(t, st)
		idle := f.register(t, "idle")   // will sit idle past the idle timeout
		busy := f.register(t, "busy")   // active, but past the absolute end
		fresh := f.register(t, "fresh") // recent: must survive
		_, err := f.svc.limiter.Reserve(ctx, ratelimit.Limit{Key: "old-failure", Rules: []ratelimit.Rule{LoginLimit}})
		storetest.Must(t, err)

		// busy stays active every hour until its absolute end passes.
		for end := f.clock.Now().Add(DefaultAbsoluteTimeout); f.clock.Now().Before(end); {
			f.clock.Add(time.Hour)
			c, err := f.svc.Session(ctx, busy.Cookie)
			storetest.Must(t, err)
			if c == nil && f.clock.Now().Before(end) {
				t.Fatalf("the busy session ended early, at %s", f.clock.Now())
			}
		}
		fresh2 := f.register(t, "fresh2")
		storetest.Must(t, f.svc.Sweep(ctx))

		for _, c := range []struct {
			name  string
			login *Login
			alive bool
		}{{"idle", idle, false}, {"busy", busy, false}, {"fresh (idle too long)", fresh, false}, {"fresh2", fresh2, true}} {
			_, err := st.SessionByHash(ctx, c.login.Session.IDHash)
			if alive := err == nil; alive != c.alive {
				t.Errorf("session of %s: alive = %v after Sweep, want %v (%v)", c.name, alive, c.alive, err)
			}
		}
		if n, _, err := st.CountHits(ctx, "old-failure", time.Time{}); err != nil || n != 0 {
			t.Errorf("a rate-limit hit a week old survives Sweep: %d, %v", n, err)
		}
	})
}
