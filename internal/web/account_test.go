package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// mailsTo returns the messages in the outbox addressed to addr, oldest
// first.
func (s *testServer) mailsTo(t testing.TB, addr string) []mail.Received {
	t.Helper()
	s.drain(t)
	all, err := mail.ReadOutbox(s.outbox)
	if err != nil {
		t.Fatal(err)
	}
	var out []mail.Received
	for _, m := range all {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// lastLink returns the path and query of the link to page in the latest
// message to addr whose subject contains subject.
func (s *testServer) lastLink(t testing.TB, addr, subject, page string) string {
	t.Helper()
	msgs := s.mailsTo(t, addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		if !strings.Contains(msgs[i].Subject, subject) {
			continue
		}
		for _, l := range msgs[i].Links() {
			u, err := url.Parse(l)
			if err != nil {
				t.Fatal(err)
			}
			if u.Path == page {
				if !strings.HasPrefix(l, s.URL+"/") {
					t.Fatalf("link %q is not on the server %s", l, s.URL)
				}
				return u.RequestURI()
			}
		}
		t.Fatalf("no link to %s in %q:\n%s", page, msgs[i].Subject, msgs[i].Text)
	}
	t.Fatalf("no message %q to %s (have %d)", subject, addr, len(msgs))
	return ""
}

func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// verifyByMail opens the latest verification link mailed to addr in b and
// confirms it; u's address must then be verified.
func (s *testServer) verifyByMail(t testing.TB, b *browser, u *store.User, addr, what string) {
	t.Helper()
	link := s.lastLink(t, addr, "Verify", "/account/verify-email/")
	b.get(link)
	resp, body := b.post("/account/verify-email/", url.Values{"token": {tokenOf(t, link)}})
	wantStatus(t, what, resp, body, http.StatusSeeOther)
	if got, _ := s.st.UserByID(context.Background(), u.ID); !got.EmailVerified {
		t.Fatalf("%s: the address is not verified", what)
	}
}

// signedIn reports whether the browser's session is signed in, by asking
// for the account page.
func (b *browser) signedIn() bool {
	b.t.Helper()
	resp, _ := b.get("/manage/account/")
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	b.t.Fatalf("GET /manage/account/: status %d", resp.StatusCode)
	return false
}

func wantStatus(t testing.TB, what string, resp *http.Response, body string, status int, contains ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, resp.StatusCode, status, body)
	}
	for _, c := range contains {
		if !strings.Contains(body, c) {
			t.Fatalf("%s: the page does not say %q\n%s", what, c, body)
		}
	}
}

