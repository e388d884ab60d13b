package index

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/blake2b"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/problem"
)

// Incoming is an uploaded file, staged in the blob store but not yet
// visible. Close discards it unless an upload committed it.
type Incoming struct {
	Filename    string
	ContentType string // of the multipart part
	Size        int64
	MD5         string
	SHA256      string
	Blake2_256  string
	staged      blob.Staged
}

// Close discards the staged content if it was not committed.
func (in *Incoming) Close() error {
	if in == nil || in.staged == nil {
		return nil
	}
	return in.staged.Abort()
}

// Receive streams an uploaded file into the blob store's staging area,
// computing its digests on the way, and refuses it as soon as it exceeds
// the file size limit. project is the form's project name, if known, for
// the message.
func (s *Service) Receive(ctx context.Context, r io.Reader, filename, contentType, project string) (*Incoming, error) {
	if len(filename) > MaxFilenameBytes {
		// Refused before the file is read, and never echoed back.
		return nil, problem.Errorf(problem.Invalid, "Filename is too long: use %d characters or fewer.", MaxFilenameBytes)
	}
	st, err := s.blobs.Stage(ctx)
	if err != nil {
		return nil, fmt.Errorf("index: receive: %w", err)
	}
	hMD5, hSHA := md5.New(), sha256.New()
	hB2, _ := blake2b.New256(nil)
	w := io.MultiWriter(st, hMD5, hSHA, hB2)
	limit := s.cfg.MaxFileSize
	src := &readErr{r: io.LimitReader(r, limit+1)}
	n, err := io.Copy(w, src)
	if err != nil {
		st.Abort()
		if src.err != nil {
			// The client's body was cut short or malformed: its fault.
			return nil, problem.Errorf(problem.Invalid, "The upload of %s was interrupted or is malformed (%v). Try again.", filename, src.err)
		}
		return nil, fmt.Errorf("index: receive %s: %w", filename, err)
	}
	if n > limit {
		st.Abort()
		return nil, s.fileTooLarge(project)
	}
	sum := func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	return &Incoming{Filename: filename, ContentType: contentType, Size: n,
		MD5: sum(hMD5), SHA256: sum(hSHA), Blake2_256: sum(hB2), staged: st}, nil
}

func (s *Service) fileTooLarge(project string) error {
	return problem.Errorf(problem.Invalid, "File too large. Limit for project '%s' is %d MB. See %s for more information.",
		project, s.cfg.MaxFileSize>>20, s.helpURL("file-size-limit"))
}

// readErr remembers an error of the reader, to tell the client's failures
// from the server's.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
