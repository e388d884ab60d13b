package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/lookalike"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

const testUpstreamURL = "https://pypi.org/simple/"

// fakeUpstream is an Upstream that lists "requests", "reqests" and
// "acme-lib", cannot be asked about "offline", and counts the names it
// is asked about.
type fakeUpstream struct {
	mu    sync.Mutex
	asked []string
}

func (u *fakeUpstream) Name(_ context.Context, normalized string) (UpstreamName, error) {
	u.mu.Lock()
	u.asked = append(u.asked, normalized)
	u.mu.Unlock()
	switch normalized {
	case "requests", "reqests", "acme-lib":
		return UpstreamName{Exists: true, Upstream: testUpstreamURL}, nil
	case "offline":
		return UpstreamName{}, errors.New("upstream: connection refused")
	}
	return UpstreamName{}, nil
}

func (u *fakeUpstream) calls() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.asked)
}

func (u *fakeUpstream) Project(context.Context, string) (*ProxiedPage, error) {
	return nil, store.ErrNotFound
}

func (u *fakeUpstream) File(context.Context, string, string, bool) (*ProxiedFile, error) {
	return nil, store.ErrNotFound
}

func (u *fakeUpstream) Quarantine(context.Context, *store.User, audit.Meta, string, string) error {
	return nil
}
func (u *fakeUpstream) Release(context.Context, *store.User, audit.Meta, string) error { return nil }
func (u *fakeUpstream) Invalidate(string)                                              {}

// TestUpstreamNames: a new local project whose name an upstream lists
// is refused, let through (shadowing the upstream's) or held, by the
// policy, whether an upload or a pending publisher creates it; an
// upstream that cannot be asked fails closed; a "local" rule lets the name
// through without asking; an existing project's new release never asks.
func TestUpstreamNames(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, policy := range []LocalNamesPolicy{LocalNamesRefuse, LocalNamesAllow, LocalNamesAsk, ""} {
			for _, via := range []string{"upload", "publisher"} {
				t.Run(string(policy)+"/"+via, func(t *testing.T) {
					t.Parallel()
					testUpstreamNames(t, d, policy, via)
				})
			}
		}
	})
}

