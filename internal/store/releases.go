package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Release is one version of a project. Its metadata is fixed by the first
// file uploaded for it.
type Release struct {
	ID               int64
	ProjectID        int64
	Version          string // PEP 440 normalized
	CanonicalVersion string // canonicalize_version: 1.0 and 1.0.0 are one release
	IsPrerelease     bool
	RequiresPython   string
	Summary          string
	MetadataJSON     []byte
	Yanked           bool
	YankedReason     string
	CreatedAt        time.Time
	// DescriptionHTML, when not nil, is the description rendered as
	// safe HTML, which CreateRelease stores with the release. The release
	// queries do not read it back (it is as large as the description):
	// ReleaseDescriptionHTML does, for the one release a page shows.
	DescriptionHTML *string
	// DescriptionVersion is the version of the renderer that made
	// DescriptionHTML (readme.Version), which CreateRelease stores with it.
	DescriptionVersion int
}

const releaseColumns = `id, project_id, version, canonical_version, is_prerelease, requires_python, summary, metadata_json, yanked, yanked_reason, created_at`

func scanRelease(row interface{ Scan(...any) error }) (*Release, error) {
	var r Release
	var created int64
	var meta string
	if err := row.Scan(&r.ID, &r.ProjectID, &r.Version, &r.CanonicalVersion, &r.IsPrerelease, &r.RequiresPython,
		&r.Summary, &meta, &r.Yanked, &r.YankedReason, &created); err != nil {
		return nil, notFound(err)
	}
	r.MetadataJSON = []byte(meta)
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

// ReleaseByCanonicalVersion finds a project's release.
func (q q) ReleaseByCanonicalVersion(ctx context.Context, projectID int64, canonical string) (*Release, error) {
	r, err := scanRelease(q.db.QueryRowContext(ctx, `SELECT `+releaseColumns+` FROM releases
		WHERE project_id = $1 AND canonical_version = $2`, projectID, canonical))
	if err != nil {
		return nil, fmt.Errorf("store: release %s: %w", canonical, err)
	}
	return r, nil
}

// ReleaseID finds a project's release by canonical version, reading
// nothing else of it.
func (q q) ReleaseID(ctx context.Context, projectID int64, canonical string) (int64, error) {
	var id int64
	if err := q.db.QueryRowContext(ctx, `SELECT id FROM releases WHERE project_id = $1 AND canonical_version = $2`,
		projectID, canonical).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: release %s: %w", canonical, notFound(err))
	}
	return id, nil
}

// ReleaseCreated finds a project's release by canonical version and
// returns its id and creation time, reading nothing else of it.
func (q q) ReleaseCreated(ctx context.Context, projectID int64, canonical string) (id int64, created time.Time, err error) {
	var micros int64
	if err := q.db.QueryRowContext(ctx, `SELECT id, created_at FROM releases WHERE project_id = $1 AND canonical_version = $2`,
		projectID, canonical).Scan(&id, &micros); err != nil {
		return 0, time.Time{}, fmt.Errorf("store: release %s: %w", canonical, notFound(err))
	}
	return id, fromMicros(micros), nil
}

// StoredMetadataSize is how many bytes the release's stored metadata takes
// (its core metadata as JSON and its rendered description), which its
// project's size limit counts.
func (r *Release) StoredMetadataSize() int64 {
	n := int64(len(r.MetadataJSON))
	if r.DescriptionHTML != nil {
		n += int64(len(*r.DescriptionHTML))
	}
	return n
}

// releaseMetadataSizeSQL is StoredMetadataSize in SQL, for the release $2.
const releaseMetadataSizeSQL = `(SELECT octet_length(metadata_json) + COALESCE(octet_length(description_html), 0) FROM releases WHERE id = $2)`

