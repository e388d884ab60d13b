// Package storetest opens fresh databases for tests: a SQLite file in a
// temporary folder, and a new database on the PostgreSQL server named by
// CHEESESHOP_TEST_POSTGRES (which `make test` starts). Under CI=true a
// missing PostgreSQL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// Open returns a fresh, migrated store of the dialect, closed when the test ends.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, URL(t, d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
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
	base := RequirePostgres(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
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