func hasEvent(t testing.TB, st *store.Store, userID int64, tag string) bool {
	t.Helper()
	ev, err := st.UserEvents(context.Background(), userID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev {
		if e.Tag == tag {
			return true
		}
	}
	return false
}

// countEvents counts every event of the user tagged tag.
func countEvents(t testing.TB, st *store.Store, userID int64, tag string) int {
	t.Helper()
	ev, err := st.UserEvents(context.Background(), userID, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ev {
		if e.Tag == tag {
			n++
		}
	}
	return n
}

func TestAccountRegisterAndVerify(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		b := s.browser(t)
		b.get("/account/register/")
		resp, body := b.post("/account/register/", url.Values{"username": {"Carol.Dev"}, "email": {"carol@example.org"},
			"password": {"correct horse battery"}, "password_confirm": {"correct horse battery"}})
		wantStatus(t, "register", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/account/login/" {
			t.Fatalf("register redirected to %q", loc)
		}
		resp, body = b.get("/account/login/")
		wantStatus(t, "login page after registering", resp, body, http.StatusOK, "Check your email", "carol@example.org", "Carol.Dev")
		if b.signedIn() {
			t.Fatal("registering signed in: it must answer alike for a registered address, which cannot")
		}
		s.drain(t)
		u, err := s.st.UserByUsername(ctx, "carol.dev")
		if err != nil {
			t.Fatal(err)
		}
		if u.EmailVerified || !hasEvent(t, s.st, u.ID, audit.AccountCreated) {
			t.Fatalf("new user: verified=%v, account:create event=%v", u.EmailVerified, hasEvent(t, s.st, u.ID, audit.AccountCreated))
		}
		// The account works at once, its address not yet verified.
		b.login("Carol.Dev", "correct horse battery")
		resp, body = b.get("/manage/account/")
		wantStatus(t, "account page after registering", resp, body, http.StatusOK, "Carol.Dev", "carol@example.org",
			"not verified", "Send a new link")

		link := s.lastLink(t, "carol@example.org", "Verify", "/account/verify-email/")
		// Opening the link (as a mail scanner would) changes nothing.
		resp, body = b.get(link)
		wantStatus(t, "open the verification link", resp, body, http.StatusOK, "carol@example.org", "Verify")
		if u, _ = s.st.UserByID(ctx, u.ID); u.EmailVerified {
			t.Fatal("a GET of the link verified the address")
		}
		resp, body = b.post("/account/verify-email/", url.Values{"token": {tokenOf(t, link)}})
		wantStatus(t, "confirm", resp, body, http.StatusSeeOther)
		if u, _ = s.st.UserByID(ctx, u.ID); !u.EmailVerified {
			t.Fatal("the address is not verified after the confirmation")
		}
		if !hasEvent(t, s.st, u.ID, audit.EmailVerified) {
			t.Fatal("no account:email:verified event")
		}
		_, body = b.get("/manage/account/")
		if !strings.Contains(body, "is verified") || strings.Contains(body, "not verified") {
			t.Fatalf("the account page does not show the address verified:\n%s", body)
		}

		// The link works once.
		resp, body = b.get(link)
		wantStatus(t, "reopen a used link", resp, body, http.StatusNotFound, "already used")
		resp, body = b.post("/account/verify-email/", url.Values{"token": {tokenOf(t, link)}})
		wantStatus(t, "reuse a link", resp, body, http.StatusNotFound, "already used")

		// Logging out and in works with the chosen password.
		b.post("/account/logout/", nil)
		b.login("Carol.Dev", "correct horse battery")
	})
}

func TestAccountRegisterRefusals(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		s.userWithPassword("alice", "a long enough password")
		const pw = "correct horse battery"
		ok := url.Values{"username": {"newbie"}, "email": {"newbie@example.org"}, "password": {pw}, "password_confirm": {pw}}
		with := func(k, v string) url.Values {
			f := url.Values{}
			for kk, vv := range ok {
				f[kk] = append([]string(nil), vv...)
			}
			f.Set(k, v)
			return f
		}
		const script = "<script>alert(1)</script>"
		cases := []struct {
			name string
			form url.Values
			want string
		}{
			{"empty username", with("username", ""), "Choose a username"},
			{"username with a space", with("username", "new bie"), "Use 1 to 50 letters"},
			{"username starting with a dot", with("username", ".newbie"), "Use 1 to 50 letters"},
			{"username ending with a dash", with("username", "newbie-"), "Use 1 to 50 letters"},
			{"username too long", with("username", strings.Repeat("a", 51)), "Use 1 to 50 letters"},
			{"username taken, other case", with("username", "ALICE"), "already taken"},
			{"script as username", with("username", script), "Use 1 to 50 letters"},
			{"email without domain", with("email", "newbie"), "not a valid email address"},
			{"email with a name", with("email", "Newbie <newbie@example.org>"), "not a valid email address"},
			{"two emails", with("email", "a@example.org, b@example.org"), "not a valid email address"},
			{"script as email", with("email", script+"@example.org"), "not a valid email address"},
			{"short password", with("password", "Xq7z"), "too short"},
			{"common password", func() url.Values {
				f := with("password", "password1234")
				f.Set("password_confirm", "password1234")
				return f
			}(), "common"},
			{"confirmation differs", with("password_confirm", pw+"!"), "The two passwords differ"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				b := s.browser(t)
				b.get("/account/register/")
				resp, body := b.post("/account/register/", c.form)
				wantStatus(t, c.name, resp, body, http.StatusBadRequest, c.want)
				if strings.Contains(body, "<script>") {
					t.Fatalf("raw <script> in the page:\n%s", body)
				}
				// The form keeps the values entered, never the password.
				if u := c.form.Get("username"); u != "" && u != script && !strings.Contains(body, `value="`+u+`"`) {
					t.Errorf("the form lost the username %q", u)
				}
				if e := c.form.Get("email"); !strings.Contains(body, e) && !strings.Contains(body, "&lt;") {
					t.Errorf("the form lost the email %q", e)
				}
				if strings.Contains(body, pw) || strings.Contains(body, c.form.Get("password")) {
					t.Error("the page shows the password")
				}
				if _, err := s.st.UserByUsername(context.Background(), "newbie"); err == nil {
					t.Error("an account was created")
				}
			})
		}
	})
}

