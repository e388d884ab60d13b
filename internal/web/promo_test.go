package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/promo"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

var promoCodeRE = regexp.MustCompile(`<p class="secret promo-code">([^<]*)</p>`)

func TestGiveawayPages(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		c := newMandateCast(t, d, 0, "critpkg", "plainpkg")
		s, clk := c.s, c.clk
		ctx := context.Background()
		c.critical(t, "critpkg", clk.Now().Add(-time.Hour))
		res, err := s.srv.opts.Promo.Import(ctx, strings.NewReader("code,batch\nKEY-AAAA,1\nKEY-BBBB,1\nKEY-AAAA,2\n"))
		storetest.Must(t, err)
		if res.Imported != 2 || res.Duplicates != 1 {
			t.Fatalf("import %+v", res)
		}
		const page = "/manage/account/security-keys-giveaway/"

		// Not signed in: to the login page.
		resp, _ := s.browser(t).get(page)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/account/login/") {
			t.Fatalf("visitor: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}

		// A user without a critical project is told why, and what else it can do.
		outsider := s.userWithPassword("outsider", mandatePassword)
		ob := signIn(t, s, outsider, clk.Now())
		body := getOK(t, ob, page)
		text := pageText(body)
		for _, want := range []string{"for the owners and maintainers of critical projects", "Buy any FIDO2 security key", "authenticator app"} {
			if !strings.Contains(text, want) {
				t.Errorf("outsider's page lacks %q: %s", want, text)
			}
		}
		if !strings.Contains(body, `href="/manage/account/two-factor/"`) || strings.Contains(body, `name="country"`) {
			t.Errorf("outsider: a claim form, or no link to two-factor set-up\n%s", body)
		}
		if resp, body := ob.post(page, url.Values{"country": {"France"}}); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "critical projects") {
			t.Errorf("outsider's claim: %d\n%s", resp.StatusCode, body)
		}

		// The Maintainer of a critical project is offered two keys and asked its country.
		mb := signIn(t, s, c.mt, clk.Now())
		body = getOK(t, mb, page)
		text = pageText(body)
		for _, want := range []string{"You maintain a critical project (critpkg)", "2 free security keys", "Shipping country"} {
			if !strings.Contains(text, want) {
				t.Errorf("maintainer's page lacks %q: %s", want, text)
			}
		}
		for _, want := range []string{`<option value="United Kingdom">United Kingdom</option>`, `<option value="other"`, `name="csrf_token"`} {
			if !strings.Contains(body, want) {
				t.Errorf("maintainer's form lacks %s", want)
			}
		}
		// Another country: refused, with the other ways.
		resp, body = mb.post(page, url.Values{"country": {"other"}})
		if text := pageText(body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "can only be shipped to Austria") ||
			!strings.Contains(text, "Buy any FIDO2 security key") || !strings.Contains(body, `<option value="other" selected>`) {
			t.Errorf("claim for another country: %d %s", resp.StatusCode, text)
		}
		// Without the form token: refused.
		req, _ := http.NewRequest(http.MethodPost, s.URL+page, strings.NewReader(url.Values{"country": {"France"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, _ := mb.do(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("claim without a form token: %d", resp.StatusCode)
		}
		if _, err := s.st.PromoCodeOf(ctx, c.mt.ID); err == nil {
			t.Fatal("a code assigned by a refused claim")
		}

		resp, _ = mb.post(page, url.Values{"country": {"Germany"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page {
			t.Fatalf("claim: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		body = getOK(t, mb, page)
		m := promoCodeRE.FindStringSubmatch(body)
		if m == nil || (m[1] != "KEY-AAAA" && m[1] != "KEY-BBBB") {
			t.Fatalf("no code after the claim\n%s", body)
		}
		mtCode := m[1]
		text = pageText(body)
		for _, want := range []string{"Your code is ready", "good for 2 security keys shipped to Germany", "How to redeem it"} {
			if !strings.Contains(text, want) {
				t.Errorf("claimed page lacks %q: %s", want, text)
			}
		}
		if !hasEvent(t, s.st, c.mt.ID, audit.PromoClaimed) {
			t.Error("no claim event")
		}
		if hist := pageText(getOK(t, mb, "/manage/account/security-history/")); !strings.Contains(hist, "code claimed for shipping to Germany") {
			t.Errorf("security history: %s", hist)
		}
		if resp, _ := mb.post(page, url.Values{"country": {"France"}}); resp.StatusCode != http.StatusConflict {
			t.Errorf("second claim: %d, want 409", resp.StatusCode)
		}
		if msgs := s.mailsTo(t, c.mt.Email); len(msgs) == 0 || strings.Contains(msgs[len(msgs)-1].Text, mtCode) {
			t.Errorf("claim email: none, or with the code in it: %+v", msgs)
		}

		// The Owner takes the last code; nobody sees another's code.
		ob2 := signIn(t, s, c.owner, clk.Now())
		getOK(t, ob2, page)
		if resp, body := ob2.post(page, url.Values{"country": {"Japan"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("owner's claim: %d %s", resp.StatusCode, pageText(body))
		}
		body = getOK(t, ob2, page)
		if m := promoCodeRE.FindStringSubmatch(body); m == nil || m[1] == mtCode || strings.Contains(body, mtCode) {
			t.Errorf("owner's page: %v", m)
		}
		if strings.Contains(getOK(t, ob, page), "KEY-") {
			t.Error("the outsider sees a code")
		}

		// A new maintainer finds the stock empty.
		late := s.userWithPassword("late", mandatePassword)
		storetest.Must(t, s.st.AddRole(ctx, c.projectIDs["critpkg"], late.ID, store.RoleMaintainer, clk.Now()))
		lb := signIn(t, s, late, clk.Now())
		if text := pageText(getOK(t, lb, page)); !strings.Contains(text, "No codes are left") || !strings.Contains(text, "authenticator app") {
			t.Errorf("empty stock: %s", text)
		}

		// The administrators' page: as /admin/critical/.
		resp, unknown := s.browser(t).get("/admin/nothing-here/")
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown path: %d", resp.StatusCode)
		}
		for who, b := range map[string]*browser{"visitor": s.browser(t), "maintainer": mb} {
			if resp, body := b.get("/admin/promo/"); resp.StatusCode != http.StatusNotFound || body != unknown {
				t.Errorf("%s: /admin/promo/ answered %d", who, resp.StatusCode)
			}
		}
		admin := adminWithPassword(t, s, "root")
		ab := signIn(t, s, admin, clk.Now())
		if resp, body := ab.get("/admin/promo/"); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Claims per country") {
			t.Errorf("admin without 2FA: %d", resp.StatusCode)
		}
		enrol(t, s, admin, clk.Now())
		text = pageText(getOK(t, ab, "/admin/promo/"))
		for _, want := range []string{"Stock 2 codes", "Claimed 2", "Left 0", "Ends never", "Germany 1", "Japan 1", "Key owners may not claim"} {
			if !strings.Contains(text, want) {
				t.Errorf("admin page lacks %q: %s", want, text)
			}
		}
		if strings.Contains(text, "KEY-") {
			t.Error("the admin page lists codes")
		}
	})
}

// TestGiveawayPuppets is the attack on the giveaway: the Owner of a
// critical project invites puppet accounts as Maintainers, and they claim
// codes as soon as they accept. Refused: a claim needs a role held for
// --promo-min-role-age (30 days) and a verified email address; once the
// roles are old enough, at most --promo-per-project codes go through the
// project, however many puppets claim at once.
func TestGiveawayPuppets(t *testing.T) {
	t.Parallel()
	const page = "/manage/account/security-keys-giveaway/"
	const minAge = 30 * 24 * time.Hour
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		// The index gives roles at the wall clock's time: the clock of
		// accounts and of the giveaway starts there.
		clk := clocktest.New(time.Now())
		s := newTestServerWith(t, d, serverConfig{Now: clk.Now})
		pr, err := promo.New(s.st, promo.Config{BaseURL: s.URL, MinRoleAge: minAge, PerProject: 2},
			slog.New(slog.DiscardHandler), clk.Now)
		storetest.Must(t, err)
		s.srv.opts.Promo = pr
		if _, err := pr.Import(ctx, strings.NewReader("code\nKEY-1\nKEY-2\nKEY-3\nKEY-4\nKEY-5\n")); err != nil {
			t.Fatal(err)
		}

		owner := s.userWithPassword("owner", mandatePassword)
		s.uploadDist(s.token(owner), disttest.Dist{Name: "critpkg", Version: "1.0"}, false)
		proj, err := s.st.ProjectByName(ctx, "critpkg")
		storetest.Must(t, err)
		storetest.Must(t, s.st.MarkCritical(ctx, proj.ID, clk.Now()))
		// The mandate: the Owner and its Maintainers need two-factor
		// authentication to invite and to accept.
		enrol(t, s, owner, clk.Now())
		ob := signIn(t, s, owner, clk.Now())
		getOK(t, ob, "/manage/projects/")
		puppets := make([]*store.User, 4)
		browsers := make([]*browser, len(puppets))
		for i := range puppets {
			puppets[i] = s.userWithPassword(fmt.Sprintf("puppet%d", i), mandatePassword)
			enrol(t, s, puppets[i], clk.Now())
			if resp, body := ob.post("/manage/project/critpkg/collaboration/invite", url.Values{"username": {puppets[i].Username}, "role": {"Maintainer"}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("invite %s: %d %s", puppets[i].Username, resp.StatusCode, pageText(body))
			}
			browsers[i] = signIn(t, s, puppets[i], clk.Now())
			getOK(t, browsers[i], "/manage/projects/")
			if resp, body := browsers[i].post("/manage/project/critpkg/invitation/accept", nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s accepts: %d %s", puppets[i].Username, resp.StatusCode, pageText(body))
			}
		}

		// At once: every puppet is refused, and told when it may claim.
		from := clk.Now().Add(minAge)
		for i, b := range browsers {
			resp, body := b.post(page, url.Values{"country": {"France"}})
			text := pageText(body)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "for at least 30 days") || !strings.Contains(text, from.Format("January 2, 2006")) {
				t.Errorf("%s claims at once: %d %s", puppets[i].Username, resp.StatusCode, text)
			}
			if _, err := s.st.PromoCodeOf(ctx, puppets[i].ID); err == nil {
				t.Fatalf("%s got a code the day it was invited", puppets[i].Username)
			}
		}

		// 30 days later. puppet3 changed its email address and has not
		// verified it: refused, and shown the way to verify it.
		clk.Add(minAge + time.Minute)
		_, err = s.st.DB().ExecContext(ctx, `UPDATE users SET email_verified = FALSE WHERE id = $1`, puppets[3].ID)
		storetest.Must(t, err)
		for i := range browsers {
			browsers[i] = signIn(t, s, puppets[i], clk.Now()) // the sessions expired meanwhile
			getOK(t, browsers[i], page)
		}
		resp, body := browsers[3].post(page, url.Values{"country": {"France"}})
		if text := pageText(body); resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "Verify your email address") ||
			!strings.Contains(body, `href="/manage/account/"`) {
			t.Errorf("claim without a verified email: %d %s", resp.StatusCode, text)
		}

		// The three others claim at once: two codes go through critpkg.
		statuses := make([]int, 3)
		texts := make([]string, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				resp, body := browsers[i].post(page, url.Values{"country": {"Germany"}})
				statuses[i], texts[i] = resp.StatusCode, pageText(body)
			})
		}
		wg.Wait()
		var ok, limited int
		for i, st := range statuses {
			switch {
			case st == http.StatusSeeOther:
				ok++
			case st == http.StatusConflict && strings.Contains(texts[i], "At most 2 codes are given through each critical project"):
				limited++
			default:
				t.Errorf("%s's claim: %d %s", puppets[i].Username, st, texts[i])
			}
		}
		if ok != 2 || limited != 1 {
			t.Fatalf("%d claims and %d refused for the project's limit, want 2 and 1", ok, limited)
		}
		var claims int
		storetest.Must(t, s.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM promo_codes WHERE claimed_by IS NOT NULL`).Scan(&claims))
		if claims != 2 {
			t.Errorf("%d codes claimed in the database, want 2", claims)
		}
	})
}
