package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// newTestClock is a clock the test moves by hand, at a step boundary so
// that a code stays valid however long the test takes.
func newTestClock() *clocktest.Clock {
	return clocktest.New(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
}

// clockServer is a test server of cfg on a newTestClock.
func clockServer(t testing.TB, d store.Dialect, cfg serverConfig) (*testServer, *clocktest.Clock) {
	clk := newTestClock()
	cfg.Now = clk.Now
	return newTestServerWith(t, d, cfg), clk
}

// signedInUser creates name with the password pw and signs it in on a
// new browser.
func (s *testServer) signedInUser(t testing.TB, name, pw string) (*store.User, *browser) {
	u := s.userWithPassword(name, pw)
	b := s.browser(t)
	b.login(name, pw)
	return u, b
}

var (
	recoveryCodeRE = regexp.MustCompile(`class="recovery-code">([0-9a-f]{16})<`)
	totpSecretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
)

// totpCode is the app's code for secret at t.
func totpCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// generateRecoveryCodes generates the browser user's codes and confirms
// one; it returns the codes.
func generateRecoveryCodes(t *testing.T, b *browser) []string {
	t.Helper()
	b.get("/manage/account/recovery-codes/")
	resp, body := b.post("/manage/account/recovery-codes/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("generate recovery codes: %d\n%s", resp.StatusCode, body)
	}
	var codes []string
	for _, m := range recoveryCodeRE.FindAllStringSubmatch(body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 8 {
		t.Fatalf("%d recovery codes shown, want 8\n%s", len(codes), body)
	}
	if !strings.Contains(body, `href="data:text/plain;charset=utf-8;base64,`) {
		t.Error("no download link of the codes")
	}
	resp, body = b.post("/manage/account/recovery-codes/confirm", url.Values{"code": {"0123456789abcdef"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The recovery code is wrong") {
		t.Fatalf("confirm with a wrong code: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.post("/manage/account/recovery-codes/confirm", url.Values{"code": {codes[3]}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm recovery codes: %d\n%s", resp.StatusCode, body)
	}
	return codes
}

// enrolTOTP sets up the app for the browser's user and returns its secret.
func enrolTOTP(t *testing.T, b *browser, clk *clocktest.Clock) string {
	t.Helper()
	b.get("/manage/account/totp/")
	resp, body := b.post("/manage/account/totp/begin", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("begin totp: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("no QR code on the set-up page\n%s", body)
	}
	for _, p := range []string{"SHA1", "<td>6</td>", "30 seconds", "cheeseshop"} {
		if !strings.Contains(body, p) {
			t.Errorf("set-up page lacks %q", p)
		}
	}
	m := totpSecretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret on the set-up page\n%s", body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	// A wrong code keeps the set-up (the same secret is shown again).
	resp, body = b.post("/manage/account/totp/confirm", url.Values{"code": {wrongCode(totpCode(t, secret, clk.Now()))}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The code is wrong") {
		t.Fatalf("confirm with a wrong code: %d\n%s", resp.StatusCode, body)
	}
	if m := totpSecretRE.FindStringSubmatch(body); m == nil || strings.ReplaceAll(m[1], " ", "") != secret {
		t.Fatalf("the set-up did not survive a wrong code\n%s", body)
	}
	resp, body = b.post("/manage/account/totp/confirm", url.Values{"code": {totpCode(t, secret, clk.Now())}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm totp: %d\n%s", resp.StatusCode, body)
	}
	return secret
}

// enrolApp confirms the browser user's recovery codes, then sets up the
// app (two wrong codes on the way, one in each); it returns the codes and
// the app's secret.
func enrolApp(t *testing.T, b *browser, clk *clocktest.Clock) (codes []string, secret string) {
	t.Helper()
	codes = generateRecoveryCodes(t, b)
	return codes, enrolTOTP(t, b, clk)
}

// wrongCode is a 6-digit code that is not code (nor, almost surely, any
// code of the nearby steps).
func wrongCode(code string) string {
	b := []byte(code)
	for i := range b {
		b[i] = '0' + (b[i]-'0'+5)%10
	}
	return string(b)
}

// loginPending gives the password and returns where it was sent.
func loginPending(t *testing.T, b *browser, user, pw string) string {
	t.Helper()
	b.get("/account/login/")
	resp, body := b.post("/account/login/", url.Values{"username": {user}, "password": {pw}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// loginTOTP signs the browser in with the password and the app (and,
// when the browser is new to the user, the emailed link).
func loginTOTP(t *testing.T, b *browser, user, pw, secret string, clk *clocktest.Clock) {
	t.Helper()
	clk.Add(30 * time.Second) // a code of a new step: the last one was used
	loginPending(t, b, user, pw)
	b.get("/account/two-factor/totp/")
	resp, body := b.post("/account/two-factor/totp/", url.Values{"code": {totpCode(t, secret, clk.Now())}, "next": {"/manage/account/"}})
	if strings.HasPrefix(resp.Header.Get("Location"), "/account/new-device/") {
		confirmNewDevice(t, b, user)
	}
	if resp.StatusCode != http.StatusSeeOther || !signedIn(t, b) {
		t.Fatalf("second step of %s: %d\n%s", user, resp.StatusCode, body)
	}
}

func signedIn(t *testing.T, b *browser) bool {
	t.Helper()
	resp, _ := b.get("/manage/account/")
	return resp.StatusCode == http.StatusOK
}

func TestTOTPWeb(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		_, b := s.signedInUser(t, "alice", pw)

		// The app needs confirmed recovery codes first.
		_, body := b.get("/manage/account/totp/")
		if !strings.Contains(body, `href="/manage/account/recovery-codes/"`) || strings.Contains(body, "/manage/account/totp/begin") {
			t.Fatalf("totp page before recovery codes:\n%s", body)
		}
		if resp, body := b.post("/manage/account/totp/begin", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "recovery codes") {
			t.Fatalf("begin before recovery codes: %d\n%s", resp.StatusCode, body)
		}
		codes := generateRecoveryCodes(t, b)
		secret := enrolTOTP(t, b, clk)
		if _, body := b.get("/manage/account/totp/"); !strings.Contains(body, "/manage/account/totp/remove") {
			t.Fatalf("totp page once enabled:\n%s", body)
		}
		b.post("/account/logout/", nil)

		t.Run("login with the app", func(t *testing.T) {
			clk.Add(30 * time.Second)
			b := s.browser(t)
			loc := loginPending(t, b, "alice", pw)
			if !strings.HasPrefix(loc, "/account/two-factor/") {
				t.Fatalf("login with 2FA sent to %q", loc)
			}
			resp, _ := b.get(loc)
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/account/two-factor/totp/") {
				t.Fatalf("chooser sent to %q", loc)
			}
			if signedIn(t, b) {
				t.Fatal("a pending session reaches /manage/account/")
			}
			if resp, _ := b.get("/manage/projects/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
				t.Fatalf("a pending session on /manage/projects/: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			_, body := b.get("/account/two-factor/totp/?next=%2Fmanage%2Faccount%2F")
			if !strings.Contains(body, "Use a recovery code") {
				t.Error("the totp step does not offer recovery codes")
			}
			before := len(s.mailsTo(t, "alice@example.org"))
			resp, body = b.post("/account/two-factor/totp/", url.Values{"code": {wrongCode(totpCode(t, secret, clk.Now()))}, "next": {"/manage/account/"}})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The code is wrong") {
				t.Fatalf("wrong code: %d\n%s", resp.StatusCode, body)
			}
			mails := s.mailsTo(t, "alice@example.org")
			if len(mails) != before+1 || !strings.Contains(mails[len(mails)-1].Subject, "Failed two-factor attempt") {
				t.Fatalf("no email about the failed second step: %+v", mails)
			}
			code := totpCode(t, secret, clk.Now())
			resp, body = b.post("/account/two-factor/totp/", url.Values{"code": {code}, "next": {"/manage/account/"}})
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/new-device/?next=%2Fmanage%2Faccount%2F" {
				t.Fatalf("right code in a new browser: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			confirmNewDevice(t, b, "alice")
			if !signedIn(t, b) {
				t.Fatal("not signed in after the second step")
			}
			// The same code again, from another browser: refused.
			b2 := s.browser(t)
			loginPending(t, b2, "alice", pw)
			b2.get("/account/two-factor/totp/")
			resp, body = b2.post("/account/two-factor/totp/", url.Values{"code": {code}})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "already used") {
				t.Fatalf("replayed code: %d\n%s", resp.StatusCode, body)
			}
			if signedIn(t, b2) {
				t.Fatal("a replayed code signs in")
			}
			// Out of sync: 3 steps ahead.
			resp, body = b2.post("/account/two-factor/totp/", url.Values{"code": {totpCode(t, secret, clk.Now().Add(90*time.Second))}})
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "out of sync") {
				t.Fatalf("code 3 steps off: %d\n%s", resp.StatusCode, body)
			}
		})

		t.Run("recovery codes", func(t *testing.T) {
			clk.Add(6 * time.Minute) // past the 5-minute limit of the failures above
			for i, code := range codes {
				b := s.browser(t)
				loginPending(t, b, "alice", pw)
				b.get("/account/two-factor/recovery-code/?next=%2Fmanage%2Faccount%2F")
				resp, body := b.post("/account/two-factor/recovery-code/", url.Values{"code": {strings.ToUpper(code)}, "next": {"/manage/account/"}})
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("recovery code %d: %d\n%s", i, resp.StatusCode, body)
				}
				// A new browser: the page it waits on shows the warnings.
				loc := resp.Header.Get("Location")
				if !strings.HasPrefix(loc, "/account/new-device/") {
					t.Fatalf("recovery code %d in a new browser sent to %q", i, loc)
				}
				_, page := b.get(loc)
				confirmNewDevice(t, b, "alice")
				left := len(codes) - i - 1
				switch {
				case left == 0 && !strings.Contains(page, "You used your last recovery code"):
					t.Errorf("no warning after the last code:\n%s", page)
				case left == 2 && !strings.Contains(page, "Only 2 recovery codes are left"):
					t.Errorf("no warning with 2 codes left:\n%s", page)
				case left > 2 && strings.Contains(page, "recovery codes are left"):
					t.Errorf("a warning with %d codes left", left)
				}
				if i == 0 {
					// Each code works once.
					b := s.browser(t)
					loginPending(t, b, "alice", pw)
					b.get("/account/two-factor/recovery-code/")
					resp, body := b.post("/account/two-factor/recovery-code/", url.Values{"code": {code}})
					if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "already used") {
						t.Fatalf("a used code again: %d\n%s", resp.StatusCode, body)
					}
				}
			}
			mails := s.mailsTo(t, "alice@example.org")
			used := 0
			for _, m := range mails {
				if m.Subject == "Recovery code used" {
					used++
				}
			}
			if used != len(codes) {
				t.Errorf("%d emails about used recovery codes, want %d", used, len(codes))
			}
		})

		t.Run("regenerate and remove", func(t *testing.T) {
			clk.Add(6 * time.Minute)
			b := s.browser(t)
			loginTOTP(t, b, "alice", pw, secret, clk)
			clk.Add(11 * time.Minute) // the sign-in is no longer a recent proof
			b.get("/manage/account/recovery-codes/")
			resp, _ := b.post("/manage/account/recovery-codes/", nil)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/manage/account/reauth/") {
				t.Fatalf("regenerate without a recent proof: %d %s", resp.StatusCode, loc)
			}
			b.get(resp.Header.Get("Location"))
			resp, body := b.post("/manage/account/reauth/", url.Values{"method": {"totp"}, "code": {totpCode(t, secret, clk.Now())}, "next": {"/manage/account/recovery-codes/"}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("reauth: %d\n%s", resp.StatusCode, body)
			}
			b.get("/manage/account/recovery-codes/")
			newCodes := generateRecoveryCodes(t, b)
			// An old code (unused: the set was used up, so take a new
			// set's sibling) is refused: the old set is gone.
			b2 := s.browser(t)
			loginPending(t, b2, "alice", pw)
			b2.get("/account/two-factor/recovery-code/")
			if resp, _ := b2.post("/account/two-factor/recovery-code/", url.Values{"code": {codes[7]}}); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("an old recovery code after regeneration: %d", resp.StatusCode)
			}
			if resp, _ := b2.post("/account/two-factor/recovery-code/", url.Values{"code": {newCodes[0]}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("a new recovery code: %d", resp.StatusCode)
			}

			// Remove the app (the proof above is recent).
			b.get("/manage/account/totp/")
			resp, body = b.post("/manage/account/totp/remove", nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/manage/account/two-factor/" {
				t.Fatalf("remove totp: %d\n%s", resp.StatusCode, body)
			}
			if has, _ := s.tf.HasTwoFactor(t.Context(), mustUser(t, s, "alice")); has {
				t.Fatal("still has 2FA after removing the app")
			}

			_, hist := b.get("/manage/account/security-history/")
			hist = html.UnescapeString(hist)
			for _, want := range []string{"Two-factor method added: authenticator app", "Two-factor method removed: authenticator app",
				"Recovery codes generated", "Recovery codes confirmed as saved", "Recovery code used (0 left)",
				"Failed second step (authenticator app)", "Signed in with a password and authenticator app",
				"Signed in with a password and recovery code", "Identity confirmed again (authenticator app)"} {
				if !strings.Contains(hist, want) {
					t.Errorf("security history lacks %q", want)
				}
			}
			subjects := map[string]bool{}
			for _, m := range s.mailsTo(t, "alice@example.org") {
				subjects[m.Subject] = true
			}
			for _, want := range []string{"Two-factor method added: authenticator app", "Two-factor method removed: authenticator app",
				"Recovery codes generated", "Recovery code used", "Failed two-factor attempt on your account"} {
				if !subjects[want] {
					t.Errorf("no email %q (got %v)", want, subjects)
				}
			}
		})
	})
}

func mustUser(t *testing.T, s *testServer, name string) int64 {
	t.Helper()
	u, err := s.st.UserByUsername(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