func testUpstreamNames(t *testing.T, d store.Dialect, policy LocalNamesPolicy, via string) {
	ctx := context.Background()
	outbox := filepath.Join(t.TempDir(), "outbox")
	mailer, err := mail.New("", outbox, "cheeseshop <noreply@index.test>")
	storetest.Must(t, err)
	up := &fakeUpstream{}
	f := newFixture(t, d, Config{Upstream: up, LocalNames: policy, Mailer: mailer, NameCheck: testNameCheck, LookalikePolicy: LookalikeHold})
	admin := &store.User{Username: "root", Email: "root@example.org", PasswordHash: "!", IsAdmin: true}
	storetest.Must(t, f.st.CreateUser(ctx, admin))
	alice := f.user("alice")
	// create makes the project as via says: the review is nil when the
	// project is published.
	create := func(name string) (*store.NameReview, error) {
		t.Helper()
		if via == "upload" {
			res, err := f.uploadWheel(alice, disttest.Dist{Name: name, Version: "1.0"})
			if err != nil {
				return nil, err
			}
			return res.Review, nil
		}
		called := false
		proj, err := f.svc.CreateProjectFor(ctx, alice.User, audit.Meta{}, name, func(tx *store.Tx, proj *store.Project) error {
			called = true
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !called {
			t.Fatalf("CreateProjectFor(%s) did not run its function", name)
		}
		r, err := f.st.NameReviewOf(ctx, proj.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return r, err
	}
	published := func(name string) bool {
		t.Helper()
		_, err := f.svc.LoadProject(ctx, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	exists := func(name string) bool {
		_, err := f.st.ProjectByName(ctx, name)
		return err == nil
	}

	// A name no upstream lists: created as ever.
	if r, err := create("mine"); err != nil || r != nil || !published("mine") {
		t.Fatalf("mine: review %+v, %v", r, err)
	}
	// A "local" rule: created without asking.
	if _, err := f.svc.AddUpstreamRule(ctx, nil, audit.Meta{}, store.UpstreamRule{Pattern: "acme-*", Action: store.RuleLocal}); err != nil {
		t.Fatal(err)
	}
	if r, err := create("acme-lib"); err != nil || r != nil || !published("acme-lib") {
		t.Fatalf("acme-lib under a local rule: review %+v, %v", r, err)
	}
	if got := up.calls(); !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("upstream asked about %v, want only mine", got)
	}

	r, err := create("requests")
	switch policy {
	case LocalNamesRefuse:
		e, ok := problem.As(err)
		if !ok || e.Kind != problem.Invalid || !strings.Contains(e.Message, "The name 'requests' exists on the upstream index "+testUpstreamURL) ||
			!strings.Contains(e.Message, "cheeseshop admin upstream local requests") {
			t.Fatalf("refuse: %v", err)
		}
		if exists("requests") {
			t.Fatal("refused project created")
		}
		if n := f.countEvents(alice.User.ID, audit.UpstreamNameRefused); n != 1 {
			t.Fatalf("%d refusal events", n)
		}
		_, err := create("offline")
		if e, ok := problem.As(err); !ok || e.Kind != problem.Unavailable || !strings.Contains(e.Message, "Could not check the upstream index for 'offline'; retry") {
			t.Fatalf("refuse, upstream down: %v", err)
		}
		if exists("offline") {
			t.Fatal("project created while the upstream was down")
		}
		// A pending publisher is told at once.
		if err := f.svc.CheckProjectName(ctx, "Requests"); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("early check of an upstream name: %v", err)
		}
		if err := f.svc.CheckProjectName(ctx, "theirs-not"); err != nil {
			t.Fatalf("early check of a free name: %v", err)
		}
		// An administrator's decision lets it through.
		if _, err := f.svc.AddUpstreamRule(ctx, nil, audit.Meta{}, store.UpstreamRule{Pattern: "Requests", Action: store.RuleLocal}); err != nil {
			t.Fatal(err)
		}
		if r, err := create("requests"); err != nil || r != nil || !published("requests") {
			t.Fatalf("requests after admin upstream local: %+v, %v", r, err)
		}
	case LocalNamesAllow:
		if err != nil || r != nil || !published("requests") {
			t.Fatalf("allow: review %+v, %v", r, err)
		}
		proj, err := f.st.ProjectByName(ctx, "requests")
		storetest.Must(t, err)
		evs, err := f.st.ProjectEvents(ctx, proj.ID, 10)
		storetest.Must(t, err)
		if !slices.ContainsFunc(evs, func(e *store.Event) bool { return e.Tag == audit.UpstreamNameShadowed }) {
			t.Fatalf("no shadowed event: %+v", evs)
		}
		msgs, err := mail.ReadOutbox(outbox)
		storetest.Must(t, err)
		if !slices.ContainsFunc(msgs, func(m mail.Received) bool {
			return m.To == "root@example.org" && strings.Contains(m.Subject, "requests now hides the upstream's")
		}) {
			t.Fatalf("administrators not told: %+v", msgs)
		}
		if r, err := create("offline"); err != nil || r != nil || !published("offline") {
			t.Fatalf("allow, upstream down: %+v, %v", r, err)
		}
	default: // ask
		if err != nil || r == nil || !r.Held || r.Kind != store.ReviewUpstreamName || r.Target != testUpstreamURL || r.TargetRank != 0 {
			t.Fatalf("ask: review %+v, %v", r, err)
		}
		if published("requests") {
			t.Fatal("held project published")
		}
		if n := HoldNotice(r); !strings.Contains(n, "exists on the upstream index "+testUpstreamURL) || !strings.Contains(n, "dependency confusion") {
			t.Fatalf("notice %q", n)
		}
		rs, err := f.svc.NameReviews(ctx)
		storetest.Must(t, err)
		if len(rs) != 1 || rs[0].NormalizedName != "requests" || rs[0].Kind != store.ReviewUpstreamName || rs[0].Uploader != "alice" {
			t.Fatalf("queue %+v", rs)
		}
		msgs, err := mail.ReadOutbox(outbox)
		storetest.Must(t, err)
		if len(msgs) != 2 || msgs[0].To != "alice@example.org" || !strings.Contains(msgs[0].Subject, "an upstream index lists its name") ||
			msgs[1].To != "root@example.org" || !strings.Contains(msgs[1].Subject, "Upstream name held: requests") {
			t.Fatalf("emails %+v", msgs)
		}
		proj, err := f.st.ProjectByName(ctx, "requests")
		storetest.Must(t, err)
		evs, err := f.st.ProjectEvents(ctx, proj.ID, 10)
		storetest.Must(t, err)
		if !slices.ContainsFunc(evs, func(e *store.Event) bool { return e.Tag == audit.UpstreamNameHeld }) {
			t.Fatalf("no held event: %+v", evs)
		}
		// Approval publishes it, and journals its creation for every
		// replica.
		serial, err := f.st.LastSerial(ctx)
		storetest.Must(t, err)
		if _, err := f.svc.ApproveName(ctx, nil, audit.Meta{}, "requests"); err != nil {
			t.Fatal(err)
		}
		if !published("requests") {
			t.Fatal("approved project not published")
		}
		entries, err := f.st.JournalSince(ctx, serial, 10)
		storetest.Must(t, err)
		if !slices.ContainsFunc(entries, func(e store.JournalEntry) bool {
			return e.NormalizedName == "requests" && e.Action == store.ActionCreateProject
		}) {
			t.Fatalf("approval journalled %+v", entries)
		}
		// The upstream could not be asked: held all the same.
		r, err = create("offline")
		if err != nil || r == nil || !r.Held || r.Kind != store.ReviewUpstreamName || r.Target != "" {
			t.Fatalf("ask, upstream down: %+v, %v", r, err)
		}
		if n := HoldNotice(r); !strings.Contains(n, "could not be asked") {
			t.Fatalf("notice %q", n)
		}
		// An upstream's name outranks a look-alike: reqests is both.
		r, err = create("reqests")
		if err != nil || r == nil || r.Kind != store.ReviewUpstreamName {
			t.Fatalf("look-alike of an upstream name: %+v, %v", r, err)
		}
		// Rejected: deleted, but the name is not prohibited (that would
		// keep the upstream's off the proxy too).
		if _, err := f.svc.RejectName(ctx, nil, audit.Meta{}, "offline"); err != nil {
			t.Fatal(err)
		}
		if exists("offline") {
			t.Fatal("rejected project still there")
		}
		if bad, err := f.st.IsProhibited(ctx, "0ff1ine"); err != nil || bad {
			t.Fatalf("rejected upstream name prohibited: %v %v", bad, err)
		}
	}

	// A new release of an existing project never asks the upstreams.
	before := len(up.calls())
	f.mustWheel(alice, disttest.Dist{Name: "mine", Version: "2.0"})
	if policy != LocalNamesRefuse {
		f.mustWheel(alice, disttest.Dist{Name: "requests", Version: "2.0"})
	}
	if n := len(up.calls()); n != before {
		t.Fatalf("new releases asked the upstream: %v", up.calls()[before:])
	}
}

// TestUpstreamNamesOff: without an upstream nothing is asked and names
// are created as ever.
func TestUpstreamNamesOff(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{LocalNames: LocalNamesRefuse})
		if res := f.mustWheel(f.user("alice"), disttest.Dist{Name: "requests", Version: "1.0"}); res.Review != nil {
			t.Fatalf("review %+v", res.Review)
		}
	})
}

