package web

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
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
)

// TestStaleInvitationAfterInviterLostOwner reproduces a takeover by a
// former Owner: a rogue Owner invites a puppet as Owner, is then removed
// (or demoted, or its account disabled), and the puppet accepts the
// invitation afterwards. An invitation carries the authority of its
// inviter: once the inviter is no longer an Owner of the project, it must
// not give any role.
func TestStaleInvitationAfterInviterLostOwner(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// lose takes the Owner role, or the account, from the rogue.
		lose func(t *testing.T, tm *team)
	}{
		{"removed", func(t *testing.T, tm *team) {
			resp, _ := tm.browsers["owner"].post("/manage/project/club/collaboration/remove", url.Values{"username": {"maintainer"}})
			if resp.StatusCode != http.StatusSeeOther || tm.role(t, "club", "maintainer") != "" {
				t.Fatalf("remove the rogue: %d, role %q", resp.StatusCode, tm.role(t, "club", "maintainer"))
			}
		}},
		{"demoted", func(t *testing.T, tm *team) {
			resp, _ := tm.browsers["owner"].post("/manage/project/club/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Maintainer"}})
			if resp.StatusCode != http.StatusSeeOther || tm.role(t, "club", "maintainer") != store.RoleMaintainer {
				t.Fatalf("demote the rogue: %d, role %q", resp.StatusCode, tm.role(t, "club", "maintainer"))
			}
		}},
		{"disabled", func(t *testing.T, tm *team) {
			storetest.Must(t, tm.s.st.SetUserDisabled(context.Background(), tm.users["maintainer"].ID, true))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eachTeam(t, func(t *testing.T, tm *team) {
				tm.project(t, "club")
				// The rogue ("maintainer") is made an Owner, invites its
				// puppet ("invitee") as Owner, then loses its role.
				if resp, _ := tm.browsers["owner"].post("/manage/project/club/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Owner"}}); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("promote: %d", resp.StatusCode)
				}
				rogue := tm.browsers["maintainer"]
				rogue.get("/manage/project/club/collaboration/")
				if resp, _ := rogue.post("/manage/project/club/collaboration/invite", url.Values{"username": {"invitee"}, "role": {"Owner"}}); resp.StatusCode != http.StatusSeeOther || !tm.invited(t, "club", "invitee") {
					t.Fatalf("the rogue's invitation: %d", resp.StatusCode)
				}
				c.lose(t, tm)

				puppet := tm.browsers["invitee"]
				puppet.get("/manage/projects/")
				resp, _ := puppet.post("/manage/project/club/invitation/accept", nil)
				if role := tm.role(t, "club", "invitee"); role != "" {
					t.Fatalf("the puppet accepted the invitation of a former Owner and is now %s (status %d)", role, resp.StatusCode)
				}
				if resp.StatusCode == http.StatusSeeOther {
					if _, body := puppet.get(resp.Header.Get("Location")); !strings.Contains(body, "invite you again") {
						t.Errorf("the refusal does not say what to do:\n%s", body)
					}
				}
				// A current Owner's invitation still works.
				tm.invite(t, "club", "invitee")
				puppet.get("/manage/projects/")
				if resp, _ := puppet.post("/manage/project/club/invitation/accept", nil); resp.StatusCode != http.StatusSeeOther || tm.role(t, "club", "invitee") == "" {
					t.Fatalf("a current Owner's invitation was refused: %d", resp.StatusCode)
				}
			})
		})
	}
}

// TestTwoTOTPSetUps starts setting up an authenticator app in two
// sessions of one user and confirms both at once. One app per account:
// exactly one confirmation may win, and the app that won must be the one
// the account accepts (before, the second silently replaced the first,
// whose owner believed it enabled, with two "added" events and emails).
func TestTwoTOTPSetUps(t *testing.T) {
	t.Parallel()
	const pw = "a long enough password"
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s, clk := clockServer(t, d, serverConfig{})
		_, a := s.signedInUser(t, "alice", pw)
		generateRecoveryCodes(t, a)
		b := s.browser(t)
		b.login("alice", pw)
		secrets := map[*browser]string{}
		for _, br := range []*browser{a, b} {
			br.get("/manage/account/totp/")
			resp, body := br.post("/manage/account/totp/begin", nil)
			m := totpSecretRE.FindStringSubmatch(body)
			if resp.StatusCode != http.StatusOK || m == nil {
				t.Fatalf("begin: %d\n%s", resp.StatusCode, body)
			}
			secrets[br] = strings.ReplaceAll(m[1], " ", "")
		}
		if secrets[a] == secrets[b] {
			t.Fatal("two set-ups got the same secret")
		}
		var wg sync.WaitGroup
		status := map[*browser]int{}
		var mu sync.Mutex
		for _, br := range []*browser{a, b} {
			wg.Go(func() {
				resp, _ := br.post("/manage/account/totp/confirm", url.Values{"code": {totpCode(t, secrets[br], clk.Now())}})
				mu.Lock()
				status[br] = resp.StatusCode
				mu.Unlock()
			})
		}
		wg.Wait()
		var won []*browser
		for br, code := range status {
			if code == http.StatusSeeOther {
				won = append(won, br)
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d of 2 set-ups were confirmed (statuses %v): one app per account", len(won), status)
		}
		// The winner's app is the account's.
		clk.Add(30 * time.Second)
		ctx := context.Background()
		u, err := s.st.UserByUsername(ctx, "alice")
		storetest.Must(t, err)
		if err := s.tf.VerifyTOTP(ctx, u, totpCode(t, secrets[won[0]], clk.Now()), audit.Meta{IP: "192.0.2.1"}); err != nil {
			t.Fatalf("the confirmed app does not pass the second step: %v", err)
		}
		added := 0
		evs, err := s.st.UserEvents(ctx, u.ID, 100)
		storetest.Must(t, err)
		for _, e := range evs {
			if e.Tag == audit.TwoFactorAdded {
				added++
			}
		}
		if added != 1 {
			t.Errorf("%d two-factor-added events, want 1", added)
		}
	})
}

