package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/mail/mailtest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// fixture is a store with an administrator, an Owner and a project, and
// a report service on a test clock.
type fixture struct {
	st    *store.Store
	clock *clocktest.Clock
	box   *mailtest.Box
	idx   *index.Service
	rep   *Service
	admin *store.User
	proj  *store.Project
}

func newFixture(t *testing.T, st *store.Store, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: st, clock: clocktest.New(time.Now()), box: &mailtest.Box{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.idx = index.New(st, nil, index.Config{BaseURL: "https://cheese.example", Mailer: f.box}, log)
	cfg.BaseURL, cfg.Mailer = "https://cheese.example", f.box
	f.rep = New(st, f.idx, cfg, log, f.clock.Now)
	f.admin = f.user(t, "root", 1000*24*time.Hour)
	f.admin.IsAdmin = true
	_, err := st.DB().ExecContext(ctx, `UPDATE users SET is_admin = TRUE WHERE id = $1`, f.admin.ID)
	storetest.Must(t, err)
	owner := f.user(t, "owner", 1000*24*time.Hour)
	f.proj = &store.Project{Name: "Reqests", NormalizedName: "reqests", UltraName: "reqests", CreatedAt: f.clock.Now()}
	storetest.Must(t, st.CreateProject(ctx, f.proj))
	storetest.Must(t, st.AddRole(ctx, f.proj.ID, owner.ID, store.RoleOwner, f.clock.Now()))
	return f
}

// user creates an account as old as age.
func (f *fixture) user(t *testing.T, name string, age time.Duration) *store.User {
	t.Helper()
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "x", EmailVerified: true, CreatedAt: f.clock.Now().Add(-age)}
	storetest.Must(t, f.st.CreateUser(context.Background(), u))
	return u
}

func (f *fixture) status(t *testing.T) string {
	t.Helper()
	p, err := f.st.ProjectByName(context.Background(), "reqests")
	storetest.Must(t, err)
	return p.Status
}

func kindOf(err error) problem.Kind {
	if e, ok := problem.As(err); ok {
		return e.Kind
	}
	return 0
}

var old = 1000 * 24 * time.Hour // an account older than the default 30 days

func TestReportValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, Config{})
		ctx := context.Background()
		u := f.user(t, "alice", old)
		m := audit.Meta{IP: "192.0.2.1"}
		for _, c := range []struct {
			name, project, kind, text string
			want                      problem.Kind
		}{
			{"unknown kind", "reqests", "virus", "bad", problem.Invalid},
			{"empty text", "reqests", KindMalware, "  \n", problem.Invalid},
			{"too long", "reqests", KindMalware, strings.Repeat("é", MaxText+1), problem.Invalid},
			{"control characters", "reqests", KindMalware, "bad\x1b[31m", problem.Invalid},
			{"unknown project", "nope", KindMalware, "bad", problem.NotFound},
		} {
			if _, err := f.rep.Report(ctx, u, m, c.project, c.kind, c.text); kindOf(err) != c.want {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := f.rep.Report(ctx, nil, m, "reqests", KindMalware, "bad"); kindOf(err) != problem.Unauthenticated {
			t.Errorf("anonymous: %v", err)
		}
		out, err := f.rep.Report(ctx, u, m, "REQESTS", KindDependencyConfusion, "  line one\nline <two>  ")
		storetest.Must(t, err)
		if out.Quarantined || out.Report.Body != "line one\nline <two>" || out.Report.Project != "Reqests" {
			t.Errorf("report: %+v", out.Report)
		}
		// One open report per user and project.
		if _, err := f.rep.Report(ctx, u, m, "reqests", KindSpam, "again"); kindOf(err) != problem.Conflict {
			t.Errorf("second report: %v, want a conflict", err)
		}
		evs, err := st.ProjectEvents(ctx, f.proj.ID, 10)
		storetest.Must(t, err)
		if len(evs) != 1 || evs[0].Tag != audit.ProjectReported || evs[0].ActorID != u.ID {
			t.Errorf("events: %+v", evs)
		}
		msgs := f.box.All()
		if len(msgs) != 1 || msgs[0].To != "root@example.org" || !strings.Contains(msgs[0].Subject, "Reqests") || !strings.Contains(msgs[0].Text, "line <two>") {
			t.Errorf("emails: %+v", msgs)
		}
		// Dismissed, the user may report again.
		if n, err := f.rep.Dismiss(ctx, f.admin, m, "reqests"); err != nil || n != 1 {
			t.Fatalf("dismiss: %d %v", n, err)
		}
		if _, err := f.rep.Dismiss(ctx, f.admin, m, "reqests"); kindOf(err) != problem.NotFound {
			t.Errorf("dismiss with no open report: %v", err)
		}
		if _, err := f.rep.Dismiss(ctx, u, m, "reqests"); kindOf(err) != problem.Forbidden {
			t.Errorf("dismiss by a user: %v", err)
		}
		if _, err := f.rep.Report(ctx, u, m, "reqests", KindSpam, "again"); err != nil {
			t.Errorf("report after dismissal: %v", err)
		}
	})
}