func TestAccountRegisterRateLimit(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		const pw = "correct horse battery"
		for i := range 11 {
			b := s.browser(t)
			b.get("/account/register/")
			name := "user" + strconv.Itoa(i)
			resp, body := b.post("/account/register/", url.Values{"username": {name}, "email": {name + "@example.org"},
				"password": {pw}, "password_confirm": {pw}})
			if i < 10 {
				wantStatus(t, "registration "+name, resp, body, http.StatusSeeOther)
				continue
			}
			wantStatus(t, "the 11th registration", resp, body, http.StatusTooManyRequests, "Try again in")
			if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra <= 0 || ra > 3600 {
				t.Fatalf("Retry-After: %q", resp.Header.Get("Retry-After"))
			}
		}
	})
}

func TestAccountLinkRefusals(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		u := s.userWithPassword("dave", "a long enough password")
		// Links emailed a day ago, long expired.
		past := time.Now().Add(-48 * time.Hour)
		for _, tok := range []struct{ secret, purpose string }{
			{"EXPIREDVERIFY", store.PurposeVerifyEmail}, {"EXPIREDRESET", store.PurposeResetPassword}} {
			if err := s.st.CreateAccountToken(ctx, &store.AccountToken{Hash: sha256Hex(tok.secret), UserID: u.ID, Purpose: tok.purpose,
				Email: u.Email, ExpiresAt: past.Add(time.Hour), CreatedAt: past}); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name, method, path string
			form               url.Values
			want               string
		}{
			{"expired verify link", "GET", "/account/verify-email/?token=EXPIREDVERIFY", nil, "expired"},
			{"expired verify post", "POST", "/account/verify-email/", url.Values{"token": {"EXPIREDVERIFY"}}, "expired"},
			{"wrong verify link", "GET", "/account/verify-email/?token=NOSUCHTOKEN", nil, "not valid"},
			{"empty verify link", "GET", "/account/verify-email/", nil, "not valid"},
			{"reset token as verify link", "GET", "/account/verify-email/?token=EXPIREDRESET", nil, "not valid"},
			{"expired reset link", "GET", "/account/reset-password/confirm/?token=EXPIREDRESET", nil, "expired"},
			{"expired reset post", "POST", "/account/reset-password/confirm/",
				url.Values{"token": {"EXPIREDRESET"}, "password": {"brand new password"}, "password_confirm": {"brand new password"}}, "expired"},
			{"wrong reset link", "GET", "/account/reset-password/confirm/?token=" + strings.Repeat("A", 500), nil, "not valid"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := s.browser(t)
				b.get("/account/reset-password/") // for a form token
				var resp *http.Response
				var body string
				if c.method == "GET" {
					resp, body = b.get(c.path)
				} else {
					resp, body = b.post(c.path, c.form)
				}
				wantStatus(t, c.name, resp, body, http.StatusNotFound, c.want)
			})
		}
		if got, _ := s.st.UserByID(ctx, u.ID); got.PasswordHash != u.PasswordHash {
			t.Fatal("an expired reset link changed the password")
		}
		// A signed-in user with an unverified address is offered a new link.
		if err := s.st.SetEmail(ctx, u.ID, u.Email, false); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t)
		b.login("dave", "a long enough password")
		resp, body := b.get("/account/verify-email/?token=EXPIREDVERIFY")
		wantStatus(t, "expired link, signed in", resp, body, http.StatusNotFound, "expired", "Send a new link")
		resp, body = b.post("/manage/account/resend-verification/", nil)
		wantStatus(t, "resend", resp, body, http.StatusSeeOther)
		s.verifyByMail(t, b, u, u.Email, "verify with the new link")
	})
}

