package index

import (
	"context"
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// clock is a settable time for the service.
func verify(t *testing.T, f *fixture, p *Principal) {
	t.Helper()
	storetest.Must(t, f.st.SetEmail(context.Background(), p.User.ID, p.User.Email, true))
	p.User.EmailVerified = true
}

func TestManageDomain(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		clk := clocktest.New(time.Now())
		f.svc.now = clk.Now
		alice, bob := f.user("alice"), f.user("bob")
		f.mustWheel(alice, disttest.Dist{Name: "widget", Version: "1.0"})
		m := audit.Meta{IP: "192.0.2.1"}

		t.Run("tokens need a verified email and stay within the user's projects", func(t *testing.T) {
			// Tokens are made by signed-in sessions that proved their
			// identity lately.
			aliceWeb := &Principal{User: alice.User, RecentAuth: true}
			bobWeb := &Principal{User: bob.User, RecentAuth: true}
			if _, err := f.svc.CreateToken(ctx, aliceWeb, m, TokenRequest{Name: "ci"}); problem.KindOf(err) != problem.Forbidden {
				t.Fatalf("unverified: %v", err)
			}
			verify(t, f, alice)
			verify(t, f, bob)
			if _, err := f.svc.CreateToken(ctx, bobWeb, m, TokenRequest{Name: "ci", Projects: []string{"widget"}}); problem.KindOf(err) != problem.Forbidden {
				t.Fatalf("scoped to someone else's project: %v", err)
			}
			if _, err := f.svc.CreateToken(ctx, &Principal{User: alice.User}, m, TokenRequest{Name: "ci"}); !errors.Is(err, auth.ErrReauthRequired) {
				t.Fatalf("a session that did not prove its identity lately: %v", err)
			}
			nt, err := f.svc.CreateToken(ctx, aliceWeb, m, TokenRequest{Name: "ci", Projects: []string{"Widget"}})
			if err != nil || nt.Secret == "" || !nt.Token.Scoped {
				t.Fatalf("create: %v", err)
			}
			scoped, err := f.svc.AuthenticateToken(ctx, nt.Secret, audit.Meta{})
			storetest.Must(t, err)
			if _, err := f.svc.CreateToken(ctx, scoped, m, TokenRequest{Name: "wider"}); problem.KindOf(err) != problem.Forbidden {
				t.Fatalf("a scoped token minted a token: %v", err)
			}
			// Uses are recorded at most once a minute.
			count := func() int { return f.countEvents(alice.User.ID, audit.TokenUsed) }
			_, _ = f.svc.AuthenticateToken(ctx, nt.Secret, audit.Meta{})
			if n := count(); n != 1 {
				t.Fatalf("%d use events within a minute", n)
			}
			clk.Add(2 * time.Minute)
			_, _ = f.svc.AuthenticateToken(ctx, nt.Secret, audit.Meta{})
			if n := count(); n != 2 {
				t.Fatalf("%d use events after two minutes", n)
			}
			storetest.Must(t, f.svc.RevokeToken(ctx, aliceWeb, m, nt.Token.ID))
			if _, err := f.svc.AuthenticateToken(ctx, nt.Secret, audit.Meta{}); problem.KindOf(err) != problem.Unauthenticated {
				t.Fatalf("revoked token: %v", err)
			}
		})
		t.Run("invitations expire after a week", func(t *testing.T) {
			if _, err := f.svc.InviteCollaborator(ctx, alice, m, "widget", "bob", store.RoleOwner); err != nil {
				t.Fatal(err)
			}
			clk.Add(InvitationLifetime + time.Second)
			if err := f.svc.AcceptInvitation(ctx, bob, m, "widget"); problem.KindOf(err) != problem.Invalid {
				t.Fatalf("expired invitation: %v", err)
			}
			if _, err := f.svc.InviteCollaborator(ctx, alice, m, "widget", "bob", store.RoleMaintainer); err != nil {
				t.Fatal(err)
			}
			clk.Add(InvitationLifetime - time.Minute)
			storetest.Must(t, f.svc.AcceptInvitation(ctx, bob, m, "widget"))
			if role, _ := f.st.RoleOf(ctx, f.project("widget").ID, bob.User.ID); role != store.RoleMaintainer {
				t.Fatalf("role %q", role)
			}
		})
		t.Run("maintainers cannot yank or delete", func(t *testing.T) {
			for name, err := range map[string]error{
				"yank":           f.svc.Yank(ctx, bob, m, "widget", "1.0", ""),
				"delete release": f.svc.DeleteRelease(ctx, bob, m, "widget", "1.0"),
				"delete project": f.svc.DeleteProject(ctx, bob, m, "widget", "widget"),
				"change role":    f.svc.ChangeRole(ctx, bob, m, "widget", "alice", store.RoleMaintainer),
			} {
				if problem.KindOf(err) != problem.Forbidden {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	})
}

func (f *fixture) project(name string) *store.Project {
	f.t.Helper()
	p, err := f.st.ProjectByName(context.Background(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}
