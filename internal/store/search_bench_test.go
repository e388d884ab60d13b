package store_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// namesEnv names the environment variable that points at the list of
// PyPI's project names (a gzipped TSV with a header, the name first);
// without it the list is looked for in the shared/ folder beside the
// repository, as CI lays it.
const namesEnv = "CHEESESHOP_PYPI_NAMES"

// pypiNames returns the normalized names of every PyPI project, or skips
// the benchmark when the list is nowhere.
func pypiNames(b testing.TB) []string {
	b.Helper()
	path := os.Getenv(namesEnv)
	if path == "" {
		path = "../../../shared/data/pypi-projects.tsv.gz"
	}
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("no list of PyPI names (set %s): %v", namesEnv, err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(z)
	sc.Scan() // the header
	seen := make(map[string]bool)
	var names []string
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if norm := pep.NormalizeName(name); norm != "" && !seen[norm] {
			seen[norm] = true
			names = append(names, norm)
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return names
}

// fillNames inserts a project per name, in one statement (a row per
// statement would take minutes on PostgreSQL).
func fillNames(b testing.TB, st *store.Store, names []string) {
	b.Helper()
	list, err := json.Marshal(names)
	if err != nil {
		b.Fatal(err)
	}
	each := `json_each($1)`
	if st.Dialect() == store.Postgres {
		each = `json_array_elements_text($1::json) AS value`
	}
	if _, err := st.DB().ExecContext(context.Background(), `INSERT INTO projects
		(name, normalized_name, ultranormalized_name, total_size, last_serial, created_at)
		SELECT value, value, value, 0, 0, $2 FROM `+each, string(list), time.Now().UnixMicro()); err != nil {
		b.Fatalf("fill %d names: %v", len(names), err)
	}
}

// BenchmarkSearchProjects searches a store of the first 100 PyPI names
// and of all of them (886k, skipped under -short), for common queries
// (many names start with them, or hold them inside), a rare one, one that
// matches nothing, short ones (below a trigram: the names that start with
// them) and deep pages (the web UI's last is 500):
//
//	go test -run='^$' -bench=SearchProjects -benchmem ./internal/store/
func BenchmarkSearchProjects(b *testing.B) {
	all := pypiNames(b)
	queries := []struct {
		label, q string
		offset   int
	}{
		{"django", "django", 0},
		{"requests", "requests", 0},
		{"python", "python", 0},
		{"test", "test", 0},
		{"aws", "aws", 0},
		{"rare", "cheeseshop", 0},
		{"none", "zzqqzz", 0},
		{"short-1", "a", 0},
		{"short-2", "py", 0},
		{"short-none", "zq", 0},
		{"page-50", "django", 49 * 20},
		{"page-500", "django", 499 * 20},
		{"inside-page-50", "python", 49 * 20},
		{"inside-page-500", "python", 499 * 20},
		{"short-page-500", "py", 499 * 20},
	}
	for _, size := range []struct {
		label string
		n     int
	}{{"100", 100}, {"886k", len(all)}} {
		b.Run("projects="+size.label, func(b *testing.B) {
			if testing.Short() && size.n > 1000 {
				b.Skip("-short: small index only")
			}
			for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
				b.Run(string(d), func(b *testing.B) {
					st := storetest.Open(b, d)
					fillNames(b, st, all[:size.n])
					if d == store.Postgres {
						if _, err := st.DB().Exec(`ANALYZE projects`); err != nil {
							b.Fatal(err)
						}
					}
					ctx := context.Background()
					for _, q := range queries {
						b.Run(q.label, func(b *testing.B) {
							for b.Loop() {
								if _, err := st.SearchProjects(ctx, q.q, q.offset, 21); err != nil {
									b.Fatal(err)
								}
							}
						})
					}
				})
			}
		})
	}
}
