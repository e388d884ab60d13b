package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// likeSearch is SearchProjects done with walks of every name: the
// names that start with the query, by name, then (for a query of
// store.SearchMinInside characters or more) those that contain it
// elsewhere, by name; the reference that the indexes must agree with.
func likeSearch(ctx context.Context, t *testing.T, s *store.Store, normalized string, offset, limit int) []string {
	t.Helper()
	escaped := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(normalized)
	scan := func(cond string, args ...any) []string {
		rows, err := s.DB().QueryContext(ctx, `SELECT p.normalized_name FROM projects p
			WHERE `+cond+` AND p.normalized_name <> $1
			AND NOT EXISTS (SELECT 1 FROM name_reviews nr WHERE nr.project_id = p.id AND nr.held)
			AND p.status <> 'quarantined' AND p.visibility <> 'private'
			ORDER BY p.normalized_name`, append([]any{normalized}, args...)...)
		storetest.Must(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			storetest.Must(t, rows.Scan(&n))
			out = append(out, n)
		}
		storetest.Must(t, rows.Err())
		return out
	}
	// LIKE folds ASCII's case on SQLite: the names are lowercase already.
	all := scan(`p.normalized_name LIKE $2 ESCAPE '\'`, escaped+"%")
	if utf8.RuneCountInString(normalized) >= store.SearchMinInside {
		all = append(all, scan(`p.normalized_name LIKE $2 ESCAPE '\' AND p.normalized_name NOT LIKE $3 ESCAPE '\'`,
			"%"+escaped+"%", escaped+"%")...)
	}
	all = all[min(offset, len(all)):]
	return all[:min(limit, len(all))]
}

func TestSearchProjectsLikeTheScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hidden := map[string]string{"django-private": "private", "django-quarantined": "quarantined", "django-held": "held"}
		for _, n := range []string{"django", "django-rest", "a-django-x", "zope-django", "a_b%c", "ab-c", "a\\b",
			"café-tools", "tools-café", "пп-x", "x-ппп", "q\"uote", "x", "xy", "django-private", "django-quarantined", "django-held"} {
			p := &store.Project{Name: n, NormalizedName: n, UltraName: n, CreatedAt: time.Now()}
			storetest.Must(t, s.CreateProject(ctx, p))
			switch hidden[n] {
			case "private":
				_, err := s.DB().ExecContext(ctx, `UPDATE projects SET visibility = $1 WHERE id = $2`, store.VisibilityPrivate, p.ID)
				storetest.Must(t, err)
			case "quarantined":
				_, err := s.DB().ExecContext(ctx, `UPDATE projects SET status = $1 WHERE id = $2`, store.StatusQuarantined, p.ID)
				storetest.Must(t, err)
			case "held":
				storetest.Must(t, s.AddNameReview(ctx, &store.NameReview{ProjectID: p.ID, Target: "django", TargetRank: 1,
					Kind: "insertion", Held: true, CreatedAt: time.Now()}))
			}
		}
		var fillers []string
		for i := range 50 {
			fillers = append(fillers, fmt.Sprintf("pkg-%05d", i))
		}
		fillNames(t, s, fillers)
		check := func(q string, offset, limit int) {
			t.Helper()
			want := likeSearch(ctx, t, s, q, offset, limit)
			ls, err := s.SearchProjects(ctx, q, offset, limit)
			storetest.Must(t, err)
			var got []string
			for _, l := range ls {
				got = append(got, l.Normalized)
				if hidden[l.Normalized] != "" {
					t.Errorf("SearchProjects(%q) lists %s, %s", q, l.Normalized, hidden[l.Normalized])
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("SearchProjects(%q, %d, %d) = %q; the scan finds %q", q, offset, limit, got, want)
			}
		}
		queries := []string{"", "d", "dj", "django", "jang", "zope", "pkg", "pkg-0", "pkg-0004", "00", "zz", "zzz",
			"café", "afé", "é", "-café", "п", "пп", "ппп", "%", "_", "_b%", "a_b", "b%c", "\\", "a\\b", `"`, `q"u`, "x", "xy", "xyz"}
		for _, q := range queries {
			for _, pg := range []struct{ offset, limit int }{{0, 21}, {0, 3}, {1, 2}, {2, 3}, {3, 21}, {40, 21}} {
				check(q, pg.offset, pg.limit)
			}
		}

		// More names than SQLite's window of names read in order, so that
		// a query is served by the window ("pkg-0"), by the index after
		// the window ("django": zope-django comes after it), by the index
		// alone (a page beyond the window), or, found in fewer names than
		// a twentieth of the window (5 here), taken whole from the index.
		s.SetSearchWindow(100)
		fillers = fillers[:0]
		for i := 50; i < 150; i++ {
			fillers = append(fillers, fmt.Sprintf("pkg-%05d", i))
		}
		fillNames(t, s, fillers)
		check("pkg-0", 0, 21)
		check("django", 0, 21)
		check("pkg-0", 85, 21)
		check("kg-0", 0, 21)  // inside the names, within the window
		check("kg-0", 85, 21) // beyond it
		check("kg-001", 3, 21)
		check("ope-d", 0, 21)  // in one name: taken whole from the index
		check("ango-r", 0, 21) // likewise
		check("zzzz", 0, 21)   // in none

		// The index follows deletions.
		ls, err := s.SearchProjects(ctx, "zope-dj", 0, 10)
		storetest.Must(t, err)
		if len(ls) != 1 {
			t.Fatalf("SearchProjects(zope-dj) = %+v", ls)
		}
		storetest.Must(t, s.DeleteProject(ctx, ls[0].ID))
		if ls, err := s.SearchProjects(ctx, "zope-dj", 0, 10); err != nil || len(ls) != 0 {
			t.Fatalf("after deletion, SearchProjects(zope-dj) = %+v, %v", ls, err)
		}
		if s.Dialect() == store.SQLite {
			_, err := s.DB().ExecContext(ctx, `INSERT INTO project_names (project_names) VALUES ('integrity-check')`)
			storetest.Must(t, err)
		}
	})
}
