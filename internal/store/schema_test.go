package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// schemaAllowed lists the differences between the SQLite and the
// PostgreSQL schemas that are deliberate, each with the reason. A line is
// a difference exactly as diffSchemas writes it.
var schemaAllowed = map[string]string{
	"table project_names: only in SQLite":                                   searchIndex,
	"table project_names_config: only in SQLite":                            searchIndex,
	"table project_names_data: only in SQLite":                              searchIndex,
	"table project_names_docsize: only in SQLite":                           searchIndex,
	"table project_names_idx: only in SQLite":                               searchIndex,
	"table projects: index (normalized_name): 0 in SQLite, 1 in PostgreSQL": searchIndex,
}

// searchIndex is why the schemas differ by their index of project names.
const searchIndex = "the trigram index of project names for search (migration 00028): an FTS5 table and its shadow tables on SQLite, a pg_trgm GIN index on PostgreSQL"

// TestSchemasMatch migrates a fresh SQLite and a fresh PostgreSQL database
// and checks, from each engine's catalogue, that they have the same tables,
// the same columns (by name, nullability, type family and default), the
// same primary keys and the same indexes (by table, columns or expressions,
// uniqueness and partial predicate, whatever their names): the two
// migration histories are written by hand and must not drift apart.
func TestSchemasMatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lite := storetest.Open(t, store.SQLite)
	pg := storetest.Open(t, store.Postgres)
	a, err := sqliteSchema(ctx, lite.DB())
	storetest.Must(t, err)
	b, err := postgresSchema(ctx, pg.DB())
	storetest.Must(t, err)
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("read %d SQLite and %d PostgreSQL tables: the catalogue queries are wrong", len(a), len(b))
	}
	if da, db := defaults(a), defaults(b); da == 0 || db == 0 {
		t.Fatalf("read %d SQLite and %d PostgreSQL column defaults: the catalogue queries are wrong", da, db)
	}

	var diffs []string
	seen := map[string]bool{}
	for _, d := range diffSchemas(a, b) {
		if _, ok := schemaAllowed[d]; ok {
			seen[d] = true
			continue
		}
		diffs = append(diffs, d)
	}
	for d := range schemaAllowed {
		if !seen[d] {
			diffs = append(diffs, "allowed difference no longer occurs (remove it from schemaAllowed): "+d)
		}
	}
	if len(diffs) > 0 {
		t.Errorf("the SQLite and PostgreSQL schemas differ (fix the migration of the wrong side, or allow-list a deliberate difference in schemaAllowed with its reason):\n\t%s",
			strings.Join(diffs, "\n\t"))
	}
}