// TestPerAddressLimitsHoldIPv6Networks rotates the client's IPv6 address
// within one /64 (a home connection gets 2^64 addresses) to beat the
// per-address limits of sign-in guesses and password-reset requests. One
// /64 is one client, as for the connection caps and download counting:
// the limits must count it whole, while the security history keeps the
// exact address.
func TestPerAddressLimitsHoldIPv6Networks(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{Options: func(o *Options) {
			o.TrustedProxies = TrustedProxies{netip.MustParsePrefix("127.0.0.0/8")}
		}})
		u := s.userWithPassword("victim", "a long enough password")
		client := "2001:db8:1:2::1"
		b := s.proxiedBrowser(t, &client)
		b.get("/account/login/")
		// Each guess from a new address of the same /64, each at
		// another account (the per-user limit stays out of it).
		limit := account.LoginLimit.Max
		for i := range limit + 1 {
			client = fmt.Sprintf("2001:db8:1:2:%x::%x", i, i+1)
			name := "nobody" + strconv.Itoa(i)
			if i == 0 {
				name = "VICTIM" // another spelling: the same account
			}
			resp, _ := b.post("/account/login/", url.Values{"username": {name}, "password": {"wrong password"}})
			want := http.StatusUnauthorized
			if i == limit {
				want = http.StatusTooManyRequests
			}
			if resp.StatusCode != want {
				t.Fatalf("guess %d from %s: %d, want %d", i, client, resp.StatusCode, want)
			}
		}
		// Another /64 is another client.
		client = "2001:db8:1:3::1"
		if resp, _ := b.post("/account/login/", url.Values{"username": {"nobody"}, "password": {"wrong password"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a guess from another /64: %d, want 401", resp.StatusCode)
		}
		// The history names the exact address.
		ev, err := s.st.UserEvents(context.Background(), u.ID, 10)
		storetest.Must(t, err)
		if len(ev) == 0 || ev[0].Tag != audit.LoginFailure || ev[0].IP != "2001:db8:1:2::1" {
			t.Errorf("the failed login was not recorded from its exact address: %+v", ev)
		}

		// Password-reset requests, the same way.
		b.get("/account/reset-password/")
		for i := range account.ResetIPLimit.Max + 1 {
			client = fmt.Sprintf("2001:db8:5:6::%x", i+1)
			resp, _ := b.post("/account/reset-password/", url.Values{"who": {"nobody" + strconv.Itoa(i)}})
			want := http.StatusOK
			if i == account.ResetIPLimit.Max {
				want = http.StatusTooManyRequests
			}
			if resp.StatusCode != want && !(want == http.StatusOK && resp.StatusCode == http.StatusSeeOther) {
				t.Fatalf("reset request %d from %s: %d, want %d", i, client, resp.StatusCode, want)
			}
		}
	})
}

// TestTokenRevocationIsEmailed: a stolen session that revokes the
// owner's API tokens (its CI's credentials) must not do so silently:
// every change to a user's tokens is emailed, revocation as creation,
// whether through the web form or the JSON API.
func TestTokenRevocationIsEmailed(t *testing.T) {
	t.Parallel()
	eachTeam(t, func(t *testing.T, tm *team) {
		ctx := context.Background()
		u := tm.users["owner"]
		ts, err := tm.s.st.UserTokens(ctx, u.ID)
		storetest.Must(t, err)
		if len(ts) != 2 {
			t.Fatalf("%d tokens, want 2", len(ts))
		}
		b := tm.browsers["owner"]
		b.get("/manage/account/tokens/")
		if resp, _ := b.post("/manage/account/tokens/"+strconv.FormatInt(ts[0].ID, 10)+"/revoke", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke through the form: %d", resp.StatusCode)
		}
		if resp, raw := b.sessionAPI("DELETE", "/api/tokens/"+strconv.FormatInt(ts[1].ID, 10), nil); resp.StatusCode/100 != 2 {
			t.Fatalf("revoke through the API: %d %s", resp.StatusCode, raw)
		}
		var revoked []string
		for _, m := range tm.s.mailsTo(t, u.Email) {
			if strings.Contains(m.Subject, "revoked") {
				revoked = append(revoked, m.Subject+"\n"+m.Text)
			}
		}
		if len(revoked) != 2 {
			t.Fatalf("%d revocation emails, want 2: %q", len(revoked), revoked)
		}
		for _, m := range revoked {
			if !strings.Contains(m, ts[0].Prefix) && !strings.Contains(m, ts[1].Prefix) {
				t.Errorf("the email does not name the token:\n%s", m)
			}
		}
	})
}