// CreateRelease inserts a release and sets its ID.
func (q q) CreateRelease(ctx context.Context, r *Release) error {
	var html sql.NullString
	if r.DescriptionHTML != nil {
		html = sql.NullString{String: *r.DescriptionHTML, Valid: true}
	}
	id, err := q.insertID(ctx, `INSERT INTO releases (project_id, version, canonical_version, is_prerelease, requires_python,
		summary, metadata_json, yanked, yanked_reason, created_at, description_html, description_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		r.ProjectID, r.Version, r.CanonicalVersion, r.IsPrerelease, r.RequiresPython, r.Summary, string(r.MetadataJSON),
		r.Yanked, r.YankedReason, micros(r.CreatedAt), html, r.DescriptionVersion)
	if err != nil {
		return fmt.Errorf("store: create release %s: %w", r.Version, err)
	}
	r.ID = id
	return nil
}

// ReleaseDescriptionHTML returns the stored rendering of a release's
// description and the version of the renderer that made it; ok is false
// when it was never rendered (a release uploaded before renderings were
// stored).
func (q q) ReleaseDescriptionHTML(ctx context.Context, releaseID int64) (html string, version int, ok bool, err error) {
	var h sql.NullString
	if err := q.db.QueryRowContext(ctx, `SELECT description_html, description_version FROM releases WHERE id = $1`,
		releaseID).Scan(&h, &version); err != nil {
		return "", 0, false, fmt.Errorf("store: description of release %d: %w", releaseID, notFound(err))
	}
	return h.String, version, h.Valid, nil
}

// SetReleaseDescriptionHTML stores the rendering of a release's
// description made by the given version of the renderer, unless one of
// that version or a newer one is stored already (so that replicas of
// different versions do not replace each other's renderings in turn).
// The project is charged for the stored rendering, as for one stored at
// upload: for a replaced rendering, by the difference in length.
func (s *Store) SetReleaseDescriptionHTML(ctx context.Context, releaseID int64, html string, version int) error {
	return s.InTx(ctx, func(tx *Tx) error {
		// Lock the release row, if it is to be replaced, before reading
		// the length it is charged for: a concurrent replacement waits
		// here, then finds the rendering current and does nothing.
		res, err := tx.db.ExecContext(ctx, `UPDATE releases SET description_version = description_version
			WHERE id = $1 AND (description_html IS NULL OR description_version < $2)`, releaseID, version)
		if err != nil {
			return fmt.Errorf("store: lock description of release %d: %w", releaseID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: lock description of release %d: %w", releaseID, err)
		} else if n != 1 {
			return nil // current already
		}
		if _, err := tx.db.ExecContext(ctx, `UPDATE projects
			SET total_size = total_size + $2 - (SELECT COALESCE(octet_length(description_html), 0) FROM releases WHERE id = $1)
			WHERE id = (SELECT project_id FROM releases WHERE id = $1)`, releaseID, int64(len(html))); err != nil {
			return fmt.Errorf("store: charge description of release %d: %w", releaseID, err)
		}
		if _, err := tx.db.ExecContext(ctx, `UPDATE releases SET description_html = $2, description_version = $3 WHERE id = $1`,
			releaseID, html, version); err != nil {
			return fmt.Errorf("store: store description of release %d: %w", releaseID, err)
		}
		return nil
	})
}

// ReleaseMetadataJSON returns the core metadata of a release, as stored
// (JSON of pep.Metadata).
func (q q) ReleaseMetadataJSON(ctx context.Context, releaseID int64) ([]byte, error) {
	var meta string
	if err := q.db.QueryRowContext(ctx, `SELECT metadata_json FROM releases WHERE id = $1`, releaseID).Scan(&meta); err != nil {
		return nil, fmt.Errorf("store: metadata of release %d: %w", releaseID, notFound(err))
	}
	return []byte(meta), nil
}

// ListReleases returns a project's releases in no particular order (PEP
// 440 ordering is the caller's business), without their metadata
// (MetadataJSON is nil: a project lists every release, and shows the
// metadata of one, ReleaseMetadataJSON).
func (q q) ListReleases(ctx context.Context, projectID int64) ([]*Release, error) {
	return queryAll(ctx, q.db, "list releases", func(row scanner) (*Release, error) {
		r, err := scanRelease(row)
		if err == nil {
			r.MetadataJSON = nil
		}
		return r, err
	}, `SELECT id, project_id, version, canonical_version, is_prerelease, requires_python,
		SUBSTR(summary, 1, `+strconv.Itoa(MaxListedSummary)+`), '', yanked, yanked_reason, created_at FROM releases WHERE project_id = $1`, projectID)
}

// SetYanked yanks (with a reason) or unyanks a release.
func (q q) SetYanked(ctx context.Context, releaseID int64, yanked bool, reason string) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE releases SET yanked = $2, yanked_reason = $3 WHERE id = $1`, releaseID, yanked, reason); err != nil {
		return fmt.Errorf("store: yank release %d: %w", releaseID, err)
	}
	return nil
}

// DeleteRelease deletes a release and its files, and subtracts their size
// and the release's stored metadata from the project. The filenames stay
// in the registry.
func (q q) DeleteRelease(ctx context.Context, r *Release) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET total_size = total_size -
		(SELECT COALESCE(SUM(size), 0) FROM files WHERE release_id = $2) - `+releaseMetadataSizeSQL+` WHERE id = $1`, r.ProjectID, r.ID); err != nil {
		return fmt.Errorf("store: delete release %s: %w", r.Version, err)
	}
	for _, stmt := range []string{`DELETE FROM files WHERE release_id = $1`, `DELETE FROM releases WHERE id = $1`} {
		if _, err := q.db.ExecContext(ctx, stmt, r.ID); err != nil {
			return fmt.Errorf("store: delete release %s: %w", r.Version, err)
		}
	}
	return nil
}
