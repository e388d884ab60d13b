// Package blob stores distribution files by content.
//
// A blob is addressed by the hex SHA-256 of its bytes. Writes are atomic:
// readers see either no blob or the whole blob, never a partial one. The
// local-folder implementation lives in this package; other backends (S3)
// implement the same Store interface.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotFound is returned when a blob does not exist.
var ErrNotFound = errors.New("blob: not found")

// Object is an open blob. It is an io.ReadSeeker so that HTTP range requests
// can be served from it, and it must be closed.
type Object interface {
	io.ReadSeekCloser
	// Size is the length of the blob in bytes.
	Size() int64
	// ModTime is when the blob was written.
	ModTime() time.Time
}

// Store is a content-addressed blob store.
type Store interface {
	// Stage returns a writer for a new blob that becomes visible only when
	// committed. Callers write the content, then call Commit with its hex
	// SHA-256 (which they computed while writing), or Abort.
	Stage(ctx context.Context) (Staged, error)
	// Open returns the blob with the given hex SHA-256.
	Open(ctx context.Context, sha256 string) (Object, error)
	// Exists reports whether the blob exists.
	Exists(ctx context.Context, sha256 string) (bool, error)
	// Delete removes a blob. Deleting a missing blob is not an error.
	Delete(ctx context.Context, sha256 string) error
}

// Staged is a blob being written. Exactly one of Commit or Abort must be
// called; Abort after Commit is a no-op, so `defer s.Abort()` is safe.
type Staged interface {
	io.Writer
	// ReaderAt gives read access to what was written so far, for
	// inspection before committing (for example, opening a wheel as a zip).
	ReaderAt() io.ReaderAt
	// Commit makes the content visible under sha256. The caller vouches
	// that sha256 is the digest of what was written.
	Commit(ctx context.Context, sha256 string) error
	// Abort discards the content.
	Abort() error
}

// PutBytes stores a small blob and returns its hex SHA-256.
func PutBytes(ctx context.Context, s Store, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if ok, err := s.Exists(ctx, sha); err != nil {
		return "", err
	} else if ok {
		return sha, nil
	}
	st, err := s.Stage(ctx)
	if err != nil {
		return "", err
	}
	defer st.Abort()
	if _, err := st.Write(data); err != nil {
		return "", fmt.Errorf("blob: write: %w", err)
	}
	if err := st.Commit(ctx, sha); err != nil {
		return "", err
	}
	return sha, nil
}
