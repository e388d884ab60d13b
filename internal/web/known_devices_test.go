package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// The known devices on the sessions page (issue 19): the browsers that
// skip the emailed confirmation, forgotten one by one or all.

const devicesURL = sessionsURL + "devices/"

var deviceRowRE = regexp.MustCompile(`<tr data-device="([0-9a-f]+)">\s*<td>(.*?)</td>`)

// knownDeviceRows returns the ids of the known devices a sessions page
// lists, in order, and the id of the one marked "this browser" ("" for
// none).
func knownDeviceRows(body string) (ids []string, current string) {
	for _, m := range deviceRowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
		if strings.Contains(m[2], "this browser") {
			current = m[1]
		}
	}
	return ids, current
}

// deviceCookieSet returns the device cookie set by resp, or nil.
func deviceCookieSet(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == cookieDevice {
			return c
		}
	}
	return nil
}

// TestKnownDevicesWeb lists the known devices on the sessions page, this
// browser marked; refuses a forged form token and another user's id;
// forgets one (its session lives on, its next app sign-in waits for the
// link again) and then all.
func TestKnownDevicesWeb(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := proxiedServer(t, d, serverConfig{})
		alice, home := s.signedInUser(t, "alice", pw)
		_, secret := enrolApp(t, home, clk) // home is known: it set the app up
		laptop := s.device(t, firefoxUA, "198.51.100.7")
		wantWaits(t, "the app in the laptop", appStep(t, laptop, "alice", pw, secret, clk), true)
		confirmNewDevice(t, laptop, "alice")

		resp, body := laptop.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "Browsers that skip the emailed confirmation",
			"Firefox 133 on Linux", "198.51.100.7", "Forget all", "Forgetting does not sign it out")
		ids, mine := knownDeviceRows(body)
		if len(ids) != 2 || mine != ids[0] {
			t.Fatalf("known devices %v, this browser %q: want the laptop first and marked", ids, mine)
		}
		homeID := ids[1]
		for _, secret := range []string{laptop.cookie(cookieDevice), s.acct.DeviceID(laptop.cookie(cookieDevice))} {
			if strings.Contains(body, secret) {
				t.Fatal("the page shows a device cookie or id")
			}
		}

		// A forged form token is refused: nothing is forgotten.
		for _, token := range []string{strings.Repeat("0", 64), ""} {
			resp, body = laptop.post(devicesURL+homeID+"/forget", url.Values{"csrf_token": {token}})
			wantStatus(t, "forged form token", resp, body, http.StatusForbidden)
			resp, body = laptop.post(devicesURL+"forget-all/", url.Values{"csrf_token": {token}})
			wantStatus(t, "forged form token, all", resp, body, http.StatusForbidden)
		}
		if _, body = laptop.get(sessionsURL); len(deviceRowRE.FindAllString(body, -1)) != 2 {
			t.Fatal("a refused form forgot a browser")
		}

		// Another user's device is not found, and stays known.
		_, bobs := s.signedInUser(t, "bob", pw)
		enrolApp(t, bobs, clk)
		_, body = bobs.get(sessionsURL)
		bobIDs, _ := knownDeviceRows(body)
		if len(bobIDs) != 1 {
			t.Fatalf("bob's known devices: %v", bobIDs)
		}
		laptop.get(sessionsURL)
		for _, id := range []string{bobIDs[0], "nonsense", strings.Repeat("a", 32)} {
			resp, body = laptop.post(devicesURL+id+"/forget", nil)
			wantStatus(t, "another user's device "+id, resp, body, http.StatusNotFound)
		}
		if _, body = bobs.get(sessionsURL); !strings.Contains(body, bobIDs[0]) {
			t.Fatal("bob's browser was forgotten by alice")
		}

		// Forget home: it stays signed in, and is asked again.
		laptop.get(sessionsURL)
		resp, body = laptop.post(devicesURL+homeID+"/forget", nil)
		wantStatus(t, "forget home", resp, body, http.StatusSeeOther)
		if loc := resp.Header.Get("Location"); loc != sessionsURL+"#known-devices" {
			t.Fatalf("forgetting led to %q", loc)
		}
		resp, body = laptop.get(sessionsURL)
		wantStatus(t, "after forgetting", resp, body, http.StatusOK, "That browser is forgotten", "It was not signed out")
		if ids, mine := knownDeviceRows(body); len(ids) != 1 || ids[0] != mine {
			t.Fatalf("after forgetting home: %v (this browser %q)", ids, mine)
		}
		if !home.signedIn() {
			t.Fatal("forgetting home signed it out")
		}
		if !hasEvent(t, s.st, alice.ID, audit.DeviceForgotten) {
			t.Fatal("no event of the forgotten browser")
		}
		_, body = laptop.get("/manage/account/security-history/")
		if !strings.Contains(body, "Browser forgotten: ") {
			t.Fatal("the security history does not tell the forgotten browser")
		}
		resp, body = laptop.post(devicesURL+homeID+"/forget", nil)
		wantStatus(t, "forget twice", resp, body, http.StatusNotFound)
		home.post("/account/logout/", nil)
		wantWaits(t, "the app in the forgotten home", appStep(t, home, "alice", pw, secret, clk), true)

		// Forget all: this browser too, which stays signed in.
		laptop.get(sessionsURL)
		resp, body = laptop.post(devicesURL+"forget-all/", nil)
		wantStatus(t, "forget all", resp, body, http.StatusSeeOther)
		resp, body = laptop.get(sessionsURL)
		wantStatus(t, "after forgetting all", resp, body, http.StatusOK, "1 browser forgotten", "No browser skips it")
		if !laptop.signedIn() || !hasEvent(t, s.st, alice.ID, audit.DevicesForgotten) {
			t.Fatal("forgetting all signed this browser out, or left no event")
		}
		laptop.post("/account/logout/", nil)
		wantWaits(t, "the app in the laptop after forgetting all", appStep(t, laptop, "alice", pw, secret, clk), true)
	})
}

