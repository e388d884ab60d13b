package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strings"
	"testing"
)

// TestPostgresTemplateNamed makes a template where none is, makes again one
// left unfinished, and reuses one marked complete.
func TestPostgresTemplateNamed(t *testing.T) {
	base := RequirePostgres(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "tmpl_test_" + strings.ToLower(rand.Text())
	t.Cleanup(func() { admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`) })
	oid := func() (id int64, comment string) {
		t.Helper()
		var c sql.NullString
		if err := admin.QueryRow(`SELECT oid, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`,
			name).Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		return id, c.String
	}

	// An unfinished one: created, never migrated nor marked.
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	stale, _ := oid()
	if got, err := postgresTemplateNamed(ctx, base, name); err != nil || got != name {
		t.Fatalf("postgresTemplateNamed = %q, %v", got, err)
	}
	made, comment := oid()
	if made == stale || comment != templateReady {
		t.Fatalf("after an unfinished template: oid %d (was %d), comment %q; want a new one, marked", made, stale, comment)
	}
	if got, err := postgresTemplateNamed(ctx, base, name); err != nil || got != name {
		t.Fatalf("postgresTemplateNamed again = %q, %v", got, err)
	}
	if again, _ := oid(); again != made {
		t.Fatalf("a complete template was made again: oid %d, was %d", again, made)
	}

	// A database copied from it holds the migrated schema.
	u := newPostgresDBFrom(t, name)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM projects`).Scan(&n); err != nil {
		t.Fatalf("the copy has no projects table: %v", err)
	}
}
