package web

import (
	"errors"
	"net/http"

	"cheeseshop/internal/account"
)

// formErrors is what a form page shows after a refused post: a message on
// top and one per field.
type formErrors struct {
	Error  string
	Fields map[string]string
}

// formRefusal returns the status and errors to show again on the form for
// a refusal about the form's fields; ok is false for any other error
// (rate limits, failures), which s.fail shows.
func formRefusal(err error) (status int, fe formErrors, ok bool) {
	e, isAcct := errors.AsType[*account.Error](err)
	if !isAcct {
		return 0, fe, false
	}
	switch e.Kind {
	case account.Invalid:
		status = http.StatusBadRequest
	case account.Unauthorized:
		status = http.StatusUnauthorized
	default:
		return 0, fe, false
	}
	return status, formErrors{Error: e.Msg, Fields: e.Fields}, true
}
