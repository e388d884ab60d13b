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
		summary, metadata_json, yanked, yanked_reason, created_at, description_html) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ProjectID, r.Version, r.CanonicalVersion, r.IsPrerelease, r.RequiresPython, r.Summary, string(r.MetadataJSON),
		r.Yanked, r.YankedReason, micros(r.CreatedAt), html)
	if err != nil {
		return fmt.Errorf("store: create release %s: %w", r.Version, err)
	}
	r.ID = id
	return nil
}

// ReleaseDescriptionHTML returns the stored rendering of a release's
// description; ok is false when it was never rendered (a release uploaded
// before renderings were stored).
func (q q) ReleaseDescriptionHTML(ctx context.Context, releaseID int64) (html string, ok bool, err error) {
	var h sql.NullString
	if err := q.db.QueryRowContext(ctx, `SELECT description_html FROM releases WHERE id = $1`, releaseID).Scan(&h); err != nil {
		return "", false, fmt.Errorf("store: description of release %d: %w", releaseID, notFound(err))
	}
	return h.String, h.Valid, nil
}

// SetReleaseDescriptionHTML stores the rendering of a release's
// description, unless one is stored already.
// The project is charged for the stored rendering, as for one stored at
// upload.
func (q q) SetReleaseDescriptionHTML(ctx context.Context, releaseID int64, html string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE releases SET description_html = $2 WHERE id = $1 AND description_html IS NULL`,
		releaseID, html)
	if err != nil {
		return fmt.Errorf("store: store description of release %d: %w", releaseID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := q.db.ExecContext(ctx, `UPDATE projects SET total_size = total_size + $2
			WHERE id = (SELECT project_id FROM releases WHERE id = $1)`, releaseID, int64(len(html))); err != nil {
			return fmt.Errorf("store: charge description of release %d: %w", releaseID, err)
		}
	}
	return nil
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
	rows, err := q.db.QueryContext(ctx, `SELECT id, project_id, version, canonical_version, is_prerelease, requires_python,
		SUBSTR(summary, 1, `+strconv.Itoa(MaxListedSummary)+`), '', yanked, yanked_reason, created_at FROM releases WHERE project_id = $1`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: list releases: %w", err)
	}
	defer rows.Close()
	var out []*Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list releases: %w", err)
		}
		r.MetadataJSON = nil
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetYanked yanks (with a reason) or unyanks a release.
func (q q) SetYanked(ctx context.Context, releaseID int64, yanked bool, reason string) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE releases SET yanked = $2, yanked_reason = $3 WHERE id = $1`, releaseID, yanked, reason); err != nil {
		return fmt.Errorf("store: yank release %d: %w", releaseID, err)
	}
	return nil
}

// File is one distribution file of a release.
type File struct {
	ID             int64
	ReleaseID      int64
	ProjectID      int64
	Filename       string
	PackageType    string // sdist or bdist_wheel
	PythonVersion  string // "source" or a wheel's python tag
	RequiresPython string
	Size           int64
	MD5            string
	SHA256         string
	Blake2_256     string
	MetadataSHA256 string // "" when the file has no extracted core metadata
	Comment        string
	UploadedBy     int64
	UploadTime     time.Time
}

const fileColumns = `id, release_id, project_id, filename, packagetype, python_version, requires_python, size,
	md5_digest, sha256_digest, blake2_256_digest, metadata_sha256, comment_text, uploaded_by, upload_time`

func scanFile(row interface{ Scan(...any) error }) (*File, error) {
	var (
		f        File
		meta     sql.NullString
		uploader sql.NullInt64
		at       int64
	)
	if err := row.Scan(&f.ID, &f.ReleaseID, &f.ProjectID, &f.Filename, &f.PackageType, &f.PythonVersion, &f.RequiresPython,
		&f.Size, &f.MD5, &f.SHA256, &f.Blake2_256, &meta, &f.Comment, &uploader, &at); err != nil {
		return nil, notFound(err)
	}
	f.MetadataSHA256 = meta.String
	f.UploadedBy = uploader.Int64
	f.UploadTime = fromMicros(at)
	return &f, nil
}

// FileByFilename finds a file by name.
func (q q) FileByFilename(ctx context.Context, filename string) (*File, error) {
	f, err := scanFile(q.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE filename = $1`, filename))
	if err != nil {
		return nil, fmt.Errorf("store: file %q: %w", filename, err)
	}
	return f, nil
}

// FileByDigest finds a file by its SHA-256 or its BLAKE2b-256 digest.
func (q q) FileByDigest(ctx context.Context, sha256, blake2 string) (*File, error) {
	f, err := scanFile(q.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files
		WHERE sha256_digest = $1 OR blake2_256_digest = $2`, sha256, blake2))
	if err != nil {
		return nil, fmt.Errorf("store: file by digest: %w", err)
	}
	return f, nil
}

