package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// UpstreamQuarantined is the local status an administrator puts on a
// proxied name (upstream_projects.local_status): served without files.
const UpstreamQuarantined = StatusQuarantined

// UpstreamProject is what the proxy knows of a name asked of the
// upstreams: found on one (pinned in Upstream) or not (a negative entry),
// with the validators of the last answer and the statuses.
type UpstreamProject struct {
	ID                   int64
	Name, NormalizedName string
	// Upstream is the pinned upstream's redacted URL; "" when no
	// upstream lists the name.
	Upstream string
	Found    bool
	// ETag and LastModified are the validators of the last page.
	ETag, LastModified string
	// UpstreamStatus and UpstreamStatusReason are the upstream's own PEP
	// 792 status.
	UpstreamStatus, UpstreamStatusReason string
	// LocalStatus is "" or UpstreamQuarantined, set by an administrator.
	LocalStatus, LocalStatusReason string
	LocalStatusAt                  time.Time // zero: never set
	FetchedAt                      time.Time // the last 200; zero: never
	CheckedAt                      time.Time // the last answer (200, 304, 404); zero: never asked
	CreatedAt                      time.Time
}

// UpstreamFile is a file an upstream lists (or listed) for a proxied
// project.
type UpstreamFile struct {
	SHA256            string
	UpstreamProjectID int64
	Filename, URL     string
	Version           string
	Size              int64 // -1: unknown
	RequiresPython    string
	Yanked            bool
	YankedReason      string
	MetadataSHA256    string    // "": no core metadata advertised with a hash
	UploadTime        time.Time // zero: the upstream gave none
	FirstSeenAt       time.Time
	RemovedAt         time.Time // zero: listed
	StoredAt          time.Time // zero: not in the blob store
	MetadataStoredAt  time.Time // zero: its metadata is not in the blob store
	LastServedAt      time.Time
}

// nullMicros stores a zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// fromNullMicros reads a NULL as the zero time.
func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

const upstreamProjectColumns = `id, name, normalized_name, upstream, found, etag, last_modified, upstream_status,
	upstream_status_reason, local_status, local_status_reason, local_status_at, fetched_at, checked_at, created_at`

func scanUpstreamProject(row scanner) (*UpstreamProject, error) {
	var (
		p                  UpstreamProject
		localAt, fetchedAt sql.NullInt64
		checkedAt, created int64
	)
	err := row.Scan(&p.ID, &p.Name, &p.NormalizedName, &p.Upstream, &p.Found, &p.ETag, &p.LastModified,
		&p.UpstreamStatus, &p.UpstreamStatusReason, &p.LocalStatus, &p.LocalStatusReason, &localAt, &fetchedAt,
		&checkedAt, &created)
	p.LocalStatusAt, p.FetchedAt, p.CreatedAt = fromNullMicros(localAt), fromNullMicros(fetchedAt), fromMicros(created)
	if checkedAt != 0 {
		p.CheckedAt = fromMicros(checkedAt)
	}
	return &p, err
}

const upstreamFileColumns = `sha256, upstream_project_id, filename, url, version, size, requires_python, yanked,
	yanked_reason, metadata_sha256, upload_time, first_seen_at, removed_at, stored_at, metadata_stored_at, last_served_at`

func scanUpstreamFile(row scanner) (*UpstreamFile, error) {
	var (
		f                                           UpstreamFile
		size                                        sql.NullInt64
		meta                                        sql.NullString
		upload, removed, stored, metaStored, served sql.NullInt64
		firstSeen                                   int64
	)
	err := row.Scan(&f.SHA256, &f.UpstreamProjectID, &f.Filename, &f.URL, &f.Version, &size, &f.RequiresPython,
		&f.Yanked, &f.YankedReason, &meta, &upload, &firstSeen, &removed, &stored, &metaStored, &served)
	f.Size = -1
	if size.Valid {
		f.Size = size.Int64
	}
	f.MetadataSHA256 = meta.String
	f.UploadTime, f.FirstSeenAt, f.RemovedAt = fromNullMicros(upload), fromMicros(firstSeen), fromNullMicros(removed)
	f.StoredAt, f.MetadataStoredAt, f.LastServedAt = fromNullMicros(stored), fromNullMicros(metaStored), fromNullMicros(served)
	return &f, err
}

