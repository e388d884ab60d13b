package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

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
	// PublisherID is the trusted publisher that uploaded the file, 0
	// for a user's upload or once the publisher is removed.
	PublisherID int64
	// TrustedPublisher is the JSON snapshot of the trusted publisher and
	// its workflow run taken at the upload (internal/index reads it), ""
	// for a user's upload. It outlives the publisher.
	TrustedPublisher string
}

const fileColumns = `id, release_id, project_id, filename, packagetype, python_version, requires_python, size,
	md5_digest, sha256_digest, blake2_256_digest, metadata_sha256, comment_text, uploaded_by, upload_time,
	publisher_id, trusted_publisher`

func scanFile(row interface{ Scan(...any) error }) (*File, error) {
	var (
		f        File
		meta     sql.NullString
		uploader sql.NullInt64
		at       int64
		pub      sql.NullInt64
	)
	if err := row.Scan(&f.ID, &f.ReleaseID, &f.ProjectID, &f.Filename, &f.PackageType, &f.PythonVersion, &f.RequiresPython,
		&f.Size, &f.MD5, &f.SHA256, &f.Blake2_256, &meta, &f.Comment, &uploader, &at,
		&pub, &f.TrustedPublisher); err != nil {
		return nil, notFound(err)
	}
	f.MetadataSHA256 = meta.String
	f.UploadedBy = uploader.Int64
	f.UploadTime = fromMicros(at)
	f.PublisherID = pub.Int64
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
	var pub any
	if f.PublisherID != 0 {
		pub = f.PublisherID
	}
	id, err := q.insertID(ctx, `INSERT INTO files (release_id, project_id, filename, packagetype, python_version, requires_python,
		size, md5_digest, sha256_digest, blake2_256_digest, metadata_sha256, comment_text, uploaded_by, upload_time,
		publisher_id, trusted_publisher)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		f.ReleaseID, f.ProjectID, f.Filename, f.PackageType, f.PythonVersion, f.RequiresPython, f.Size, f.MD5, f.SHA256,
		f.Blake2_256, meta, f.Comment, uploader, micros(f.UploadTime), pub, f.TrustedPublisher)
	if err != nil {
		return fmt.Errorf("store: insert file %q: %w", f.Filename, err)
	}
	f.ID = id
	return nil
}

// ListFiles returns every file of a project, ordered by filename.
func (q q) ListFiles(ctx context.Context, projectID int64) ([]*File, error) {
	return queryAll(ctx, q.db, "list files", scanFile,
		`SELECT `+fileColumns+` FROM files WHERE project_id = $1 ORDER BY filename`, projectID)
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

// BlobReferenced reports whether a file, or a file's core metadata, is
// stored under the digest: a local file's, or a proxied file's that the
// proxy stored (upstream_files.stored_at, metadata_stored_at).
func (q q) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM files WHERE sha256_digest = $1 OR metadata_sha256 = $1) +
		(SELECT COUNT(*) FROM upstream_files WHERE sha256 = $1 AND stored_at IS NOT NULL) +
		(SELECT COUNT(*) FROM upstream_files WHERE metadata_sha256 = $1 AND metadata_stored_at IS NOT NULL)`, sha256).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: blob references: %w", err)
	}
	return n > 0, nil
}

// ReferencedDigests returns, in order, up to limit of the blob digests that
// file rows name (a file's, or its core metadata's; a proxied file's
// once the proxy stored it), each once, those after the digest after (""
// for the first page). Paging by digest keeps no cursor open while the
// caller works on a page, and each branch is a range scan of its
// column's index.
func (q q) ReferencedDigests(ctx context.Context, after string, limit int) ([]string, error) {
	return queryAll(ctx, q.db, "referenced digests", func(row scanner) (string, error) {
		var d string
		err := row.Scan(&d)
		return d, err
	}, `SELECT d FROM (
		SELECT d FROM (SELECT sha256_digest AS d FROM files WHERE sha256_digest > $1 ORDER BY sha256_digest LIMIT $2) AS a
		UNION
		SELECT d FROM (SELECT DISTINCT metadata_sha256 AS d FROM files WHERE metadata_sha256 > $1 ORDER BY metadata_sha256 LIMIT $2) AS b
		UNION
		SELECT d FROM (SELECT sha256 AS d FROM upstream_files WHERE sha256 > $1 AND stored_at IS NOT NULL ORDER BY sha256 LIMIT $2) AS c
		UNION
		SELECT d FROM (SELECT DISTINCT metadata_sha256 AS d FROM upstream_files
			WHERE metadata_sha256 > $1 AND metadata_stored_at IS NOT NULL ORDER BY metadata_sha256 LIMIT $2) AS e
	) AS r ORDER BY d LIMIT $2`, after, limit)
}

// ReleaseFiles returns a release's files, by filename.
func (q q) ReleaseFiles(ctx context.Context, releaseID int64) ([]*File, error) {
	return queryAll(ctx, q.db, "release files", scanFile,
		`SELECT `+fileColumns+` FROM files WHERE release_id = $1 ORDER BY filename`, releaseID)
}