func TestAccountPasswordReset(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		u := s.userWithPassword("erin", "the old password")
		b1, b2 := s.browser(t), s.browser(t)
		b1.login("erin", "the old password")
		b2.login("erin", "the old password")

		ask := func(who string) (int, string) {
			b := s.browser(t)
			b.get("/account/reset-password/")
			resp, body := b.post("/account/reset-password/", url.Values{"who": {who}})
			wantStatus(t, "ask for a reset", resp, body, http.StatusSeeOther)
			_, body = b.get(resp.Header.Get("Location"))
			// Every browser has its own form token.
			return resp.StatusCode, csrfField.ReplaceAllString(body, "")
		}
		// The same answer whether or not the account exists.
		_, known := ask("erin")
		_, unknown := ask("nobody")
		_, unknownMail := ask("nobody@example.org")
		if known != unknown || known != unknownMail || !strings.Contains(known, "If an account matches") {
			t.Fatalf("the answers differ:\n%s\n---\n%s", known, unknown)
		}
		first := s.lastLink(t, u.Email, "Reset", "/account/reset-password/confirm/")
		ask("ERIN@example.org") // by email, any case: a new link
		link := s.lastLink(t, u.Email, "Reset", "/account/reset-password/confirm/")
		if link == first {
			t.Fatal("the second request sent the same link")
		}
		if n := len(s.mailsTo(t, u.Email)); n != 2 {
			t.Fatalf("%d messages to erin, want 2", n)
		}
		if !hasEvent(t, s.st, u.ID, audit.PasswordResetAsked) {
			t.Fatal("no reset request event")
		}
		b := s.browser(t)
		// The earlier link stopped working.
		resp, body := b.get(first)
		wantStatus(t, "earlier link", resp, body, http.StatusNotFound, "not valid", "Ask for a new link")

		resp, body = b.get(link)
		wantStatus(t, "open the reset link", resp, body, http.StatusOK, "erin", "New password")
		// A refused password does not spend the link.
		resp, body = b.post("/account/reset-password/confirm/", url.Values{"token": {tokenOf(t, link)},
			"password": {"brand new password"}, "password_confirm": {"brand new passwort"}})
		wantStatus(t, "confirmation differs", resp, body, http.StatusBadRequest, "The two passwords differ")
		resp, body = b.post("/account/reset-password/confirm/", url.Values{"token": {tokenOf(t, link)},
			"password": {"erin"}, "password_confirm": {"erin"}})
		wantStatus(t, "too short", resp, body, http.StatusBadRequest, "too short")
		resp, body = b.post("/account/reset-password/confirm/", url.Values{"token": {tokenOf(t, link)},
			"password": {"brand new password"}, "password_confirm": {"brand new password"}})
		wantStatus(t, "reset", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/account/login/" {
			t.Fatalf("reset redirected to %q", loc)
		}
		_, body = b.get("/account/login/")
		if !strings.Contains(body, "Your password was changed") {
			t.Fatalf("no flash after the reset:\n%s", body)
		}
		if b1.signedIn() || b2.signedIn() {
			t.Fatal("a session survived the password reset")
		}
		if !hasEvent(t, s.st, u.ID, audit.PasswordReset) {
			t.Fatal("no account:password:reset event")
		}
		msgs := s.mailsTo(t, u.Email)
		if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "password was changed") {
			t.Fatalf("last message: %q", last.Subject)
		}
		// The link works once; the new password works, the old does not.
		resp, body = b.get(link)
		wantStatus(t, "reuse the link", resp, body, http.StatusNotFound, "already used")
		b.get("/account/login/")
		resp, _ = b.post("/account/login/", url.Values{"username": {"erin"}, "password": {"the old password"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the old password: status %d", resp.StatusCode)
		}
		b.login("erin", "brand new password")
		if n, err := s.st.UserByID(ctx, u.ID); err != nil || n.PasswordChangedAt.IsZero() {
			t.Fatalf("password_changed_at not set: %v", err)
		}
	})
}

