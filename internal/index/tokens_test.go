package index

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestTokenPermissions: a token uploads, nothing more, unless made with
// the management scope; no token creates, lists or revokes tokens; a
// management token is refused for a project whose mandate its user does
// not meet; every token made is recorded and emailed.
func TestTokenPermissions(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		outbox := filepath.Join(t.TempDir(), "outbox")
		mailer, err := mail.New("", outbox, "cheeseshop <noreply@index.test>")
		storetest.Must(t, err)
		// The mandate in short: a critical project requires two-factor
		// authentication of any change.
		gate := func(ctx context.Context, q GateQuerier, u *store.User, p *store.Project) (string, error) {
			totp, keys, err := q.TwoFactorMethods(ctx, u.ID)
			if err != nil || !p.Critical() || totp || keys > 0 {
				return "", err
			}
			return "'" + p.Name + "' is a critical project: two-factor authentication required.", nil
		}
		f := newFixture(t, d, Config{ProjectGate: gate, Mailer: mailer})
		m := audit.Meta{IP: "192.0.2.7"}
		alice := f.user("alice")
		verify(t, f, alice)
		f.mustWheel(alice, disttest.Dist{Name: "widget", Version: "1.0"})
		f.mustWheel(alice, disttest.Dist{Name: "gadget", Version: "1.0"})
		web := &Principal{User: alice.User, RecentAuth: true, Meta: m}

		// Upload-only: uploads, and every management call is refused.
		nt, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "ci"})
		storetest.Must(t, err)
		if nt.Token.CanManage {
			t.Fatal("a token made without the management scope can manage")
		}
		up, err := f.svc.AuthenticateToken(ctx, nt.Secret, m)
		storetest.Must(t, err)
		f.mustWheel(up, disttest.Dist{Name: "widget", Version: "2.0"})
		_, managedErr := f.svc.Managed(ctx, up, "widget")
		_, inviteErr := f.svc.InviteCollaborator(ctx, up, m, "widget", "alice", store.RoleOwner)
		_, _, myErr := f.svc.MyProjects(ctx, up)
		for name, err := range map[string]error{
			"view":           managedErr,
			"yank":           f.svc.Yank(ctx, up, m, "widget", "1.0", "x"),
			"unyank":         f.svc.Unyank(ctx, up, m, "widget", "1.0"),
			"invite":         inviteErr,
			"remove role":    f.svc.RemoveCollaborator(ctx, up, m, "widget", "alice"),
			"leave":          f.svc.LeaveProject(ctx, up, m, "widget"),
			"delete file":    f.svc.DeleteFile(ctx, up, disttest.Dist{Name: "widget", Version: "2.0"}.WheelFilename()),
			"delete release": f.svc.DeleteRelease(ctx, up, m, "widget", "2.0"),
			"delete project": f.svc.DeleteProject(ctx, up, m, "widget", "widget"),
			"settings":       f.svc.SetRequire2FA(ctx, up, m, "widget", true),
			"my projects":    myErr,
		} {
			if problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "upload-only") {
				t.Errorf("%s with an upload-only token: %v, want a refusal saying the token is upload-only", name, err)
			}
		}

		// No token, not even a management one, handles tokens.
		nt, err = f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "ops", Manage: true})
		storetest.Must(t, err)
		mg, err := f.svc.AuthenticateToken(ctx, nt.Secret, m)
		storetest.Must(t, err)
		storetest.Must(t, f.svc.Yank(ctx, mg, m, "widget", "1.0", "through a management token"))
		_, createErr := f.svc.CreateToken(ctx, mg, m, TokenRequest{Name: "wider", Manage: true})
		_, listErr := f.svc.ListTokens(ctx, mg)
		for name, err := range map[string]error{"create": createErr, "list": listErr, "revoke": f.svc.RevokeToken(ctx, mg, m, nt.Token.ID)} {
			if problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "cannot create, list or revoke") {
				t.Errorf("%s tokens with a management token: %v", name, err)
			}
		}

		// The mandate: gadget becomes critical; alice has no 2FA.
		gadget := f.project("gadget")
		storetest.Must(t, f.st.MarkCritical(ctx, gadget.ID, time.Now().Add(-time.Hour)))
		for name, req := range map[string]TokenRequest{
			"for all projects":  {Name: "all", Manage: true},
			"scoped to gadget":  {Name: "g", Manage: true, Projects: []string{"gadget"}},
			"scoped to both":    {Name: "wg", Manage: true, Projects: []string{"widget", "gadget"}},
			"upload to gadget":  {Name: "ug", Projects: []string{"gadget"}},
			"through the admin": {Name: "adm", Manage: true},
		} {
			var err error
			if name == "through the admin" {
				_, err = f.svc.AdminCreateToken(ctx, "alice", m, req)
			} else {
				_, err = f.svc.CreateToken(ctx, web, m, req)
			}
			if problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "'gadget' is a critical project") {
				t.Errorf("management token %s without 2FA: %v, want the mandate's refusal", name, err)
			}
		}
		if _, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "w", Manage: true, Projects: []string{"widget"}}); err != nil {
			t.Errorf("management token scoped to a project without a mandate: %v", err)
		}
		if _, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "all-upload"}); err != nil {
			t.Errorf("upload-only token for all projects: %v (the mandate applies to its uploads)", err)
		}
		storetest.Must(t, f.st.SetTOTP(ctx, alice.User.ID, "sealed", 0, time.Now()))
		if _, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "all-2fa", Manage: true}); err != nil {
			t.Errorf("management token for all projects with 2FA: %v", err)
		}
		nt, err = f.svc.AdminCreateToken(ctx, "alice", m, TokenRequest{Name: "adm", Manage: true})
		storetest.Must(t, err)

		// Every creation is an event and an email.
		tokens, err := f.st.UserTokens(ctx, alice.User.ID)
		storetest.Must(t, err)
		created := f.countEvents(alice.User.ID, audit.TokenCreated)
		msgs, err := mail.ReadOutbox(outbox)
		storetest.Must(t, err)
		notices := 0
		for _, msg := range msgs {
			if strings.HasPrefix(msg.Subject, "API token created") && strings.Contains(msg.To, alice.User.Email) {
				notices++
			}
		}
		made := len(tokens) - 1 // the fixture's own token is written to the store directly
		if created != made || notices != made || made != 6 {
			t.Fatalf("%d tokens made, %d events, %d emails: want one event and one email per token", made, created, notices)
		}
		if last := msgs[len(msgs)-1].Text; !strings.Contains(last, "upload and manage") || !strings.Contains(last, "by an administrator") ||
			!strings.Contains(last, auth.DisplayPrefix(nt.Secret)) {
			t.Fatalf("the administrator's token notice:\n%s", last)
		}
	})
}
