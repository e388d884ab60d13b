package publish_test

import (
	"context"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminPublishers is the operators' view: every publisher with its
// projects and the account that added it, or one project's (and the
// pending ones that would create it); and the takedown of a publisher
// from every project, its minted tokens with it, recorded on each
// project as by an administrator.
func TestAdminPublishers(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		m := audit.Meta{UserAgent: "cheeseshop admin"}
		alice := f.user("alice")
		for _, p := range []string{"widget", "gadget"} {
			if _, err := f.wheel(f.tokenOf(alice), p, "1.0"); err != nil {
				t.Fatal(err)
			}
			_, err := f.svc.AddPublisher(ctx, alice, m, p, octoRepo)
			storetest.Must(t, err)
		}
		pending, err := f.svc.AddPending(ctx, alice, m, "Newproj", publish.Spec{Kind: store.PublisherGoogle, Email: "ci@example.iam.gserviceaccount.com"})
		storetest.Must(t, err)

		all, err := f.svc.AllPublishers(ctx, "")
		storetest.Must(t, err)
		if len(all) != 2 || len(all[0].Projects) != 2 || all[0].Projects[0] != "gadget" || all[0].AddedBy != "alice" ||
			all[1].Publisher.ID != pending.ID || len(all[1].Projects) != 0 {
			t.Fatalf("every publisher: %+v", all)
		}
		for project, want := range map[string]int64{"WIDGET": all[0].Publisher.ID, "newproj": pending.ID} {
			l, err := f.svc.AllPublishers(ctx, project)
			storetest.Must(t, err)
			if len(l) != 1 || l[0].Publisher.ID != want {
				t.Errorf("publishers of %s: %+v", project, l)
			}
		}
		if _, err := f.svc.AllPublishers(ctx, "nothing"); problem.KindOf(err) != problem.NotFound {
			t.Errorf("publishers of an unknown project: %v", err)
		}

		// A token minted for the publisher dies with it.
		minted, err := f.svc.Exchange(ctx, claims("admin-1"), m)
		storetest.Must(t, err)
		removed, err := f.svc.RemoveByAdmin(ctx, m, all[0].Publisher.ID)
		storetest.Must(t, err)
		if len(removed.Projects) != 2 {
			t.Errorf("removed: %+v", removed)
		}
		if _, err := f.idx.AuthenticateToken(ctx, minted.Token, m); err == nil {
			t.Error("the token minted for the removed publisher still authenticates")
		}
		for _, name := range []string{"widget", "gadget"} {
			proj, err := f.st.ProjectByName(ctx, name)
			storetest.Must(t, err)
			evs, err := f.st.ProjectEvents(ctx, proj.ID, 10)
			storetest.Must(t, err)
			if evs[0].Tag != audit.PublisherRemoved || evs[0].ActorID != 0 || audit.Describe(evs[0]) != "Trusted publisher removed by an administrator at the command line: "+publish.Describe(removed.Publisher) {
				t.Errorf("%s: latest event %+v (%s)", name, evs[0], audit.Describe(evs[0]))
			}
		}
		if _, err := f.svc.RemoveByAdmin(ctx, m, all[0].Publisher.ID); problem.KindOf(err) != problem.NotFound {
			t.Errorf("removed twice: %v", err)
		}
		if _, err := f.svc.RemoveByAdmin(ctx, m, pending.ID); err != nil {
			t.Fatal(err)
		}
		evs, err := f.st.UserEvents(ctx, alice.User.ID, 10)
		storetest.Must(t, err)
		if evs[0].Tag != audit.PendingPublisherRemoved {
			t.Errorf("alice's latest event: %+v", evs[0])
		}
		if all, err := f.svc.AllPublishers(ctx, ""); err != nil || len(all) != 0 {
			t.Errorf("after the removals: %+v (%v)", all, err)
		}
	})
}