// UpstreamProjectByName returns the row of a normalized name, or
// ErrNotFound when it was never asked of the upstreams.
func (q q) UpstreamProjectByName(ctx context.Context, normalized string) (*UpstreamProject, error) {
	p, err := scanUpstreamProject(q.db.QueryRowContext(ctx,
		`SELECT `+upstreamProjectColumns+` FROM upstream_projects WHERE normalized_name = $1`, normalized))
	if err != nil {
		return nil, fmt.Errorf("store: upstream project %q: %w", normalized, notFound(err))
	}
	return p, nil
}

// UpstreamFiles returns the files a proxied project's upstream lists now
// (not those it stopped listing), by filename.
func (q q) UpstreamFiles(ctx context.Context, projectID int64) ([]*UpstreamFile, error) {
	return queryAll(ctx, q.db, fmt.Sprintf("upstream files of %d", projectID), scanUpstreamFile,
		`SELECT `+upstreamFileColumns+` FROM upstream_files WHERE upstream_project_id = $1 AND removed_at IS NULL
		ORDER BY filename`, projectID)
}

// UpstreamFileBySHA returns a proxied file, listed or not any more, and
// its project; ErrNotFound if no upstream page ever listed it.
func (q q) UpstreamFileBySHA(ctx context.Context, sha256 string) (*UpstreamFile, *UpstreamProject, error) {
	f, err := scanUpstreamFile(q.db.QueryRowContext(ctx,
		`SELECT `+upstreamFileColumns+` FROM upstream_files WHERE sha256 = $1`, sha256))
	if err != nil {
		return nil, nil, fmt.Errorf("store: upstream file %s: %w", sha256, notFound(err))
	}
	p, err := scanUpstreamProject(q.db.QueryRowContext(ctx,
		`SELECT `+upstreamProjectColumns+` FROM upstream_projects WHERE id = $1`, f.UpstreamProjectID))
	if err != nil {
		return nil, nil, fmt.Errorf("store: upstream project %d: %w", f.UpstreamProjectID, notFound(err))
	}
	return f, p, nil
}

// SaveUpstreamPage records what an upstream answered for a name, in one
// transaction: p (by p.NormalizedName; its ID is set) and, when p.Found,
// the files of its page: new ones are added (first seen at now), changed
// ones updated (a size the page does not give, Size < 0, keeps the one
// known), those no longer listed marked removed (their rows and
// blobs stay). A file whose digest or filename another proxied project
// holds is left out. When p is not found every file is marked removed.
// The local status is never changed here. When anything a page shows
// changed it journals ActionUpstreamRefresh (project_id: the row's id),
// so that every replica re-renders the page from the rows, and reports
// changed.
func (s *Store) SaveUpstreamPage(ctx context.Context, p *UpstreamProject, files []*UpstreamFile, now time.Time) (changed bool, err error) {
	err = s.InTx(ctx, func(tx *Tx) error {
		changed, err = tx.saveUpstreamPage(ctx, p, files, now)
		return err
	})
	return changed, err
}