func TestAccountChangePassword(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		u := s.userWithPassword("frank", "the old password")
		b1, b2 := s.browser(t), s.browser(t)
		b1.login("frank", "the old password")
		b2.login("frank", "the old password")
		b1.get("/manage/account/")
		resp, body := b1.post("/manage/account/password/", url.Values{"current_password": {"wrong"},
			"password": {"brand new password"}, "password_confirm": {"brand new password"}})
		wantStatus(t, "wrong current password", resp, body, http.StatusUnauthorized, "not your current password")
		resp, body = b1.post("/manage/account/password/", url.Values{"current_password": {"the old password"},
			"password": {"brand new password"}, "password_confirm": {"other"}})
		wantStatus(t, "confirmation differs", resp, body, http.StatusBadRequest, "The two passwords differ")
		resp, body = b1.post("/manage/account/password/", url.Values{"current_password": {"the old password"},
			"password": {"brand new password"}, "password_confirm": {"brand new password"}})
		wantStatus(t, "change password", resp, body, http.StatusSeeOther)
		if !b1.signedIn() {
			t.Fatal("the session that changed the password was signed out")
		}
		if b2.signedIn() {
			t.Fatal("another session survived the password change")
		}
		if !hasEvent(t, s.st, u.ID, audit.PasswordChanged) {
			t.Fatal("no account:password:changed event")
		}
		msgs := s.mailsTo(t, u.Email)
		if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "password was changed") {
			t.Fatalf("notice: %+v", msgs)
		}
		b := s.browser(t)
		b.login("frank", "brand new password")
	})
}

func TestAccountChangeEmail(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		u := s.userWithPassword("grace", "a long enough password")
		s.userWithPassword("heidi", "a long enough password")
		b := s.browser(t)
		b.login("grace", "a long enough password")
		b.get("/manage/account/")
		cases := []struct {
			name, email, password string
			status                int
			want                  string
		}{
			{"no password", "grace@new.example", "", http.StatusUnauthorized, "not your current password"},
			{"wrong password", "grace@new.example", "wrong", http.StatusUnauthorized, "not your current password"},
			{"invalid address", "<script>alert(1)</script>", "a long enough password", http.StatusBadRequest, "not a valid email address"},
			{"address of another account", "HEIDI@example.org", "a long enough password", http.StatusBadRequest, "already used"},
			{"same address", "grace@example.org", "a long enough password", http.StatusBadRequest, "already your email address"},
		}
		for _, c := range cases {
			resp, body := b.post("/manage/account/email/", url.Values{"email": {c.email}, "password": {c.password}})
			wantStatus(t, c.name, resp, body, c.status, c.want)
			if strings.Contains(body, "<script>") {
				t.Fatalf("%s: raw <script> in the page", c.name)
			}
			if got, _ := s.st.UserByID(ctx, u.ID); got.Email != "grace@example.org" {
				t.Fatalf("%s: the email changed to %q", c.name, got.Email)
			}
		}
		resp, body := b.post("/manage/account/email/", url.Values{"email": {"grace@new.example"}, "password": {"a long enough password"}})
		wantStatus(t, "change email", resp, body, http.StatusSeeOther)
		got, _ := s.st.UserByID(ctx, u.ID)
		if got.Email != "grace@new.example" || got.EmailVerified {
			t.Fatalf("after the change: %q verified=%v", got.Email, got.EmailVerified)
		}
		if !hasEvent(t, s.st, u.ID, audit.EmailChanged) {
			t.Fatal("no account:email:changed event")
		}
		if old := s.mailsTo(t, "grace@example.org"); len(old) != 1 || !strings.Contains(old[0].Text, "grace@new.example") {
			t.Fatalf("notice to the old address: %+v", old)
		}
		s.verifyByMail(t, b, u, "grace@new.example", "verify the new address")
	})
}

