package web

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// burstResult is one answer of a burst.
type burstResult struct {
	status int
	body   string
}

// burst posts every form to path at once, as the browser b (its cookies
// and the form token of its last page), all released together, and
// returns the answers in the order of forms. It is how an attacker beats
// a limit that is checked before the slow work and counted after it.
func (b *browser) burst(path string, forms []url.Values) []burstResult {
	b.t.Helper()
	out := make([]burstResult, len(forms))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, form := range forms {
		form.Set("csrf_token", b.csrf)
		req := b.formRequest(path, form)
		wg.Go(func() {
			<-start
			resp, err := b.client.Do(req)
			if err != nil {
				b.t.Errorf("POST %s: %v", path, err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			out[i] = burstResult{status: resp.StatusCode, body: string(body)}
		})
	}
	close(start)
	wg.Wait()
	if b.t.Failed() {
		b.t.FailNow()
	}
	return out
}

// statusCounts counts the answers of a burst by status.
func statusCounts(rs []burstResult) map[int]int {
	n := map[int]int{}
	for _, r := range rs {
		n[r.status]++
	}
	return n
}

// TestPasswordGuessBurst reproduces the attack on the login limit (10
// failures in 5 minutes per user and per IP): 100 wrong passwords sent at
// once, with the right one among them. Every form that checks a password
// must let at most 10 guesses reach argon2id, and refuse the right
// password once the limit is reached.
func TestPasswordGuessBurst(t *testing.T) {
	t.Parallel()
	const pw = "a long enough password"
	const guesses = 100
	limit := account.LoginLimit.Max
	cases := []struct {
		name string
		// signIn: the form is for a signed-in user.
		signIn bool
		path   string
		form   func(password string) url.Values
		// rightInBurst: the right password is sent inside the burst
		// (not for the forms whose success changes it).
		rightInBurst bool
	}{
		{name: "login", path: "/account/login/", rightInBurst: true,
			form: func(p string) url.Values { return url.Values{"username": {"victim"}, "password": {p}} }},
		{name: "re-authentication", signIn: true, path: "/manage/account/reauth/", rightInBurst: true,
			form: func(p string) url.Values {
				return url.Values{"method": {"password"}, "password": {p}, "next": {"/manage/account/"}}
			}},
		{name: "password change", signIn: true, path: "/manage/account/password/",
			form: func(p string) url.Values {
				return url.Values{"current_password": {p}, "password": {"another long password"}, "password_confirm": {"another long password"}}
			}},
		{name: "email change", signIn: true, path: "/manage/account/email/",
			form: func(p string) url.Values { return url.Values{"email": {"elsewhere@example.org"}, "password": {p}} }},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				s := newTestServer(t, d)
				u := s.userWithPassword("victim", pw)
				b := s.browser(t)
				page := "/account/login/"
				if c.signIn {
					b.login("victim", pw)
					page = "/manage/account/"
					if c.path == "/manage/account/reauth/" {
						page = c.path
					}
				}
				b.get(page)
				forms := make([]url.Values, 0, guesses+1)
				for i := range guesses {
					forms = append(forms, c.form("wrong guess "+strconv.Itoa(i)))
				}
				right := -1
				if c.rightInBurst {
					right = guesses / 2
					forms = append(forms[:right], append([]url.Values{c.form(pw)}, forms[right:]...)...)
				}
				before := s.hasher.Verifications()
				rs := b.burst(c.path, forms)
				checked := s.hasher.Verifications() - before
				counts := statusCounts(rs)
				rightOK := right >= 0 && rs[right].status == http.StatusSeeOther
				t.Logf("%d guesses at once: %d checked by argon2id, answers %v, the right password got %d",
					len(forms), checked, counts, func() int {
						if right < 0 {
							return 0
						}
						return rs[right].status
					}())
				wrongChecked := counts[http.StatusUnauthorized] + counts[http.StatusBadRequest]
				if wrongChecked > limit {
					t.Errorf("%d wrong passwords were answered as checked, want at most %d", wrongChecked, limit)
				}
				maxChecked := uint64(limit)
				if rightOK {
					maxChecked++ // the right password's own check, which does not count
				}
				if checked > maxChecked {
					t.Errorf("%d passwords reached argon2id, want at most %d", checked, maxChecked)
				}
				if counts[http.StatusTooManyRequests] < guesses-limit {
					t.Errorf("%d answers 429, want at least %d", counts[http.StatusTooManyRequests], guesses-limit)
				}
				if right >= 0 && !rightOK && rs[right].status != http.StatusTooManyRequests {
					t.Errorf("the right password inside the burst got %d, want 303 or 429", rs[right].status)
				}
				// The limit is reached: the right password is refused, and
				// costs nothing.
				// (A new browser for the login; the signed-in forms from
				// the same session.)
				again := b
				if !c.signIn {
					again = s.browser(t)
				}
				again.get(page)
				// When the right password was among the first checked, its
				// slot was given back: fill the limit with wrong guesses.
				for i := wrongChecked; i < limit; i++ {
					if resp, _ := again.post(c.path, c.form("another wrong guess")); resp.StatusCode == http.StatusTooManyRequests {
						t.Fatalf("wrong guess %d after the burst refused: the burst counted more than the %d it answered as checked", i+1, wrongChecked)
					}
				}
				before = s.hasher.Verifications()
				resp, body := again.post(c.path, c.form(pw))
				if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Try again in") {
					t.Fatalf("the right password after the burst: %d, want 429\n%s", resp.StatusCode, body)
				}
				if n := s.hasher.Verifications() - before; n != 0 {
					t.Errorf("a refused attempt reached argon2id %d times", n)
				}
				if c.name == "login" && !rightOK && b.cookie("session") != "" {
					t.Error("a session was started")
				}
				if n := countEvents(t, s.st, u.ID, audit.LoginFailure); n > limit {
					t.Errorf("%d failed logins recorded, want at most %d", n, limit)
				}
			})
		}
	})
}

