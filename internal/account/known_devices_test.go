package account

import (
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// signedIn signs name in with a security key in the browser of device,
// which becomes known, and returns the session.
func (f *fixture) signedIn(t *testing.T, name, device string, m audit.Meta) *Current {
	t.Helper()
	c, _ := f.pending(t, name)
	step, err := f.svc.CompleteSecondFactor(t.Context(), c, "webauthn", "key", device, m)
	if err != nil || step.AwaitingDevice {
		t.Fatalf("key sign-in of %s: %+v, %v", name, step, err)
	}
	return f.current(t, step.Cookie)
}

// awaitsLink reports whether an app sign-in of name (with the password
// pw) in the browser of device waits for the emailed link.
func (f *fixture) awaitsLink(t *testing.T, name, device string) bool {
	t.Helper()
	return f.awaitsLinkWith(t, name, pw, device)
}

// awaitsLinkWith is awaitsLink with the password password.
func (f *fixture) awaitsLinkWith(t *testing.T, name, password, device string) bool {
	t.Helper()
	l, err := f.svc.Login(t.Context(), name, password, here)
	if err != nil || !l.Pending {
		t.Fatalf("login of %s: %+v, %v", name, l, err)
	}
	c := f.current(t, l.Cookie)
	step, err := f.svc.CompleteSecondFactor(t.Context(), c, "totp", "", device, here)
	if err != nil {
		t.Fatalf("app sign-in of %s: %v", name, err)
	}
	return step.AwaitingDevice
}

// lastEvent returns the user's latest event.
func (f *fixture) lastEvent(t *testing.T, userID int64) *store.Event {
	t.Helper()
	evs := f.events(t, userID)
	if len(evs) == 0 {
		t.Fatal("no event")
	}
	return evs[0]
}

// TestKnownDevicesPage lists a user's known devices, this browser marked,
// forgets one and then all, and refuses another user's id and an unknown
// one; forgetting signs nothing out, and a forgotten browser's next app
// sign-in waits for the link again.
func TestKnownDevicesPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		ann := f.register(t, "ann").User
		f.register(t, "bob")
		laptop, phone, bobs := f.device(t), f.device(t), f.device(t)
		onPhone := audit.Meta{IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"}
		c := f.signedIn(t, "ann", laptop, here)
		f.clock.Add(time.Hour)
		phoneSession := f.signedIn(t, "ann", phone, onPhone)
		bob := f.signedIn(t, "bob", bobs, here)

		list, err := f.svc.KnownDevices(ctx, c, laptop)
		storetest.Must(t, err)
		if len(list) != 2 || list[0].Current || !list[1].Current || list[0].IP != onPhone.IP ||
			list[0].Device != "Firefox 133 on Android" || list[0].UserAgent != onPhone.UserAgent || !list[1].CreatedAt.Before(list[0].CreatedAt) {
			t.Fatalf("ann's devices from the laptop = %+v, want the phone then the laptop (this browser)", list)
		}
		for _, d := range list {
			if len(d.ID) != 32 || d.ID == f.svc.deviceHash(ann.ID, laptop)[:32] || d.ID == f.svc.deviceHash(ann.ID, phone)[:32] {
				t.Errorf("device id %q is not a 32-hex-digit name apart from its key", d.ID)
			}
		}
		if list, err := f.svc.KnownDevices(ctx, c, ""); err != nil || list[0].Current || list[1].Current {
			t.Fatalf("without a device cookie, a device is this browser: %+v, %v", list, err)
		}

		// Bob cannot forget ann's phone, nor can anyone an unknown id.
		for _, tc := range []struct {
			name string
			c    *Current
			id   string
		}{{"ann's phone as bob", bob, list[0].ID}, {"an unknown id", c, "0123456789abcdef0123456789abcdef"}, {"no id", c, ""}} {
			wantKind(t, tc.name, f.svc.ForgetDevice(ctx, tc.c, tc.id, here), problem.NotFound, "no such browser")
		}
		storetest.Must(t, f.svc.ForgetDevice(ctx, c, list[0].ID, here))
		wantKind(t, "forget twice", f.svc.ForgetDevice(ctx, c, list[0].ID, here), problem.NotFound, "no such browser")
		if e := f.lastEvent(t, ann.ID); e.Tag != audit.DeviceForgotten || audit.Describe(e) !=
			"Browser forgotten: Firefox 133 on Android, last seen from 198.51.100.7; its next sign-in with an authenticator app or a recovery code asks for the emailed confirmation again" {
			t.Errorf("event of a forgotten browser: %s %q", e.Tag, audit.Describe(e))
		}
		// Not signed out, but asked again.
		if _, err := st.SessionByHash(ctx, phoneSession.Session.IDHash); err != nil {
			t.Errorf("forgetting the phone signed it out: %v", err)
		}
		if known, _ := f.svc.KnownDevice(ctx, bob.User.ID, bobs); !known {
			t.Error("bob's browser was forgotten with ann's")
		}
		if !f.awaitsLink(t, "ann", phone) || f.awaitsLink(t, "ann", laptop) {
			t.Fatal("after forgetting the phone, it is not asked again, or the laptop is")
		}

		n, err := f.svc.ForgetDevices(ctx, c, here)
		if err != nil || n != 1 {
			t.Fatalf("ForgetDevices = %d, %v; want 1 (the laptop)", n, err)
		}
		if e := f.lastEvent(t, ann.ID); e.Tag != audit.DevicesForgotten || audit.Describe(e) !=
			"Every browser forgotten (1): their next sign-in with an authenticator app or a recovery code asks for the emailed confirmation again" {
			t.Errorf("event of forgetting all: %s %q", e.Tag, audit.Describe(e))
		}
		if list, err := f.svc.KnownDevices(ctx, c, laptop); err != nil || len(list) != 0 {
			t.Fatalf("after forgetting all: %+v, %v", list, err)
		}
		if _, err := st.SessionByHash(ctx, c.Session.IDHash); err != nil {
			t.Errorf("forgetting all signed this session out: %v", err)
		}
		if !f.awaitsLink(t, "ann", laptop) || f.awaitsLink(t, "bob", bobs) {
			t.Fatal("after forgetting all, the laptop is not asked again, or bob's browser is")
		}
	})
}