// TestKnownDevicesForgottenAtPasswordChange checks that a password change
// from the account page forgets every browser, the one that changed it
// included: its next app sign-in waits for the link.
func TestKnownDevicesForgottenAtPasswordChange(t *testing.T) {
	const pw, newPW = "a long enough password", "a brand new password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		_, home := s.signedInUser(t, "alice", pw)
		_, secret := enrolApp(t, home, clk)
		home.post("/account/logout/", nil)
		wantWaits(t, "the app at home", appStep(t, home, "alice", pw, secret, clk), false)
		home.get("/manage/account/")
		resp, body := home.post("/manage/account/password/", url.Values{"current_password": {pw},
			"password": {newPW}, "password_confirm": {newPW}})
		wantStatus(t, "change password", resp, body, http.StatusSeeOther)
		_, body = home.get(sessionsURL)
		if ids, _ := knownDeviceRows(body); len(ids) != 0 {
			t.Fatalf("known devices after the password change: %v", ids)
		}
		home.post("/account/logout/", nil)
		wantWaits(t, "the app at home after the password change", appStep(t, home, "alice", newPW, secret, clk), true)
	})
}

// TestDeviceCookieRenewal checks that a known browser's sign-in sets its
// device cookie again for a year when a day has passed since the last
// record of it, and not more often.
func TestDeviceCookieRenewal(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		_, home := s.signedInUser(t, "alice", pw)
		_, secret := enrolApp(t, home, clk)
		value := home.cookie(cookieDevice)
		home.post("/account/logout/", nil)
		resp := appStep(t, home, "alice", pw, secret, clk)
		wantWaits(t, "the app at home", resp, false)
		if c := deviceCookieSet(resp); c != nil {
			t.Fatalf("the device cookie was renewed within a day of its record: %+v", c)
		}
		clk.Add(25 * time.Hour)
		home.post("/account/logout/", nil)
		resp = appStep(t, home, "alice", pw, secret, clk)
		wantWaits(t, "the app at home a day later", resp, false)
		c := deviceCookieSet(resp)
		if c == nil || c.Value != value || c.MaxAge != deviceCookieAge || !c.HttpOnly {
			t.Fatalf("the device cookie a day later: %+v, want %q renewed for a year", c, value)
		}
		home.post("/account/logout/", nil)
		if c := deviceCookieSet(appStep(t, home, "alice", pw, secret, clk)); c != nil {
			t.Fatalf("the device cookie was renewed twice in a day: %+v", c)
		}
	})
}

// TestKnownDevicesBoundedAndOff checks that the page lists at most
// maxDeviceRows browsers (and always this one), says how many it left
// out, and shows no section when new browsers are not confirmed.
func TestKnownDevicesBoundedAndOff(t *testing.T) {
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		ctx := t.Context()
		u := s.userWithPassword("uma", pw)
		me := s.browser(t)
		me.login("uma", pw)
		value := s.acct.NewDeviceCookie()
		setCookie(me, cookieDevice, value)
		_, err := s.acct.RememberDevice(ctx, u.ID, s.acct.DeviceID(value), audit.Meta{IP: "192.0.2.1"})
		storetest.Must(t, err)
		// Newer than this browser, every one of them.
		clk.Add(time.Minute)
		for i := range maxDeviceRows + 2 {
			_, err := s.st.RememberDevice(ctx, &store.KnownDevice{UserID: u.ID, DeviceHash: "flood" + itoa(int64(i)),
				IP: "203.0.113.99", UserAgent: "curl/8.5.0", LastSeenAt: clk.Now().Add(time.Duration(i) * time.Second)}, clk.Now())
			storetest.Must(t, err)
		}
		resp, body := me.get(sessionsURL)
		wantStatus(t, "sessions page", resp, body, http.StatusOK, "2 more browsers are not listed")
		if ids, mine := knownDeviceRows(body); len(ids) != maxDeviceRows+1 || mine != ids[len(ids)-1] {
			t.Fatalf("%d rows, this browser %q; want %d, the last this browser", len(ids), mine, maxDeviceRows+1)
		}

		off := newTestServerWith(t, d, serverConfig{NoNewDeviceConfirmation: true})
		off.userWithPassword("uma", pw)
		b := off.browser(t)
		b.login("uma", pw)
		resp, body = b.get(sessionsURL)
		wantStatus(t, "sessions page, confirmation off", resp, body, http.StatusOK)
		if strings.Contains(body, "known-devices") {
			t.Fatal("the known browsers are shown with the confirmation off")
		}
	})
}