func TestReportLimits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, Config{})
		ctx := context.Background()
		ctxProjects := make([]string, UserLimit.Max+1)
		for i := range ctxProjects {
			ctxProjects[i] = fmt.Sprintf("p%d", i)
			p := &store.Project{Name: ctxProjects[i], NormalizedName: ctxProjects[i], UltraName: ctxProjects[i], CreatedAt: f.clock.Now()}
			storetest.Must(t, st.CreateProject(ctx, p))
		}
		// Per user: the limit holds across addresses, and counts refused
		// reports too (it is reserved first).
		u := f.user(t, "alice", old)
		_, err := f.rep.Report(ctx, u, audit.Meta{IP: "192.0.2.1"}, "nope", KindSpam, "x")
		if kindOf(err) != problem.NotFound {
			t.Fatalf("unknown project: %v", err)
		}
		for i := 1; i < UserLimit.Max; i++ {
			if _, err := f.rep.Report(ctx, u, audit.Meta{IP: fmt.Sprintf("192.0.2.%d", i)}, ctxProjects[i], KindSpam, "x"); err != nil {
				t.Fatalf("report %d: %v", i, err)
			}
		}
		_, err = f.rep.Report(ctx, u, audit.Meta{IP: "198.51.100.1"}, ctxProjects[0], KindSpam, "x")
		if e, ok := problem.As(err); !ok || e.Kind != problem.TooManyRequests || e.RetryAfter <= 0 {
			t.Fatalf("report over the user's limit: %v", err)
		}
		f.clock.Add(UserLimit.Window)
		if _, err := f.rep.Report(ctx, u, audit.Meta{IP: "198.51.100.1"}, ctxProjects[0], KindSpam, "x"); err != nil {
			t.Errorf("report an hour later: %v", err)
		}
		// Per address: many users behind one address.
		for i := range AddressLimit.Max {
			v := f.user(t, fmt.Sprintf("puppet%d", i), old)
			if _, err := f.rep.Report(ctx, v, audit.Meta{IP: "203.0.113.9"}, "reqests", KindSpam, "x"); err != nil {
				t.Fatalf("puppet %d: %v", i, err)
			}
		}
		v := f.user(t, "one-more", old)
		if _, err := f.rep.Report(ctx, v, audit.Meta{IP: "203.0.113.9"}, "reqests", KindSpam, "x"); kindOf(err) != problem.TooManyRequests {
			t.Errorf("report over the address's limit: %v", err)
		}
	})
}

