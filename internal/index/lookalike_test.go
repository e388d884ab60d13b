package index

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// testNameCheck is a small real detector: a table of look-alikes of
// "requests" and "numpy", and the protected names themselves (which a
// detector may well report as their own look-alike).
func testNameCheck(_ context.Context, name string) (*NameMatch, error) {
	switch strings.ToLower(name) {
	case "reqests", "requests", "requests2":
		return &NameMatch{Target: "requests", TargetRank: 1, Kind: "omission"}, nil
	case "nunpy":
		return &NameMatch{Target: "numpy", TargetRank: 2, Kind: "keyboard"}, nil
	}
	return nil, nil
}

// TestLookalikePolicy: hold keeps a new look-alike out of the index and
// tells its uploader and the administrators; flag publishes it and tells
// the administrators; off does nothing; existing projects and the
// protected names themselves are never affected.
func TestLookalikePolicy(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, policy := range []LookalikePolicy{LookalikeHold, LookalikeFlag, LookalikeOff} {
			t.Run(string(policy), func(t *testing.T) {
				ctx := context.Background()
				outbox := filepath.Join(t.TempDir(), "outbox")
				mailer, err := mail.New("", outbox, "cheeseshop <noreply@index.test>")
				storetest.Must(t, err)
				f := newFixture(t, d, Config{NameCheck: testNameCheck, LookalikePolicy: policy, Mailer: mailer})
				admin := &store.User{Username: "root", Email: "root@example.org", PasswordHash: "!", IsAdmin: true}
				storetest.Must(t, f.st.CreateUser(ctx, admin))
				alice, rachel := f.user("alice"), f.user("rachel")

				// The protected name itself, created here, is no look-alike.
				if res := f.mustWheel(rachel, disttest.Dist{Name: "requests", Version: "1.0"}); res.Review != nil {
					t.Fatalf("the protected name was reviewed: %+v", res.Review)
				}
				if policy != LookalikeOff {
					// Its own collaborators may name projects after it.
					if res := f.mustWheel(rachel, disttest.Dist{Name: "requests2", Version: "1.0"}); res.Review != nil {
						t.Fatalf("a project of the target's own Owner was reviewed: %+v", res.Review)
					}
				}
				res := f.mustWheel(alice, disttest.Dist{Name: "reqests", Version: "1.0"})
				_, loadErr := f.svc.LoadProject(ctx, "reqests")
				_, fileErr := f.svc.File(ctx, res.Filename)
				rs, err := f.svc.NameReviews(ctx)
				storetest.Must(t, err)
				msgs, err := mail.ReadOutbox(outbox)
				storetest.Must(t, err)
				var events []string
				p, err := f.st.ProjectByName(ctx, "reqests")
				storetest.Must(t, err)
				evs, err := f.st.ProjectEvents(ctx, p.ID, 10)
				storetest.Must(t, err)
				for _, e := range evs {
					events = append(events, e.Tag)
				}
				switch policy {
				case LookalikeHold:
					if res.Review == nil || !res.Review.Held || res.Review.Target != "requests" {
						t.Fatalf("upload result review %+v", res.Review)
					}
					if !errors.Is(loadErr, store.ErrNotFound) || !errors.Is(fileErr, store.ErrNotFound) {
						t.Fatalf("held project published: load %v, file %v", loadErr, fileErr)
					}
					if len(rs) != 1 || !rs[0].Held || rs[0].Kind != "omission" || rs[0].Uploader != "alice" {
						t.Fatalf("queue %+v", rs)
					}
					if len(msgs) != 2 || msgs[0].To != "alice@example.org" || !strings.Contains(msgs[0].Subject, "held for review") ||
						msgs[1].To != "root@example.org" || !strings.Contains(msgs[1].Subject, "held") {
						t.Fatalf("emails %+v", msgs)
					}
					if !strings.Contains(HoldNotice(res.Review), "resembles 'requests'") {
						t.Fatalf("notice %q", HoldNotice(res.Review))
					}
					// Further uploads are accepted and stay held.
					res2 := f.mustWheel(alice, disttest.Dist{Name: "reqests", Version: "1.1"})
					if res2.Review == nil || !res2.Review.Held {
						t.Fatalf("second upload: review %+v", res2.Review)
					}
					if _, err := f.svc.LoadProject(ctx, "reqests"); !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("after a second upload: %v", err)
					}
					names, err := f.st.ListProjectNames(ctx)
					storetest.Must(t, err)
					if len(names) != 2 { // requests and requests2
						t.Fatalf("root lists %v", names)
					}
					// Its owner still manages it, and sees why it is held.
					m, err := f.svc.Managed(ctx, alice, "reqests")
					if err != nil || m.Review == nil || !m.Review.Held {
						t.Fatalf("managed: %+v, %v", m, err)
					}
					// Approval publishes it, with both releases.
					if _, err := f.svc.ApproveName(ctx, admin, audit.Meta{}, "Reqests"); err != nil {
						t.Fatal(err)
					}
					v, err := f.svc.LoadProject(ctx, "reqests")
					if err != nil || len(v.Releases) != 2 {
						t.Fatalf("after approval: %v, %v", v, err)
					}
					if _, err := f.svc.File(ctx, res.Filename); err != nil {
						t.Fatalf("file after approval: %v", err)
					}
					if _, err := f.svc.ApproveName(ctx, admin, audit.Meta{}, "reqests"); problem.KindOf(err) != problem.NotFound {
						t.Fatalf("approved twice: %v", err)
					}
				case LookalikeFlag:
					if res.Review == nil || res.Review.Held || loadErr != nil || fileErr != nil {
						t.Fatalf("flagged: review %+v, load %v, file %v", res.Review, loadErr, fileErr)
					}
					if len(rs) != 1 || rs[0].Held {
						t.Fatalf("queue %+v", rs)
					}
					if len(msgs) != 1 || msgs[0].To != "root@example.org" || !strings.Contains(msgs[0].Subject, "flagged") {
						t.Fatalf("emails %+v", msgs)
					}
					// Rejection deletes the project and prohibits its name.
					if _, err := f.svc.RejectName(ctx, nil, audit.Meta{}, "reqests"); err != nil {
						t.Fatal(err)
					}
					if _, err := f.st.ProjectByName(ctx, "reqests"); !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("rejected project still there: %v", err)
					}
					if _, err := f.uploadWheel(alice, disttest.Dist{Name: "reqests", Version: "2.0"}); problem.KindOf(err) != problem.Invalid {
						t.Fatalf("a rejected name was taken again: %v", err)
					}
					storetest.Must(t, f.svc.LiftProhibition(ctx, nil, audit.Meta{}, "Reqests"))
					if err := f.svc.LiftProhibition(ctx, nil, audit.Meta{}, "reqests"); problem.KindOf(err) != problem.NotFound {
						t.Fatalf("lifted twice: %v", err)
					}
					f.mustWheel(alice, disttest.Dist{Name: "reqests", Version: "2.0"})
				case LookalikeOff:
					if res.Review != nil || loadErr != nil || fileErr != nil || len(rs) != 0 || len(msgs) != 0 {
						t.Fatalf("off: review %+v, load %v, file %v, queue %v, emails %v", res.Review, loadErr, fileErr, rs, msgs)
					}
				}
				want := map[LookalikePolicy]string{LookalikeHold: audit.LookalikeHeld, LookalikeFlag: audit.LookalikeFlagged}[policy]
				found := false
				for _, tag := range events {
					found = found || tag == want
				}
				if want != "" && !found {
					t.Errorf("events %v lack %s", events, want)
				}
			})
		}
	})
}

