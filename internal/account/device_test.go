package account

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// newDeviceFixture is a fixture whose users all have a second factor,
// with new-device confirmation on or off.
func newDeviceFixture(t *testing.T, st *store.Store, confirm bool) *fixture {
	t.Helper()
	f := newFixture(t, st)
	svc, err := New(t.Context(), st, auth.NewHasher(2, auth.MinParams), Config{BaseURL: "https://pypi.example.org",
		Mailer: f.mail, NewDeviceConfirmation: confirm,
		HasSecondFactor: func(context.Context, int64) (bool, error) { return true, nil }},
		slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f.svc = svc
	return f
}

// pending signs name in with its password and returns the pending
// session and its cookie.
func (f *fixture) pending(t *testing.T, name string) (*Current, string) {
	t.Helper()
	l, err := f.svc.Login(t.Context(), name, pw, here)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Pending {
		t.Fatalf("%s signed in without a second step", name)
	}
	return f.current(t, l.Cookie), l.Cookie
}

// current resolves a session cookie, failing when it is no session.
func (f *fixture) current(t *testing.T, cookie string) *Current {
	t.Helper()
	c, err := f.svc.Session(t.Context(), cookie)
	if err != nil || c == nil {
		t.Fatalf("session of the cookie: %v, %v", c, err)
	}
	return c
}

// device returns the id of a new device cookie.
func (f *fixture) device(t *testing.T) string {
	t.Helper()
	id := f.svc.DeviceID(f.svc.NewDeviceCookie())
	if id == "" {
		t.Fatal("a new device cookie is refused")
	}
	return id
}

func TestDeviceCookie(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newDeviceFixture(t, st, true)
		// Another deployment: another secret.
		other := newDeviceFixture(t, storetest.Open(t, st.Dialect()), true)
		cookie := f.svc.NewDeviceCookie()
		id, mac, _ := strings.Cut(cookie, ".")
		otherID, otherMAC, _ := strings.Cut(other.svc.NewDeviceCookie(), ".")
		flip := func(s string) string {
			b := []byte(s)
			if b[0] == 'A' {
				b[0] = 'B'
			} else {
				b[0] = 'A'
			}
			return string(b)
		}
		for _, tc := range []struct {
			name, cookie, want string
		}{
			{"minted here", cookie, id},
			{"empty", "", ""},
			{"id alone", id, ""},
			{"altered id", flip(id) + "." + mac, ""},
			{"altered mac", id + "." + flip(mac), ""},
			{"another deployment's", otherID + "." + otherMAC, ""},
			{"id of another with this mac", otherID + "." + mac, ""},
			{"short id", id[:10] + "." + mac, ""},
		} {
			if got := f.svc.DeviceID(tc.cookie); got != tc.want {
				t.Errorf("%s: DeviceID(%q) = %q, want %q", tc.name, tc.cookie, got, tc.want)
			}
		}
		if a, b := f.svc.NewDeviceCookie(), f.svc.NewDeviceCookie(); a == b {
			t.Error("two device cookies are the same")
		}
		if s := newLinkSecret(); len(s) != linkSecretLen {
			t.Errorf("a link's secret %q is not %d long", s, linkSecretLen)
		}
	})
}

// lastDeviceLink returns the secret of the link in the last email to addr,
// checking that it is a new-device email.
func (f *fixture) lastDeviceLink(t *testing.T, addr string) string {
	t.Helper()
	msgs := f.mail.All()
	if len(msgs) == 0 || msgs[len(msgs)-1].To != addr || !strings.Contains(msgs[len(msgs)-1].Subject, "new browser") {
		t.Fatalf("the last email is not a new-device link to %s: %+v", addr, msgs)
	}
	return lastToken(t, f.mail, addr)
}

