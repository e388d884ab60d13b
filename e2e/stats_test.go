package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
)

// TestStatsPage builds four weeks of history — users arriving, enrolling
// authenticator apps and security keys, projects becoming critical,
// giveaway codes loaded and claimed — with `admin stats snapshot --day`
// after each day's changes, then looks at /stats/2fa in Chromium (the
// screenshot is an artifact) and at its JSON.
func TestStatsPage(t *testing.T) {
	s := startServer(t, serverOptions{})
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(s.Data, "cheeseshop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s.createUser(t, "olivia")

	rng := rand.New(rand.NewPCG(2, 6))
	var users []*store.User
	newUser := func() *store.User {
		u := &store.User{Username: fmt.Sprintf("dev%03d", len(users)), Email: fmt.Sprintf("dev%03d@example.org", len(users)), PasswordHash: "!", CreatedAt: time.Now()}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
		return u
	}
	keys := 0
	enrol := func(u *store.User) {
		if rng.IntN(3) == 0 {
			keys++
			if err := st.AddSecurityKey(ctx, &store.SecurityKey{UserID: u.ID, Label: fmt.Sprintf("key %d", keys), CredentialID: fmt.Sprintf("c%d", keys),
				PublicKey: fmt.Sprintf("p%d", keys), Credential: "{}", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			return
		}
		// A user drawn twice keeps its first app (one app per account).
		if err := st.SetTOTP(ctx, u.ID, "sealed", 0, time.Now()); err != nil && !errors.Is(err, store.ErrTOTPEnabled) {
			t.Fatal(err)
		}
	}
	for range 40 {
		newUser()
	}
	for _, u := range users[:4] {
		enrol(u)
	}
	var projects []*store.Project
	for i := range 12 {
		name := fmt.Sprintf("cheese-%02d", i)
		p := &store.Project{Name: name, NormalizedName: name, UltraName: fmt.Sprintf("cheese%02dx", i), CreatedAt: time.Now()}
		if err := st.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		for j, k := range rng.Perm(len(users))[:3] {
			role := map[bool]string{true: "Owner", false: "Maintainer"}[j == 0]
			if err := st.AddRole(ctx, p.ID, users[k].ID, role, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		projects = append(projects, p)
	}
	today := store.DayOf(time.Now())
	const days = 28
	claimed := 0
	for i := range days {
		day := today - days + 1 + store.Day(i)
		for range 1 + rng.IntN(4) {
			newUser()
		}
		for range rng.IntN(3) {
			enrol(users[rng.IntN(len(users))])
		}
		switch i {
		case 7: // the first computation: four critical projects
			for _, p := range projects[:4] {
				storeMust(t, st.MarkCritical(ctx, p.ID, day.Time()))
			}
		case 10: // the giveaway's stock
			for c := range 30 {
				_, err := st.DB().ExecContext(ctx, `INSERT INTO promo_codes (code, imported_at) VALUES ($1, $2)`, fmt.Sprintf("KEY-%03d", c), day.Time().UnixMicro())
				storeMust(t, err)
			}
		case 20:
			storeMust(t, st.MarkCritical(ctx, projects[4].ID, day.Time()))
			storeMust(t, st.SetRequire2FA(ctx, projects[5].ID, true))
		}
		if i > 7 { // critical collaborators enrol
			for _, p := range projects[:4] {
				collab, err := st.Collaborators(ctx, p.ID)
				storeMust(t, err)
				if c := collab[rng.IntN(len(collab))]; rng.IntN(2) == 0 {
					u, err := st.UserByUsername(ctx, c.Username)
					storeMust(t, err)
					if err := st.SetTOTP(ctx, u.ID, "sealed", 0, time.Now()); !errors.Is(err, store.ErrTOTPEnabled) {
						storeMust(t, err)
					}
				}
			}
		}
		if i > 10 {
			for range rng.IntN(3) {
				claimed++
				_, err := st.DB().ExecContext(ctx, `UPDATE promo_codes SET claimed_by = $1, claimed_at = $2 WHERE code = $3`,
					users[claimed].ID, time.Now().UnixMicro(), fmt.Sprintf("KEY-%03d", claimed))
				storeMust(t, err)
			}
		}
		out := s.admin(t, "stats", "snapshot", "--day", day.String())
		if !strings.Contains(out, "snapshot of "+day.String()) {
			t.Fatalf("admin stats snapshot said %q", out)
		}
	}
	// A new server: its live figures are not cached from before.
	s.stop()
	s = startServer(t, serverOptions{Data: s.Data})

	resp, body := s.get(t, "/stats/2fa.json")
	if resp.StatusCode != 200 {
		t.Fatalf("json: %d %s", resp.StatusCode, body)
	}
	var doc struct {
		Current map[string]int64 `json:"current"`
		History []map[string]any `json:"history"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.History) != days || doc.Current["users"] != int64(len(users)+1) || doc.Current["critical_projects"] != 5 ||
		doc.Current["promo_codes_claimed"] != int64(claimed) || doc.Current["promo_codes_left"] != int64(30-claimed) {
		t.Fatalf("json: %d days, current %v (users %d, claimed %d)", len(doc.History), doc.Current, len(users)+1, claimed)
	}

	tab := newTab(t, "stats", s.URL, 1280, 900)
	tab.open("/")
	tab.clickJS(`document.querySelector('footer a[href="/stats/2fa"]')`)
	tab.mustSee("Two-factor authentication statistics", "Users with 2FA", "Critical users with 2FA", "Security-key codes claimed")
	if n := tab.evalString(`String(document.querySelectorAll("svg polyline").length)`); n != "10" {
		t.Errorf("%s lines in the charts, want 10", n)
	}
	if got := tab.text("#figure-users strong"); got != fmt.Sprint(len(users)+1) {
		t.Errorf("users shown: %q, want %d", got, len(users)+1)
	}
	tab.screenshot("stats-2fa")
	phone := newTab(t, "stats-phone", s.URL, 390, 844)
	phone.open("/stats/2fa")
	phone.screenshot("stats-2fa-phone")
}

func storeMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
