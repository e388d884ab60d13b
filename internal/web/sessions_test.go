package web

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// The sessions page (issue 19): every session of the user, one signed
// out at a time, the security keys' last use.

const (
	firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	androidUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)

// headerTransport sends its headers with every request of a browser.
type headerTransport struct {
	headers map[string]string
	next    http.RoundTripper
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range h.headers {
		req.Header.Set(k, v)
	}
	return h.next.RoundTrip(req)
}

// device is a new browser that sends the User-Agent ua from the address
// ip (through the trusted proxy, see proxiedServer).
func (s *testServer) device(t *testing.T, ua, ip string) *browser {
	b := s.browser(t)
	b.client.Transport = headerTransport{headers: map[string]string{"User-Agent": ua, "X-Forwarded-For": ip}, next: http.DefaultTransport}
	return b
}

// proxiedServer is a clocked test server behind a trusted proxy (every
// test client is 127.0.0.1), so that each browser may name its address.
func proxiedServer(t *testing.T, d store.Dialect, cfg serverConfig) (*testServer, *clocktest.Clock) {
	cfg.Options = func(o *Options) { o.TrustedProxies = TrustedProxies{netip.MustParsePrefix("127.0.0.0/8")} }
	return clockServer(t, d, cfg)
}

var sessionRowRE = regexp.MustCompile(`<tr data-session="([0-9a-f]+)">`)

