package web

import (
	"cheeseshop/internal/problem"
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
	e, ok := problem.As(err)
	if !ok || (e.Kind != problem.Invalid && e.Kind != problem.Unauthenticated) {
		return 0, fe, false
	}
	return statusOf(err), formErrors{Error: e.Message, Fields: e.Fields}, true
}