// TestSecondStepGuessBurst reproduces the attack on the limits of the
// second step (5 failures in 5 minutes per user) with a stolen password:
// 100 wrong codes sent at once on one pending session. At most 5 may be
// checked, the right code is refused afterwards, and a recovery-code
// check must not cost an argon2id verification each (they starved every
// sign-in). (A right code inside the burst would end it: the pending
// session is replaced at once, and the other requests refused.)
func TestSecondStepGuessBurst(t *testing.T) {
	t.Parallel()
	const pw = "a long enough password"
	const guesses = 100
	limit := twofactor.UserLimits[0].Max
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, method := range []string{"totp", "recovery-code"} {
			t.Run(method, func(t *testing.T) {
				t.Parallel()
				s, clk := clockServer(t, d, serverConfig{})
				u, b := s.signedInUser(t, "alice", pw)
				codes, secret := enrolApp(t, b, clk)
				b.post("/account/logout/", nil)
				clk.Add(5*time.Minute + time.Second) // the set-up's failures leave the window
				failedBefore := countEvents(t, s.st, u.ID, audit.TwoFactorFailure)

				path := "/account/two-factor/" + method + "/"
				var right string
				wrong := func(int) string { return wrongCode(totpCode(t, secret, clk.Now())) }
				if method == "totp" {
					right = totpCode(t, secret, clk.Now())
				} else {
					right = codes[0]
					wrong = func(int) string {
						b := make([]byte, 8)
						rand.Read(b)
						return hex.EncodeToString(b)
					}
				}
				loginPending(t, b, "alice", pw)
				b.get(path)
				forms := make([]url.Values, 0, guesses+1)
				for i := range guesses {
					forms = append(forms, url.Values{"code": {wrong(i)}})
				}
				before := s.hasher.Verifications()
				rs := b.burst(path, forms)
				hashed := s.hasher.Verifications() - before
				counts := statusCounts(rs)
				failed := countEvents(t, s.st, u.ID, audit.TwoFactorFailure) - failedBefore
				t.Logf("%d codes at once: %d failures checked, %d argon2id verifications, answers %v",
					len(forms), failed, hashed, counts)
				if failed > limit {
					t.Errorf("%d wrong codes were checked, want at most %d", failed, limit)
				}
				if hashed > uint64(limit) {
					t.Errorf("the codes cost %d argon2id verifications on the shared hasher, want at most one per checked code (%d)", hashed, limit)
				}
				if counts[http.StatusTooManyRequests] < guesses-limit {
					t.Errorf("%d answers 429, want at least %d", counts[http.StatusTooManyRequests], guesses-limit)
				}
				// The limit is reached: the right code, on a new pending
				// session, is refused.
				b2 := s.browser(t)
				loginPending(t, b2, "alice", pw)
				b2.get(path)
				resp, body := b2.post(path, url.Values{"code": {right}})
				if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed two-factor attempts") {
					t.Fatalf("the right code after the burst: %d, want 429\n%s", resp.StatusCode, body)
				}
			})
		}
	})
}