func TestAutoQuarantine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, Config{QuarantineReporters: 3, MinAccountAge: 30 * 24 * time.Hour})
		report := func(u *store.User) *Outcome {
			t.Helper()
			out, err := f.rep.Report(ctx, u, audit.Meta{IP: "192.0.2." + fmt.Sprint(u.ID)}, "reqests", KindMalware, "steals tokens")
			storetest.Must(t, err)
			return out
		}
		// New accounts (sock puppets) do not count, however many.
		for i := range 5 {
			if report(f.user(t, fmt.Sprintf("new%d", i), 29*24*time.Hour)).Quarantined {
				t.Fatal("quarantined on new accounts' reports")
			}
		}
		// Trusted reporters, but more than a day apart.
		report(f.user(t, "a", old))
		report(f.user(t, "b", old))
		f.clock.Add(Window + time.Minute)
		if report(f.user(t, "c", old)).Quarantined || f.status(t) != store.StatusActive {
			t.Fatal("quarantined on reports more than a day apart")
		}
		// Within a day: the third trusted reporter quarantines it.
		report(f.user(t, "d", old))
		out := report(f.user(t, "e", old))
		if !out.Quarantined || f.status(t) != store.StatusQuarantined {
			t.Fatalf("not quarantined on 3 trusted reports within a day: %+v, %s", out, f.status(t))
		}
		p, err := st.ProjectByName(ctx, "reqests")
		storetest.Must(t, err)
		if !strings.Contains(p.StatusReason, "automatically") || !strings.Contains(p.StatusReason, "3 users") {
			t.Errorf("reason: %q", p.StatusReason)
		}
		evs, err := st.ProjectEvents(ctx, f.proj.ID, 2)
		storetest.Must(t, err)
		if len(evs) != 2 || evs[0].Tag != audit.ReportsResolved || evs[1].Tag != audit.ProjectQuarantined || !strings.Contains(audit.Describe(evs[1]), "automatic") {
			t.Errorf("events: %+v", evs)
		}
		var toOwner, toAdmin bool
		for _, m := range f.box.All() {
			toOwner = toOwner || m.To == "owner@example.org" && strings.Contains(m.Subject, "quarantined")
			toAdmin = toAdmin || m.To == "root@example.org" && strings.HasPrefix(m.Subject, "Quarantined on reports")
		}
		if !toOwner || !toAdmin {
			t.Errorf("emails: owner %v, administrator %v", toOwner, toAdmin)
		}
		// The reports that quarantined it are closed; a report of a
		// quarantined project is refused.
		q, err := f.rep.Queue(ctx)
		storetest.Must(t, err)
		if len(q) != 0 {
			t.Errorf("queue after the quarantine: %+v", q[0])
		}
		if _, err := f.rep.Report(ctx, f.user(t, "f", old), audit.Meta{IP: "192.0.2.99"}, "reqests", KindMalware, "x"); kindOf(err) != problem.Conflict {
			t.Errorf("report of a quarantined project: %v", err)
		}
		// Released, the count starts again.
		storetest.Must(t, f.idx.ReleaseFromQuarantine(ctx, f.admin, audit.Meta{}, "reqests"))
		f.clock.Add(time.Minute)
		if report(f.user(t, "g", old)).Quarantined {
			t.Error("quarantined again on one report after the release")
		}
	})
}

// TestQuarantineResolvesReports: a quarantine by another path than the
// reports' queue (the command line, /admin/quarantine/: both
// index.Quarantine) resolves the project's open reports in its
// transaction, with an event.
func TestQuarantineResolvesReports(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, Config{})
		ctx := context.Background()
		for i, c := range []struct {
			actor *store.User
			by    string
		}{{nil, "an administrator at the command line"}, {f.admin, f.admin.Username}} { // the command line, then an administrator
			for j := range 2 {
				_, err := f.rep.Report(ctx, f.user(t, fmt.Sprintf("u%d%d", i, j), old), audit.Meta{IP: fmt.Sprintf("192.0.2.%d", 10*i+j)}, "reqests", KindMalware, "bad")
				storetest.Must(t, err)
			}
			storetest.Must(t, f.idx.Quarantine(ctx, c.actor, audit.Meta{}, "reqests", "malware"))
			open, err := st.OpenReportsOf(ctx, f.proj.ID)
			storetest.Must(t, err)
			if len(open) != 0 {
				t.Errorf("quarantine %d: %d reports still open", i, len(open))
			}
			evs, err := st.ProjectEvents(ctx, f.proj.ID, 2)
			storetest.Must(t, err)
			if len(evs) != 2 || evs[0].Tag != audit.ReportsResolved || evs[1].Tag != audit.ProjectQuarantined ||
				audit.Describe(evs[0]) != "Reports resolved by the quarantine ("+c.by+"): 2" {
				t.Errorf("quarantine %d: events %+v", i, evs)
			}
			storetest.Must(t, f.idx.ReleaseFromQuarantine(ctx, f.admin, audit.Meta{}, "reqests"))
			f.clock.Add(time.Minute)
		}
	})
}