func TestAccountSessionsAndHistory(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		s.userWithPassword("ivan", "a long enough password")
		b1, b2 := s.browser(t), s.browser(t)
		b1.login("ivan", "a long enough password")
		// A second browser whose user agent is an injection attempt.
		const script = "<script>alert(1)</script>"
		b2.get("/account/login/")
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/account/login/", strings.NewReader(url.Values{
			"csrf_token": {b2.csrf}, "username": {"ivan"}, "password": {"a long enough password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", script)
		if resp, body := b2.do(req); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d\n%s", resp.StatusCode, body)
		}
		resp, body := b1.get("/manage/account/")
		wantStatus(t, "account page", resp, body, http.StatusOK, "You have 2 sessions", "/manage/account/sessions/",
			"/manage/account/tokens/", "/manage/account/security-history/")
		resp, body = b1.get("/manage/account/sessions/")
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "this browser", "Go HTTP client", "Go-http-client", "&lt;script&gt;")
		if strings.Count(body, "<tr data-session=") != 2 || strings.Count(body, "this browser") != 1 {
			t.Fatalf("want 2 sessions, one of them this one:\n%s", body)
		}
		if strings.Contains(body, script) {
			t.Fatal("raw <script> on the sessions page")
		}
		// A failed sign-in from a third browser, also with a hostile UA.
		b3 := s.browser(t)
		b3.get("/account/login/")
		req, _ = http.NewRequest(http.MethodPost, s.URL+"/account/login/", strings.NewReader(url.Values{
			"csrf_token": {b3.csrf}, "username": {"ivan"}, "password": {"wrong"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", script)
		b3.do(req)

		resp, body = b1.get("/manage/account/security-history/")
		wantStatus(t, "security history", resp, body, http.StatusOK, "Signed in", "Failed sign-in: wrong password", "127.0.0.1", "&lt;script&gt;")
		if strings.Contains(body, script) {
			t.Fatal("raw <script> on the security history")
		}
		if strings.Index(body, "Failed sign-in") > strings.Index(body, "Signed in") {
			t.Fatal("the history is not newest first")
		}

		b1.get("/manage/account/")
		resp, body = b1.post("/manage/account/sessions/logout-all/", nil)
		wantStatus(t, "log out other sessions", resp, body, http.StatusSeeOther)
		if b2.signedIn() {
			t.Fatal("the other session survived")
		}
		if loc := resp.Header.Get("Location"); loc != "/manage/account/sessions/" {
			t.Fatalf("signing out the others led to %q", loc)
		}
		_, body = b1.get("/manage/account/sessions/")
		if !strings.Contains(body, "Signed out of 1 other session") || strings.Count(body, "<tr data-session=") != 1 {
			t.Fatalf("after logging out the others:\n%s", body)
		}
		if anon := s.browser(t); anon.signedIn() {
			t.Fatal("an anonymous browser sees the account page")
		}
		resp, _ = s.browser(t).get("/manage/account/security-history/")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
			t.Fatalf("anonymous security history: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestAccountFormsNeedCSRFToken(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		u := s.userWithPassword("judy", "a long enough password")
		if err := s.st.SetEmail(context.Background(), u.ID, u.Email, false); err != nil {
			t.Fatal(err)
		}
		pw := "a long enough password"
		routes := []struct {
			path string
			form url.Values
		}{
			{"/account/register/", url.Values{"username": {"mallory"}, "email": {"m@example.org"}, "password": {pw}, "password_confirm": {pw}}},
			{"/account/verify-email/", url.Values{"token": {"x"}}},
			{"/account/reset-password/", url.Values{"who": {"judy"}}},
			{"/account/reset-password/confirm/", url.Values{"token": {"x"}, "password": {"brand new password"}, "password_confirm": {"brand new password"}}},
			{"/manage/account/email/", url.Values{"email": {"evil@example.org"}, "password": {pw}}},
			{"/manage/account/password/", url.Values{"current_password": {pw}, "password": {"brand new password"}, "password_confirm": {"brand new password"}}},
			{"/manage/account/resend-verification/", nil},
			{"/manage/account/sessions/logout-all/", nil},
		}
		b := s.browser(t)
		b.login("judy", pw)
		b.get("/manage/account/")
		for _, r := range routes {
			for _, token := range []string{"", strings.Repeat("0", 64)} {
				f := url.Values{}
				for k, v := range r.form {
					f[k] = v
				}
				f.Set("csrf_token", token)
				resp, body := b.post(r.path, f)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s with form token %q: status %d, want 403\n%s", r.path, token, resp.StatusCode, body)
				}
			}
		}
		if msgs := s.mailsTo(t, u.Email); len(msgs) != 0 {
			t.Fatalf("refused posts sent %d emails", len(msgs))
		}
		if got, _ := s.st.UserByID(context.Background(), u.ID); got.Email != u.Email || got.PasswordHash != u.PasswordHash {
			t.Fatal("a refused post changed the account")
		}
		if _, err := s.st.UserByUsername(context.Background(), "mallory"); err == nil {
			t.Fatal("a refused registration created an account")
		}
	})
}

func TestAccountLoginRateLimit(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		t.Run("per user", func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, d)
			s.userWithPassword("kim", "a long enough password")
			b := s.browser(t)
			b.get("/account/login/")
			for i := range 10 {
				resp, body := b.post("/account/login/", url.Values{"username": {"kim"}, "password": {"guess" + strconv.Itoa(i)}})
				wantStatus(t, "failed login", resp, body, http.StatusUnauthorized)
			}
			// The 11th attempt is refused, even with the right password.
			resp, body := b.post("/account/login/", url.Values{"username": {"kim"}, "password": {"a long enough password"}})
			wantStatus(t, "11th login", resp, body, http.StatusTooManyRequests, "Try again in")
			if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra <= 0 || ra > 300 {
				t.Fatalf("Retry-After: %q", resp.Header.Get("Retry-After"))
			}
			if b.cookie("session") != "" {
				t.Fatal("a session was started past the limit")
			}
		})
		t.Run("per IP", func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, d)
			s.userWithPassword("lee", "a long enough password")
			b := s.browser(t)
			b.get("/account/login/")
			for i := range 10 {
				resp, body := b.post("/account/login/", url.Values{"username": {"nobody" + strconv.Itoa(i)}, "password": {"guess"}})
				wantStatus(t, "failed login", resp, body, http.StatusUnauthorized)
			}
			resp, body := b.post("/account/login/", url.Values{"username": {"lee"}, "password": {"a long enough password"}})
			wantStatus(t, "11th login from the IP", resp, body, http.StatusTooManyRequests, "Try again in")
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
		})
	})
}