// sessionIDs returns the ids of the rows of a sessions page, in order.
func sessionIDs(body string) []string {
	var ids []string
	for _, m := range sessionRowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// sessionIDOf is the public id of a browser's session.
func (s *testServer) sessionIDOf(b *browser) string {
	return s.acct.SessionID(auth.HashToken(b.cookie(cookieSession)))
}

func TestSessionsPage(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, _ := proxiedServer(t, d, serverConfig{})
		ctx := context.Background()
		const pw = "a long enough password"
		u := s.userWithPassword("olga", pw)
		laptop := s.device(t, firefoxUA, "198.51.100.7")
		laptop.login("olga", pw)
		phone := s.device(t, androidUA, "203.0.113.42")
		phone.login("olga", pw)

		resp, body := laptop.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "Firefox 133 on Linux", "Chrome 131 on Android",
			"198.51.100.7", "203.0.113.42", `title="`+firefoxUA+`"`, "this browser", "password", "Sign out everywhere else")
		ids := sessionIDs(body)
		mine, theirs := s.sessionIDOf(laptop), s.sessionIDOf(phone)
		if len(ids) != 2 || !strings.Contains(ids[0]+ids[1], mine) || !strings.Contains(ids[0]+ids[1], theirs) {
			t.Fatalf("rows %v, want %s and %s", ids, mine, theirs)
		}
		if strings.Count(body, "this browser") != 1 || strings.Index(body, "this browser") < strings.Index(body, mine) {
			t.Fatal("the current session is not the one marked")
		}
		for _, h := range []string{"session", laptop.cookie(cookieSession), auth.HashToken(laptop.cookie(cookieSession)),
			auth.HashToken(phone.cookie(cookieSession))} {
			if h != "session" && strings.Contains(body, h) {
				t.Fatal("the page shows a session's cookie or lookup key")
			}
		}

		// A forged form token is refused, and the session lives on.
		resp, body = laptop.post(sessionsURL+theirs+"/logout", url.Values{"csrf_token": {strings.Repeat("0", 64)}})
		wantStatus(t, "forged form token", resp, body, http.StatusForbidden)
		resp, body = laptop.post(sessionsURL+theirs+"/logout", url.Values{"csrf_token": {""}})
		wantStatus(t, "no form token", resp, body, http.StatusForbidden)
		if !phone.signedIn() {
			t.Fatal("a refused sign-out ended the session")
		}

		// Another user's session is not found, and untouched.
		s.userWithPassword("peggy", pw)
		other := s.device(t, firefoxUA, "192.0.2.1")
		other.login("peggy", pw)
		laptop.get(sessionsURL)
		for _, id := range []string{s.sessionIDOf(other), auth.HashToken(other.cookie(cookieSession)), "nonsense", strings.Repeat("a", 32)} {
			resp, body = laptop.post(sessionsURL+id+"/logout", nil)
			wantStatus(t, "another user's session "+id, resp, body, http.StatusNotFound)
		}
		if !other.signedIn() {
			t.Fatal("another user's session was ended")
		}
		// Nor can its lookup key name one of one's own.
		resp, body = laptop.post(sessionsURL+auth.HashToken(phone.cookie(cookieSession))+"/logout", nil)
		wantStatus(t, "a lookup key as the id", resp, body, http.StatusNotFound)

		// Sign out the phone from the laptop.
		laptop.get(sessionsURL)
		resp, body = laptop.post(sessionsURL+theirs+"/logout", nil)
		wantStatus(t, "sign out the phone", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != sessionsURL {
			t.Fatalf("signing out another session led to %q", loc)
		}
		if phone.signedIn() {
			t.Fatal("the phone is still signed in")
		}
		resp, body = laptop.get(sessionsURL)
		wantStatus(t, "after the sign-out", resp, body, http.StatusOK, "That session is signed out", "Firefox 133 on Linux")
		if ids := sessionIDs(body); len(ids) != 1 || ids[0] != mine || strings.Contains(body, "Android") {
			t.Fatalf("after the sign-out the page lists %v:\n%s", ids, body)
		}
		ev, err := s.st.UserEvents(ctx, u.ID, 100)
		storetest.Must(t, err)
		var revoked *store.Event
		for _, e := range ev {
			if e.Tag == audit.SessionRevoked {
				revoked = e
			}
		}
		if revoked == nil || revoked.IP != "198.51.100.7" || !strings.Contains(revoked.Details, "203.0.113.42") ||
			!strings.Contains(revoked.Details, "Android") || revoked.ActorID != u.ID {
			t.Fatalf("revocation event: %+v", revoked)
		}
		_, body = laptop.get("/manage/account/security-history/")
		if !strings.Contains(body, "Signed out another session: Chrome 131 on Android, from 203.0.113.42") {
			t.Fatalf("the security history does not tell the sign-out:\n%s", body)
		}
		// An ended session is not found again.
		resp, body = laptop.post(sessionsURL+theirs+"/logout", nil)
		wantStatus(t, "sign out an ended session", resp, body, http.StatusNotFound)

		// Signing out the current session signs out.
		laptop.get(sessionsURL)
		resp, body = laptop.post(sessionsURL+mine+"/logout", nil)
		wantStatus(t, "sign out this browser", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != "/" || laptop.signedIn() {
			t.Fatalf("signing out this browser led to %q, signed in: %v", loc, laptop.signedIn())
		}
		if !hasEvent(t, s.st, u.ID, audit.Logout) {
			t.Fatal("no logout event")
		}
		resp, _ = laptop.get(sessionsURL)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
			t.Fatalf("anonymous sessions page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestSessionsPageOrderAndPending: the latest activity first; a session
// waiting for a second factor, or for a device confirmation, is shown
// with a warning, and can be signed out.
func TestSessionsPageOrderAndPending(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clock := proxiedServer(t, d, serverConfig{BaseHost: "localhost"})
		ctx := context.Background()
		u, first := s.keyUser(t, "quentin")
		clock.Add(2 * time.Minute)
		second := s.browser(t)
		second.login("quentin", "correct horse battery staple")
		// The first browser comes back later: it is the latest activity.
		clock.Add(2 * time.Minute)
		resp, body := first.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK)
		if ids := sessionIDs(body); len(ids) != 2 || ids[0] != s.sessionIDOf(first) || ids[1] != s.sessionIDOf(second) {
			t.Fatalf("rows %v, want the latest activity first", ids)
		}

		// With a key, a password sign-in waits for the second factor.
		rp, a := s.rpOf(), virtualwebauthn.NewAuthenticator()
		first.register(rp, &a, newEC2Key(), "Blue key", http.StatusOK)
		thief := s.device(t, androidUA, "203.0.113.9")
		thief.get("/account/login/")
		resp, body = thief.post("/account/login/", url.Values{"username": {"quentin"}, "password": {"correct horse battery staple"}})
		wantStatus(t, "password step", resp, body, http.StatusSeeOther)
		// A session confirmed by the second factor, waiting for the link
		// emailed about a new device.
		now := clock.Now()
		storetest.Must(t, s.st.CreateSession(ctx, &store.Session{IDHash: auth.HashToken("confirming"), UserID: u.ID,
			State: store.SessionPending, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(5 * time.Minute), AuthenticatedAt: now,
			IP: "192.0.2.55", UserAgent: firefoxUA, AuthMethod: "totp", Awaiting: store.AwaitingDevice}))

		resp, body = first.get(sessionsURL)
		wantStatus(t, "sessions page with pending ones", resp, body, http.StatusOK, "waiting for a second factor",
			"waiting for the emailed device confirmation", "203.0.113.9", "192.0.2.55", "someone knows your password:",
			"do not open the emailed link", `href="/manage/account/#password"`)
		if n := len(sessionIDs(body)); n != 4 {
			t.Fatalf("%d rows, want 4", n)
		}
		pending := s.sessionIDOf(thief)
		resp, body = first.post(sessionsURL+pending+"/logout", nil)
		wantStatus(t, "sign out the pending session", resp, body, http.StatusSeeOther)
		if _, err := s.st.SessionByHash(ctx, auth.HashToken(thief.cookie(cookieSession))); err == nil {
			t.Fatal("the pending session lives on")
		}
		// An expired pending session is not listed.
		clock.Add(6 * time.Minute)
		_, body = first.get(sessionsURL)
		if strings.Contains(body, "waiting for") || len(sessionIDs(body)) != 2 {
			t.Fatalf("expired pending sessions listed:\n%s", body)
		}
	})
}

// TestSessionsPageKeys: the page shows each security key's last use, and
// how each session signed in.
func TestSessionsPageKeys(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, _ := keyServer(t, d, false)
		ctx := context.Background()
		u, b := s.keyUser(t, "rupert")
		rp, a := s.rpOf(), virtualwebauthn.NewAuthenticator()
		cred := newEC2Key()
		cred.Counter = 1
		b.register(rp, &a, cred, "Red <key>", http.StatusOK)
		resp, body := b.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "Security keys and passkeys", "Red &lt;key&gt;", "security key",
			"never", `href="/manage/account/webauthn/"`)
		if strings.Contains(body, "/manage/account/tokens/\">See") {
			t.Fatal("the page links tokens the user does not have")
		}

		cred.Counter++
		lb := s.passwordStep(t, "rupert")
		if status, _, body := lb.keyLogin(rp, a, cred); status != http.StatusOK {
			t.Fatalf("key sign-in: %d %s", status, body)
		}
		keys, err := s.st.SecurityKeys(ctx, u.ID)
		storetest.Must(t, err)
		resp, body = lb.get(sessionsURL)
		wantStatus(t, "sessions page after a key sign-in", resp, body, http.StatusOK, "password and security key",
			keys[0].LastUsedAt.UTC().Format("2006-01-02 15:04 UTC"))
		row := body[strings.Index(body, `data-key="Red &lt;key&gt;"`):]
		row = row[:strings.Index(row, "</tr>")]
		if strings.Contains(row, "never") {
			t.Fatalf("the key's row says never:\n%s", row)
		}
		// A passkey, synced.
		storetest.Must(t, s.st.AddSecurityKey(ctx, &store.SecurityKey{UserID: u.ID, Label: "Phone", CredentialID: "cred-2",
			PublicKey: "pk-2", Credential: "{}", CreatedAt: time.Now(), Discoverable: true, UserVerified: true, BackupEligible: true, BackupState: true}))
		_, body = lb.get(sessionsURL)
		if !strings.Contains(body, "passkey (synced)") {
			t.Fatalf("the synced passkey is not told:\n%s", body)
		}

		// API tokens: their latest use, and a link.
		s.token(u)
		_, body = lb.get(sessionsURL)
		if !strings.Contains(body, "You have 1 API token;") || !strings.Contains(body, "none was used yet") ||
			!strings.Contains(body, `href="/manage/account/tokens/"`) {
			t.Fatalf("the tokens are not told:\n%s", body)
		}
		tokens, err := s.st.UserTokens(ctx, u.ID)
		storetest.Must(t, err)
		used := time.Date(2029, 12, 24, 18, 30, 0, 0, time.UTC)
		storetest.Must(t, s.st.TouchToken(ctx, tokens[0].ID, used))
		_, body = lb.get(sessionsURL)
		if !strings.Contains(body, "the last use was on <time datetime=\"2029-12-24T18:30:00Z\">2029-12-24 18:30 UTC</time>") {
			t.Fatalf("the tokens' last use is not told:\n%s", body)
		}
	})
}

