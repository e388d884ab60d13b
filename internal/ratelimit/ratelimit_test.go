package ratelimit

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAllow: a full key is reported as false, not as an error, and
// counts nothing.
func TestAllow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		l := New(st, func() time.Time { return now })
		k := Limit{Key: "notice", Rules: []Rule{{Max: 2, Window: time.Hour}}}
		for i, want := range []bool{true, true, false, false} {
			if ok, err := l.Allow(t.Context(), k); ok != want || err != nil {
				t.Fatalf("attempt %d: Allow = %v, %v; want %v, nil", i+1, ok, err, want)
			}
		}
		if n, _, _ := st.CountHits(t.Context(), "notice", time.Time{}); n != 2 {
			t.Fatalf("%d hits counted, want 2", n)
		}
	})
}

func TestLimiter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		l := New(st, func() time.Time { return now })
		ctx := t.Context()
		fiveMin := Rule{Max: 5, Window: 5 * time.Minute}
		hour := Rule{Max: 20, Window: time.Hour}
		k := Limit{Key: "k", Rules: []Rule{fiveMin, hour}}
		reserve := func() error {
			_, err := l.Reserve(ctx, k)
			return err
		}

		// Five attempts, at +0, +1m, +2m, +3m, +3m: all fit.
		for i := range 5 {
			storetest.Must(t, reserve())
			if i < 3 {
				now = now.Add(time.Minute)
			}
		}
		// The sixth does not, and is not counted: the oldest (at +0)
		// leaves the window at +5m.
		for range 3 {
			err := reserve()
			var ex *Exceeded
			if !errors.As(err, &ex) || ex.RetryAfter != 2*time.Minute || ex.Key != "k" {
				t.Fatalf("Reserve after 5 = %v, want Exceeded on k with 2m to wait", err)
			}
		}
		if n, _, _ := st.CountHits(ctx, "k", time.Time{}); n != 5 {
			t.Fatalf("%d hits counted, want 5: a refused attempt was counted", n)
		}
		// Another key is free, and a refusal counts nothing on either key.
		other := Limit{Key: "other", Rules: []Rule{fiveMin}}
		if _, err := l.Reserve(ctx, other, k); err == nil {
			t.Fatal("Reserve of a free and a full key succeeded")
		}
		if n, _, _ := st.CountHits(ctx, "other", time.Time{}); n != 0 {
			t.Fatalf("a refused reservation counted %d on the free key", n)
		}
		r, err := l.Reserve(ctx, other)
		storetest.Must(t, err)
		// A released reservation gives its slot back; releasing twice is
		// harmless.
		storetest.Must(t, r.Release(ctx))
		storetest.Must(t, r.Release(ctx))
		if n, _, _ := st.CountHits(ctx, "other", time.Time{}); n != 0 {
			t.Fatalf("%d hits after Release, want 0", n)
		}
		now = now.Add(2 * time.Minute)
		storetest.Must(t, reserve())

		// The hour rule: 20 attempts spread so that the 5-minute rule
		// never trips.
		for range 14 {
			now = now.Add(2 * time.Minute)
			storetest.Must(t, reserve())
		}
		now = now.Add(2 * time.Minute)
		var ex *Exceeded
		if err := reserve(); !errors.As(err, &ex) {
			t.Fatalf("Reserve after 20 in an hour = %v, want Exceeded", err)
		}
		storetest.Must(t, l.Clear(ctx, "k"))
		storetest.Must(t, reserve())

		// The same key twice counts once, under both rules.
		storetest.Must(t, func() error {
			_, err := l.Reserve(ctx, Limit{Key: "twice", Rules: []Rule{{Max: 1, Window: time.Hour}}},
				Limit{Key: "twice", Rules: []Rule{fiveMin}})
			return err
		}())
		if n, _, _ := st.CountHits(ctx, "twice", time.Time{}); n != 1 {
			t.Fatalf("a key named twice counted %d times", n)
		}

		_, err = l.Reserve(ctx, Limit{Key: "old", Rules: []Rule{fiveMin}})
		storetest.Must(t, err)
		now = now.Add(48 * time.Hour)
		storetest.Must(t, l.Prune(ctx, 24*time.Hour))
		n, _, err := st.CountHits(ctx, "old", time.Time{})
		storetest.Must(t, err)
		if n != 0 {
			t.Fatalf("after Prune %d hits remain", n)
		}
	})
}

// TestReserveConcurrent is the attack on a check made before the count:
// many attempts at once against one key. Exactly Max may pass, whatever
// the interleaving, on both databases; and with two keys per attempt
// (user and IP, locked in different orders by different attempts) no
// deadlock.
func TestReserveConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		l := New(st, nil)
		ctx := t.Context()
		const attempts = 60
		rule := []Rule{{Max: 7, Window: time.Hour}}
		var passed atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range attempts {
			wg.Go(func() {
				<-start
				// Half name the keys in one order, half in the other.
				a, b := Limit{Key: "user:victim", Rules: rule}, Limit{Key: "ip:" + strconv.Itoa(i%3), Rules: []Rule{{Max: 100, Window: time.Hour}}}
				if i%2 == 0 {
					a, b = b, a
				}
				_, err := l.Reserve(ctx, a, b)
				var ex *Exceeded
				switch {
				case err == nil:
					passed.Add(1)
				case !errors.As(err, &ex):
					t.Errorf("attempt %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := passed.Load(); n != 7 {
			t.Fatalf("%d of %d parallel attempts passed a limit of 7", n, attempts)
		}
		if n, _, _ := st.CountHits(ctx, "user:victim", time.Time{}); n != 7 {
			t.Fatalf("%d hits counted, want 7", n)
		}
	})
}

// BenchmarkReserve measures a login's reservation (a user key and an IP
// key) and its release, one at a time and in parallel on one key.
func BenchmarkReserve(b *testing.B) {
	// Benchmarks, one dialect after the other: not storetest.EachDialect,
	// whose parallel subtests would measure each other.
	for _, d := range storetest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			st := storetest.Open(b, d)
			l := New(st, nil)
			ctx := b.Context()
			rules := []Rule{{Max: 1 << 30, Window: 5 * time.Minute}}
			b.Run("serial", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					r, err := l.Reserve(ctx, Limit{Key: "login:user:u" + strconv.Itoa(i%1000), Rules: rules},
						Limit{Key: "login:ip:192.0.2.1", Rules: rules})
					if err != nil {
						b.Fatal(err)
					}
					if err := r.Release(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel-one-key", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r, err := l.Reserve(ctx, Limit{Key: "login:user:victim", Rules: rules})
						if err != nil {
							b.Error(err)
							return
						}
						if err := r.Release(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

func TestClientKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:0db8:0001:0002:0:0:0:7", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"", ""},
		{"not an address", "not an address"},
	} {
		if got := ClientKey(c.in); got != c.want {
			t.Errorf("ClientKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
