package upstream

import (
	"errors"
	"fmt"
)

// The classes of failure; every error of the package matches one through
// errors.Is.
var (
	// ErrNotModified: a conditional fetch found the page unchanged (304).
	ErrNotModified = errors.New("not modified")
	// ErrNotFound: the upstream does not have it (404 or 410).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the upstream could not be asked (network failure,
	// timeout, a transfer too slow, 5xx, 429, refused credentials, or
	// the breaker open after a recent failure). It may pass: callers
	// serve what they have cached.
	ErrUnavailable = errors.New("unavailable")
	// ErrHostile: the upstream answered something refused (too big,
	// unparsable, the wrong project, a redirect off the allowed hosts).
	ErrHostile = errors.New("refused answer")
	// ErrMismatch: a file's SHA-256 or size differs from what its page
	// lists. It also matches ErrHostile.
	ErrMismatch = errors.New("digest mismatch")
)

// Error is a failure to fetch from an upstream.
type Error struct {
	// Upstream is the upstream's URL, without credentials.
	Upstream string
	// URL is what was fetched, without credentials.
	URL string
	// Kind is one of the Err* classes above.
	Kind error
	// Err is the cause (nil when Kind says it all).
	Err error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("upstream %s: %s: %v", e.Upstream, e.URL, e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is matches the error's class (a mismatch is also hostile).
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Kind == ErrMismatch && target == ErrHostile)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
