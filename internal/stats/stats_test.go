package stats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/stats"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// population is what the test generated, and the figures it expects,
// counted from its own records.
type population struct {
	users    []*person
	projects []*project
}

type person struct {
	id       int64
	disabled bool
	totp     bool
	keys     int
	recovery bool // recovery codes (alone they do not count)
}

type project struct {
	id       int64
	critical bool
	optedIn  bool
	members  []*person
}

func (p *person) has2FA() bool { return p.totp || p.keys > 0 }

// expected counts the figures from the generated records.
func (pop *population) expected() stats.Figures {
	var f stats.Figures
	for _, u := range pop.users {
		if u.disabled {
			continue
		}
		f.Users++
		if u.has2FA() {
			f.Users2FA++
		}
		if u.totp {
			f.UsersTOTP++
		}
		if u.keys > 0 {
			f.UsersSecurityKey++
		}
	}
	critical := map[*person]bool{}
	for _, p := range pop.projects {
		if p.critical {
			f.CriticalProjects++
			for _, m := range p.members {
				critical[m] = true
			}
		}
		if p.optedIn {
			f.Projects2FARequired++
		}
	}
	for u := range critical {
		if u.disabled {
			continue
		}
		f.CriticalUsers++
		if u.has2FA() {
			f.CriticalUsers2FA++
		}
	}
	return f
}

var keySeq struct {
	sync.Mutex
	n int
}

func nextKey() int {
	keySeq.Lock()
	defer keySeq.Unlock()
	keySeq.n++
	return keySeq.n
}

// generate creates users with random second factors (some disabled, some
// with recovery codes only), projects (some critical, some opted in) and
// their roles.
func generate(t *testing.T, st *store.Store, rng *rand.Rand, nUsers, nProjects int) *population {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	pop := &population{}
	for i := range nUsers {
		u := &store.User{Username: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("user%04d@example.org", i), PasswordHash: "x", CreatedAt: now}
		storetest.Must(t, st.CreateUser(ctx, u))
		p := &person{id: u.ID}
		p.totp = rng.IntN(100) < 35
		if rng.IntN(100) < 30 {
			p.keys = 1 + rng.IntN(3)
		}
		p.recovery = rng.IntN(100) < 40
		p.disabled = rng.IntN(100) < 10
		if p.totp {
			storetest.Must(t, st.SetTOTP(ctx, u.ID, "sealed-secret", 0, now))
		}
		for k := range p.keys {
			n := nextKey()
			storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: u.ID, Label: fmt.Sprintf("key %d", k),
				CredentialID: fmt.Sprintf("cred-%d", n), PublicKey: fmt.Sprintf("pk-%d", n), Credential: "{}", CreatedAt: now}))
		}
		if p.recovery {
			storetest.Must(t, st.ReplaceRecoveryCodes(ctx, u.ID, []string{"h1", "h2"}, now))
			storetest.Must(t, st.SetRecoveryCodesConfirmed(ctx, u.ID, true))
		}
		if p.disabled {
			storetest.Must(t, st.SetUserDisabled(ctx, u.ID, true))
		}
		pop.users = append(pop.users, p)
	}
	for i := range nProjects {
		name := fmt.Sprintf("proj-%04d", i)
		pr := &store.Project{Name: name, NormalizedName: name, UltraName: fmt.Sprintf("pr0j%04d", i), CreatedAt: now}
		storetest.Must(t, st.CreateProject(ctx, pr))
		p := &project{id: pr.ID, critical: rng.IntN(100) < 20, optedIn: rng.IntN(100) < 25}
		if p.critical {
			storetest.Must(t, st.MarkCritical(ctx, pr.ID, now))
		}
		if p.optedIn {
			storetest.Must(t, st.SetRequire2FA(ctx, pr.ID, true))
		}
		for j, k := range rng.Perm(len(pop.users))[:1+rng.IntN(4)] {
			role := "Maintainer"
			if j == 0 {
				role = "Owner"
			}
			storetest.Must(t, st.AddRole(ctx, pr.ID, pop.users[k].id, role, now))
			p.members = append(p.members, pop.users[k])
		}
		pop.projects = append(pop.projects, p)
	}
	return pop
}

func TestStatsFiguresOfAGeneratedPopulation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := stats.New(st, nil, nil, -1)
		empty, _, err := svc.Live(ctx)
		storetest.Must(t, err)
		if empty != (stats.Figures{}) {
			t.Fatalf("empty index: %+v", empty)
		}
		rng := rand.New(rand.NewPCG(6, 2))
		pop := generate(t, st, rng, 300, 80)
		want := pop.expected()
		if want.Users2FA == 0 || want.CriticalUsers == 0 || want.CriticalUsers2FA == want.CriticalUsers || want.Projects2FARequired == 0 {
			t.Fatalf("the population does not exercise every figure: %+v", want)
		}
		got, _, err := svc.Live(ctx)
		storetest.Must(t, err)
		if got != want {
			t.Fatalf("figures:\n got %+v\nwant %+v", got, want)
		}
		// The same 2FA counts by THE definition of two-factor authentication.
		var users, with int64
		for _, u := range pop.users {
			if u.disabled {
				continue
			}
			users++
			has, err := twofactor.HasTwoFactor(ctx, st, u.id)
			storetest.Must(t, err)
			if has {
				with++
			}
		}
		if users != got.Users || with != got.Users2FA {
			t.Fatalf("HasTwoFactor counts %d of %d users, figures %d of %d", with, users, got.Users2FA, got.Users)
		}
	})
}

func TestStatsPromoCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		for i := range 7 {
			var claimed, at any
			if i < 3 {
				u := &store.User{Username: fmt.Sprintf("claimer%d", i), Email: fmt.Sprintf("c%d@example.org", i), PasswordHash: "x", CreatedAt: now}
				storetest.Must(t, st.CreateUser(ctx, u))
				claimed, at = u.ID, now.UnixMicro()
			}
			_, err := st.DB().ExecContext(ctx, `INSERT INTO promo_codes (code, imported_at, claimed_by, claimed_at) VALUES ($1, $2, $3, $4)`,
				fmt.Sprintf("CODE-%d", i), now.UnixMicro(), claimed, at)
			storetest.Must(t, err)
		}
		f, err := st.TwoFactorFigures(ctx)
		storetest.Must(t, err)
		if f.PromoCodesClaimed != 3 || f.PromoCodesLeft != 4 {
			t.Fatalf("claimed %d left %d, want 3 and 4", f.PromoCodesClaimed, f.PromoCodesLeft)
		}
	})
}

func TestStatsSnapshotsAndHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		svc := stats.New(st, nil, clk.Now, 30*time.Second)
		rng := rand.New(rand.NewPCG(1, 2))
		d1, _ := store.ParseDay("2026-03-01")
		pop := generate(t, st, rng, 40, 10)
		first, err := svc.Snapshot(ctx, d1)
		storetest.Must(t, err)
		if first.Figures != pop.expected() {
			t.Fatalf("snapshot %+v, want %+v", first.Figures, pop.expected())
		}
		// The cache: a new user is not seen within 30 seconds, then is.
		storetest.Must(t, st.CreateUser(ctx, &store.User{Username: "late", Email: "late@example.org", PasswordHash: "x", CreatedAt: clk.Now()}))
		clk.Add(10 * time.Second)
		live, at, err := svc.Live(ctx)
		storetest.Must(t, err)
		if live.Users != first.Figures.Users || !at.Equal(first.TakenAt) {
			t.Fatalf("cached figures: %d users at %s, want %d at %s", live.Users, at, first.Figures.Users, first.TakenAt)
		}
		clk.Add(25 * time.Second)
		live, _, err = svc.Live(ctx)
		storetest.Must(t, err)
		if live.Users != first.Figures.Users+1 {
			t.Fatalf("after the cache: %d users, want %d", live.Users, first.Figures.Users+1)
		}
		// A later snapshot of the same day replaces it; other days, in
		// any order, come back oldest first.
		second, err := svc.Snapshot(ctx, d1)
		storetest.Must(t, err)
		storetest.Must(t, st.SetUserDisabled(ctx, pop.users[0].id, !pop.users[0].disabled))
		if _, err := svc.Snapshot(ctx, d1+2); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Snapshot(ctx, d1-5); err != nil {
			t.Fatal(err)
		}
		h, err := svc.History(ctx)
		storetest.Must(t, err)
		if len(h) != 3 || h[0].Day != d1-5 || h[1].Day != d1 || h[2].Day != d1+2 {
			t.Fatalf("history: %+v", h)
		}
		if h[1].Figures != second.Figures || !h[1].TakenAt.Equal(second.TakenAt) {
			t.Fatalf("day 1: %+v, want the second snapshot %+v", h[1], second)
		}
		if h[1].Figures.Users != first.Figures.Users+1 {
			t.Fatalf("day 1 has %d users, want %d", h[1].Figures.Users, first.Figures.Users+1)
		}
		// Running the same snapshot again changes nothing.
		again, err := svc.Snapshot(ctx, d1+2)
		storetest.Must(t, err)
		h2, err := svc.History(ctx)
		storetest.Must(t, err)
		if len(h2) != 3 || h2[2].Figures != again.Figures || h2[2].Figures != h[2].Figures {
			t.Fatalf("snapshot again: %+v", h2)
		}
		part, err := st.Snapshots(ctx, d1, d1+1)
		storetest.Must(t, err)
		if len(part) != 1 || part[0].Day != d1 {
			t.Fatalf("snapshots of [d1, d1+1]: %+v", part)
		}
	})
}

func TestStatsRunDailySnapshotsTodayAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		svc := stats.New(st, nil, nil, 0)
		done := make(chan struct{})
		go func() { svc.RunDaily(ctx); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			h, err := svc.History(context.Background())
			storetest.Must(t, err)
			if len(h) == 1 && h[0].Day == store.DayOf(time.Now()) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no snapshot of today: %+v", h)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("RunDaily did not stop")
		}
	})
}