// TestSessionsPageHostileAgent: a User-Agent with markup, control
// characters and 10 kB is shown escaped, cleaned and bounded. HTTP
// clients and servers refuse most control characters in a header (Go's
// do), so those come in a session written to the database.
func TestSessionsPageHostileAgent(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clock := proxiedServer(t, d, serverConfig{})
		ctx := context.Background()
		const pw = "a long enough password"
		u := s.userWithPassword("sybil", pw)
		me := s.browser(t)
		me.login("sybil", pw)
		const markup = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
		hostile := markup + "\t\u202e\u200b\xff\xfe" + strings.Repeat("A", 10<<10)
		evil := s.device(t, hostile, "203.0.113.66")
		evil.login("sybil", pw)
		now := clock.Now()
		storetest.Must(t, s.st.CreateSession(ctx, &store.Session{IDHash: auth.HashToken("control"), UserID: u.ID,
			State: store.SessionActive, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthenticatedAt: now,
			IP: "192.0.2.1\r\n<b>", UserAgent: markup + "\x01\x1b[31m\x7f\u0085" + strings.Repeat("B", 500), AuthMethod: "password"}))
		resp, body := me.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "&lt;script&gt;", "203.0.113.66", "192.0.2.1&lt;b&gt;")
		for _, bad := range []string{"<script>", "<img src=x", "<b>", "onerror=alert(2)>", "\x01", "\x1b", "\x7f", "\u0085", "\r\n<b>",
			"\u202e", "\u200b", "\xff", "\t\u202e", strings.Repeat("A", 300), strings.Repeat("B", 300)} {
			if strings.Contains(body, bad) {
				t.Fatalf("the page holds %q", bad)
			}
		}
		if !utf8.ValidString(body) {
			t.Fatal("the page is not valid UTF-8")
		}
		rows := sessionIDs(body)
		if len(rows) != 3 {
			t.Fatalf("rows %v", rows)
		}
		// The device summary is short; the raw agent in its title is cut.
		for _, m := range regexp.MustCompile(`<span title="([^"]*)">([^<]*)</span>`).FindAllStringSubmatch(body, -1) {
			if len(m[1]) > 512 || len(m[2]) > 64 {
				t.Fatalf("unbounded agent: title %d bytes, summary %q", len(m[1]), m[2])
			}
		}
		// The same for the security history, where the sign-out of that
		// session is told with its agent.
		resp, body = me.post(sessionsURL+s.sessionIDOf(evil)+"/logout", nil)
		wantStatus(t, "sign out the hostile session", resp, body, http.StatusSeeOther)
		resp, body = me.get("/manage/account/security-history/")
		wantStatus(t, "security history", resp, body, http.StatusOK, "Signed out another session: scriptalert, from 203.0.113.66")
		for _, bad := range []string{"<script>", "<img src=x", "\u202e", "\xff", strings.Repeat("A", 300)} {
			if strings.Contains(body, bad) {
				t.Fatalf("the security history holds %q", bad)
			}
		}
	})
}