// events returns the tags of the user's events, oldest first.
func (f *fixture) events(t *testing.T, userID int64) []*store.Event {
	t.Helper()
	evs, err := f.st.UserEvents(t.Context(), userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestNewDeviceConfirmation follows sign-ins by a key, the app and a
// recovery code from known and new browsers: only the app and the
// recovery code in a browser new to the account wait for the emailed
// link, which works only in that browser, once.
func TestNewDeviceConfirmation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		ann := f.register(t, "ann").User
		bob := f.register(t, "bob").User
		laptop, phone := f.device(t), f.device(t)

		// A security key in a new browser is not asked, and makes it known
		// for ann, and for ann only.
		c, _ := f.pending(t, "ann")
		step, err := f.svc.CompleteSecondFactor(ctx, c, "webauthn", "yubi", laptop, here)
		if err != nil || step.AwaitingDevice || step.Cookie == "" {
			t.Fatalf("key sign-in: %+v, %v", step, err)
		}
		for _, tc := range []struct {
			user   int64
			device string
			want   bool
		}{{ann.ID, laptop, true}, {bob.ID, laptop, false}, {ann.ID, phone, false}, {ann.ID, "", false}} {
			if known, err := f.svc.KnownDevice(ctx, tc.user, tc.device); err != nil || known != tc.want {
				t.Errorf("KnownDevice(%d, %q) = %v, %v; want %v", tc.user, tc.device, known, err, tc.want)
			}
		}
		// The app and a recovery code in a known browser: not asked.
		for _, method := range []string{"totp", "recovery-code"} {
			c, _ := f.pending(t, "ann")
			if step, err := f.svc.CompleteSecondFactor(ctx, c, method, "", laptop, here); err != nil || step.AwaitingDevice {
				t.Fatalf("%s sign-in in a known browser: %+v, %v", method, step, err)
			}
		}
		// The laptop's cookie proves nothing for bob; no cookie, nothing.
		for _, dev := range []string{laptop, ""} {
			c, _ = f.pending(t, "bob")
			if step, err := f.svc.CompleteSecondFactor(ctx, c, "totp", "", dev, here); err != nil || !step.AwaitingDevice {
				t.Fatalf("bob's app sign-in with device %q: %+v, %v", dev, step, err)
			}
		}

		// ann's app on the phone waits for the link.
		c, cookie := f.pending(t, "ann")
		step, err = f.svc.CompleteSecondFactor(ctx, c, "totp", "", phone, here)
		if err != nil || !step.AwaitingDevice || step.Cookie != "" {
			t.Fatalf("app sign-in in a new browser: %+v, %v", step, err)
		}
		link := f.lastDeviceLink(t, "ann@example.org")
		text := f.mail.All()[len(f.mail.All())-1].Text
		for _, want := range []string{"192.0.2.1", "Browser: test", "https://pypi.example.org/account/confirm-device/?token=",
			"someone has your password AND your authenticator app: change both now"} {
			if !strings.Contains(text, want) {
				t.Errorf("the email lacks %q:\n%s", want, text)
			}
		}
		c = f.current(t, cookie)
		if !c.AwaitingDevice() || c.Session.AuthMethod != "totp" || c.Session.ConfirmHash != auth.HashToken(link) ||
			!c.Session.ExpiresAt.Equal(f.clock.Now().Add(DeviceConfirmTTL)) {
			t.Fatalf("the waiting session: %+v", c.Session)
		}
		if evs := f.events(t, ann.ID); evs[0].Tag != audit.LoginNewDevice {
			t.Errorf("last event %s, want %s", evs[0].Tag, audit.LoginNewDevice)
		}
		// Waiting, it cannot pass a second step again.
		_, err = f.svc.CompleteSecondFactor(ctx, c, "webauthn", "yubi", laptop, here)
		wantKind(t, "a second step while waiting", err, problem.Invalid, "waits for the link")

		// The link in another browser (no session, or bob's, or another
		// pending session of ann) confirms nothing.
		other, _ := f.pending(t, "ann")
		bobs, _ := f.pending(t, "bob")
		phoneMeta := audit.Meta{IP: "198.51.100.7", UserAgent: "a mail app"}
		for _, s := range []*Current{nil, bobs, other} {
			if st, err := f.svc.CheckDeviceLink(ctx, s, link, phoneMeta); err != nil || st != DeviceLinkElsewhere {
				t.Fatalf("CheckDeviceLink elsewhere = %v, %v", st, err)
			}
			_, err := f.svc.ConfirmDevice(ctx, s, link, laptop, phoneMeta)
			wantKind(t, "the link in another browser", err, problem.Forbidden, "only works in the browser where you are signing in")
		}
		// A wrong link in the right browser confirms nothing either.
		_, err = f.svc.ConfirmDevice(ctx, c, link[1:], phone, here)
		wantKind(t, "a wrong link", err, problem.NotFound, "does not work any more")
		if st, err := f.svc.CheckDeviceLink(ctx, c, link, here); err != nil || st != DeviceLinkHere {
			t.Fatalf("CheckDeviceLink here = %v, %v", st, err)
		}
		active, err := f.svc.ConfirmDevice(ctx, c, link, phone, here)
		if err != nil {
			t.Fatal(err)
		}
		signed := f.current(t, active)
		if signed.Pending() || signed.Session.AuthMethod != "totp" || signed.Session.IDHash == c.Session.IDHash {
			t.Fatalf("the confirmed session: %+v", signed.Session)
		}
		if s, _ := f.svc.Session(ctx, cookie); s != nil {
			t.Error("the waiting session survived its confirmation")
		}
		evs := f.events(t, ann.ID)
		if evs[0].Tag != audit.LoginSuccess || !strings.Contains(evs[0].Details, `"new_device":true`) ||
			!strings.Contains(evs[0].Details, `"two_factor_method":"totp"`) {
			t.Errorf("last event %s %s", evs[0].Tag, evs[0].Details)
		}
		// Used: refused, in any browser.
		for _, s := range []*Current{c, signed, nil} {
			_, err = f.svc.ConfirmDevice(ctx, s, link, phone, here)
			wantKind(t, "a used link", err, problem.NotFound, "already used")
		}
		// The phone is known now: the app is not asked there again.
		c, _ = f.pending(t, "ann")
		if step, err := f.svc.CompleteSecondFactor(ctx, c, "totp", "", phone, here); err != nil || step.AwaitingDevice {
			t.Fatalf("app sign-in in the confirmed browser: %+v, %v", step, err)
		}

		// A recovery code in a new browser waits too; its link expires
		// with the session.
		tablet := f.device(t)
		c, cookie = f.pending(t, "ann")
		if step, err := f.svc.CompleteSecondFactor(ctx, c, "recovery-code", "", tablet, here); err != nil || !step.AwaitingDevice {
			t.Fatalf("recovery-code sign-in in a new browser: %+v, %v", step, err)
		}
		link = f.lastDeviceLink(t, "ann@example.org")
		if text := f.mail.All()[len(f.mail.All())-1].Text; !strings.Contains(text, "your password AND your recovery codes") {
			t.Errorf("the recovery-code email:\n%s", text)
		}
		c = f.current(t, cookie)
		f.clock.Add(DeviceConfirmTTL)
		// c, resolved before, is stale: the session has expired since.
		for _, s := range []*Current{c, nil} {
			if st, err := f.svc.CheckDeviceLink(ctx, s, link, here); err != nil || st != DeviceLinkDead {
				t.Fatalf("CheckDeviceLink of an expired link = %v, %v", st, err)
			}
			_, err = f.svc.ConfirmDevice(ctx, s, link, tablet, here)
			wantKind(t, "an expired link", err, problem.NotFound, "expired")
		}
		if s, _ := f.svc.Session(ctx, cookie); s != nil {
			t.Fatal("the waiting session outlived its time")
		}
	})
}