func (t *Tx) saveUpstreamPage(ctx context.Context, p *UpstreamProject, files []*UpstreamFile, now time.Time) (bool, error) {
	old, err := t.UpstreamProjectByName(ctx, p.NormalizedName)
	switch {
	case errors.Is(err, ErrNotFound):
		old = nil
	case err != nil:
		return false, err
	}
	if p.UpstreamStatus == "" {
		p.UpstreamStatus = StatusActive
	}
	if !p.Found {
		p.Upstream, p.UpstreamStatus, p.UpstreamStatusReason, p.ETag, p.LastModified = "", StatusActive, "", "", ""
	}
	changed := old == nil || old.Found != p.Found || old.Name != p.Name || old.Upstream != p.Upstream ||
		old.UpstreamStatus != p.UpstreamStatus || old.UpstreamStatusReason != p.UpstreamStatusReason
	if old == nil {
		p.CreatedAt = now
		p.ID, err = t.insertID(ctx, `INSERT INTO upstream_projects (normalized_name, name, upstream, found, etag,
			last_modified, upstream_status, upstream_status_reason, fetched_at, checked_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, p.NormalizedName, p.Name, p.Upstream, p.Found,
			p.ETag, p.LastModified, p.UpstreamStatus, p.UpstreamStatusReason, nullMicros(p.FetchedAt), micros(now), micros(now))
		if err != nil {
			return false, fmt.Errorf("store: add upstream project %q: %w", p.NormalizedName, err)
		}
	} else {
		p.ID, p.CreatedAt = old.ID, old.CreatedAt
		p.LocalStatus, p.LocalStatusReason, p.LocalStatusAt = old.LocalStatus, old.LocalStatusReason, old.LocalStatusAt
		if p.FetchedAt.IsZero() {
			p.FetchedAt = old.FetchedAt
		}
		_, err = t.db.ExecContext(ctx, `UPDATE upstream_projects SET name = $2, upstream = $3, found = $4, etag = $5,
			last_modified = $6, upstream_status = $7, upstream_status_reason = $8, fetched_at = $9, checked_at = $10
			WHERE id = $1`, p.ID, p.Name, p.Upstream, p.Found, p.ETag, p.LastModified, p.UpstreamStatus,
			p.UpstreamStatusReason, nullMicros(p.FetchedAt), micros(now))
		if err != nil {
			return false, fmt.Errorf("store: update upstream project %q: %w", p.NormalizedName, err)
		}
	}
	p.CheckedAt = now
	if !p.Found {
		files = nil
	}
	filesChanged, err := t.diffUpstreamFiles(ctx, p.ID, files, now)
	if err != nil {
		return false, err
	}
	changed = changed || filesChanged
	if changed {
		if _, err := t.AddJournal(ctx, p.ID, p.NormalizedName, ActionUpstreamRefresh, now); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// diffUpstreamFiles brings the files of a proxied project in line with
// the listed ones.
func (t *Tx) diffUpstreamFiles(ctx context.Context, projectID int64, listed []*UpstreamFile, now time.Time) (bool, error) {
	rows, err := queryAll(ctx, t.db, fmt.Sprintf("upstream files of %d", projectID), scanUpstreamFile,
		`SELECT `+upstreamFileColumns+` FROM upstream_files WHERE upstream_project_id = $1`, projectID)
	if err != nil {
		return false, err
	}
	bySHA := make(map[string]*UpstreamFile, len(rows))
	byName := make(map[string]*UpstreamFile, len(rows))
	for _, f := range rows {
		bySHA[f.SHA256], byName[f.Filename] = f, f
	}
	changed := false
	seen := make(map[string]bool, len(listed))
	for _, f := range listed {
		f.UpstreamProjectID = projectID
		old := bySHA[f.SHA256]
		if old == nil {
			if prev := byName[f.Filename]; prev != nil {
				// The upstream now lists other bytes under a filename it
				// listed before: the new digest replaces the old row (a
				// filename is unique). The old blob, if stored, is left to
				// the garbage collection.
				if _, err := t.db.ExecContext(ctx, `DELETE FROM upstream_files WHERE sha256 = $1`, prev.SHA256); err != nil {
					return false, fmt.Errorf("store: replace upstream file %s: %w", prev.Filename, err)
				}
				delete(bySHA, prev.SHA256)
			}
			f.FirstSeenAt = now
			res, err := t.db.ExecContext(ctx, `INSERT INTO upstream_files (sha256, upstream_project_id, filename, url,
				version, size, requires_python, yanked, yanked_reason, metadata_sha256, upload_time, first_seen_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
				f.SHA256, projectID, f.Filename, f.URL, f.Version, nullSize(f.Size), f.RequiresPython, f.Yanked,
				f.YankedReason, nullString(f.MetadataSHA256), nullMicros(f.UploadTime), micros(now))
			if err != nil {
				return false, fmt.Errorf("store: add upstream file %s: %w", f.Filename, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed = true
				seen[f.SHA256] = true
			}
			continue
		}
		seen[f.SHA256] = true
		if f.Size < 0 {
			f.Size = old.Size // unknown to the page (HTML), learnt since
		}
		if old.URL == f.URL && old.Size == f.Size && old.RequiresPython == f.RequiresPython && old.Yanked == f.Yanked &&
			old.YankedReason == f.YankedReason && old.MetadataSHA256 == f.MetadataSHA256 &&
			old.UploadTime.Equal(f.UploadTime) && old.RemovedAt.IsZero() && old.Filename == f.Filename {
			continue
		}
		_, err := t.db.ExecContext(ctx, `UPDATE upstream_files SET url = $2, size = $3, requires_python = $4,
			yanked = $5, yanked_reason = $6, metadata_sha256 = $7, upload_time = $8, removed_at = NULL
			WHERE sha256 = $1`, f.SHA256, f.URL, nullSize(f.Size), f.RequiresPython, f.Yanked, f.YankedReason,
			nullString(f.MetadataSHA256), nullMicros(f.UploadTime))
		if err != nil {
			return false, fmt.Errorf("store: update upstream file %s: %w", f.Filename, err)
		}
		changed = true
	}
	for sha, f := range bySHA {
		if seen[sha] || !f.RemovedAt.IsZero() {
			continue
		}
		if _, err := t.db.ExecContext(ctx, `UPDATE upstream_files SET removed_at = $2 WHERE sha256 = $1`, sha, micros(now)); err != nil {
			return false, fmt.Errorf("store: remove upstream file %s: %w", f.Filename, err)
		}
		changed = true
	}
	return changed, nil
}

func nullSize(n int64) sql.NullInt64 {
	if n < 0 {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: n, Valid: true}
}

// TouchUpstreamProject records that the upstream confirmed a name's page
// unchanged (a 304) at now.
func (q q) TouchUpstreamProject(ctx context.Context, id int64, now time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE upstream_projects SET checked_at = $2 WHERE id = $1`, id, micros(now)); err != nil {
		return fmt.Errorf("store: touch upstream project %d: %w", id, err)
	}
	return nil
}

// PruneUpstreamNegatives deletes the names no upstream listed when last
// asked before before: rows any reader creates by asking for a name that
// exists nowhere, which would otherwise grow the table for ever. A name
// with a local status (a quarantine made in advance), with files, or with
// downloads is kept. It returns how many rows went.
func (q q) PruneUpstreamNegatives(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM upstream_projects WHERE found = FALSE AND local_status = ''
		AND checked_at < $1
		AND NOT EXISTS (SELECT 1 FROM upstream_files f WHERE f.upstream_project_id = upstream_projects.id)
		AND NOT EXISTS (SELECT 1 FROM upstream_downloads d WHERE d.upstream_project_id = upstream_projects.id)`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune upstream negatives: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// MarkUpstreamStored records that a proxied file (metadata false) or its
// core metadata (true) was verified and put in the blob store at at; a
// stored file's size becomes known.
func (q q) MarkUpstreamStored(ctx context.Context, sha256 string, metadata bool, size int64, at time.Time) error {
	query := `UPDATE upstream_files SET stored_at = $2, size = $3 WHERE sha256 = $1`
	args := []any{sha256, micros(at), size}
	if metadata {
		query, args = `UPDATE upstream_files SET metadata_stored_at = $2 WHERE sha256 = $1`, args[:2]
	}
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: mark upstream file %s stored: %w", sha256, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: mark upstream file %s stored: %w", sha256, ErrNotFound)
	}
	return nil
}

// SetUpstreamLocalStatus sets the local status of a proxied name ("" or
// UpstreamQuarantined) and its reason, creating the row of a name never
// asked of the upstreams (a pre-emptive block: not found, never checked),
// and returns the row's id.
func (q q) SetUpstreamLocalStatus(ctx context.Context, normalized, name, status, reason string, at time.Time) (int64, error) {
	var id int64
	err := q.db.QueryRowContext(ctx, `INSERT INTO upstream_projects (normalized_name, name, found, local_status,
		local_status_reason, local_status_at, checked_at, created_at) VALUES ($1, $2, FALSE, $3, $4, $5, 0, $5)
		ON CONFLICT (normalized_name) DO UPDATE SET local_status = excluded.local_status,
			local_status_reason = excluded.local_status_reason, local_status_at = excluded.local_status_at
		RETURNING id`, normalized, name, status, reason, micros(at)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: set local status of upstream project %q: %w", normalized, err)
	}
	return id, nil
}