// TestDiffSchemas checks that diffSchemas reports each kind of drift.
func TestDiffSchemas(t *testing.T) {
	t.Parallel()
	base := func() schema {
		return schema{"users": {
			columns: map[string]column{
				"id":    {family: "integer", notNull: true},
				"email": {family: "text", notNull: true},
			},
			primaryKey: "id",
			indexes:    map[string]int{"(loweremail) unique": 1},
		}}
	}
	tests := []struct {
		name   string
		change func(s schema)
		want   []string
	}{
		{"same", func(schema) {}, nil},
		{"table", func(s schema) { s["extra"] = &table{columns: map[string]column{}} },
			[]string{"table extra: only in PostgreSQL"}},
		{"column", func(s schema) { s["users"].columns["name"] = column{family: "text"} },
			[]string{"table users: column name: only in PostgreSQL"}},
		{"nullability", func(s schema) { s["users"].columns["email"] = column{family: "text"} },
			[]string{"table users: column email: NOT NULL in SQLite, nullable in PostgreSQL"}},
		{"type", func(s schema) { s["users"].columns["email"] = column{family: "bytes", notNull: true} },
			[]string{"table users: column email: type text in SQLite, bytes in PostgreSQL"}},
		{"default", func(s schema) { s["users"].columns["email"] = column{family: "text", notNull: true, dflt: "''"} },
			[]string{"table users: column email: default none in SQLite, '' in PostgreSQL"}},
		{"primary key", func(s schema) { s["users"].primaryKey = "email" },
			[]string{"table users: primary key (id) in SQLite, (email) in PostgreSQL"}},
		{"index", func(s schema) { s["users"].indexes = map[string]int{"(loweremail)": 1} },
			[]string{
				"table users: index (loweremail) unique: 1 in SQLite, 0 in PostgreSQL",
				"table users: index (loweremail): 0 in SQLite, 1 in PostgreSQL",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base()
			tt.change(b)
			got := diffSchemas(base(), b)
			if !slices.Equal(got, tt.want) {
				t.Errorf("diffSchemas =\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

// schema maps table names to what the test compares of them.
type schema map[string]*table

type table struct {
	columns    map[string]column
	primaryKey string         // the primary key's columns, comma-separated in order
	indexes    map[string]int // "(cols) unique where pred" → how many such indexes
}

type column struct {
	family  string // "integer", "text", "boolean", "bytes", "real", or the type itself
	notNull bool
	dflt    string // the default, as normDefault writes it; "" when none
}

// diffSchemas returns one plain line per difference between a (SQLite) and
// b (PostgreSQL), sorted.
func diffSchemas(a, b schema) []string {
	const na, nb = "SQLite", "PostgreSQL"
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	for _, name := range union(a, b) {
		ta, tb := a[name], b[name]
		switch {
		case tb == nil:
			add("table %s: only in %s", name, na)
			continue
		case ta == nil:
			add("table %s: only in %s", name, nb)
			continue
		}
		for _, col := range union(ta.columns, tb.columns) {
			ca, okA := ta.columns[col]
			cb, okB := tb.columns[col]
			switch {
			case !okB:
				add("table %s: column %s: only in %s", name, col, na)
			case !okA:
				add("table %s: column %s: only in %s", name, col, nb)
			default:
				if ca.notNull != cb.notNull {
					add("table %s: column %s: %s in %s, %s in %s", name, col, nullability(ca), na, nullability(cb), nb)
				}
				if ca.family != cb.family {
					add("table %s: column %s: type %s in %s, %s in %s", name, col, ca.family, na, cb.family, nb)
				}
				if ca.dflt != cb.dflt {
					add("table %s: column %s: default %s in %s, %s in %s", name, col, defaultText(ca), na, defaultText(cb), nb)
				}
			}
		}
		if ta.primaryKey != tb.primaryKey {
			add("table %s: primary key (%s) in %s, (%s) in %s", name, ta.primaryKey, na, tb.primaryKey, nb)
		}
		for _, idx := range union(ta.indexes, tb.indexes) {
			if ta.indexes[idx] != tb.indexes[idx] {
				add("table %s: index %s: %d in %s, %d in %s", name, idx, ta.indexes[idx], na, tb.indexes[idx], nb)
			}
		}
	}
	slices.Sort(diffs)
	return diffs
}

func nullability(c column) string {
	if c.notNull {
		return "NOT NULL"
	}
	return "nullable"
}

// defaults counts the columns that have a default.
func defaults(s schema) int {
	n := 0
	for _, t := range s {
		for _, c := range t.columns {
			if c.dflt != "" {
				n++
			}
		}
	}
	return n
}

func defaultText(c column) string {
	if c.dflt == "" {
		return "none"
	}
	return c.dflt
}

// normDefault lowers a column's default to a form both engines' spellings
// share: PostgreSQL prints casts (`”::text`) and SQLite keeps the source
// text, where a boolean may be written 0 or FALSE.
func normDefault(family string, dflt sql.NullString) string {
	if !dflt.Valid {
		return ""
	}
	d := normExpr(dflt.String)
	if family == "boolean" {
		switch d {
		case "0":
			d = "false"
		case "1":
			d = "true"
		}
	}
	return d
}

// union returns the keys of a and b, sorted.
func union[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// typeFamily maps a declared or catalogued type to a family both engines
// share, so that SQLite's INTEGER matches PostgreSQL's bigint.
func typeFamily(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "integer", "int", "bigint", "smallint", "int2", "int4", "int8":
		return "integer"
	case "text", "varchar", "character varying":
		return "text"
	case "boolean", "bool":
		return "boolean"
	case "blob", "bytea":
		return "bytes"
	case "real", "double precision", "float", "float8", "float4":
		return "real"
	}
	return t
}

var (
	exprJunk  = regexp.MustCompile(`::[a-z ]+|[\s()"]`)
	indexBody = regexp.MustCompile(`(?is)\bON\s+"?\w+"?\s*\(`)
)

// normExpr lowers an index expression or predicate to a form both
// engines' spellings share: PostgreSQL prints `(claimed_by IS NOT NULL)`
// and casts that SQLite's source text does not have.
func normExpr(e string) string {
	return exprJunk.ReplaceAllString(strings.ToLower(e), "")
}

// indexKey names an index by what it does, not by its name.
func indexKey(cols []string, unique bool, where string) string {
	k := "(" + strings.Join(cols, ", ") + ")"
	if unique {
		k += " unique"
	}
	if where != "" {
		k += " where " + normExpr(where)
	}
	return k
}

// sqliteSchema reads the schema from SQLite's catalogue.
func sqliteSchema(ctx context.Context, db *sql.DB) (schema, error) {
	s := schema{}
	tables, err := queryStrings(ctx, db,
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version'`)
	if err != nil {
		return nil, err
	}
	for _, name := range tables {
		t := &table{columns: map[string]column{}, indexes: map[string]int{}}
		s[name] = t
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info($1) ORDER BY pk, cid`, name)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", name, err)
		}
		var pk []string
		for rows.Next() {
			var (
				col, typ string
				notNull  bool
				dflt     sql.NullString
				pkPos    int
			)
			if err := rows.Scan(&col, &typ, &notNull, &dflt, &pkPos); err != nil {
				rows.Close()
				return nil, fmt.Errorf("columns of %s: %w", name, err)
			}
			if pkPos > 0 {
				pk = append(pk, col)
			}
			t.columns[col] = column{family: typeFamily(typ), notNull: notNull, dflt: normDefault(typeFamily(typ), dflt)}
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", name, err)
		}
		t.primaryKey = strings.Join(pk, ", ")
		// An INTEGER PRIMARY KEY is the rowid, which is never NULL,
		// though the catalogue says the column may be.
		if len(pk) == 1 && t.columns[pk[0]].family == "integer" {
			c := t.columns[pk[0]]
			c.notNull = true
			t.columns[pk[0]] = c
		}

		type index struct {
			name    string
			unique  bool
			partial bool
		}
		var idxs []index
		rows, err = db.QueryContext(ctx, `SELECT name, "unique", partial FROM pragma_index_list($1) WHERE origin <> 'pk'`, name)
		if err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", name, err)
		}
		for rows.Next() {
			var i index
			if err := rows.Scan(&i.name, &i.unique, &i.partial); err != nil {
				rows.Close()
				return nil, fmt.Errorf("indexes of %s: %w", name, err)
			}
			idxs = append(idxs, i)
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", name, err)
		}
		for _, i := range idxs {
			cols, err := queryStrings(ctx, db, `SELECT coalesce(name, '') FROM pragma_index_info($1) ORDER BY seqno`, i.name)
			if err != nil {
				return nil, fmt.Errorf("columns of index %s: %w", i.name, err)
			}
			where := ""
			if i.partial || slices.Contains(cols, "") {
				// Expressions and predicates are only in the source text.
				var src string
				if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1`, i.name).Scan(&src); err != nil {
					return nil, fmt.Errorf("source of index %s: %w", i.name, err)
				}
				exprs, pred, err := parseIndexSQL(src)
				if err != nil {
					return nil, fmt.Errorf("index %s: %w", i.name, err)
				}
				if len(exprs) != len(cols) {
					return nil, fmt.Errorf("index %s: %d columns in %q, %d in the catalogue", i.name, len(exprs), src, len(cols))
				}
				for k, c := range cols {
					if c == "" {
						cols[k] = normExpr(exprs[k])
					}
				}
				where = pred
			}
			t.indexes[indexKey(cols, i.unique, where)]++
		}
	}
	return s, nil
}

// parseIndexSQL splits `CREATE INDEX n ON t (a, lower(b)) WHERE p` into
// its terms and its predicate.
func parseIndexSQL(src string) (terms []string, where string, err error) {
	loc := indexBody.FindStringIndex(src)
	if loc == nil {
		return nil, "", fmt.Errorf("no column list in %q", src)
	}
	depth, start := 0, loc[1]
	for i := loc[1]; i < len(src); i++ {
		switch src[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
				continue
			}
			terms = append(terms, strings.TrimSpace(src[start:i]))
			rest := strings.TrimSpace(src[i+1:])
			if len(rest) >= 5 && strings.EqualFold(rest[:5], "WHERE") {
				where = strings.TrimSpace(rest[5:])
			}
			return terms, where, nil
		case ',':
			if depth == 0 {
				terms = append(terms, strings.TrimSpace(src[start:i]))
				start = i + 1
			}
		}
	}
	return nil, "", fmt.Errorf("unbalanced column list in %q", src)
}

// postgresSchema reads the schema of the current schema (public) of the
// connected database from PostgreSQL's catalogue.
func postgresSchema(ctx context.Context, db *sql.DB) (schema, error) {
	s := schema{}
	tables, err := queryStrings(ctx, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'`)
	if err != nil {
		return nil, err
	}
	for _, name := range tables {
		s[name] = &table{columns: map[string]column{}, indexes: map[string]int{}}
	}

	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_nullable = 'NO', column_default
		FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	for rows.Next() {
		var (
			tbl, col, typ string
			notNull       bool
			dflt          sql.NullString
		)
		if err := rows.Scan(&tbl, &col, &typ, &notNull, &dflt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("columns: %w", err)
		}
		if t := s[tbl]; t != nil {
			t.columns[col] = column{family: typeFamily(typ), notNull: notNull, dflt: normDefault(typeFamily(typ), dflt)}
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}

	// One row per index: its key terms (columns or expressions, as
	// pg_get_indexdef prints them) joined by U+001F, which no term holds.
	rows, err = db.QueryContext(ctx, `SELECT t.relname, x.indisunique, x.indisprimary,
			coalesce(pg_get_expr(x.indpred, x.indrelid, true), ''),
			(SELECT string_agg(pg_get_indexdef(x.indexrelid, k, true), chr(31) ORDER BY k)
			 FROM generate_series(1, x.indnkeyatts) AS k)
		FROM pg_index x
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("indexes: %w", err)
	}
	for rows.Next() {
		var (
			tbl, where, terms string
			unique, primary   bool
		)
		if err := rows.Scan(&tbl, &unique, &primary, &where, &terms); err != nil {
			rows.Close()
			return nil, fmt.Errorf("indexes: %w", err)
		}
		t := s[tbl]
		if t == nil {
			continue
		}
		cols := strings.Split(terms, "\x1f")
		if primary {
			t.primaryKey = strings.Join(cols, ", ")
			continue
		}
		for k, c := range cols {
			if !isIdent(c) {
				cols[k] = normExpr(c)
			}
		}
		t.indexes[indexKey(cols, unique, where)]++
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("indexes: %w", err)
	}
	return s, nil
}

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func isIdent(s string) bool { return ident.MatchString(s) }

func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", query, err)
		}
		out = append(out, v)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	return out, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestMigration17KeepsRows checks that SQLite's rebuild of the tables
// whose text keys become NOT NULL keeps their rows and indexes, and the
// WebAuthn challenges that dropping the old sessions table deletes.
func TestMigration17KeepsRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := store.Open(ctx, storetest.URL(t, store.SQLite))
	storetest.Must(t, err)
	t.Cleanup(func() { s.Close() })
	storetest.Must(t, s.MigrateTo(ctx, 16))
	db := s.DB()
	for _, q := range []string{
		`INSERT INTO users (id, username, username_lower, email, password_hash, created_at) VALUES (1, 'a', 'a', 'a@example.org', 'x', 1)`,
		`INSERT INTO sessions (id_hash, user_id, state, created_at, last_seen_at, expires_at, authenticated_at) VALUES ('s1', 1, 'active', 1, 1, 9, 1)`,
		`INSERT INTO webauthn_challenges (session_hash, purpose, data, expires_at) VALUES ('s1', 'login', '{}', 9)`,
		`INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at, created_at) VALUES ('t1', 1, 'verify', 9, 1)`,
		`INSERT INTO server_secrets (name, value, created_at) VALUES ('csrf', 'k', 1)`,
		`INSERT INTO file_registry (filename, created_at, canonical_key) VALUES ('a-1.tar.gz', 1, 'a 1')`,
		`INSERT INTO prohibited_names (normalized_name, reason, created_at, ultranormalized_name) VALUES ('bad', 'r', 1, 'bad')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	storetest.Must(t, s.Migrate(ctx))
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM sessions WHERE id_hash = 's1' AND user_id = 1 AND expires_at = 9`, 1},
		{`SELECT count(*) FROM webauthn_challenges WHERE session_hash = 's1' AND purpose = 'login'`, 1},
		{`SELECT count(*) FROM account_tokens WHERE token_hash = 't1' AND purpose = 'verify'`, 1},
		{`SELECT count(*) FROM server_secrets WHERE name = 'csrf' AND value = 'k'`, 1},
		{`SELECT count(*) FROM file_registry WHERE filename = 'a-1.tar.gz' AND canonical_key = 'a 1'`, 1},
		{`SELECT count(*) FROM prohibited_names WHERE normalized_name = 'bad' AND ultranormalized_name = 'bad'`, 1},
		{`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('sessions_user', 'sessions_expires',
			'account_tokens_user', 'file_registry_canonical_key', 'prohibited_names_ultranormalized')`, 5},
	} {
		var n int
		if err := db.QueryRowContext(ctx, c.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if n != c.want {
			t.Errorf("after migration 17: %s = %d, want %d", c.query, n, c.want)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES (NULL, 'v', 1)`); err == nil {
		t.Error("a NULL key was accepted by server_secrets after migration 17")
	}
	var problems string
	storetest.Must(t, db.QueryRowContext(ctx, `SELECT coalesce(group_concat("table"), '') FROM pragma_foreign_key_check`).Scan(&problems))
	if problems != "" {
		t.Errorf("foreign key violations after migration 17 in: %s", problems)
	}
}
