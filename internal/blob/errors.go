package blob

import (
	"errors"
	"fmt"
	"syscall"
)

// Reason says why a store is unavailable, in words an operator and a client
// can act on.
type Reason string

// The reasons a store can be unavailable.
const (
	// Full: the disk or the bucket's quota is full.
	Full Reason = "full"
	// Unreachable: the storage does not answer (connection refused, timed
	// out, reset, or it answered with a server error).
	Unreachable Reason = "unreachable"
	// Refused: the storage answers but refuses the server's credentials or
	// lacks its bucket, an operator's mistake.
	Refused Reason = "refused"
)

// Fault is a failure of the storage itself rather than of the request: it
// may pass, so clients are told to retry. Backends wrap such failures in a
// Fault; local file-system errors are recognised by their errno.
type Fault struct {
	// Op is what the store was doing ("put", "open", "probe", ...).
	Op string
	// Reason classifies the failure.
	Reason Reason
	// Err is the underlying error.
	Err error
}

func (f *Fault) Error() string {
	return fmt.Sprintf("blob: %s: storage %s: %v", f.Op, f.Reason, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

// FaultReason reports whether err is a storage fault (a Fault, or a local
// file-system error such as a full disk) and why.
func FaultReason(err error) (Reason, bool) {
	var f *Fault
	if errors.As(err, &f) {
		return f.Reason, true
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return Full, true
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EIO):
		return Unreachable, true
	}
	return "", false
}

// IsUnavailable reports whether err is a storage fault that may pass, which
// clients should see as 503 with Retry-After.
func IsUnavailable(err error) bool {
	_, ok := FaultReason(err)
	return ok
}
