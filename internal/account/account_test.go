package account

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mailbox is a Mailer that keeps what it is given. Reading it first waits
// for the service's background jobs (which send most mail).
type mailbox struct {
	mu    sync.Mutex
	msgs  []mail.Message
	drain func()
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *mailbox) all() []mail.Message {
	if m.drain != nil {
		m.drain()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mail.Message(nil), m.msgs...)
}

var tokenInLink = regexp.MustCompile(`\?token=([^\s]+)`)

// lastToken returns the token of the link in the last message to addr.
func (m *mailbox) lastToken(t *testing.T, addr string) string {
	t.Helper()
	msgs := m.all()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To != addr {
			continue
		}
		match := tokenInLink.FindStringSubmatch(msgs[i].Text)
		if match == nil {
			t.Fatalf("no link in %q", msgs[i].Text)
		}
		tok, err := url.QueryUnescape(match[1])
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t.Fatalf("no message to %s", addr)
	return ""
}

type fixture struct {
	svc   *Service
	st    *store.Store
	clock *clock
	mail  *mailbox
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	f := &fixture{st: st, clock: &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}, mail: &mailbox{}}
	var err error
	f.svc, err = New(context.Background(), st, auth.NewHasher(2, auth.MinParams), Config{BaseURL: "https://pypi.example.org/", Mailer: f.mail},
		slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.svc.Close)
	f.mail.drain = func() {
		if err := f.svc.Drain(context.Background()); err != nil {
			t.Error(err)
		}
	}
	return f
}

const pw = "correct horse battery"

var here = audit.Meta{IP: "192.0.2.1", UserAgent: "test"}

// register registers name (name@example.org), waits for the account to
// be created, and logs it in.
func (f *fixture) register(t *testing.T, name string) *Login {
	t.Helper()
	ctx := context.Background()
	err := f.svc.Register(ctx, Registration{Username: name, Email: name + "@example.org", Password: pw, PasswordConfirm: pw}, here)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Must(t, f.svc.Drain(ctx))
	l, err := f.svc.Login(ctx, name, pw, here)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func wantKind(t *testing.T, what string, err error, kind Kind, contains string) {
	t.Helper()
	if KindOf(err) != kind || !strings.Contains(errString(err), contains) {
		t.Fatalf("%s: error %v (kind %d), want kind %d containing %q", what, err, KindOf(err), kind, contains)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestVerificationLinks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "alice")
		tok := f.mail.lastToken(t, "alice@example.org")
		if msgs := f.mail.all(); !strings.Contains(msgs[0].Text, "https://pypi.example.org/account/verify-email/?token=") {
			t.Fatalf("link not on the base URL:\n%s", msgs[0].Text)
		}
		p, err := f.svc.PeekVerification(ctx, tok)
		if err != nil || p.Email != "alice@example.org" || p.Username != "alice" || p.Verified {
			t.Fatalf("peek: %+v %v", p, err)
		}
		// Valid for 24 hours, not a second more.
		f.clock.advance(VerifyEmailTTL)
		_, err = f.svc.PeekVerification(ctx, tok)
		wantKind(t, "peek an expired link", err, NotFound, "expired")
		_, err = f.svc.VerifyEmail(ctx, tok, here)
		wantKind(t, "use an expired link", err, NotFound, "expired")
		_, err = f.svc.VerifyEmail(ctx, tok, here)
		wantKind(t, "an expired link stays expired", err, NotFound, "expired")

		// A new link, then the address changes behind it: the link cannot
		// verify the new address.
		c := &Current{User: l.User, Session: l.Session}
		if err := f.svc.ResendVerification(ctx, c, here); err != nil {
			t.Fatal(err)
		}
		tok = f.mail.lastToken(t, "alice@example.org")
		if err := st.SetEmail(ctx, l.User.ID, "other@example.org", false); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.VerifyEmail(ctx, tok, here)
		wantKind(t, "link for an old address", err, NotFound, "no longer")
		if u, _ := st.UserByID(ctx, l.User.ID); u.EmailVerified {
			t.Fatal("a link for the old address verified the new one")
		}
	})
}

