package mandate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// reportFixture fills st with critical projects whose collaborators have
// various factors, and returns the mandate service.
type reportFixture struct {
	st    *store.Store
	svc   *mandate.Service
	now   time.Time
	users map[string]*store.User
	ids   map[string]int64
}

func newReportFixture(tb testing.TB, st *store.Store) *reportFixture {
	tb.Helper()
	f := &reportFixture{st: st, now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), users: map[string]*store.User{}, ids: map[string]int64{}}
	svc, err := mandate.New(st, mandate.Config{BaseURL: "https://index.example"}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func() time.Time { return f.now })
	storetest.Must(tb, err)
	f.svc = svc
	return f
}

func (f *reportFixture) user(tb testing.TB, name string) *store.User {
	tb.Helper()
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", CreatedAt: f.now}
	storetest.Must(tb, f.st.CreateUser(context.Background(), u))
	f.users[name] = u
	return u
}

func (f *reportFixture) project(tb testing.TB, q interface {
	CreateProject(context.Context, *store.Project) error
}, name string) int64 {
	tb.Helper()
	p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: f.now}
	storetest.Must(tb, q.CreateProject(context.Background(), p))
	f.ids[name] = p.ID
	return p.ID
}

// window puts the counts in the window [day-9, day-1] of f.now's day.
func (f *reportFixture) window(tb testing.TB, counts map[int64]int64) {
	tb.Helper()
	ctx := context.Background()
	today := store.DayOf(f.now)
	var rows []store.DownloadCount
	for id, n := range counts {
		rows = append(rows, store.DownloadCount{ProjectID: id, Day: today - 2, Downloads: n})
	}
	storetest.Must(tb, f.st.InTx(ctx, func(tx *store.Tx) error {
		w, err := tx.LockDownloads(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.AddDownloads(ctx, rows); err != nil {
			return err
		}
		return tx.MoveWindow(ctx, w, today-9, today-1)
	}))
}

// TestCriticalReport checks the report on a fixture of several critical
// projects whose collaborators have and lack two-factor authentication,
// against the content written out here and against what the page read
// before the report existed: per project, its collaborators and its
// window downloads, and per person twofactor.HasTwoFactor.
func TestCriticalReport(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newReportFixture(t, st)

		rep, err := f.svc.CriticalReport(ctx)
		storetest.Must(t, err)
		if rep.Run != nil || len(rep.Projects) != 0 || rep.Collaborators != 0 || rep.WithTwoFactor != 0 {
			t.Fatalf("report of an empty index: %+v", rep)
		}

		for _, name := range []string{"ann", "bob", "cat", "dan", "eve"} {
			f.user(t, name)
		}
		storetest.Must(t, st.SetTOTP(ctx, f.users["ann"].ID, "sealed", 0, f.now))
		storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: f.users["bob"].ID, Label: "key",
			CredentialID: "cred-bob", PublicKey: "pk-bob", Credential: "{}", CreatedAt: f.now}))
		storetest.Must(t, st.ReplaceRecoveryCodes(ctx, f.users["cat"].ID, []string{"h1"}, f.now))
		storetest.Must(t, st.SetRecoveryCodesConfirmed(ctx, f.users["cat"].ID, true))
		storetest.Must(t, st.SetTOTP(ctx, f.users["eve"].ID, "sealed", 0, f.now))
		storetest.Must(t, st.RemoveTOTP(ctx, f.users["eve"].ID))

		for _, name := range []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta"} {
			f.project(t, st, name)
		}
		roles := []struct{ project, user, role string }{
			{"alpha", "ann", store.RoleOwner}, {"alpha", "bob", store.RoleMaintainer}, {"alpha", "eve", store.RoleMaintainer},
			{"beta", "ann", store.RoleOwner}, {"beta", "dan", store.RoleMaintainer},
			{"gamma", "cat", store.RoleOwner}, {"gamma", "dan", store.RoleMaintainer},
			{"epsilon", "dan", store.RoleOwner}, {"zeta", "bob", store.RoleOwner},
		}
		for _, r := range roles {
			storetest.Must(t, st.AddRole(ctx, f.ids[r.project], f.users[r.user].ID, r.role, f.now))
		}
		day := 24 * time.Hour
		storetest.Must(t, st.MarkCritical(ctx, f.ids["alpha"], f.now.Add(-10*day)))
		for _, name := range []string{"beta", "gamma", "delta"} {
			storetest.Must(t, st.MarkCritical(ctx, f.ids[name], f.now.Add(-2*day)))
		}
		storetest.Must(t, st.SetRequire2FA(ctx, f.ids["beta"], true))
		storetest.Must(t, st.SetRequire2FA(ctx, f.ids["epsilon"], true))
		f.window(t, map[int64]int64{f.ids["alpha"]: 500, f.ids["beta"]: 70, f.ids["gamma"]: 3, f.ids["zeta"]: 9000})
		today := store.DayOf(f.now)
		run := &store.CriticalRun{AsOf: today, First: today - 9, Last: today - 1, Projects: 6, TopN: 1, Cutoff: 500,
			Qualified: 1, Newly: 1, Trigger: "admin", StartedAt: f.now, FinishedAt: f.now}
		storetest.Must(t, st.AddCriticalRun(ctx, run))

		rep, err = f.svc.CriticalReport(ctx)
		storetest.Must(t, err)

		// As written out: the most recently designated first (by name
		// among those of the same time), Owners first.
		type row struct {
			project   string
			downloads int64
			people    string
			with      int
		}
		want := []row{
			{"beta", 70, "ann Owner 2FA, dan Maintainer -", 1},
			{"delta", 0, "", 0},
			{"gamma", 3, "cat Owner -, dan Maintainer -", 0},
			{"alpha", 500, "ann Owner 2FA, bob Maintainer 2FA, eve Maintainer -", 2},
		}
		var got []row
		for _, p := range rep.Projects {
			r := row{project: p.Project.Name, downloads: p.Downloads, with: p.WithTwoFactor}
			for i, c := range p.Collaborators {
				if i > 0 {
					r.people += ", "
				}
				mark := "-"
				if c.TwoFactor {
					mark = "2FA"
				}
				r.people += c.Username + " " + c.Role + " " + mark
			}
			got = append(got, r)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("report:\n%v\nwant\n%v", got, want)
		}
		if rep.Collaborators != 7 || rep.WithTwoFactor != 3 {
			t.Errorf("report counts %d of %d collaborators with 2FA, want 3 of 7", rep.WithTwoFactor, rep.Collaborators)
		}
		if rep.Run == nil || !reflect.DeepEqual(*rep.Run, *run) {
			t.Errorf("report run %+v, want %+v", rep.Run, run)
		}

		// As the page read it before, one project at a time.
		for _, p := range rep.Projects {
			fresh, err := st.ProjectByID(ctx, p.Project.ID)
			storetest.Must(t, err)
			downloads, err := st.WindowDownloads(ctx, p.Project.ID)
			storetest.Must(t, err)
			collabs, err := st.MandateCollaborators(ctx, p.Project.ID)
			storetest.Must(t, err)
			with := 0
			for _, c := range collabs {
				has, err := twofactor.HasTwoFactor(ctx, st, c.UserID)
				storetest.Must(t, err)
				if has != c.TwoFactor {
					t.Errorf("%s: %s has two-factor %v, HasTwoFactor says %v", p.Project.Name, c.Username, c.TwoFactor, has)
				}
				if has {
					with++
				}
			}
			before := mandate.CriticalProject{Project: fresh, Downloads: downloads, Collaborators: collabs, WithTwoFactor: with}
			if !reflect.DeepEqual(p, before) {
				t.Errorf("report has\n%+v\nthe per-project queries\n%+v", p, before)
			}
		}
	})
}

