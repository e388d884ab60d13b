// Package dist inspects uploaded Python distribution archives (wheels and
// gzip-compressed source distributions) before the index accepts them, so
// that the index never has to trust the upload form alone.
//
// The checks follow PyPI's (warehouse/forklift/legacy.py,
// _is_valid_dist_file, and the zip framing check of
// warehouse/utils/zipfiles.py, see zipwalk.go): only well-formed archives
// with the files the packaging specifications require are accepted, and archives that are
// unsafe to unpack (decompression bombs, path traversal, special files,
// links escaping the source tree) are rejected.
//
// Every archive is read completely, in bounded memory: member contents are
// streamed through a counting sink, and only the core metadata file
// (METADATA or PKG-INFO, bounded by [Limits.MaxMetadataSize]) is kept.
//
// Failures caused by the upload itself are returned as [*Error], whose
// message is safe to show to the uploader. Any other error (a failing
// reader, an invalid argument) is an internal error and should not be shown.
package dist

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default limits, used for zero fields of [Limits].
const (
	// DefaultMaxUncompressed is the default for Limits.MaxUncompressed.
	DefaultMaxUncompressed int64 = 64 << 20
	// DefaultMaxRatio is the default for Limits.MaxRatio.
	DefaultMaxRatio int64 = 50
	// DefaultMaxMembers is the default for Limits.MaxMembers.
	DefaultMaxMembers = 100_000
	// DefaultMaxMetadataSize is the default for Limits.MaxMetadataSize.
	DefaultMaxMetadataSize int64 = 4 << 20
)

// maxNameLen bounds the length in bytes of a member name or link target.
const maxNameLen = 4096

// Limits bound the work done on an archive. Zero values mean the defaults
// shown; negative values are treated like zero.
type Limits struct {
	// MaxUncompressed is the total uncompressed size in bytes, declared by
	// the archive or actually produced while decompressing it, above which
	// the compression ratio is checked; default 64 MiB.
	MaxUncompressed int64
	// MaxRatio is the maximum ratio of uncompressed bytes to the size of the
	// uploaded (compressed) file once MaxUncompressed is exceeded; default 50.
	MaxRatio int64
	// MaxMembers is the maximum number of archive members; default 100_000.
	MaxMembers int
	// MaxMetadataSize is the maximum size in bytes of METADATA or PKG-INFO;
	// default 4 MiB.
	MaxMetadataSize int64
}

// withDefaults returns l with every non-positive field replaced by its
// default.
func (l Limits) withDefaults() Limits {
	if l.MaxUncompressed <= 0 {
		l.MaxUncompressed = DefaultMaxUncompressed
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultMaxMembers
	}
	if l.MaxMetadataSize <= 0 {
		l.MaxMetadataSize = DefaultMaxMetadataSize
	}
	return l
}

// bombThreshold returns the number of uncompressed bytes above which an
// archive of compressedSize bytes is a decompression bomb: the total must
// exceed MaxUncompressed AND total/compressedSize must exceed MaxRatio, i.e.
// total > max(MaxUncompressed, MaxRatio*compressedSize).
func (l Limits) bombThreshold(compressedSize int64) int64 {
	t := l.MaxUncompressed
	if compressedSize > 0 {
		r := int64(math.MaxInt64)
		if compressedSize <= math.MaxInt64/l.MaxRatio {
			r = compressedSize * l.MaxRatio
		}
		t = max(t, r)
	}
	return t
}

// Error is an inspection failure whose message is safe to show to the
// uploader. Its Error() text is what PyPI would say after
// "Invalid distribution file. " (the caller adds that prefix), e.g.
// "Zip file contains an unsupported compression method", "File is a zip bomb",
// "Wheel '…' does not contain the required METADATA file: …".
//
// Use errors.As to tell an *Error from an internal error.
type Error struct{ Msg string }

// Error returns the uploader-facing message.
func (e *Error) Error() string { return e.Msg }

// errorf returns an *Error. Arguments that come from the upload must be
// passed through [display] first.
func errorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// errBomb is the internal signal that a [meter] ran over its threshold.
var errBomb = errors.New("dist: decompression bomb")

// meter counts uncompressed bytes against a bomb threshold.
type meter struct {
	limit int64
	n     int64
	// tripped records that the threshold was exceeded, so that callers can
	// recognise the cause even if an archive reader replaced the error.
	tripped bool
}

// add counts k more bytes and reports errBomb once the total exceeds the
// limit.
func (m *meter) add(k int64) error {
	m.n = satAdd(m.n, k)
	if m.n > m.limit {
		m.tripped = true
		return errBomb
	}
	return nil
}

// wouldExceed reports whether k more bytes would take the total over the
// limit, without counting them. It is used with sizes declared by the
// archive, to stop before decompressing anything.
func (m *meter) wouldExceed(k int64) bool {
	if satAdd(m.n, k) > m.limit {
		m.tripped = true
		return true
	}
	return false
}

// meteredReader counts the bytes read from r against m.
type meteredReader struct {
	r io.Reader
	m *meter
}

func (mr *meteredReader) Read(p []byte) (int, error) {
	n, err := mr.r.Read(p)
	if n > 0 {
		if merr := mr.m.add(int64(n)); merr != nil {
			return n, merr
		}
	}
	return n, err
}

// satAdd returns a+b for non-negative a and b, saturating at MaxInt64.
func satAdd(a, b int64) int64 {
	if b < 0 {
		b = 0
	}
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// checkMemberName reports why name is not an acceptable archive member name,
// or "" if it is. Acceptable names are relative, slash-separated paths
// without empty, "." or ".." components, backslashes, NUL bytes or drive
// letters. A single trailing slash (a directory entry) is allowed.
func checkMemberName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case len(name) > maxNameLen:
		return "name too long"
	case strings.IndexByte(name, 0) >= 0:
		return "NUL byte in name"
	case strings.IndexByte(name, '\\') >= 0:
		return "backslash in name"
	case name[0] == '/':
		return "absolute path"
	case hasDriveLetter(name):
		return "absolute path"
	case !utf8.ValidString(name):
		return "name is not valid UTF-8"
	}
	for c := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		switch c {
		case "..":
			return "path traversal"
		case "", ".":
			return "non-canonical path"
		}
	}
	return ""
}

// hasDriveLetter reports whether s starts with a Windows drive specifier
// such as "C:".
func hasDriveLetter(s string) bool {
	return len(s) >= 2 && s[1] == ':' && ('a' <= s[0]|0x20 && s[0]|0x20 <= 'z')
}

// maxDisplay is the maximum number of bytes of an uploader-supplied string
// echoed back in a message.
const maxDisplay = 200

// display makes an uploader-supplied string safe to embed in a message (which
// may end up in an HTTP status line): invalid UTF-8 and non-printable
// characters are replaced by '?', and long strings are shortened.
func display(s string) string {
	truncated := false
	if len(s) > maxDisplay {
		cut := maxDisplay
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, truncated = s[:cut], true
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	if truncated {
		b.WriteString("...")
	}
	return b.String()
}