// TestLookalikeExistingProject: a project that existed before its name
// became protected, or before the detector, is never held.
func TestLookalikeExistingProject(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		alice := f.user("alice")
		f.mustWheel(alice, disttest.Dist{Name: "nunpy", Version: "1.0"})
		f.svc.cfg.NameCheck = testNameCheck
		if res := f.mustWheel(alice, disttest.Dist{Name: "nunpy", Version: "1.1"}); res.Review != nil {
			t.Fatalf("existing project reviewed: %+v", res.Review)
		}
		if _, err := f.svc.LoadProject(ctx, "nunpy"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestProhibitName: administrators prohibit a name (and its
// ultranormalized look-alikes) and lift it.
func TestProhibitName(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		alice := f.user("alice")
		if err := f.svc.ProhibitName(ctx, nil, audit.Meta{}, "not a name!", ""); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("invalid name: %v", err)
		}
		storetest.Must(t, f.svc.ProhibitName(ctx, nil, audit.Meta{}, "Evil_Pkg", "malware"))
		if _, err := f.uploadWheel(alice, disttest.Dist{Name: "evi1-pkg", Version: "1.0"}); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("prohibited look-alike accepted: %v", err)
		}
		ns, err := f.svc.ProhibitedNames(ctx)
		storetest.Must(t, err)
		if len(ns) != 1 || ns[0].Normalized != "evil-pkg" || ns[0].Reason != "malware" {
			t.Fatalf("prohibited %+v", ns)
		}
		storetest.Must(t, f.svc.LiftProhibition(ctx, nil, audit.Meta{}, "evil-pkg"))
		f.mustWheel(alice, disttest.Dist{Name: "evi1-pkg", Version: "1.0"})
	})
}

// TestProtectedNamesMerged: the imported list and the own ranking merge,
// the best rank winning.
func TestProtectedNamesMerged(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		n, err := f.svc.SetProtectedNames(ctx, []store.ProtectedName{{Name: "Requests", Rank: 4}, {Name: "numpy", Rank: 1}, {Name: "bad name", Rank: 2}})
		storetest.Must(t, err)
		if n != 2 {
			t.Fatalf("kept %d", n)
		}
		alice := f.user("alice")
		f.mustWheel(alice, disttest.Dist{Name: "requests", Version: "1.0"})
		f.mustWheel(alice, disttest.Dist{Name: "widget", Version: "1.0"})
		var counts []store.DownloadCount
		for i, name := range []string{"requests", "widget"} {
			p, err := f.st.ProjectByName(ctx, name)
			storetest.Must(t, err)
			counts = append(counts, store.DownloadCount{ProjectID: p.ID, Day: 5, Downloads: int64(100 - i)})
		}
		storetest.Must(t, f.st.InTx(ctx, func(tx *store.Tx) error {
			w, err := tx.LockDownloads(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.AddDownloads(ctx, counts); err != nil {
				return err
			}
			return tx.MoveWindow(ctx, w, 1, 5)
		}))
		got, err := f.svc.ProtectedNames(ctx, 10, 10)
		storetest.Must(t, err)
		var s []string
		for _, p := range got {
			s = append(s, p.Name+":"+p.Source)
		}
		// requests: own rank 1 beats imported 4; numpy imported 1; widget own 2.
		if strings.Join(s, " ") != "numpy:import requests:own widget:own" || got[1].Rank != 1 || got[2].Rank != 2 {
			t.Fatalf("protected %v (%+v)", s, got)
		}
	})
}
