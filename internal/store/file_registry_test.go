package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

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
