// Package storetest opens fresh databases for tests: a SQLite file in a
// temporary folder, and a new database on the PostgreSQL server named by
// CHEESESHOP_TEST_POSTGRES (which `make test` starts). Under CI=true a
// missing PostgreSQL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cheeseshop/internal/store"
)

// EnvPostgres names the variable holding the URL of a PostgreSQL server
// (any database on it) where tests may create databases.
const EnvPostgres = "CHEESESHOP_TEST_POSTGRES"

// Dialects lists the engines every store test runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// EachDialect runs fn as a parallel subtest once per dialect, named after
// it. The subtests run after the calling test function returns (its
// deferred calls included), alongside each other: fn must not share
// mutable state with its other runs, nor rely on the caller's defers.
// Tests that must run alone (those measuring the process's allocations,
// benchmarks) loop over Dialects themselves.
func EachDialect(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// Each runs fn as a parallel subtest once per dialect, each with a fresh,
// migrated database (see EachDialect).
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	EachDialect(t, func(t *testing.T, d store.Dialect) { fn(t, Open(t, d)) })
}

// URL returns the URL of a fresh, empty database of the dialect, removed
// when the test ends.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	switch d {
	case store.SQLite:
		// Test names become folder names: escape what a URL path reads.
		path := filepath.Join(t.TempDir(), "cheeseshop.db")
		return "sqlite://" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	case store.Postgres:
		return newPostgresDB(t)
	}
	t.Fatalf("storetest: unknown dialect %q", d)
	return ""
}

// Open returns a fresh, migrated store of the dialect, closed when the
// test ends. It is a copy of a database migrated once per test process
// (a file's bytes for SQLite, a template database on PostgreSQL): running
// every migration for each test cost a second per SQLite database under
// the race detector.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	ctx := context.Background()
	var u string
	switch d {
	case store.SQLite:
		u = URL(t, d)
		image, err := sqliteTemplate()
		if err != nil {
			t.Fatalf("storetest: migrated SQLite template: %v", err)
		}
		path, err := url.PathUnescape(strings.TrimPrefix(u, "sqlite://"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, image, 0o600); err != nil {
			t.Fatal(err)
		}
	case store.Postgres:
		base := RequirePostgres(t)
		tmpl, err := postgresTemplate(base)
		if err != nil {
			t.Fatalf("storetest: migrated PostgreSQL template: %v", err)
		}
		u = newPostgresDBFrom(t, tmpl)
	default:
		t.Fatalf("storetest: unknown dialect %q", d)
	}
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The migrated templates, made once per test process.
var (
	sqliteOnce  sync.Once
	sqliteImage []byte
	sqliteErr   error

	postgresOnce sync.Once
	postgresName string
	postgresErr  error
)

// sqliteTemplate returns the bytes of a migrated SQLite database.
func sqliteTemplate() ([]byte, error) {
	sqliteOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cheeseshop-template-")
		if err != nil {
			sqliteErr = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "template.db")
		if sqliteErr = migrate("sqlite://" + path); sqliteErr != nil {
			return
		}
		// Closing the last connection checkpointed the WAL into the file.
		sqliteImage, sqliteErr = os.ReadFile(path)
	})
	return sqliteImage, sqliteErr
}

// postgresTemplate returns the name of a migrated database on the server
// at base, which new databases copy (CREATE DATABASE … TEMPLATE). It is
// named after the migrations (store.MigrationsDigest) and shared by every
// test process of every package, now and in later runs on the same
// server: the first to need it makes it, under an advisory lock, and marks
// it complete (a comment on the database) once migrated; a template left
// unmarked by a process that died mid-way is made again. A server thus
// keeps one template per schema, never one per package and run.
func postgresTemplate(base string) (string, error) {
	postgresOnce.Do(func() {
		digest, err := store.MigrationsDigest()
		if err != nil {
			postgresErr = err
			return
		}
		postgresName, postgresErr = postgresTemplateNamed(context.Background(), base, "tmpl_"+digest[:20])
	})
	return postgresName, postgresErr
}

// templateReady is the comment of a template database whose migrations
// all ran.
const templateReady = "cheeseshop test template: migrated"

// postgresTemplateNamed returns name, a migrated template database on the
// server at base, made and migrated first unless it is marked complete.
func postgresTemplateNamed(ctx context.Context, base, name string) (string, error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx) // the advisory lock is held by a session
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext($1))`, name); err != nil {
		return "", fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, name)
	var comment sql.NullString
	err = conn.QueryRowContext(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`,
		name).Scan(&comment)
	switch {
	case err == nil && comment.String == templateReady:
		return name, nil
	case err == nil: // an unfinished one
		if _, err := conn.ExecContext(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			return "", fmt.Errorf("drop unfinished %s: %w", name, err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("look for %s: %w", name, err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	if err := migrate(u.String()); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, `COMMENT ON DATABASE `+name+` IS '`+templateReady+`'`); err != nil {
		return "", fmt.Errorf("mark %s: %w", name, err)
	}
	return name, nil
}

// migrate migrates the database at rawURL and closes it.
func migrate(rawURL string) error {
	ctx := context.Background()
	s, err := store.Open(ctx, rawURL)
	if err != nil {
		return err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return err
	}
	return s.Close()
}

// RequirePostgres returns the server URL, failing (under CI) or skipping
// (elsewhere) when none is configured.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests with `make test`, which starts PostgreSQL", EnvPostgres)
		}
		t.Skipf("%s is not set; `make test` starts a PostgreSQL server and sets it", EnvPostgres)
	}
	return base
}

func newPostgresDB(t testing.TB) string {
	t.Helper()
	return newPostgresDBFrom(t, "")
}

// newPostgresDBFrom creates a database, a copy of template when it is
// not "", dropped when the test ends.
func newPostgresDBFrom(t testing.TB, template string) string {
	t.Helper()
	base := RequirePostgres(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "t_" + strings.ToLower(rand.Text())
	create := `CREATE DATABASE ` + name
	if template != "" {
		create += ` TEMPLATE ` + template
	}
	if _, err := admin.Exec(create); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Must fails the test on error; it keeps table tests short.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("unexpected error: %w", err))
	}
}