// TestAutoQuarantineConcurrent: N trusted users report at once; the
// project is quarantined exactly once.
func TestAutoQuarantineConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const n = 6
		f := newFixture(t, st, Config{QuarantineReporters: n / 2})
		users := make([]*store.User, n)
		for i := range users {
			users[i] = f.user(t, fmt.Sprintf("u%d", i), old)
		}
		var wg sync.WaitGroup
		quarantined := make(chan bool, n)
		for i, u := range users {
			wg.Go(func() {
				out, err := f.rep.Report(ctx, u, audit.Meta{IP: fmt.Sprintf("192.0.2.%d", i+1)}, "reqests", KindMalware, "steals tokens")
				if err != nil && kindOf(err) != problem.Conflict { // after the quarantine: refused
					t.Errorf("report %d: %v", i, err)
				}
				quarantined <- err == nil && out.Quarantined
			})
		}
		wg.Wait()
		close(quarantined)
		count := 0
		for q := range quarantined {
			if q {
				count++
			}
		}
		evs, err := st.ProjectEvents(ctx, f.proj.ID, 100)
		storetest.Must(t, err)
		events := 0
		for _, e := range evs {
			if e.Tag == audit.ProjectQuarantined {
				events++
			}
		}
		if count != 1 || events != 1 || f.status(t) != store.StatusQuarantined {
			t.Errorf("quarantined by %d reports, %d events, status %s; want exactly once", count, events, f.status(t))
		}
	})
}

func TestQueueAndQuarantineReported(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, Config{})
		other := &store.Project{Name: "Other", NormalizedName: "other", UltraName: "0ther", CreatedAt: f.clock.Now()}
		storetest.Must(t, st.CreateProject(ctx, other))
		a, b := f.user(t, "alice", old), f.user(t, "bob", time.Hour)
		m := audit.Meta{IP: "192.0.2.1"}
		for _, r := range []struct {
			u          *store.User
			proj, kind string
		}{{a, "reqests", KindMalware}, {b, "other", KindSpam}, {b, "reqests", KindMalware}, {a, "other", KindTyposquat}} {
			if _, err := f.rep.Report(ctx, r.u, m, r.proj, r.kind, "why "+r.proj); err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Minute)
		}
		q, err := f.rep.Queue(ctx)
		storetest.Must(t, err)
		if len(q) != 2 || q[0].NormalizedName != "reqests" || len(q[0].Reports) != 2 || q[0].Kinds() != "malware ×2" ||
			q[1].NormalizedName != "other" || q[1].Kinds() != "spam, typosquat" || q[1].Reports[0].Reporter != "bob" {
			t.Fatalf("queue: %+v %+v", q[0], q[1])
		}
		if err := f.rep.QuarantineReported(ctx, b, m, "reqests"); kindOf(err) != problem.Forbidden {
			t.Errorf("quarantine by a user: %v", err)
		}
		storetest.Must(t, f.rep.QuarantineReported(ctx, f.admin, m, "reqests"))
		p, err := st.ProjectByName(ctx, "reqests")
		storetest.Must(t, err)
		if p.Status != store.StatusQuarantined || p.StatusReason != "reported by 2 users (malware ×2)" {
			t.Errorf("after quarantine: %s %q", p.Status, p.StatusReason)
		}
		if q, _ := f.rep.Queue(ctx); len(q) != 1 || q[0].NormalizedName != "other" {
			t.Errorf("queue after the quarantine: %+v", q)
		}
		if err := f.rep.QuarantineReported(ctx, f.admin, m, "reqests"); kindOf(err) != problem.NotFound {
			t.Errorf("quarantine without open reports: %v", err)
		}
	})
}