func TestResendVerification(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "bob")
		c := &Current{User: l.User, Session: l.Session}
		first := f.mail.lastToken(t, "bob@example.org")
		for range ResendLimit.Max {
			if err := f.svc.ResendVerification(ctx, c, here); err != nil {
				t.Fatal(err)
			}
		}
		err := f.svc.ResendVerification(ctx, c, here)
		wantKind(t, "too many resends", err, TooManyRequests, "again in 1 hour")
		// Only the latest link works.
		_, err = f.svc.VerifyEmail(ctx, first, here)
		wantKind(t, "earlier link", err, NotFound, "not valid")
		u, err := f.svc.VerifyEmail(ctx, f.mail.lastToken(t, "bob@example.org"), here)
		if err != nil || !u.EmailVerified {
			t.Fatalf("verify: %v", err)
		}
		c.User = u
		wantKind(t, "resend when verified", f.svc.ResendVerification(ctx, c, here), Invalid, "already verified")
	})
}

func TestPasswordResetLimitsAndExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		f.register(t, "carol")
		sent := func() int { return len(f.mail.all()) }
		before := sent()
		// Per user: past ResetUserLimit nothing is sent, and nothing says so.
		// One request at a time: the queue's workers would otherwise race,
		// and the last email need not hold the last (the valid) link.
		for i := range ResetUserLimit.Max + 2 {
			if err := f.svc.RequestPasswordReset(ctx, "carol", here); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			storetest.Must(t, f.svc.Drain(ctx))
		}
		if got := sent() - before; got != ResetUserLimit.Max {
			t.Fatalf("%d reset emails, want %d", got, ResetUserLimit.Max)
		}
		tok := f.mail.lastToken(t, "carol@example.org")
		// Valid for an hour.
		f.clock.advance(ResetPasswordTTL)
		_, err := f.svc.ResetPassword(ctx, tok, "brand new password", "brand new password", here)
		wantKind(t, "expired reset link", err, NotFound, "expired")

		// Per IP: past ResetIPLimit (the requests above count) the answer
		// is 429, whatever the name.
		f.clock.advance(ResetIPLimit.Window)
		for range ResetIPLimit.Max {
			if err := f.svc.RequestPasswordReset(ctx, "nobody", here); err != nil {
				t.Fatal(err)
			}
		}
		err = f.svc.RequestPasswordReset(ctx, "carol", here)
		wantKind(t, "past the IP limit", err, TooManyRequests, "Try again in")
		if e, _ := err.(*Error); e.RetryAfter <= 0 || e.RetryAfter > time.Hour {
			t.Fatalf("RetryAfter = %s", e.RetryAfter)
		}
		// Another IP is not affected.
		if err := f.svc.RequestPasswordReset(ctx, "carol", audit.Meta{IP: "198.51.100.7"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPasswordResetEndsSessionsAndVerifies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "dan")
		if err := f.svc.RequestPasswordReset(ctx, "DAN@example.org", here); err != nil {
			t.Fatal(err)
		}
		tok := f.mail.lastToken(t, "dan@example.org")
		_, err := f.svc.ResetPassword(ctx, tok, "dan", "dan", here)
		wantKind(t, "bad password", err, Invalid, "Correct the fields")
		u, err := f.svc.ResetPassword(ctx, tok, "brand new password", "brand new password", here)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := f.svc.Session(ctx, l.Cookie); c != nil {
			t.Fatal("the session survived the reset")
		}
		if got, _ := st.UserByID(ctx, u.ID); !got.EmailVerified {
			t.Fatal("a reset through the account's address did not verify it")
		}
		if _, err := f.svc.Login(ctx, "dan", "brand new password", here); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.ResetPassword(ctx, tok, "another new password", "another new password", here)
		wantKind(t, "reuse", err, NotFound, "already used")
	})
}