func TestAccountDisabled(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		ctx := context.Background()
		u := s.userWithPassword("mia", "a long enough password")
		token := s.token(u)
		dist := disttest.Dist{Name: "mia-pkg", Version: "1.0"}
		s.uploadDist(token, dist, false)
		b := s.browser(t)
		b.login("mia", "a long enough password")
		if !b.signedIn() {
			t.Fatal("not signed in")
		}
		if _, err := s.acct.SetDisabled(ctx, nil, "mia", true, audit.Meta{IP: "admin-cli"}); err != nil {
			t.Fatal(err)
		}
		if !hasEvent(t, s.st, u.ID, audit.AccountDisabled) {
			t.Fatal("no account:disabled event")
		}
		if b.signedIn() {
			t.Fatal("the browser session of a disabled user still works")
		}
		d2 := disttest.Dist{Name: "mia-pkg", Version: "2.0"}
		content := d2.Wheel()
		resp, body := s.do(s.uploadRequest(token, d2.Form("bdist_wheel", content), d2.WheelFilename(), content))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "disabled") {
			t.Fatalf("upload by a disabled user: %s %s", resp.Status, body)
		}
		b.get("/account/login/")
		resp, page := b.post("/account/login/", url.Values{"username": {"mia"}, "password": {"a long enough password"}})
		wantStatus(t, "login of a disabled user", resp, page, http.StatusUnauthorized, "username or password is wrong")

		if _, err := s.acct.SetDisabled(ctx, nil, "mia", false, audit.Meta{IP: "admin-cli"}); err != nil {
			t.Fatal(err)
		}
		s.uploadDist(token, d2, false)
		b.login("mia", "a long enough password")
		if !hasEvent(t, s.st, u.ID, audit.AccountEnabled) {
			t.Fatal("no account:enabled event")
		}
	})
}
