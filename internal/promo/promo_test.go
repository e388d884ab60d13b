package promo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/promo"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

var t0 = time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)

func newService(t testing.TB, st *store.Store, cfg promo.Config, now time.Time) *promo.Service {
	t.Helper()
	svc, err := promo.New(st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
	storetest.Must(t, err)
	return svc
}

// world is a project and its collaborators.
type world struct {
	st      *store.Store
	project *store.Project
}

func newWorld(t testing.TB, st *store.Store, critical bool) *world {
	t.Helper()
	ctx := context.Background()
	p := &store.Project{Name: "Pkg", NormalizedName: "pkg", UltraName: "pkg", CreatedAt: t0}
	storetest.Must(t, st.CreateProject(ctx, p))
	if critical {
		storetest.Must(t, st.MarkCritical(ctx, p.ID, t0.Add(-time.Hour)))
	}
	return &world{st: st, project: p}
}

// user creates a user with a verified email address and a role on the
// world's project (role "" for none), given at t0.
func (w *world) user(t testing.TB, name, role string) *store.User {
	t.Helper()
	return w.userSince(t, name, role, t0)
}

// userSince is user with the role given at since.
func (w *world) userSince(t testing.TB, name, role string, since time.Time) *store.User {
	t.Helper()
	ctx := context.Background()
	u := &store.User{Username: name, Email: name + "@example.org", EmailVerified: true, PasswordHash: "!", CreatedAt: t0}
	storetest.Must(t, w.st.CreateUser(ctx, u))
	if role != "" {
		storetest.Must(t, w.st.AddRole(ctx, w.project.ID, u.ID, role, since))
	}
	return u
}

func stock(t testing.TB, svc *promo.Service, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("code\n")
	for i := range n {
		fmt.Fprintf(&b, "CODE-%04d\n", i)
	}
	res, err := svc.Import(context.Background(), strings.NewReader(b.String()))
	storetest.Must(t, err)
	if res.Imported != n {
		t.Fatalf("imported %d codes, want %d", res.Imported, n)
	}
}

// claim is the outcome of one user's claim.
type claim struct {
	code *store.PromoCode
	err  error
}

// claimAtOnce has every user claim a code in France at the same moment,
// and returns their outcomes in the users' order.
func claimAtOnce(ctx context.Context, svc *promo.Service, users []*store.User, m audit.Meta) []claim {
	claims := make([]claim, len(users))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, u := range users {
		wg.Go(func() {
			<-start
			c := &claims[i]
			c.code, c.err = svc.Claim(ctx, u, "France", m)
		})
	}
	close(start)
	wg.Wait()
	return claims
}

// TestConcurrentClaims: 100 users claim at once from a stock of 10.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		w := newWorld(t, st, true)
		svc := newService(t, st, promo.Config{}, t0)
		stock(t, svc, 10)
		const n = 100
		users := make([]*store.User, n)
		for i := range users {
			role := store.RoleMaintainer
			if i%2 == 0 {
				role = store.RoleOwner
			}
			users[i] = w.user(t, fmt.Sprintf("user%03d", i), role)
		}
		codes, noStock := map[string]int64{}, 0
		for i, c := range claimAtOnce(ctx, svc, users, audit.Meta{IP: "203.0.113.1"}) {
			u := users[i]
			switch {
			case c.err == nil:
				if prev, dup := codes[c.code.Code]; dup {
					t.Errorf("code %s given to users %d and %d", c.code.Code, prev, u.ID)
				}
				codes[c.code.Code] = u.ID
			case errors.Is(c.err, promo.NoStock):
				noStock++
			default:
				t.Error(c.err)
			}
		}
		if len(codes) != 10 || noStock != 90 {
			t.Fatalf("%d codes claimed, %d told no codes are left; want 10 and 90", len(codes), noStock)
		}
		holders := map[int64]bool{}
		for code, uid := range codes {
			holders[uid] = true
			got, err := st.PromoCodeOf(ctx, uid)
			storetest.Must(t, err)
			if got.Code != code || got.Country != "France" {
				t.Errorf("user %d holds %+v in the database, was told %s", uid, got, code)
			}
		}
		if len(holders) != 10 {
			t.Errorf("%d distinct holders, want 10", len(holders))
		}
		s, err := svc.Stock(ctx)
		storetest.Must(t, err)
		if s.Total != 10 || s.Claimed != 10 || s.Left() != 0 || len(s.ByCountry) != 1 || s.ByCountry[0].Claims != 10 {
			t.Errorf("stock %+v", s)
		}
		var events int
		storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tag = $1`, audit.PromoClaimed).Scan(&events))
		if events != 10 {
			t.Errorf("%d claim events, want 10", events)
		}
	})
}

// TestEligibility is the matrix of who may claim. The service has the
// default settings of serve: a role must be 30 days old; each case's role
// is 60 days old at t0 unless it says otherwise.
func TestEligibility(t *testing.T) {
	t.Parallel()
	end := t0.Add(24 * time.Hour)
	const minAge = 30 * 24 * time.Hour
	cases := []struct {
		name        string
		critical    bool          // the user's project is critical
		role        string        // its role on it ("": none)
		roleAge     time.Duration // the role's age at t0 (0: 60 days)
		noMinimum   bool          // the service has no minimum role age
		unverified  bool          // its email address is not verified
		perProject  int           // Config.PerProject
		priorClaims int           // codes claimed through its project by others
		country     string
		now         time.Time
		end         time.Time
		claimed     bool // it claimed before
		ownsKey     bool
		allowKeys   bool
		emptyStock  bool
		want        promo.Reason
		wantClaimOK bool
	}{
		{name: "owner of a critical project", critical: true, role: store.RoleOwner, country: "Germany", now: t0, end: end, wantClaimOK: true},
		{name: "maintainer of a critical project", critical: true, role: store.RoleMaintainer, country: "Japan", now: t0, wantClaimOK: true},
		{name: "country in any case", critical: true, role: store.RoleOwner, country: "united kingdom", now: t0, wantClaimOK: true},
		{name: "not critical", critical: false, role: store.RoleOwner, country: "Germany", now: t0, want: promo.NotCritical},
		{name: "no role", critical: true, role: "", country: "Germany", now: t0, want: promo.NotCritical},
		{name: "country out", critical: true, role: store.RoleOwner, country: "Brazil", now: t0, want: promo.Country},
		{name: "country other", critical: true, role: store.RoleOwner, country: "other", now: t0, want: promo.Country},
		{name: "before the end", critical: true, role: store.RoleOwner, country: "Spain", now: end.Add(-time.Second), end: end, wantClaimOK: true},
		{name: "at the end", critical: true, role: store.RoleOwner, country: "Spain", now: end, end: end, want: promo.Ended},
		{name: "after the end", critical: true, role: store.RoleOwner, country: "Spain", now: end.Add(time.Hour), end: end, want: promo.Ended},
		{name: "already claimed", critical: true, role: store.RoleOwner, country: "Spain", now: t0, claimed: true, want: promo.Claimed},
		{name: "already claimed, after the end", critical: true, role: store.RoleOwner, country: "Spain", now: end, end: end, claimed: true, want: promo.Claimed},
		{name: "owns a key", critical: true, role: store.RoleOwner, country: "Spain", now: t0, ownsKey: true, want: promo.OwnsKey},
		{name: "owns a key, key owners allowed", critical: true, role: store.RoleOwner, country: "Spain", now: t0, ownsKey: true, allowKeys: true, wantClaimOK: true},
		{name: "no stock", critical: true, role: store.RoleOwner, country: "Spain", now: t0, emptyStock: true, want: promo.NoStock},
		{name: "not critical and country out", critical: false, role: store.RoleOwner, country: "Brazil", now: t0, want: promo.NotCritical},
		// A verified email address.
		{name: "email not verified", critical: true, role: store.RoleMaintainer, unverified: true, country: "Spain", now: t0, want: promo.Unverified},
		{name: "email not verified, not critical", critical: false, role: store.RoleMaintainer, unverified: true, country: "Spain", now: t0, want: promo.NotCritical},
		{name: "email not verified, after the end", critical: true, role: store.RoleMaintainer, unverified: true, country: "Spain", now: end, end: end, want: promo.Ended},
		// A role held for the minimum time.
		{name: "role given today", critical: true, role: store.RoleMaintainer, roleAge: time.Minute, country: "Spain", now: t0, want: promo.RoleTooNew},
		{name: "role a second short of 30 days", critical: true, role: store.RoleOwner, roleAge: minAge - time.Second, country: "Spain", now: t0, want: promo.RoleTooNew},
		{name: "role 30 days old", critical: true, role: store.RoleMaintainer, roleAge: minAge, country: "Spain", now: t0, wantClaimOK: true},
		{name: "role given today, no minimum", critical: true, role: store.RoleMaintainer, roleAge: time.Minute, noMinimum: true, country: "Spain", now: t0, wantClaimOK: true},
		{name: "role too new and email not verified", critical: true, role: store.RoleMaintainer, roleAge: time.Minute, unverified: true, country: "Spain", now: t0, want: promo.Unverified},
		{name: "role too new and owns a key", critical: true, role: store.RoleMaintainer, roleAge: time.Minute, ownsKey: true, country: "Spain", now: t0, want: promo.RoleTooNew},
		// The claims per project.
		{name: "project's codes all claimed", critical: true, role: store.RoleMaintainer, perProject: 2, priorClaims: 2, country: "Spain", now: t0, want: promo.ProjectLimit},
		{name: "project's codes not all claimed", critical: true, role: store.RoleMaintainer, perProject: 2, priorClaims: 1, country: "Spain", now: t0, wantClaimOK: true},
		{name: "no limit per project", critical: true, role: store.RoleMaintainer, priorClaims: 3, country: "Spain", now: t0, wantClaimOK: true},
		{name: "project's codes all claimed, already claimed", critical: true, role: store.RoleMaintainer, perProject: 1, priorClaims: 1, claimed: true, country: "Spain", now: t0, want: promo.Claimed},
		{name: "project's codes all claimed, role too new", critical: true, role: store.RoleMaintainer, roleAge: time.Hour, perProject: 1, priorClaims: 1, country: "Spain", now: t0, want: promo.RoleTooNew},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// Each case has its own project and users in the shared database.
				p := &store.Project{Name: fmt.Sprintf("p%d", i), NormalizedName: fmt.Sprintf("p%d", i), UltraName: fmt.Sprintf("p%d", i), CreatedAt: t0}
				storetest.Must(t, st.CreateProject(ctx, p))
				if tc.critical {
					storetest.Must(t, st.MarkCritical(ctx, p.ID, t0.Add(-time.Hour)))
				}
				w := &world{st: st, project: p}
				age := tc.roleAge
				if age == 0 {
					age = 60 * 24 * time.Hour
				}
				u := w.userSince(t, fmt.Sprintf("u%d", i), tc.role, t0.Add(-age))
				if tc.unverified {
					_, err := st.DB().ExecContext(ctx, `UPDATE users SET email_verified = FALSE WHERE id = $1`, u.ID)
					storetest.Must(t, err)
				}
				for j := range tc.priorClaims {
					// Others claimed through the project (and may have left it since).
					other := w.userSince(t, fmt.Sprintf("u%d-prior%d", i, j), "", t0)
					var codeID int64
					storetest.Must(t, st.DB().QueryRowContext(ctx, `INSERT INTO promo_codes (code, imported_at, claimed_by, claimed_at, country)
						VALUES ($1, 0, $2, 0, 'Spain') RETURNING id`, fmt.Sprintf("PRIOR-%d-%d", i, j), other.ID).Scan(&codeID))
					_, err := st.DB().ExecContext(ctx, `INSERT INTO promo_claim_projects (code_id, project_id) VALUES ($1, $2)`, codeID, p.ID)
					storetest.Must(t, err)
				}
				if tc.ownsKey {
					storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: u.ID, Label: "key", CredentialID: fmt.Sprintf("cred%d", i),
						PublicKey: fmt.Sprintf("pk%d", i), Credential: "{}", CreatedAt: t0}))
				}
				// Stock is shared: keep it either empty or plentiful.
				_, err := st.DB().ExecContext(ctx, `DELETE FROM promo_codes WHERE claimed_by IS NULL`)
				storetest.Must(t, err)
				setup := newService(t, st, promo.Config{AllowKeyOwners: true}, t0)
				if tc.claimed {
					_, err := st.DB().ExecContext(ctx, `INSERT INTO promo_codes (code, imported_at, claimed_by, claimed_at, country) VALUES ($1, 0, $2, 0, 'Spain')`,
						fmt.Sprintf("OLD-%d", i), u.ID)
					storetest.Must(t, err)
				}
				if !tc.emptyStock {
					_, err := setup.Import(ctx, strings.NewReader(fmt.Sprintf("code\nNEW-%d-a\nNEW-%d-b\n", i, i)))
					storetest.Must(t, err)
				}
				cfg := promo.Config{End: tc.end, AllowKeyOwners: tc.allowKeys, MinRoleAge: minAge, PerProject: tc.perProject}
				if tc.noMinimum {
					cfg.MinRoleAge = 0
				}
				svc := newService(t, st, cfg, tc.now)
				s, err := svc.Eligibility(ctx, u, tc.country)
				storetest.Must(t, err)
				if s.Reason != tc.want {
					t.Fatalf("eligibility: %q (%s), want %q", s.Reason, s.Message, tc.want)
				}
				if tc.want == promo.Claimed && (s.Code == nil || s.Code.Code != fmt.Sprintf("OLD-%d", i)) {
					t.Errorf("a claimed user is not shown its code: %+v", s.Code)
				}
				if tc.want != "" && s.Message == "" {
					t.Errorf("no message for %q", tc.want)
				}
				if from := t0.Add(-age).Add(minAge); tc.want == promo.RoleTooNew &&
					(!s.From.Equal(from) || !strings.Contains(s.Message, "30 days") || !strings.Contains(s.Message, from.Format("January 2, 2006, 15:04"))) {
					t.Errorf("a role too new: from %v, message %q; want from %v", s.From, s.Message, from)
				}
				c, err := svc.Claim(ctx, u, tc.country, audit.Meta{})
				if tc.wantClaimOK {
					storetest.Must(t, err)
					if !strings.HasPrefix(c.Code, "NEW-") || svc.EligibleCountry(tc.country) != c.Country {
						t.Errorf("claimed %+v", c)
					}
					if s2, _ := svc.Eligibility(ctx, u, ""); s2.Reason != promo.Claimed || s2.Code.Code != c.Code {
						t.Errorf("after the claim: %+v", s2)
					}
					return
				}
				if !errors.Is(err, tc.want) || problem.KindOf(err) == 0 {
					t.Fatalf("claim: %v, want a refusal %q", err, tc.want)
				}
			})
		}
	})
}

func TestEligibilityBeforeACountry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		w := newWorld(t, st, true)
		u := w.user(t, "alice", store.RoleOwner)
		svc := newService(t, st, promo.Config{Countries: []string{"Iceland", " Norway ", "iceland"}}, t0)
		if got := svc.Config().Countries; len(got) != 2 || got[1] != "Norway" {
			t.Errorf("countries %q", got)
		}
		stock(t, svc, 1)
		if s, err := svc.Eligibility(ctx, u, ""); err != nil || !s.Eligible() || len(s.Projects) != 1 || s.Projects[0] != "Pkg" {
			t.Fatalf("eligibility without a country: %+v %v", s, err)
		}
		if _, err := svc.Claim(ctx, u, "", audit.Meta{}); err == nil {
			t.Fatal("a claim without a country")
		}
		if _, err := svc.Claim(ctx, u, "France", audit.Meta{}); err == nil {
			t.Fatal("a claim for a country not in the setting")
		}
		c, err := svc.Claim(ctx, u, "NORWAY", audit.Meta{})
		storetest.Must(t, err)
		if c.Country != "Norway" || c.Code != "CODE-0000" {
			t.Errorf("claimed %+v", c)
		}
		if _, err := promo.New(st, promo.Config{Countries: []string{" "}}, nil, nil); err == nil {
			t.Error("no eligible country accepted")
		}
		if _, err := promo.New(st, promo.Config{Countries: []string{"France", "Other"}}, nil, nil); err == nil {
			t.Error(`"other" accepted as a country`)
		}
	})
}

func TestImport(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st, promo.Config{}, t0)
		res, err := svc.Import(ctx, strings.NewReader("\ufeffbatch, Code ,note\n1,AAA,x\n\n1,BBB\n2,AAA,again\n,,\n3,\"CCC\",\n"))
		storetest.Must(t, err)
		if *res != (promo.ImportResult{Imported: 3, Duplicates: 1, Blank: 1}) {
			t.Errorf("first import: %+v", res)
		}
		res, err = svc.Import(ctx, strings.NewReader("code\nCCC\nDDD\nAAA\nDDD\n"))
		storetest.Must(t, err)
		if *res != (promo.ImportResult{Imported: 1, Duplicates: 3}) {
			t.Errorf("second import: %+v", res)
		}
		for _, bad := range []struct{ name, csv, want string }{
			{"empty", "", "empty"},
			{"no code column", "serial,value\n1,EEE\n", `no "code" column`},
			{"a row without a code", "code,note\nEEE,x\n,y\n", "line 3 has no code"},
			{"broken quoting", "code\n\"EEE\n", "promo:"},
			{"a control character", "code\n\"E\x01E\"\n", "not a code"},
		} {
			if _, err := svc.Import(ctx, strings.NewReader(bad.csv)); err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("%s: %v, want an error with %q", bad.name, err, bad.want)
			}
		}
		s, err := svc.Stock(ctx)
		storetest.Must(t, err)
		if s.Total != 4 || s.Claimed != 0 {
			t.Errorf("stock after the bad files: %+v (a bad file imports nothing)", s)
		}
	})
}

// TestClaimsPerProject: an Owner's puppets, Maintainers for long enough,
// claim at once through its one critical project: only PerProject of them
// get a code. A puppet removed after its claim still counts, and a user
// with a role on a second critical project claims through that one.
func TestClaimsPerProject(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		w := newWorld(t, st, true)
		old := t0.Add(-60 * 24 * time.Hour)
		const perProject = 3
		svc := newService(t, st, promo.Config{MinRoleAge: 30 * 24 * time.Hour, PerProject: perProject}, t0)
		stock(t, svc, 50)
		puppets := make([]*store.User, 20)
		for i := range puppets {
			puppets[i] = w.userSince(t, fmt.Sprintf("puppet%02d", i), store.RoleMaintainer, old)
		}
		var claimed []*store.User
		limited := 0
		for i, c := range claimAtOnce(ctx, svc, puppets, audit.Meta{}) {
			switch {
			case c.err == nil:
				claimed = append(claimed, puppets[i])
			case errors.Is(c.err, promo.ProjectLimit):
				limited++
			default:
				t.Error(c.err)
			}
		}
		if len(claimed) != perProject || limited != len(puppets)-perProject {
			t.Fatalf("%d claims and %d refused for the project's limit; want %d and %d", len(claimed), limited, perProject, len(puppets)-perProject)
		}

		// The Owner removes the puppets that claimed: their claims still count.
		for _, u := range claimed {
			storetest.Must(t, st.RemoveRole(ctx, w.project.ID, u.ID))
		}
		var waiting *store.User // a puppet that did not get a code
		for _, u := range puppets {
			if !slices.Contains(claimed, u) {
				waiting = u
				break
			}
		}
		s, err := svc.Eligibility(ctx, waiting, "")
		storetest.Must(t, err)
		if s.Reason != promo.ProjectLimit || !strings.Contains(s.Message, "Pkg") {
			t.Fatalf("after the claimants left: %q %q, want %q", s.Reason, s.Message, promo.ProjectLimit)
		}

		// A Maintainer of a second critical project claims through it.
		p2 := &store.Project{Name: "Other", NormalizedName: "other", UltraName: "0ther", CreatedAt: t0}
		storetest.Must(t, st.CreateProject(ctx, p2))
		storetest.Must(t, st.MarkCritical(ctx, p2.ID, t0.Add(-time.Hour)))
		both := waiting
		storetest.Must(t, st.AddRole(ctx, p2.ID, both.ID, store.RoleMaintainer, old))
		if _, err := svc.Claim(ctx, both, "France", audit.Meta{}); err != nil {
			t.Fatalf("claim through the second project: %v", err)
		}
		var through int64
		storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT c.project_id FROM promo_claim_projects c JOIN promo_codes p ON p.id = c.code_id
			WHERE p.claimed_by = $1`, both.ID).Scan(&through))
		if through != p2.ID {
			t.Errorf("the claim counts for project %d, want %d", through, p2.ID)
		}
		var details string
		storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT details FROM events WHERE tag = $1 AND user_id = $2`, audit.PromoClaimed, both.ID).Scan(&details))
		if !strings.Contains(details, `"project":"Other"`) {
			t.Errorf("claim event details %s, want the project", details)
		}
	})
}
