// Package blob stores distribution files by content.
//
// A blob is addressed by the hex SHA-256 of its bytes. Writes are atomic:
// readers see either no blob or the whole blob, never a partial one. Two
// backends implement Store: FS, a local folder, and S3, a bucket of an
// S3-compatible object store. Both pass one conformance suite
// (blobtest.Run).
package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"time"
)

// ErrNotFound is returned when a blob does not exist.
var ErrNotFound = errors.New("blob: not found")

// Info describes a committed blob.
type Info struct {
	// SHA256 is the blob's hex digest, which is also its name.
	SHA256 string
	// Size is its length in bytes.
	Size int64
	// ModTime is when it was last written (by the store's clock: for S3,
	// the server's). Committing a digest again refreshes it, so that garbage
	// collection does not remove a blob an upload has just vouched for.
	ModTime time.Time
}

// Object is an open blob. It is an io.ReadSeeker so that HTTP range requests
// can be served from it, and it must be closed.
type Object interface {
	io.ReadSeekCloser
	// Size is the length of the blob in bytes.
	Size() int64
	// ModTime is when the blob was written.
	ModTime() time.Time
}

// Store is a content-addressed blob store. Its methods are safe for
// concurrent use, also by several processes sharing the same folder or
// bucket.
type Store interface {
	// Stage returns a writer for a new blob that becomes visible only when
	// committed. Callers write the content, then call Commit with its hex
	// SHA-256 (which they computed while writing), or Abort. Every backend
	// spools staged content to a local file, so that it can be inspected
	// (ReaderAt) before it is committed.
	Stage(ctx context.Context) (Staged, error)
	// Open returns the blob with the given hex SHA-256, or ErrNotFound.
	Open(ctx context.Context, sha256 string) (Object, error)
	// Stat describes the blob with the given hex SHA-256, or returns
	// ErrNotFound.
	Stat(ctx context.Context, sha256 string) (Info, error)
	// Put stores size bytes read from r under sha256, streaming them. It
	// hashes what it reads and refuses (leaving no blob) when the digest or
	// the length differ from what the caller said.
	Put(ctx context.Context, sha256 string, r io.Reader, size int64) error
	// Delete removes a blob. Deleting a missing blob is not an error.
	Delete(ctx context.Context, sha256 string) error
	// Walk calls fn for every committed blob, in no particular order, until
	// fn returns an error or ctx is done. Staged content is not listed.
	Walk(ctx context.Context, fn func(Info) error) error
	// Probe writes and removes a small object that is not a blob, to check
	// that the store accepts writes now (for readiness checks).
	Probe(ctx context.Context) error
	// Close releases the store. It removes this process's spool.
	Close() error
}

// Staged is a blob being written. Exactly one of Commit or Abort must be
// called; Abort after Commit is a no-op, so `defer s.Abort()` is safe.
type Staged interface {
	io.Writer
	// ReaderAt gives read access to what was written so far, for
	// inspection before committing (for example, opening a wheel as a zip).
	ReaderAt() io.ReaderAt
	// Commit makes the content visible under sha256. The caller vouches
	// that sha256 is the digest of what was written. Committing a digest
	// that exists already succeeds and refreshes its ModTime.
	Commit(ctx context.Context, sha256 string) error
	// Abort discards the content.
	Abort() error
}

// Presigner is implemented by stores that can hand out short-lived URLs
// from which a client downloads a blob directly (S3), so that the bytes need
// not pass through the server.
type Presigner interface {
	// PresignGet returns a URL valid for ttl that serves the blob as an
	// attachment named filename with the given content type.
	PresignGet(ctx context.Context, sha256, filename, contentType string, ttl time.Duration) (*url.URL, error)
}

// TempCleaner is implemented by stores with a local spool: CleanTemp removes
// the spools of processes that died with uploads in flight and returns how
// many it removed. It is safe while other live processes share the spool
// folder.
type TempCleaner interface {
	CleanTemp() (int, error)
}

// Incomplete is a partly written object a backend keeps outside the blob
// namespace (an S3 multipart upload a crash left open).
type Incomplete struct {
	// Key is the object's key in the bucket.
	Key string
	// UploadID names this one upload among others of the same key (another
	// replica may be writing the same digest now).
	UploadID string
	// Started is when the upload began, by the store's clock.
	Started time.Time
}

// Incompleter is implemented by stores whose crashed writes leave
// incomplete objects behind (S3 multipart uploads), so that garbage
// collection can list and abort them.
type Incompleter interface {
	// Incomplete calls fn for every incomplete upload of a blob.
	Incomplete(ctx context.Context, fn func(Incomplete) error) error
	// AbortIncomplete aborts that one upload, and no other of its key.
	AbortIncomplete(ctx context.Context, up Incomplete) error
}

// PutBytes stores a small blob and returns its hex SHA-256. It writes even
// when the blob exists already, which refreshes its ModTime (see Info).
func PutBytes(ctx context.Context, s Store, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := s.Put(ctx, sha, bytes.NewReader(data), int64(len(data))); err != nil {
		return "", err
	}
	return sha, nil
}

// Exists reports whether the blob exists.
func Exists(ctx context.Context, s Store, sha256 string) (bool, error) {
	_, err := s.Stat(ctx, sha256)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// ValidDigest reports whether sha is a lower-case hex SHA-256, the only
// names a store accepts.
func ValidDigest(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Key is the path of a blob inside a store: sha256/ab/cd/<hex>, the same in
// a folder and in a bucket, so that copying between them is one to one.
func Key(sha string) string {
	return "sha256/" + sha[0:2] + "/" + sha[2:4] + "/" + sha
}
