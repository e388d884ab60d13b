package storetest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"cheeseshop/internal/store"
)

// IndexProject is a project LoadIndex creates, with its one release
// (version 0.1.0) and its one wheel, whose blob the caller stores.
type IndexProject struct {
	Name, NormalizedName, UltraName string
	// Daily is the project's downloads per day (0: none).
	Daily    int64
	Filename string
	// FilenameKey is pep.FilenameKey(Filename), the file registry's
	// canonical key (without it the server's start-up backfills them all).
	FilenameKey         string
	Size                int64
	MD5, SHA256, Blake2 string
}

// IndexLoad is what LoadIndex writes.
type IndexLoad struct {
	Projects []IndexProject
	// Owner is the user id given the Owner role of every project and named
	// as the uploader of every file.
	Owner int64
	// First and Last are the days of the download counts written for
	// every project with Daily > 0 (DailyCount of Daily); none when Last
	// is before First.
	First, Last store.Day
	// Progress, when set, is called after each step with what was done.
	Progress func(step string)
}

// LoadIndex fills a fresh, migrated database with the projects of l as
// fast as the database takes them: the rows go in multi-row INSERTs (1,000
// projects per statement, in one transaction) to a staging table, and
// from there the database itself writes the projects, their roles,
// releases, files, file registry and daily downloads, one INSERT … SELECT
// per table. 886k projects take minutes where the upload path takes hours.
// It is for the full-scale benchmark (cheeseshop-bench fill-full).
func LoadIndex(ctx context.Context, st *store.Store, l *IndexLoad) error {
	progress := l.Progress
	if progress == nil {
		progress = func(string) {}
	}
	db := st.DB()
	idType := "BIGINT"
	if st.Dialect() == store.SQLite {
		idType = "INTEGER"
	}
	fail := func(err error, q string) error {
		return fmt.Errorf("storetest: load index: %w\n%s", err, q)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_index (ord `+idType+` PRIMARY KEY, name TEXT NOT NULL,
		normalized_name TEXT NOT NULL, ultranormalized_name TEXT NOT NULL, daily BIGINT NOT NULL, filename TEXT NOT NULL, filename_key TEXT NOT NULL,
		size BIGINT NOT NULL, md5 TEXT NOT NULL, sha256 TEXT NOT NULL, blake2 TEXT NOT NULL)`); err != nil {
		return fail(err, "CREATE TABLE bench_index")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err, "BEGIN")
	}
	defer tx.Rollback()
	const cols = 11
	var sb strings.Builder
	args := make([]any, 0, cols*loadBatch)
	for start := 0; start < len(l.Projects); start += loadBatch {
		batch := l.Projects[start:min(start+loadBatch, len(l.Projects))]
		sb.Reset()
		args = args[:0]
		sb.WriteString(`INSERT INTO bench_index (ord, name, normalized_name, ultranormalized_name, daily, filename, filename_key, size, md5, sha256, blake2) VALUES `)
		for i, p := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			if st.Dialect() == store.SQLite {
				sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") // see loadProjects
			} else {
				sb.WriteByte('(')
				for j := range cols {
					if j > 0 {
						sb.WriteString(", ")
					}
					fmt.Fprintf(&sb, "$%d", len(args)+j+1)
				}
				sb.WriteByte(')')
			}
			args = append(args, int64(start+i), p.Name, p.NormalizedName, p.UltraName, p.Daily, p.Filename, p.FilenameKey, p.Size, p.MD5, p.SHA256, p.Blake2)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fail(err, "INSERT INTO bench_index")
		}
	}
	progress(fmt.Sprintf("%d projects staged", len(l.Projects)))
	now := time.Now().UnixMicro()
	owned := []any{now, l.Owner}
	steps := []struct {
		label, q string
		args     []any
	}{
		{"projects", `INSERT INTO projects (name, normalized_name, ultranormalized_name, total_size, last_serial, created_at)
			SELECT name, normalized_name, ultranormalized_name, size, 0, $1 FROM bench_index ORDER BY ord`, []any{now}},
		{"ids", `CREATE TABLE bench_ids AS SELECT p.id AS project_id, b.* FROM bench_index b JOIN projects p ON p.normalized_name = b.normalized_name`, nil},
		{"roles", `INSERT INTO roles (project_id, user_id, role, created_at) SELECT project_id, $2, 'Owner', $1 FROM bench_ids ORDER BY project_id`, owned},
		{"releases", `INSERT INTO releases (project_id, version, canonical_version, is_prerelease, requires_python, summary, metadata_json, created_at)
			SELECT project_id, '0.1.0', '0.1', FALSE, '', 'cheeseshop-bench fill-full', '{}', $1 FROM bench_ids ORDER BY project_id`, []any{now}},
		{"files", `INSERT INTO files (release_id, project_id, filename, packagetype, python_version, size, md5_digest, sha256_digest,
				blake2_256_digest, uploaded_by, upload_time)
			SELECT r.id, b.project_id, b.filename, 'bdist_wheel', 'py3', b.size, b.md5, b.sha256, b.blake2, $2, $1
			FROM bench_ids b JOIN releases r ON r.project_id = b.project_id ORDER BY b.project_id`, owned},
		{"file registry", `INSERT INTO file_registry (filename, canonical_key, created_at) SELECT filename, filename_key, $1 FROM bench_ids`, []any{now}},
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return fail(err, s.q)
		}
		progress(s.label)
	}
	for d := l.First; d <= l.Last; d++ {
		day := fmt.Sprint(int64(d))
		q := `INSERT INTO downloads (project_id, day, downloads)
			SELECT b.project_id, ` + day + `, ` + dailyCountSQL(st.Dialect(), day) + ` FROM bench_ids b WHERE b.daily > 0 ORDER BY b.project_id`
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fail(err, q)
		}
	}
	if l.Last >= l.First {
		progress(fmt.Sprintf("downloads of %s..%s", l.First, l.Last))
	}
	for _, q := range []string{`DROP TABLE bench_ids`, `DROP TABLE bench_index`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fail(err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err, "COMMIT")
	}
	q := `ANALYZE`
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fail(err, q)
	}
	progress("analyzed")
	return nil
}
