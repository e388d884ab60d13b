package recovery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/mail/mailtest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

var linkRE = regexp.MustCompile(`http://index\.test(/[a-z/-]+/)\?token=(\S+)`)

// link returns the token of the last emailed link to page.
func link(t *testing.T, box *mailtest.Box, page string) string {
	t.Helper()
	msgs := box.All()
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, m := range linkRE.FindAllStringSubmatch(msgs[i].Text, -1) {
			if m[1] == page {
				tok, err := url.QueryUnescape(m[2])
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
		}
	}
	t.Fatalf("no emailed link to %s in %d emails", page, len(msgs))
	return ""
}

const (
	password = "a long enough password"
	wait     = 7 * 24 * time.Hour
)

var m0 = audit.Meta{IP: "192.0.2.1", UserAgent: "test"}

type fixture struct {
	t    *testing.T
	st   *store.Store
	clk  *clocktest.Clock
	box  *mailtest.Box
	rec  *Service
	acct *account.Service
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	clk := clocktest.New(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hasher := auth.NewHasher(1, auth.MinParams)
	box := &mailtest.Box{}
	has := func(ctx context.Context, id int64) (bool, error) {
		totp, keys, err := st.TwoFactorMethods(ctx, id)
		return totp || keys > 0, err
	}
	acct, err := account.New(t.Context(), st, hasher, account.Config{BaseURL: "http://index.test", Mailer: box, HasSecondFactor: has}, log, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	rec := New(st, hasher, Config{BaseURL: "http://index.test/", Wait: wait, Mailer: box}, log, clk.Now)
	t.Cleanup(rec.Close)
	t.Cleanup(acct.Close)
	box.Drain = func() {
		for _, drain := range []func(context.Context) error{rec.Drain, acct.Drain} {
			if err := drain(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	return &fixture{t: t, st: st, clk: clk, box: box, rec: rec, acct: acct}
}

// request files a recovery request and waits until it is handled.
func (f *fixture) request(ctx context.Context, who, reason string, m audit.Meta) error {
	if err := f.rec.Request(ctx, who, reason, m); err != nil {
		return err
	}
	return f.rec.Drain(ctx)
}

// confirmed files a recovery request and confirms it with the emailed
// link, as its requester does.
func (f *fixture) confirmed(ctx context.Context, who, reason string) *store.RecoveryRequest {
	f.t.Helper()
	if err := f.request(ctx, who, reason, m0); err != nil {
		f.t.Fatal(err)
	}
	r, err := f.rec.Confirm(ctx, link(f.t, f.box, "/account/recovery/confirm/"), m0)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// user creates a verified account with an authenticator app, a security
// key, recovery codes, two sessions and a known browser.
func (f *fixture) user(name string, admin bool) *store.User {
	f.t.Helper()
	ctx := f.t.Context()
	hash, err := auth.NewHasher(1, auth.MinParams).Hash(ctx, password)
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clk.Now()
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: hash, EmailVerified: true, IsAdmin: admin, CreatedAt: now}
	if err := f.st.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.SetTOTP(ctx, u.ID, "sealed-"+name, 1, now); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.AddSecurityKey(ctx, &store.SecurityKey{UserID: u.ID, Label: "key", CredentialID: "cred-" + name,
		PublicKey: "pk-" + name, Credential: "{}", CreatedAt: now}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.ReplaceRecoveryCodes(ctx, u.ID, []string{"h1", "h2", "h3"}, now); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.SetRecoveryCodesConfirmed(ctx, u.ID, true); err != nil {
		f.t.Fatal(err)
	}
	for i := range 2 {
		l, err := f.acct.Login(ctx, name, password, m0)
		if err != nil || !l.Pending {
			f.t.Fatalf("login %d of %s: %v (pending %v)", i, name, err, l != nil && l.Pending)
		}
	}
	if _, err := f.acct.RememberDevice(ctx, u.ID, f.acct.DeviceID(f.acct.NewDeviceCookie()), m0); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// state is what a recovery may change of an account.
type state struct {
	TOTP       bool
	Keys       int
	Codes      int
	Confirmed  bool
	Sessions   int
	Devices    int // known browsers
	Hash       string
	Recoveries string
}

func (f *fixture) state(u *store.User) state {
	f.t.Helper()
	ctx := f.t.Context()
	totp, keys, err := f.st.TwoFactorMethods(ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	codes, err := f.st.RecoveryCodes(ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	sess, err := f.st.UserSessions(ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	fresh, err := f.st.UserByID(ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	devices, err := f.st.UserKnownDevices(ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return state{TOTP: totp, Keys: keys, Codes: len(codes), Confirmed: fresh.RecoveryCodesConfirmed, Sessions: len(sess),
		Devices: len(devices), Hash: fresh.PasswordHash}
}

func (f *fixture) tags(u *store.User) string {
	f.t.Helper()
	ev, err := f.st.UserEvents(f.t.Context(), u.ID, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for i := len(ev) - 1; i >= 0; i-- {
		if strings.HasPrefix(ev[i].Tag, "account:recovery:") {
			out = append(out, strings.TrimPrefix(ev[i].Tag, "account:recovery:"))
		}
		_ = audit.Describe(ev[i])
	}
	return strings.Join(out, ",")
}

func kind(err error) problem.Kind { return problem.KindOf(err) }

// TestRecoveryLifecycle: request → confirm by the emailed link → approval
// refused during the waiting period (the clock moves, nothing sleeps) →
// approved after it → every second factor and session gone, the old
// password refused, and the emailed reset link sets a new one.
func TestRecoveryLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		admin := f.user("admin", true)
		u := f.user("alice", false)
		if err := f.request(ctx, "alice@example.org", "lost my phone and my key", m0); err != nil {
			t.Fatal(err)
		}
		pending, err := f.rec.Pending(ctx)
		if err != nil || len(pending) != 1 || pending[0].State != store.RecoveryPendingConfirmation || pending[0].Reason != "lost my phone and my key" {
			t.Fatalf("pending after request: %+v, %v", pending, err)
		}
		if _, err := f.rec.Approve(ctx, admin, pending[0].ID, m0); kind(err) != problem.Invalid {
			t.Fatalf("approve unconfirmed: %v", err)
		}
		tok := link(t, f.box, "/account/recovery/confirm/")
		if pu, err := f.rec.PeekConfirm(ctx, tok); err != nil || pu.ID != u.ID {
			t.Fatalf("peek confirm: %v", err)
		}
		r, err := f.rec.Confirm(ctx, tok, m0)
		if err != nil || r.State != store.RecoveryWaiting {
			t.Fatalf("confirm: %+v, %v", r, err)
		}
		if _, err := f.rec.Confirm(ctx, tok, m0); !IsLinkError(err) {
			t.Fatalf("confirm twice: %v", err)
		}
		before := f.state(u)
		if before.Devices != 1 {
			t.Fatalf("before approval: %+v, want a known browser", before)
		}
		f.clk.Add(wait - time.Minute)
		if _, err := f.rec.Approve(ctx, admin, r.ID, m0); kind(err) != problem.Forbidden || !strings.Contains(err.Error(), "waiting period") {
			t.Fatalf("approve during the waiting period: %v", err)
		}
		if _, err := f.rec.Approve(ctx, u, r.ID, m0); kind(err) != problem.Forbidden {
			t.Fatalf("approve by a non-admin: %v", err)
		}
		if got := f.state(u); got != before {
			t.Fatalf("refused approvals changed the account: %+v, want %+v", got, before)
		}
		f.clk.Add(time.Minute)
		r, err = f.rec.Approve(ctx, admin, r.ID, m0)
		if err != nil || r.State != store.RecoveryApproved || r.DecidedBy != admin.ID {
			t.Fatalf("approve: %+v, %v", r, err)
		}
		if _, err := f.rec.Approve(ctx, admin, r.ID, m0); kind(err) != problem.Invalid {
			t.Fatalf("approve twice: %v", err)
		}
		got := f.state(u)
		if got.TOTP || got.Keys != 0 || got.Codes != 0 || got.Confirmed || got.Sessions != 0 || got.Devices != 0 || got.Hash == before.Hash {
			t.Fatalf("after approval: %+v", got)
		}
		if _, err := f.acct.Login(ctx, "alice", password, m0); kind(err) != problem.Unauthenticated {
			t.Fatalf("old password after approval: %v", err)
		}
		reset := link(t, f.box, "/account/reset-password/confirm/")
		if _, err := f.acct.ResetPassword(ctx, reset, "a brand new password", "a brand new password", m0); err != nil {
			t.Fatal(err)
		}
		l, err := f.acct.Login(ctx, "alice", "a brand new password", m0)
		if err != nil || l.Pending {
			t.Fatalf("login with the new password: %v (pending: second factors remain)", err)
		}
		if got, want := f.tags(u), "requested,confirmed,approved"; got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
		if evs, err := f.st.UserEvents(ctx, u.ID, 100); err != nil {
			t.Fatal(err)
		} else if i := slices.IndexFunc(evs, func(e *store.Event) bool { return e.Tag == audit.RecoveryApproved }); i < 0 ||
			!strings.HasSuffix(audit.Describe(evs[i]), "; the browsers that skipped the emailed confirmation must confirm again") {
			t.Fatalf("the approval's event does not say the browsers were forgotten: %v", evs)
		}
		subjects := map[string]bool{}
		for _, m := range f.box.All() {
			if m.To == u.Email {
				subjects[m.Subject] = true
			}
		}
		for _, s := range []string{"Confirm your account recovery request", "Your account recovery request is confirmed",
			"Your account was recovered: choose a new password"} {
			if !subjects[s] {
				t.Errorf("no email %q; got %v", s, subjects)
			}
		}
		// The admin's own second factors are untouched.
		if a := f.state(admin); !a.TOTP || a.Keys != 1 || a.Devices != 1 {
			t.Fatalf("admin after approval: %+v", a)
		}
	})
}

// TestRecoveryCancel: a request cancelled by the user (with the emailed
// link, or signed in) leaves the account as it was.
func TestRecoveryCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		admin := f.user("admin", true)
		u := f.user("bob", false)
		before := f.state(u)
		r := f.confirmed(ctx, "bob", "")
		cancel := link(t, f.box, "/account/recovery/cancel/")
		if _, err := f.rec.PeekCancel(ctx, cancel); err != nil {
			t.Fatal(err)
		}
		if c, err := f.rec.Cancel(ctx, cancel, m0); err != nil || c.State != store.RecoveryCancelled {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		f.clk.Add(wait + time.Hour)
		if _, err := f.rec.Approve(ctx, admin, r.ID, m0); kind(err) != problem.Invalid {
			t.Fatalf("approve a cancelled request: %v", err)
		}
		if got := f.state(u); got != before {
			t.Fatalf("after cancel: %+v, want %+v", got, before)
		}
		if l, err := f.acct.Login(ctx, "bob", password, m0); err != nil || !l.Pending {
			t.Fatalf("login after cancel: %v", err)
		}
		// Signed in (with a second factor found again), from the page.
		if err := f.request(ctx, "bob", "", m0); err != nil {
			t.Fatal(err)
		}
		if open, err := f.rec.Open(ctx, u.ID); err != nil || open == nil {
			t.Fatalf("open: %+v, %v", open, err)
		}
		if _, err := f.rec.CancelMine(ctx, u, m0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.rec.CancelMine(ctx, u, m0); kind(err) != problem.NotFound {
			t.Fatalf("cancel with nothing open: %v", err)
		}
		if _, err := f.rec.Confirm(ctx, link(t, f.box, "/account/recovery/confirm/"), m0); !IsLinkError(err) {
			t.Fatalf("confirm after cancel: %v", err)
		}
		if got := f.state(u); got.TOTP != before.TOTP || got.Keys != before.Keys || got.Codes != before.Codes || got.Hash != before.Hash {
			t.Fatalf("after the second cancel: %+v, want %+v", got, before)
		}
		if got, want := f.tags(u), "requested,confirmed,cancelled,requested,cancelled"; got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
	})
}

// TestRecoveryReject: a rejected request changes nothing, and is told.
func TestRecoveryReject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		admin := f.user("admin", true)
		u := f.user("carol", false)
		before := f.state(u)
		r := f.confirmed(ctx, "carol", "please")
		if _, err := f.rec.Reject(ctx, admin, r.ID, "could not verify", m0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.rec.Reject(ctx, admin, r.ID, "", m0); kind(err) != problem.Invalid {
			t.Fatalf("reject twice: %v", err)
		}
		f.clk.Add(wait)
		if _, err := f.rec.Approve(ctx, admin, r.ID, m0); kind(err) != problem.Invalid {
			t.Fatalf("approve a rejected request: %v", err)
		}
		if _, err := f.rec.Cancel(ctx, link(t, f.box, "/account/recovery/cancel/"), m0); !IsLinkError(err) {
			t.Fatalf("cancel a rejected request: %v", err)
		}
		if got := f.state(u); got != before {
			t.Fatalf("after reject: %+v, want %+v", got, before)
		}
		if got, want := f.tags(u), "requested,confirmed,rejected"; got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
		last := f.box.All()[len(f.box.All())-1]
		if last.Subject != "Your account recovery request was rejected" || !strings.Contains(last.Text, "could not verify") {
			t.Fatalf("last email: %+v", last)
		}
	})
}

// TestRecoveryRateLimitAndUnknown: beyond UserLimit a request sends
// nothing, answered as the first; an unknown account, an unverified address
// too; past IPLimit the network is told to wait.
func TestRecoveryRateLimitAndUnknown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		f.user("dave", false)
		for i := range UserLimit.Max + 2 {
			m := audit.Meta{IP: "198.51.100." + string(rune('1'+i))}
			if err := f.request(ctx, "dave", "", m); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if n := len(f.box.All()); n != UserLimit.Max {
			t.Fatalf("%d emails for %d requests, want %d", n, UserLimit.Max+2, UserLimit.Max)
		}
		// Only the latest request waits for confirmation.
		if p, err := f.rec.Pending(ctx); err != nil || len(p) != 1 {
			t.Fatalf("pending: %d, %v", len(p), err)
		}
		f.clk.Add(UserLimit.Window)
		if err := f.request(ctx, "dave", "", m0); err != nil {
			t.Fatal(err)
		}
		if n := len(f.box.All()); n != UserLimit.Max+1 {
			t.Fatalf("a day later: %d emails, want %d", n, UserLimit.Max+1)
		}
		// Unknown accounts are answered the same, and nothing is sent.
		for _, who := range []string{"nobody", "nobody@example.org", ""} {
			if err := f.request(ctx, who, "", audit.Meta{IP: "203.0.113.9"}); err != nil {
				t.Fatalf("unknown %q: %v", who, err)
			}
		}
		unverified := &store.User{Username: "erin", Email: "erin@example.org", PasswordHash: "x", CreatedAt: f.clk.Now()}
		if err := st.CreateUser(ctx, unverified); err != nil {
			t.Fatal(err)
		}
		if err := f.request(ctx, "erin", "", audit.Meta{IP: "203.0.113.9"}); err != nil {
			t.Fatal(err)
		}
		if n := len(f.box.All()); n != UserLimit.Max+1 {
			t.Fatalf("unknown or unverified accounts were emailed: %d emails", n)
		}
		for range IPLimit.Max - 4 {
			if err := f.request(ctx, "nobody", "", audit.Meta{IP: "203.0.113.9"}); err != nil {
				t.Fatal(err)
			}
		}
		err := f.request(ctx, "nobody", "", audit.Meta{IP: "203.0.113.9"})
		if e, ok := err.(*problem.Error); !ok || e.Kind != problem.TooManyRequests || e.RetryAfter <= 0 {
			t.Fatalf("past the IP limit: %v", err)
		}
	})
}

// TestRecoveryExpires: an unconfirmed request expires with its link.
func TestRecoveryExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		u := f.user("frank", false)
		if err := f.request(ctx, "frank", "", m0); err != nil {
			t.Fatal(err)
		}
		tok := link(t, f.box, "/account/recovery/confirm/")
		f.clk.Add(ConfirmTTL)
		if _, err := f.rec.Confirm(ctx, tok, m0); !IsLinkError(err) {
			t.Fatalf("confirm an expired link: %v", err)
		}
		rs, err := st.UserRecoveryRequests(ctx, u.ID)
		if err != nil || len(rs) != 1 || rs[0].State != store.RecoveryExpired {
			t.Fatalf("requests: %+v, %v", rs, err)
		}
	})
}

// TestRecoveryRequestAnswersFirst: the answer to a recovery request does
// not wait for the work only an existing account needs (the request, its
// links, the email), so its time cannot tell whether the account exists:
// with the mail blocked, requests for an existing and an unknown account
// are both answered; the request is filed and mailed afterwards.
func TestRecoveryRequestAnswersFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		u := f.user("gina", false)
		gate := mailtest.NewGate(f.box)
		f.rec.mail.Mailer = gate
		gate.AnsweredFirst(t, "the answer to a recovery request", func() error {
			return errors.Join(f.rec.Request(ctx, "gina", "lost everything", m0), f.rec.Request(ctx, "nobody", "", m0))
		})
		storetest.Must(t, f.rec.Drain(ctx))
		if _, err := st.OpenRecoveryRequest(ctx, u.ID); err != nil {
			t.Fatalf("the request was not filed after the answer: %v", err)
		}
		link(t, f.box, "/account/recovery/confirm/")
	})
}
