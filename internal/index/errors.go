package index

import (
	"errors"
	"fmt"
)

// Kind classifies a refusal; the web layer maps kinds to HTTP statuses.
type Kind int

// The kinds of refusal.
const (
	Invalid      Kind = iota + 1 // the request is wrong: 400
	Unauthorized                 // no or bad credentials: 403 (as PyPI)
	Forbidden                    // authenticated but not allowed: 403
	NotFound                     // 404
	Gone                         // a retired feature: 410
)

// Error is a refusal whose message is meant for the person at the other
// end: it says what is wrong and what to do.
type Error struct {
	Kind Kind
	Msg  string
	// refusal is set when the project gate refused the change.
	refusal *mandateRefusal
	// reauth is set when the change needs a recent proof of identity.
	reauth bool
}

func (e *Error) Error() string { return e.Msg }

// ReauthRequired reports whether err refuses a change for want of a
// recent re-authentication of the session, so that the web UI can send
// the user to re-authenticate.
func ReauthRequired(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.reauth
}

func errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of an *Error in err's chain, or 0.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return 0
}