// InsertFile inserts a file and sets its ID.
func (q q) InsertFile(ctx context.Context, f *File) error {
	var meta any
	if f.MetadataSHA256 != "" {
		meta = f.MetadataSHA256
	}
	var uploader any
	if f.UploadedBy != 0 {
		uploader = f.UploadedBy
	}
	id, err := q.insertID(ctx, `INSERT INTO files (release_id, project_id, filename, packagetype, python_version, requires_python,
		size, md5_digest, sha256_digest, blake2_256_digest, metadata_sha256, comment_text, uploaded_by, upload_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		f.ReleaseID, f.ProjectID, f.Filename, f.PackageType, f.PythonVersion, f.RequiresPython, f.Size, f.MD5, f.SHA256,
		f.Blake2_256, meta, f.Comment, uploader, micros(f.UploadTime))
	if err != nil {
		return fmt.Errorf("store: insert file %q: %w", f.Filename, err)
	}
	f.ID = id
	return nil
}

// ListFiles returns every file of a project, ordered by filename.
func (q q) ListFiles(ctx context.Context, projectID int64) ([]*File, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE project_id = $1 ORDER BY filename`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: list files: %w", err)
	}
	defer rows.Close()
	var out []*File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// CountSdists returns how many sdists a release has.
func (q q) CountSdists(ctx context.Context, releaseID int64) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE release_id = $1 AND packagetype = 'sdist'`, releaseID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count sdists: %w", err)
	}
	return n, nil
}

// DeleteFile deletes a file row and subtracts its size from its project.
// Its filename stays in the registry, so it can never be used again.
func (q q) DeleteFile(ctx context.Context, f *File) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM files WHERE id = $1`, f.ID); err != nil {
		return fmt.Errorf("store: delete file %q: %w", f.Filename, err)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET total_size = total_size - $2 WHERE id = $1`, f.ProjectID, f.Size); err != nil {
		return fmt.Errorf("store: delete file %q: %w", f.Filename, err)
	}
	return nil
}

// FilenameUsed reports whether a filename was ever used, even by a file
// deleted since.
func (q q) FilenameUsed(ctx context.Context, filename string) (bool, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM file_registry WHERE filename = $1`, filename).Scan(&n); err != nil {
		return false, fmt.Errorf("store: file registry: %w", err)
	}
	return n > 0, nil
}

// UsedFilename returns the filename ever used that is filename itself or
// has its canonical key (a spelling variant of it), preferring filename;
// ErrNotFound when neither was ever used.
func (q q) UsedFilename(ctx context.Context, filename, key string) (string, error) {
	var used string
	err := q.db.QueryRowContext(ctx, `SELECT filename FROM file_registry WHERE filename = $1 OR canonical_key = $2
		ORDER BY CASE WHEN filename = $1 THEN 0 ELSE 1 END LIMIT 1`, filename, key).Scan(&used)
	if err != nil {
		return "", fmt.Errorf("store: file registry: %w", notFound(err))
	}
	return used, nil
}

// RegisterFilename burns a filename and its canonical key forever. A key
// already burned by another filename fails with a unique violation.
func (q q) RegisterFilename(ctx context.Context, filename, key string, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `INSERT INTO file_registry (filename, canonical_key, created_at) VALUES ($1, $2, $3)`,
		filename, key, micros(at)); err != nil {
		return fmt.Errorf("store: register filename %q: %w", filename, err)
	}
	return nil
}

// FilenamesWithoutKey returns up to limit used filenames that have no
// canonical key yet (registered before keys existed), oldest first.
func (q q) FilenamesWithoutKey(ctx context.Context, limit int) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT filename FROM file_registry WHERE canonical_key IS NULL
		ORDER BY created_at, filename LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: filenames without key: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var fn string
		if err := rows.Scan(&fn); err != nil {
			return nil, fmt.Errorf("store: filenames without key: %w", err)
		}
		out = append(out, fn)
	}
	return out, rows.Err()
}

// SetFilenameKey gives a used filename that has none its canonical key.
// When another filename holds the key already (two spellings used before
// keys existed), the filename gets the key "alias:<filename>" instead: it
// stays burned by its own name, and the holder burns the key.
func (q q) SetFilenameKey(ctx context.Context, filename, key string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE file_registry SET canonical_key = $2 WHERE filename = $1 AND canonical_key IS NULL
		AND NOT EXISTS (SELECT 1 FROM file_registry o WHERE o.canonical_key = $2)`, filename, key)
	if err != nil {
		return fmt.Errorf("store: set filename key of %q: %w", filename, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: set filename key of %q: %w", filename, err)
	} else if n == 1 {
		return nil
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE file_registry SET canonical_key = $2 WHERE filename = $1 AND canonical_key IS NULL`,
		filename, "alias:"+filename); err != nil {
		return fmt.Errorf("store: set filename key of %q: %w", filename, err)
	}
	return nil
}

// BlobReferenced reports whether a file, or a file's core metadata, is
// stored under the digest.
func (q q) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE sha256_digest = $1 OR metadata_sha256 = $1`, sha256).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: blob references: %w", err)
	}
	return n > 0, nil
}