// BenchmarkCriticalReport reads the report of 10 and of 1,000 critical
// projects with two collaborators each: the report reads the database in
// three queries whatever the number of projects, so the time per project
// stays flat (ns/project) where the page's former one query per project
// and per list of collaborators made it grow with the number of round
// trips.
func BenchmarkCriticalReport(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, n := range []int{10, 1000} {
			b.Run(fmt.Sprintf("%s/projects=%d", d, n), func(b *testing.B) {
				st := storetest.Open(b, d)
				f := newReportFixture(b, st)
				ctx := context.Background()
				var people []int64
				for i := range 20 {
					u := f.user(b, fmt.Sprintf("user%02d", i))
					if i%2 == 0 {
						storetest.Must(b, st.SetTOTP(ctx, u.ID, "sealed", 0, f.now))
					}
					people = append(people, u.ID)
				}
				counts := map[int64]int64{}
				storetest.Must(b, st.InTx(ctx, func(tx *store.Tx) error {
					for i := range n {
						id := f.project(b, tx, fmt.Sprintf("critical-%05d", i))
						if err := tx.MarkCritical(ctx, id, f.now.Add(-time.Duration(i)*time.Minute)); err != nil {
							return err
						}
						if err := tx.AddRole(ctx, id, people[i%len(people)], store.RoleOwner, f.now); err != nil {
							return err
						}
						if err := tx.AddRole(ctx, id, people[(i+1)%len(people)], store.RoleMaintainer, f.now); err != nil {
							return err
						}
						counts[id] = int64(1000 + i)
					}
					return nil
				}))
				f.window(b, counts)
				b.ResetTimer()
				for b.Loop() {
					rep, err := f.svc.CriticalReport(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if len(rep.Projects) != n || rep.Collaborators != 2*n {
						b.Fatalf("report of %d projects and %d collaborators, want %d and %d", len(rep.Projects), rep.Collaborators, n, 2*n)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/project")
			})
		}
	}
}
