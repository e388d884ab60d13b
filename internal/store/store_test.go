package store_test

import (
	"context"
	"errors"
	"strings"
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

func TestFilesAndRegistry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		p := &store.Project{Name: "demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, s.CreateProject(ctx, p))
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", MetadataJSON: []byte(`{}`), CreatedAt: now}
		storetest.Must(t, s.CreateRelease(ctx, r))
		f := &store.File{ReleaseID: r.ID, ProjectID: p.ID, Filename: "demo-1.0.tar.gz", PackageType: "sdist", PythonVersion: "source",
			Size: 10, MD5: "m", SHA256: "s", Blake2_256: "b", UploadTime: now}
		storetest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertFile(ctx, f); err != nil {
				return err
			}
			return tx.RegisterFilename(ctx, f.Filename, "sdist:demo-1", now)
		}))
		if err := s.RegisterFilename(ctx, f.Filename, "other", now); !store.IsUniqueViolation(err) {
			t.Fatalf("registering a filename twice: got %v, want a unique violation", err)
		}
		n, err := s.CountSdists(ctx, r.ID)
		storetest.Must(t, err)
		if n != 1 {
			t.Fatalf("CountSdists = %d", n)
		}
		storetest.Must(t, s.DeleteFile(ctx, f))
		used, err := s.FilenameUsed(ctx, f.Filename)
		storetest.Must(t, err)
		if !used {
			t.Fatal("a deleted file's name must stay used")
		}
		serial, err := s.AddJournal(ctx, p.ID, p.NormalizedName, store.ActionAddFile, now)
		storetest.Must(t, err)
		last, err := s.LastSerial(ctx)
		storetest.Must(t, err)
		if last != serial || serial == 0 {
			t.Fatalf("LastSerial = %d, AddJournal = %d", last, serial)
		}
		es, err := s.JournalSince(ctx, 0, 10)
		storetest.Must(t, err)
		if len(es) != 1 || es[0].NormalizedName != "demo" {
			t.Fatalf("JournalSince = %+v", es)
		}
	})
}

// TestListingsReadBoundedFields: what the list pages read of a release is
// bounded by the database, whatever was stored (a summary stored before
// the limits had megabytes).
func TestListingsReadBoundedFields(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		p := &store.Project{Name: "demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, s.CreateProject(ctx, p))
		huge := strings.Repeat("é", 2<<20) // 4 MiB
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", Summary: huge,
			MetadataJSON: []byte(`{"Description":"` + strings.Repeat("d", 4<<20) + `"}`), CreatedAt: now}
		storetest.Must(t, s.CreateRelease(ctx, r))
		briefs, err := s.ReleasesOf(ctx, []int64{p.ID})
		storetest.Must(t, err)
		if len(briefs[p.ID]) != 1 || briefs[p.ID][0].ID != r.ID || briefs[p.ID][0].Version != "1.0" {
			t.Fatalf("ReleasesOf = %+v", briefs)
		}
		sums, err := s.ReleaseSummaries(ctx, []int64{r.ID})
		storetest.Must(t, err)
		if got := sums[r.ID]; got != strings.Repeat("é", store.MaxListedSummary) {
			t.Fatalf("ReleaseSummaries gave %d bytes, want %d characters", len(got), store.MaxListedSummary)
		}
	})
}

// TestFilenameKeys: a used filename is found by its canonical key; keys
// filled in later give a second spelling an alias.
func TestFilenameKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		storetest.Must(t, s.RegisterFilename(ctx, "demo-1.0-py3-none-any.whl", "wheel:demo-1-py3-none-any", now))
		for _, c := range []struct{ fn, key, want string }{
			{"demo-1.0-py3-none-any.whl", "x", "demo-1.0-py3-none-any.whl"},
			{"Demo-1.0.0-py3-none-any.whl", "wheel:demo-1-py3-none-any", "demo-1.0-py3-none-any.whl"},
		} {
			if got, err := s.UsedFilename(ctx, c.fn, c.key); err != nil || got != c.want {
				t.Errorf("UsedFilename(%q) = %q, %v; want %q", c.fn, got, err, c.want)
			}
		}
		if _, err := s.UsedFilename(ctx, "other-1.0.tar.gz", "sdist:other-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unused name: %v, want ErrNotFound", err)
		}
		// Another spelling of the same key fails to register.
		if err := s.RegisterFilename(ctx, "demo-1.0-1-py3-none-any.whl", "wheel:demo-1-py3-none-any", now); !store.IsUniqueViolation(err) {
			t.Errorf("a second spelling: %v, want a unique violation", err)
		}
		// Rows from before keys: the first to be keyed holds the key,
		// the next spelling gets an alias.
		for _, fn := range []string{"old-1.0.tar.gz", "Old-1.0.0.tar.gz"} {
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO file_registry (filename, created_at) VALUES ($1, 0)`, fn); err != nil {
				t.Fatal(err)
			}
		}
		names, err := s.FilenamesWithoutKey(ctx, 10)
		storetest.Must(t, err)
		if len(names) != 2 {
			t.Fatalf("FilenamesWithoutKey = %v", names)
		}
		for _, fn := range names {
			storetest.Must(t, s.SetFilenameKey(ctx, fn, "sdist:old-1"))
		}
		if got, err := s.UsedFilename(ctx, "OLD-1.00.tar.gz", "sdist:old-1"); err != nil || got != names[0] {
			t.Errorf("UsedFilename by key = %q, %v; want %q", got, err, names[0])
		}
		if names, _ := s.FilenamesWithoutKey(ctx, 10); len(names) != 0 {
			t.Errorf("still without key: %v", names)
		}
	})
}

// TestProhibitedLookalikes: a prohibited name blocks its ultranormalized
// form.
func TestProhibitedLookalikes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.Must(t, s.ProhibitName(ctx, "dig", "d1g", "deleted project", time.Now()))
		if bad, err := s.IsProhibited(ctx, "d1g"); err != nil || !bad {
			t.Fatalf("IsProhibited(d1g) = %v, %v", bad, err)
		}
		if bad, _ := s.IsProhibited(ctx, "dug"); bad {
			t.Fatal("dug is prohibited")
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