func TestLoginLimitWindow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		f.register(t, "erin")
		for range LoginLimit.Max {
			_, err := f.svc.Login(ctx, "erin", "wrong", here)
			wantKind(t, "wrong password", err, Unauthorized, "wrong")
			f.clock.advance(time.Second)
		}
		_, err := f.svc.Login(ctx, "erin", pw, here)
		wantKind(t, "past the limit", err, TooManyRequests, "Try again in")
		if e := err.(*Error); e.RetryAfter != LoginLimit.Window-10*time.Second {
			t.Fatalf("RetryAfter = %s", e.RetryAfter)
		}
		f.clock.advance(LoginLimit.Window)
		if _, err := f.svc.Login(ctx, "erin", pw, here); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func TestSetDisabled(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "fay")
		if _, err := f.svc.SetDisabled(ctx, "FAY", true, here); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.UserSessions(ctx, l.User.ID); len(n) != 0 {
			t.Fatal("a session survived")
		}
		// The right password is answered as a wrong one, and recorded.
		_, right := f.svc.Login(ctx, "fay", pw, here)
		_, wrong := f.svc.Login(ctx, "fay", "not the password", here)
		wantKind(t, "login when disabled", right, Unauthorized, "The username or password is wrong.")
		if right.Error() != wrong.Error() {
			t.Fatalf("a disabled account answers its right password %q, a wrong one %q", right, wrong)
		}
		evs, _ := st.UserEvents(ctx, l.User.ID, 10)
		recorded := false
		for _, e := range evs {
			recorded = recorded || e.Tag == audit.LoginFailure && strings.Contains(e.Details, "account disabled")
		}
		if !recorded {
			t.Fatalf("the attempt on the disabled account is not recorded: %+v", evs)
		}
		if err := f.svc.RequestPasswordReset(ctx, "fay", here); err != nil {
			t.Fatal(err)
		}
		for _, m := range f.mail.all() {
			if strings.Contains(m.Subject, "Reset") {
				t.Fatal("a disabled account was sent a reset link")
			}
		}
		_, err := f.svc.SetDisabled(ctx, "nobody", true, here)
		wantKind(t, "unknown user", err, NotFound, "no user")
	})
}

func TestValidUsername(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"a": true, "A.b_c-d": true, "x1": true, strings.Repeat("a", 50): true,
		"": false, strings.Repeat("a", 51): false, "-a": false, "a-": false, "a b": false, "é": false,
		"a/b": false, "<script>": false, "a\n": false,
	} {
		if got := ValidUsername(name); got != want {
			t.Errorf("ValidUsername(%q) = %v", name, got)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	t.Parallel()
	for email, ok := range map[string]bool{
		"a@example.org": true, "first.last+tag@sub.example.co.uk": true,
		"": false, "a": false, "a@b": false, "A <a@example.org>": false, "a@example.org, b@example.org": false,
		"<a@example.org>": false, "a@example.org\r\nBcc: x@example.org": false, strings.Repeat("a", 250) + "@example.org": false,
		`"<script>"@example.org`: false,
	} {
		if got := checkEmail(email) == ""; got != ok {
			t.Errorf("checkEmail(%q) accepted = %v", email, got)
		}
	}
}

// TestPasswordChecksPerIP: right passwords do not count as failed logins,
// but one address can still make the server hash only so many passwords,
// right or wrong, in a window; another address is not affected, and the
// window frees them again.
func TestPasswordChecksPerIP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		budget := ratelimit.Rule{Max: 20, Window: 5 * time.Minute}
		svc, err := New(ctx, st, auth.NewHasher(2, auth.MinParams), Config{BaseURL: "https://pypi.example.org/", Mailer: f.mail, PasswordChecksPerIP: budget},
			slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.now)
		storetest.Must(t, err)
		t.Cleanup(svc.Close)
		f.register(t, "erin")
		other := audit.Meta{IP: "198.51.100.7", UserAgent: "test"}
		// register signed in once from here.
		for i := range budget.Max - 1 {
			if _, err := svc.Login(ctx, "erin", pw, here); err != nil {
				t.Fatalf("right password %d: %v", i+1, err)
			}
		}
		_, err = svc.Login(ctx, "erin", pw, here)
		wantKind(t, "past the budget", err, TooManyRequests, "Too many password checks from your address")
		u, err := st.UserByUsername(ctx, "erin")
		storetest.Must(t, err)
		err = svc.CheckPassword(ctx, u, pw, here)
		wantKind(t, "re-authentication past the budget", err, TooManyRequests, "Try again in")
		if _, err := svc.Login(ctx, "erin", pw, other); err != nil {
			t.Fatalf("from another address: %v", err)
		}
		// The refusals did not count as failed logins of the user.
		f.clock.advance(budget.Window)
		if _, err := svc.Login(ctx, "erin", pw, here); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}