// TestKnownDevicesForgottenWithPassword checks that changing the password
// and resetting it forget every known device of the user, this browser's
// included (and no other user's): the next app sign-in from any waits for
// the emailed link.
func TestKnownDevicesForgottenWithPassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		ann := f.register(t, "ann").User
		bob := f.register(t, "bob").User
		laptop, phone, bobs := f.device(t), f.device(t), f.device(t)
		f.signedIn(t, "bob", bobs, here)
		forgotten := func(what, password string, tag string) {
			t.Helper()
			if e := f.lastEvent(t, ann.ID); e.Tag != tag || !strings.HasSuffix(audit.Describe(e),
				"; the browsers that skipped the emailed confirmation must confirm again") {
				t.Errorf("event of the %s: %s %q", what, e.Tag, audit.Describe(e))
			}
			for _, dev := range []string{laptop, phone} {
				if known, err := f.svc.KnownDevice(ctx, ann.ID, dev); err != nil || known {
					t.Fatalf("a browser is known after the %s: %v, %v", what, known, err)
				}
			}
			if known, _ := f.svc.KnownDevice(ctx, bob.ID, bobs); !known {
				t.Fatalf("the %s forgot bob's browser", what)
			}
			if !f.awaitsLinkWith(t, "ann", password, laptop) {
				t.Fatalf("after the %s, an app sign-in in the laptop does not wait for the link", what)
			}
		}

		c := f.signedIn(t, "ann", laptop, here)
		f.signedIn(t, "ann", phone, here)
		const changed = "a changed password"
		storetest.Must(t, f.svc.ChangePassword(ctx, c, pw, changed, changed, here))
		forgotten("password change", changed, audit.PasswordChanged)

		// The laptop is known again (a key sign-in), then a reset link.
		l, err := f.svc.Login(ctx, "ann", changed, here)
		storetest.Must(t, err)
		if _, err := f.svc.CompleteSecondFactor(ctx, f.current(t, l.Cookie), "webauthn", "key", laptop, here); err != nil {
			t.Fatal(err)
		}
		storetest.Must(t, f.svc.RequestPasswordReset(ctx, "ann", here))
		storetest.Must(t, f.svc.Drain(ctx))
		const reset = "a reset password"
		if _, err := f.svc.ResetPassword(ctx, lastToken(t, f.mail, "ann@example.org"), reset, reset, here); err != nil {
			t.Fatal(err)
		}
		forgotten("password reset", reset, audit.PasswordReset)
	})
}

