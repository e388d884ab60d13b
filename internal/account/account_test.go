package account

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/mail/mailtest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

var tokenInLink = regexp.MustCompile(`\?token=([^\s]+)`)

// lastToken returns the token of the link in the last message to addr.
func lastToken(t *testing.T, box *mailtest.Box, addr string) string {
	t.Helper()
	msgs := box.All()
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
	clock *clocktest.Clock
	mail  *mailtest.Box
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	f := &fixture{st: st, clock: clocktest.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), mail: &mailtest.Box{}}
	var err error
	f.svc, err = New(context.Background(), st, auth.NewHasher(2, auth.MinParams), Config{BaseURL: "https://pypi.example.org/", Mailer: f.mail},
		slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.svc.Close)
	f.mail.Drain = func() {
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

func wantKind(t *testing.T, what string, err error, kind problem.Kind, contains string) {
	t.Helper()
	if problem.KindOf(err) != kind || !strings.Contains(errString(err), contains) {
		t.Fatalf("%s: error %v (kind %d), want kind %d containing %q", what, err, problem.KindOf(err), kind, contains)
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
		tok := lastToken(t, f.mail, "alice@example.org")
		if msgs := f.mail.All(); !strings.Contains(msgs[0].Text, "https://pypi.example.org/account/verify-email/?token=") {
			t.Fatalf("link not on the base URL:\n%s", msgs[0].Text)
		}
		p, err := f.svc.PeekVerification(ctx, tok)
		if err != nil || p.Email != "alice@example.org" || p.Username != "alice" || p.Verified {
			t.Fatalf("peek: %+v %v", p, err)
		}
		// Valid for 24 hours, not a second more.
		f.clock.Add(VerifyEmailTTL)
		_, err = f.svc.PeekVerification(ctx, tok)
		wantKind(t, "peek an expired link", err, problem.NotFound, "expired")
		_, err = f.svc.VerifyEmail(ctx, tok, here)
		wantKind(t, "use an expired link", err, problem.NotFound, "expired")
		_, err = f.svc.VerifyEmail(ctx, tok, here)
		wantKind(t, "an expired link stays expired", err, problem.NotFound, "expired")

		// A new link, then the address changes behind it: the link cannot
		// verify the new address.
		c := &Current{User: l.User, Session: l.Session}
		if err := f.svc.ResendVerification(ctx, c, here); err != nil {
			t.Fatal(err)
		}
		tok = lastToken(t, f.mail, "alice@example.org")
		if err := st.SetEmail(ctx, l.User.ID, "other@example.org", false); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.VerifyEmail(ctx, tok, here)
		wantKind(t, "link for an old address", err, problem.NotFound, "no longer")
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
		first := lastToken(t, f.mail, "bob@example.org")
		for range ResendLimit.Max {
			if err := f.svc.ResendVerification(ctx, c, here); err != nil {
				t.Fatal(err)
			}
		}
		err := f.svc.ResendVerification(ctx, c, here)
		wantKind(t, "too many resends", err, problem.TooManyRequests, "again in 1 hour")
		// Only the latest link works.
		_, err = f.svc.VerifyEmail(ctx, first, here)
		wantKind(t, "earlier link", err, problem.NotFound, "not valid")
		u, err := f.svc.VerifyEmail(ctx, lastToken(t, f.mail, "bob@example.org"), here)
		if err != nil || !u.EmailVerified {
			t.Fatalf("verify: %v", err)
		}
		c.User = u
		wantKind(t, "resend when verified", f.svc.ResendVerification(ctx, c, here), problem.Invalid, "already verified")
	})
}

func TestPasswordResetLimitsAndExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		f.register(t, "carol")
		sent := func() int { return len(f.mail.All()) }
		before := sent()
		// Per user: past ResetUserLimit nothing is sent, and nothing says so.
		// Each request is handled before the next, so that the last email
		// carries the one link that works (each request replaces the
		// links of the earlier ones).
		for i := range ResetUserLimit.Max + 2 {
			if err := f.svc.RequestPasswordReset(ctx, "carol", here); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			storetest.Must(t, f.svc.Drain(ctx))
		}
		if got := sent() - before; got != ResetUserLimit.Max {
			t.Fatalf("%d reset emails, want %d", got, ResetUserLimit.Max)
		}
		tok := lastToken(t, f.mail, "carol@example.org")
		// Valid for an hour.
		f.clock.Add(ResetPasswordTTL)
		_, err := f.svc.ResetPassword(ctx, tok, "brand new password", "brand new password", here)
		wantKind(t, "expired reset link", err, problem.NotFound, "expired")

		// Per IP: past ResetIPLimit (the requests above count) the answer
		// is 429, whatever the name.
		f.clock.Add(ResetIPLimit.Window)
		for range ResetIPLimit.Max {
			if err := f.svc.RequestPasswordReset(ctx, "nobody", here); err != nil {
				t.Fatal(err)
			}
		}
		err = f.svc.RequestPasswordReset(ctx, "carol", here)
		wantKind(t, "past the IP limit", err, problem.TooManyRequests, "Try again in")
		if e, _ := problem.As(err); e.RetryAfter <= 0 || e.RetryAfter > time.Hour {
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
		tok := lastToken(t, f.mail, "dan@example.org")
		_, err := f.svc.ResetPassword(ctx, tok, "dan", "dan", here)
		wantKind(t, "bad password", err, problem.Invalid, "Correct the fields")
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
		wantKind(t, "reuse", err, problem.NotFound, "already used")
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
			wantKind(t, "wrong password", err, problem.Unauthenticated, "wrong")
			f.clock.Add(time.Second)
		}
		_, err := f.svc.Login(ctx, "erin", pw, here)
		wantKind(t, "past the limit", err, problem.TooManyRequests, "Try again in")
		if e, _ := problem.As(err); e.RetryAfter != LoginLimit.Window-10*time.Second {
			t.Fatalf("RetryAfter = %s", e.RetryAfter)
		}
		f.clock.Add(LoginLimit.Window)
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
		if _, err := f.svc.SetDisabled(ctx, nil, "FAY", true, here); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.UserSessions(ctx, l.User.ID); len(n) != 0 {
			t.Fatal("a session survived")
		}
		// The right password is answered as a wrong one, and recorded.
		_, right := f.svc.Login(ctx, "fay", pw, here)
		_, wrong := f.svc.Login(ctx, "fay", "not the password", here)
		wantKind(t, "login when disabled", right, problem.Unauthenticated, "The username or password is wrong.")
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
		for _, m := range f.mail.All() {
			if strings.Contains(m.Subject, "Reset") {
				t.Fatal("a disabled account was sent a reset link")
			}
		}
		_, err := f.svc.SetDisabled(ctx, nil, "nobody", true, here)
		wantKind(t, "unknown user", err, problem.NotFound, "no user")
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
		// What mail servers could route elsewhere than the domain checked.
		`"a@mailinator.com"@example.org`: false, "(x)a@example.org": false, "a@example.org(x)": false,
		"<@example.net:a@example.org>": false, "a%mailinator.com@example.org": false, "mailinator.com!a@example.org": false,
		"a@[192.0.2.1]": false, "a@example.org.": false, "a@@example.org": false, "a@b@example.org": false,
		// Invisible and control characters.
		"a\u200b@example.org": false, "a@ex\u00adample.org": false, "a\u00a0@example.org": false, "\u202eb@example.org": false,
		"a\u2028@example.org": false, "a\u0085@example.org": false, "a\x00@example.org": false, "a\xff@example.org": false,
		// Sub-addresses and internationalised addresses are addresses.
		"a+tag@example.org": true, "josé@example.org": true, "a@münchen.de": true, "A@EXAMPLE.ORG": true,
	} {
		if got := EmailProblem(email) == ""; got != ok {
			t.Errorf("EmailProblem(%q) accepted = %v", email, got)
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
			slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.Now)
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
		wantKind(t, "past the budget", err, problem.TooManyRequests, "Too many password checks from your address")
		u, err := st.UserByUsername(ctx, "erin")
		storetest.Must(t, err)
		err = svc.CheckPassword(ctx, u, pw, here)
		wantKind(t, "re-authentication past the budget", err, problem.TooManyRequests, "Try again in")
		if _, err := svc.Login(ctx, "erin", pw, other); err != nil {
			t.Fatalf("from another address: %v", err)
		}
		// The refusals did not count as failed logins of the user.
		f.clock.Add(budget.Window)
		if _, err := svc.Login(ctx, "erin", pw, here); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}
