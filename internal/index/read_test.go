package index

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestReadTokens: a read-only token is made without the two-factor
// mandate (reads are never gated), may be scoped to any project its user
// reads (not only its own), never with the management permission; it
// reads within its scope on a private index, and is refused every write
// with a message saying it only reads.
func TestReadTokens(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		// Every change needs two-factor authentication, which nobody has.
		gate := func(ctx context.Context, q GateQuerier, u *store.User, p *store.Project) (string, error) {
			return "two-factor authentication required", nil
		}
		f := newFixture(t, d, Config{ReadAccess: ReadAuthenticated, ProjectGate: gate})
		m := audit.Meta{IP: "192.0.2.7"}
		owner := f.user("owner")
		f.mustWheel(owner, disttest.Dist{Name: "widget", Version: "1.0"})
		f.mustWheel(owner, disttest.Dist{Name: "gadget", Version: "1.0"})
		reader := f.user("reader")
		verify(t, f, reader)
		web := &Principal{User: reader.User, RecentAuth: true, Meta: m}

		if _, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "both", ReadOnly: true, Manage: true}); problem.KindOf(err) != problem.Invalid {
			t.Errorf("read-only token with the management permission: %v, want refused", err)
		}
		if _, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "up", Projects: []string{"widget"}}); problem.KindOf(err) != problem.Forbidden {
			t.Errorf("upload token scoped to another's project: %v, want refused", err)
		}
		if _, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "nope", ReadOnly: true, Projects: []string{"nothing"}}); problem.KindOf(err) != problem.Invalid {
			t.Errorf("read-only token scoped to no project: %v, want refused", err)
		}
		nt, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "ci", ReadOnly: true, Projects: []string{"Widget"}})
		storetest.Must(t, err)
		if !nt.Token.ReadOnly || TokenPermission(nt.Token) != "read only" {
			t.Fatalf("token %+v", nt.Token)
		}

		r, err := f.svc.ReaderForToken(ctx, nt.Secret, m)
		storetest.Must(t, err)
		widget, err := f.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		gadget, err := f.st.ProjectByName(ctx, "gadget")
		storetest.Must(t, err)
		if !f.svc.CanRead(r, widget) || f.svc.CanRead(r, gadget) || f.svc.CanRead(f.svc.Anonymous(), widget) {
			t.Error("a token scoped to widget reads widget only; anonymous reads nothing")
		}
		root, err := f.svc.RootFor(ctx, r)
		storetest.Must(t, err)
		if body := string(root.HTML.Bytes()); !strings.Contains(body, "widget") || strings.Contains(body, "gadget") {
			t.Errorf("scoped project list: %s", body)
		}

		// Writes are refused, saying why.
		p, err := f.svc.AuthenticateToken(ctx, nt.Secret, m)
		storetest.Must(t, err)
		_, uploadErr := f.uploadWheel(p, disttest.Dist{Name: "widget", Version: "2.0"})
		for name, err := range map[string]error{
			"upload": uploadErr,
			"write":  f.svc.CheckWrite(ctx, p),
			"yank":   f.svc.Yank(ctx, p, m, "widget", "1.0", "x"),
		} {
			if problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "can only read") {
				t.Errorf("%s with a read-only token: %v", name, err)
			}
		}

		// With public reads a scope limits nothing: a token never reads
		// less than anonymous.
		pub := New(f.st, nil, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		pr, err := pub.ReaderForToken(ctx, nt.Secret, m)
		storetest.Must(t, err)
		if !pub.CanRead(pr, gadget) || !pub.CanRead(pub.Anonymous(), gadget) {
			t.Error("public reads: everybody reads everything")
		}
	})
}

// TestReaderCache: a token's reader is cached (no query while it is
// fresh), and forgotten at once on this replica by a revocation, within
// a journal catch-up on another, at expiry, and after readerTTL.
func TestReaderCache(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{ReadAccess: ReadAuthenticated})
		clk := clocktest.New(time.Now())
		f.svc.now = clk.Now
		other := New(f.st, nil, Config{ReadAccess: ReadAuthenticated}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		other.now = clk.Now
		storetest.Must(t, other.cache.startFollowing(ctx))
		m := audit.Meta{}
		owner := f.user("owner")
		verify(t, f, owner)
		web := &Principal{User: owner.User, RecentAuth: true, Meta: m}
		newToken := func(expires *time.Time) *NewToken {
			nt, err := f.svc.CreateToken(ctx, web, m, TokenRequest{Name: "ci", ReadOnly: true, Expires: expires})
			storetest.Must(t, err)
			return nt
		}
		read := func(svc *Service, secret string) error {
			_, err := svc.ReaderForToken(ctx, secret, m)
			return err
		}

		nt := newToken(nil)
		storetest.Must(t, read(f.svc, nt.Secret))
		storetest.Must(t, read(other, nt.Secret))
		// Cached: the row is gone behind the caches' back, and they
		// still answer (for at most readerTTL).
		storetest.Must(t, f.st.DeleteToken(ctx, nt.Token.ID))
		if read(f.svc, nt.Secret) != nil || read(other, nt.Secret) != nil {
			t.Fatal("a fresh reader was not cached")
		}
		clk.Add(readerTTL)
		if problem.KindOf(read(f.svc, nt.Secret)) != problem.Unauthenticated {
			t.Error("a reader older than readerTTL was kept")
		}

		// A revocation: at once here, at the next catch-up there.
		nt = newToken(nil)
		storetest.Must(t, read(f.svc, nt.Secret))
		storetest.Must(t, read(other, nt.Secret))
		storetest.Must(t, f.svc.RevokeToken(ctx, web, m, nt.Token.ID))
		if problem.KindOf(read(f.svc, nt.Secret)) != problem.Unauthenticated {
			t.Error("revoked token still reads on its replica")
		}
		if read(other, nt.Secret) != nil {
			t.Fatal("the other replica forgot before following the journal")
		}
		storetest.Must(t, other.cache.catchUp(ctx))
		if problem.KindOf(read(other, nt.Secret)) != problem.Unauthenticated {
			t.Error("revoked token still reads on another replica after its catch-up")
		}

		// Expiry needs no event.
		at := clk.Now().Add(time.Minute)
		nt = newToken(&at)
		storetest.Must(t, read(f.svc, nt.Secret))
		clk.Add(time.Minute)
		if problem.KindOf(read(f.svc, nt.Secret)) != problem.Unauthenticated {
			t.Error("expired token still reads")
		}
	})
}
