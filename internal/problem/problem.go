// Package problem is the one error vocabulary of cheeseshop's domain: a
// refusal (or a fault) of a given Kind, with a message written for the
// person at the other end, and the cause for the log.
//
// Every domain package (account, index, twofactor, recovery, promo, ...)
// refuses with a *problem.Error; the web layer turns a Kind into an HTTP
// status in one place, for the web UI, the management API and the PyPI
// API alike. The domain never imports net/http: a Kind names what went
// wrong, not how a protocol says it.
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies what went wrong.
type Kind int

// The kinds. The zero Kind is an unexpected failure (a bug, or a fault
// that was not classified): it is logged, and the user sees a generic
// message.
const (
	// Invalid: the request is wrong; the message says how to mend it.
	Invalid Kind = iota + 1
	// Unauthenticated: no credentials, or wrong ones (a bad password, an
	// unknown or revoked token).
	Unauthenticated
	// Forbidden: the credentials are good but do not allow this.
	Forbidden
	// NotFound: no such thing (or not one the caller may know of).
	NotFound
	// Conflict: the request is well formed but clashes with the current
	// state (a code already claimed, none left).
	Conflict
	// Gone: a retired feature or a removed thing that will not return.
	Gone
	// TooManyRequests: a rate limit; RetryAfter says when to try again.
	TooManyRequests
	// Unavailable: a fault of the machinery (the database or the storage
	// down, a full disk); the request may succeed later (RetryAfter).
	Unavailable
	// BadGateway: a server this one relies on (an upstream index) sent
	// something refused, such as a file whose digest differs from the
	// one it lists; a later request may succeed.
	BadGateway
)

var kindNames = [...]string{"unexpected", "invalid", "unauthenticated", "forbidden", "not found",
	"conflict", "gone", "too many requests", "unavailable", "bad gateway"}

// String names the kind, for logs.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is a refusal or a fault, with a message for the user.
type Error struct {
	Kind Kind
	// Message says, for the person at the other end, what is wrong and
	// what to do. It never holds secrets or internal details.
	Message string
	// Err is the cause, for the log and for errors.Is/As (a sentinel of
	// the domain, a store error); nil when the refusal is all there is.
	Err error
	// RetryAfter, on TooManyRequests and Unavailable, is how long to wait
	// before trying again (0: unknown).
	RetryAfter time.Duration
	// Fields maps the fields of a form to what is wrong with each, for a
	// form to show beside them (Invalid, Unauthenticated).
	Fields map[string]string
}

// Error returns the message for the user.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error of the kind with a fixed message.
func New(kind Kind, msg string) *Error {
	return &Error{Kind: kind, Message: msg}
}

// Errorf returns an *Error of the kind whose message is formatted as by
// fmt.Sprintf. Arguments are formatted, never wrapped: use Wrap to keep a
// cause.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the kind with the message, keeping err as its
// cause.
func Wrap(err error, kind Kind, msg string) *Error {
	return &Error{Kind: kind, Message: msg, Err: err}
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	return errors.AsType[*Error](err)
}

// KindOf returns the kind of the first *Error in err's chain, or 0 for an
// error that is not one (an unexpected failure).
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return 0
}

// Is reports whether err's chain holds an *Error of the kind.
func Is(err error, kind Kind) bool { return kind != 0 && KindOf(err) == kind }

// MessageOf returns the message of the first *Error in err's chain, or ""
// when there is none (an unexpected failure, whose text is not for the
// user).
func MessageOf(err error) string {
	if e, ok := As(err); ok {
		return e.Message
	}
	return ""
}