// TestNewDeviceConfirmationOff checks that with the setting off, nothing
// waits.
func TestNewDeviceConfirmationOff(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newDeviceFixture(t, st, false)
		f.register(t, "ann")
		for _, method := range []string{"totp", "recovery-code"} {
			c, _ := f.pending(t, "ann")
			step, err := f.svc.CompleteSecondFactor(t.Context(), c, method, "", f.device(t), here)
			if err != nil || step.AwaitingDevice || step.Cookie == "" {
				t.Fatalf("%s with the setting off: %+v, %v", method, step, err)
			}
		}
	})
}

// TestConfirmDeviceOnce confirms one link from many goroutines at once:
// exactly one signs in.
func TestConfirmDeviceOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newDeviceFixture(t, st, true)
		f.register(t, "ann")
		dev := f.device(t)
		c, cookie := f.pending(t, "ann")
		if _, err := f.svc.CompleteSecondFactor(t.Context(), c, "totp", "", dev, here); err != nil {
			t.Fatal(err)
		}
		link := f.lastDeviceLink(t, "ann@example.org")
		c = f.current(t, cookie)
		const n = 4
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won, lost int
		for range n {
			wg.Go(func() {
				_, err := f.svc.ConfirmDevice(context.Background(), c, link, dev, here)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case problem.KindOf(err) == problem.NotFound:
					lost++
				default:
					t.Errorf("confirm: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != n-1 {
			t.Fatalf("%d confirmations won, %d lost; want 1 and %d", won, lost, n-1)
		}
	})
}

// TestDeviceLinkLimits checks the limits of resent links per user and of
// failed confirmations per address, and that a resent link replaces the
// earlier one.
func TestDeviceLinkLimits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := newDeviceFixture(t, st, true)
		f.register(t, "ann")
		dev := f.device(t)
		c, cookie := f.pending(t, "ann")
		if _, err := f.svc.CompleteSecondFactor(ctx, c, "totp", "", dev, here); err != nil {
			t.Fatal(err)
		}
		first := f.lastDeviceLink(t, "ann@example.org")
		for range DeviceResendLimit.Max {
			if err := f.svc.ResendDeviceLink(ctx, f.current(t, cookie), here); err != nil {
				t.Fatal(err)
			}
		}
		err := f.svc.ResendDeviceLink(ctx, f.current(t, cookie), here)
		wantKind(t, "past the resend limit", err, problem.TooManyRequests, "Try again in")
		last := f.lastDeviceLink(t, "ann@example.org")
		c = f.current(t, cookie)
		if st, _ := f.svc.CheckDeviceLink(ctx, c, first, here); st != DeviceLinkDead {
			t.Errorf("the first link after a resend: %v", st)
		}
		for range DeviceLinkLimit.Max - 1 {
			_, err := f.svc.ConfirmDevice(ctx, c, first, dev, here)
			wantKind(t, "an old link", err, problem.NotFound, "")
		}
		// Past the limit, a link that does not work here is refused
		// before any lookup, whether it works elsewhere or not at all.
		for _, link := range []string{first, last, "junk"} {
			_, err = f.svc.ConfirmDevice(ctx, nil, link, dev, here)
			wantKind(t, "past the failure limit", err, problem.TooManyRequests, "Try again in")
		}
		// The right link in the right browser still works.
		if _, err := f.svc.ConfirmDevice(ctx, c, last, dev, here); err != nil {
			t.Fatalf("the right link past the failure limit: %v", err)
		}
	})
}
