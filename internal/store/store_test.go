package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("second migration: %v", err)
		}
	})
}

func TestProjectsUsersTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		u := &store.User{Username: "Alice", Email: "alice@example.org", PasswordHash: "x", CreatedAt: now}
		storetest.Must(t, s.CreateUser(ctx, u))
		if err := s.CreateUser(ctx, &store.User{Username: "alice", Email: "a@b.c", PasswordHash: "x", CreatedAt: now}); !store.IsUniqueViolation(err) {
			t.Fatalf("second user with the same name in other case: got %v, want a unique violation", err)
		}
		got, err := s.UserByUsername(ctx, "ALICE")
		storetest.Must(t, err)
		if got.ID != u.ID || got.Username != "Alice" || !got.CreatedAt.Equal(now) {
			t.Fatalf("UserByUsername = %+v, want %+v", got, u)
		}
		if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing user: got %v, want ErrNotFound", err)
		}

		var p *store.Project
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			p = &store.Project{Name: "Foo_Bar", NormalizedName: "foo-bar", UltraName: "f00bar", CreatedAt: now}
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			return tx.AddRole(ctx, p.ID, u.ID, store.RoleOwner, now)
		}))
		if err := s.CreateProject(ctx, &store.Project{Name: "FooBar", NormalizedName: "foobar", UltraName: "f00bar", CreatedAt: now}); !store.IsUniqueViolation(err) {
			t.Fatalf("look-alike project: got %v, want a unique violation", err)
		}
		role, err := s.RoleOf(ctx, p.ID, u.ID)
		storetest.Must(t, err)
		if role != store.RoleOwner {
			t.Fatalf("role = %q", role)
		}

		// A failed transaction leaves nothing behind.
		boom := errors.New("boom")
		if err := s.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.CreateProject(ctx, &store.Project{Name: "ghost", NormalizedName: "ghost", UltraName: "gh0st", CreatedAt: now}); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v", err)
		}
		if _, err := s.ProjectByName(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("rolled-back project exists: %v", err)
		}

		tok := &store.Token{UserID: u.ID, Name: "ci", Prefix: "cs_abc", Hash: "h1", Scoped: true, ProjectIDs: []int64{p.ID},
			ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		storetest.Must(t, s.CreateToken(ctx, tok))
		gt, err := s.TokenByHash(ctx, "h1")
		storetest.Must(t, err)
		if !gt.Scoped || len(gt.ProjectIDs) != 1 || gt.ProjectIDs[0] != p.ID || !gt.ExpiresAt.Equal(now.Add(time.Hour)) || !gt.LastUsedAt.IsZero() {
			t.Fatalf("TokenByHash = %+v", gt)
		}
		storetest.Must(t, s.TouchToken(ctx, tok.ID, now))
		gt, err = s.TokenByHash(ctx, "h1")
		storetest.Must(t, err)
		if !gt.LastUsedAt.Equal(now) {
			t.Fatalf("LastUsedAt = %v", gt.LastUsedAt)
		}
	})
}

// TestMigrationCanonicalNames: migration 00012 gives the names prohibited
// before it their ultranormalized form, and leaves the keys of used
// filenames to the server (index.BackfillFilenameKeys).
func TestMigrationCanonicalNames(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, err := store.Open(ctx, storetest.URL(t, d))
		storetest.Must(t, err)
		defer s.Close()
		storetest.Must(t, s.MigrateTo(ctx, 10))
		for _, n := range []string{"dig", "evil-pkg", "foo-bar-io-lib"} {
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO prohibited_names (normalized_name, reason, created_at) VALUES ($1, 'old', 0)`, n); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO file_registry (filename, created_at) VALUES ('demo-1.0.tar.gz', 0)`); err != nil {
			t.Fatal(err)
		}
		storetest.Must(t, s.Migrate(ctx))
		for ultra, want := range map[string]bool{"d1g": true, "ev11pkg": true, "f00bar1011b": true, "dig": false, "evilpkg": false} {
			if got, err := s.IsProhibited(ctx, ultra); err != nil || got != want {
				t.Errorf("IsProhibited(%q) = %v, %v; want %v", ultra, got, err, want)
			}
		}
		if names, err := s.FilenamesWithoutKey(ctx, 10); err != nil || len(names) != 1 {
			t.Errorf("FilenamesWithoutKey = %v, %v", names, err)
		}
	})
}