// TestUpstreamLookalikes: the proxied projects most downloaded through
// the index are protected names (Source upstream), ranked by their own
// downloads and merged with the others, so that a local reqeusts is held
// when requests is installed through the proxy.
func TestUpstreamLookalikes(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{LookalikePolicy: LookalikeHold})
		_, err := f.svc.SetProtectedNames(ctx, []store.ProtectedName{{Name: "numpy", Rank: 1}, {Name: "flask", Rank: 2}})
		storetest.Must(t, err)
		for name, n := range map[string]int64{"requests": 500, "flask": 10} {
			var id int64
			storetest.Must(t, f.st.DB().QueryRowContext(ctx, `INSERT INTO upstream_projects (normalized_name, name, upstream, found, checked_at, created_at)
				VALUES ($1, $1, $2, TRUE, 0, 0) RETURNING id`, name, testUpstreamURL).Scan(&id))
			_, err := f.st.DB().ExecContext(ctx, `INSERT INTO upstream_downloads (upstream_project_id, day, downloads) VALUES ($1, 5, $2)`, id, n)
			storetest.Must(t, err)
		}
		storetest.Must(t, f.st.InTx(ctx, func(tx *store.Tx) error {
			w, err := tx.LockDownloads(ctx)
			if err != nil {
				return err
			}
			return tx.MoveWindow(ctx, w, 1, 5)
		}))
		got, err := f.svc.ProtectedNames(ctx, 10, 10)
		storetest.Must(t, err)
		var s []string
		for _, p := range got {
			s = append(s, fmt.Sprintf("%s:%s:%d", p.Name, p.Source, p.Rank))
		}
		// requests: upstream rank 1; flask: imported 2 beats upstream 2
		// (the first source wins a tie).
		if strings.Join(s, " ") != "numpy:import:1 requests:upstream:1 flask:import:2" {
			t.Fatalf("protected %v", s)
		}
		if got, err := f.svc.ProtectedNames(ctx, 10, 0); err != nil || len(got) != 2 {
			t.Fatalf("without upstream names: %v, %v", got, err)
		}

		// The detector built from them holds a local reqeusts.
		ps := make([]lookalike.Protected, len(got))
		for i, n := range got {
			ps[i] = lookalike.Protected{Name: n.Name, Rank: int(n.Rank), Source: n.Source}
		}
		ix := lookalike.New(ps, lookalike.DefaultOptions())
		f.svc.cfg.NameCheck = func(_ context.Context, name string) (*NameMatch, error) {
			if m, ok := ix.Check(name); ok {
				return &NameMatch{Target: m.Target, TargetRank: m.TargetRank, Kind: m.Kind}, nil
			}
			return nil, nil
		}
		res := f.mustWheel(f.user("alice"), disttest.Dist{Name: "reqeusts", Version: "1.0"})
		if res.Review == nil || !res.Review.Held || res.Review.Target != "requests" {
			t.Fatalf("reqeusts: review %+v", res.Review)
		}
	})
}