// TestKnownDeviceRefresh checks that a known device's use is recorded,
// and its cookie to be renewed, at most once per DeviceRefresh, and at
// least once per day of use: a browser signing in every few hours is
// renewed every day.
func TestKnownDeviceRefresh(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		ann := f.register(t, "ann").User
		laptop := f.device(t)
		renew := func(method string) bool {
			t.Helper()
			c, _ := f.pending(t, "ann")
			step, err := f.svc.CompleteSecondFactor(ctx, c, method, "", laptop, here)
			if err != nil || step.AwaitingDevice {
				t.Fatalf("%s sign-in: %+v, %v", method, step, err)
			}
			return step.RenewDevice
		}
		if !renew("webauthn") {
			t.Fatal("a browser new to the user is not renewed")
		}
		first := f.clock.Now()
		var renewals []time.Duration
		for range 16 {
			f.clock.Add(5 * time.Hour)
			if renew("totp") {
				renewals = append(renewals, f.clock.Now().Sub(first))
			}
		}
		// Every 5 hours for 80 hours: renewed at 25, 50 and 75 hours.
		if want := []time.Duration{25 * time.Hour, 50 * time.Hour, 75 * time.Hour}; !slices.Equal(renewals, want) {
			t.Fatalf("renewed after %v, want %v", renewals, want)
		}
		d, err := st.KnownDevice(ctx, ann.ID, f.svc.deviceHash(ann.ID, laptop))
		storetest.Must(t, err)
		if !d.CreatedAt.Equal(first) || !d.LastSeenAt.Equal(first.Add(75*time.Hour)) {
			t.Fatalf("known device %+v: want created at %s, last seen 75 hours later", d, first)
		}
		// Directly, for the setup of a second factor.
		if wrote, err := f.svc.RememberDevice(ctx, ann.ID, laptop, here); err != nil || wrote {
			t.Fatalf("RememberDevice within a day = %v, %v; want false", wrote, err)
		}
	})
}

// TestSweepKnownDevices checks that Sweep forgets the browsers not seen
// for KnownDeviceTTL, and only those.
func TestSweepKnownDevices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		ann := f.register(t, "ann").User
		old, recent := f.device(t), f.device(t)
		_, err := f.svc.RememberDevice(ctx, ann.ID, old, here)
		storetest.Must(t, err)
		f.clock.Add(KnownDeviceTTL - time.Minute)
		_, err = f.svc.RememberDevice(ctx, ann.ID, recent, here)
		storetest.Must(t, err)
		storetest.Must(t, f.svc.Sweep(ctx))
		if known, _ := f.svc.KnownDevice(ctx, ann.ID, old); !known {
			t.Fatal("a browser seen within KnownDeviceTTL was swept")
		}
		f.clock.Add(2 * time.Minute)
		storetest.Must(t, f.svc.Sweep(ctx))
		for _, tc := range []struct {
			name, device string
			want         bool
		}{{"old", old, false}, {"recent", recent, true}} {
			if known, err := f.svc.KnownDevice(ctx, ann.ID, tc.device); err != nil || known != tc.want {
				t.Errorf("%s browser known after the sweep: %v, %v; want %v", tc.name, known, err, tc.want)
			}
		}
	})
}
