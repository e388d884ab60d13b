package account

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestSessionsAndSignOut(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "erin")
		me, err := f.svc.Session(ctx, l.Cookie)
		if err != nil || me == nil {
			t.Fatalf("session: %v %v", me, err)
		}
		f.clock.Add(2 * time.Minute)
		phone := audit.Meta{IP: "203.0.113.5", UserAgent: "Mozilla/5.0 (Linux; Android 14) Chrome/131.0.0.0 Mobile Safari/537.36"}
		other, err := f.svc.Login(ctx, "erin", pw, phone)
		storetest.Must(t, err)
		// A session that expired is not listed.
		f.clock.Add(time.Minute)
		storetest.Must(t, st.CreateSession(ctx, &store.Session{IDHash: "expired", UserID: l.User.ID, State: store.SessionActive,
			CreatedAt: f.clock.Now(), LastSeenAt: f.clock.Now(), ExpiresAt: f.clock.Now(), AuthenticatedAt: f.clock.Now()}))
		// Another user's.
		mallory := f.register(t, "mallory")

		list, err := f.svc.Sessions(ctx, me)
		storetest.Must(t, err)
		if len(list) != 2 || list[0].ID != f.svc.SessionID(other.Session.IDHash) || list[1].ID != f.svc.SessionID(l.Session.IDHash) ||
			list[0].Current || !list[1].Current {
			t.Fatalf("sessions: %+v", list)
		}
		if got := list[0]; got.Device != "Chrome 131 on Android" || got.IP != "203.0.113.5" || got.AuthMethod != "password" || got.Pending {
			t.Fatalf("the phone's session: %+v", got)
		}
		for _, x := range list {
			if len(x.ID) != 32 || strings.Contains(x.ID, other.Session.IDHash) || strings.Contains(x.ID, l.Session.IDHash) {
				t.Fatalf("id %q", x.ID)
			}
		}

		// Not one's own: not found, and untouched.
		for _, id := range []string{f.svc.SessionID(mallory.Session.IDHash), mallory.Session.IDHash, other.Session.IDHash,
			f.svc.SessionID("expired"), ""} {
			_, err := f.svc.SignOutSession(ctx, me, id, here)
			wantKind(t, "sign out "+id, err, problem.NotFound, "no such session")
		}
		if c, _ := f.svc.Session(ctx, mallory.Cookie); c == nil {
			t.Fatal("another user's session was ended")
		}

		current, err := f.svc.SignOutSession(ctx, me, list[0].ID, here)
		if err != nil || current {
			t.Fatalf("sign out the phone: %v %v", current, err)
		}
		if c, _ := f.svc.Session(ctx, other.Cookie); c != nil {
			t.Fatal("the phone's session survived")
		}
		ev, err := st.UserEvents(ctx, l.User.ID, 10)
		storetest.Must(t, err)
		if ev[0].Tag != audit.SessionRevoked || ev[0].IP != here.IP ||
			audit.Describe(ev[0]) != "Signed out another session: Chrome 131 on Android, from 203.0.113.5" {
			t.Fatalf("event %+v: %s", ev[0], audit.Describe(ev[0]))
		}

		current, err = f.svc.SignOutSession(ctx, me, list[1].ID, here)
		if err != nil || !current {
			t.Fatalf("sign out this session: %v %v", current, err)
		}
		if c, _ := f.svc.Session(ctx, l.Cookie); c != nil {
			t.Fatal("the current session survived")
		}
		if ev, _ := st.UserEvents(ctx, l.User.ID, 1); ev[0].Tag != audit.Logout {
			t.Fatalf("signing out this session recorded %s", ev[0].Tag)
		}
	})
}

func TestLogoutEverywhereEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "frank")
		me, err := f.svc.Session(ctx, l.Cookie)
		if err != nil || me == nil {
			t.Fatalf("session: %v %v", me, err)
		}
		count := func() (revoked, everywhere int) {
			ev, err := st.UserEvents(ctx, l.User.ID, 100)
			storetest.Must(t, err)
			for _, e := range ev {
				switch e.Tag {
				case audit.SessionRevoked:
					revoked++
				case audit.LogoutEverywhere:
					everywhere++
				}
			}
			return revoked, everywhere
		}
		add := func(n int) {
			for i := range n {
				now := f.clock.Now()
				storetest.Must(t, st.CreateSession(ctx, &store.Session{IDHash: fmt.Sprintf("other-%d-%d", n, i), UserID: l.User.ID,
					State: store.SessionActive, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthenticatedAt: now,
					IP: "198.51.100.9", UserAgent: "curl/8.5.0"}))
			}
		}
		add(2)
		if n, err := f.svc.LogoutEverywhere(ctx, me, here); err != nil || n != 2 {
			t.Fatalf("logout everywhere: %d %v", n, err)
		}
		if r, e := count(); r != 2 || e != 1 {
			t.Fatalf("%d revoked and %d everywhere events, want 2 and 1", r, e)
		}
		// Many sessions: the events are bounded, the sign-out is not.
		add(maxRevokedEvents + 5)
		if n, err := f.svc.LogoutEverywhere(ctx, me, here); err != nil || n != maxRevokedEvents+5 {
			t.Fatalf("logout everywhere: %d %v", n, err)
		}
		if r, e := count(); r != 2+maxRevokedEvents || e != 2 {
			t.Fatalf("%d revoked and %d everywhere events, want %d and 2", r, e, 2+maxRevokedEvents)
		}
		if list, _ := f.svc.Sessions(ctx, me); len(list) != 1 || !list[0].Current {
			t.Fatalf("sessions left: %+v", list)
		}
	})
}