// TestSessionsPageWithoutSecondFactor: while --require-2fa stops a user
// without a second factor everywhere but its set-up, the sessions page
// stays open: signing out a session that is not one's own must not wait.
func TestSessionsPageWithoutSecondFactor(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{Require2FA: true})
		const pw = "a long enough password"
		s.userWithPassword("trent", pw)
		me, other := s.browser(t), s.browser(t)
		me.login("trent", pw)
		other.login("trent", pw)
		resp, body := me.get("/manage/projects/")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/manage/account/two-factor/" {
			t.Fatalf("the 2FA requirement does not apply: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		resp, body = me.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "this browser")
		resp, body = me.post(sessionsURL+s.sessionIDOf(other)+"/logout", nil)
		wantStatus(t, "sign out the other", resp, body, http.StatusSeeOther)
		if other.signedIn() {
			t.Fatal("the other session lives on")
		}
	})
}

// TestSessionsPageBounded: the page lists at most maxSessionRows
// sessions, the current one always, and says how many more there are.
func TestSessionsPageBounded(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clock := proxiedServer(t, d, serverConfig{})
		ctx := context.Background()
		const pw = "a long enough password"
		u := s.userWithPassword("uma", pw)
		me := s.browser(t)
		me.login("uma", pw)
		// Newer activity than this browser's, every one of them.
		clock.Add(time.Minute)
		for i := range maxSessionRows + 3 {
			now := clock.Now().Add(time.Duration(i) * time.Second)
			storetest.Must(t, s.st.CreateSession(ctx, &store.Session{IDHash: auth.HashToken("flood" + itoa(int64(i))), UserID: u.ID,
				State: store.SessionPending, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(5 * time.Minute), AuthenticatedAt: now,
				IP: "203.0.113.99", UserAgent: "curl/8.5.0"}))
		}
		resp, body := me.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "this browser", "3 more sessions are not listed")
		if ids := sessionIDs(body); len(ids) != maxSessionRows+1 || ids[len(ids)-1] != s.sessionIDOf(me) {
			t.Fatalf("%d rows, the last %s; want %d, the last this browser's", len(ids), ids[len(ids)-1], maxSessionRows+1)
		}
	})
}
