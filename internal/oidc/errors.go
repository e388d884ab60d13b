package oidc

import (
	"time"

	"cheeseshop/internal/problem"
)

// Code is an error code of the mint-token exchange. The codes and their
// descriptions are PyPI's (warehouse/oidc/views.py), so that twine, uv and
// the publish action, which print them, read the same from cheeseshop.
type Code string

// The codes of the token check. The refusals of the exchange that
// follows it (no matching publisher, a reused token, a pending publisher
// whose project exists) are internal/publish's.
const (
	// InvalidPayload: the request body, or the JWT in it, cannot be read,
	// or names an issuer this index does not trust.
	InvalidPayload Code = "invalid-payload"
	// InvalidToken: a JWT from a trusted issuer that does not verify (bad
	// signature, wrong audience, expired, ...).
	InvalidToken Code = "invalid-token"
	// NotEnabled: trusted publishing, or this issuer, is turned off.
	NotEnabled Code = "not-enabled"
	// IssuerUnavailable is cheeseshop's own: the issuer's discovery
	// document or keys could not be fetched, so the token could not be
	// checked; the request may succeed later. PyPI says invalid-token then.
	IssuerUnavailable Code = "issuer-unavailable"
)

// Error is one entry of the mint-token error list: the web layer renders
// {"message": "Token request failed", "errors": [{"code", "description"}]}
// from it. Every refusal of this package is a *problem.Error (Invalid,
// Forbidden or Unavailable) whose cause is an *Error; find it with
// errors.As.
type Error struct {
	Code        Code
	Description string
	// cause is the failure behind an IssuerUnavailable, for the log.
	cause error
}

// Error returns the code and the description (and, for the log, the
// cause of an IssuerUnavailable).
func (e *Error) Error() string {
	if e.cause != nil {
		return string(e.Code) + ": " + e.Description + ": " + e.cause.Error()
	}
	return string(e.Code) + ": " + e.Description
}

// Unwrap returns the cause of an IssuerUnavailable, or nil.
func (e *Error) Unwrap() error { return e.cause }

// refuse returns a refusal of the kind with the code and description.
func refuse(kind problem.Kind, code Code, description string) *problem.Error {
	return &problem.Error{Kind: kind, Message: description, Err: &Error{Code: code, Description: description}}
}

// invalidToken is PyPI's refusal of a token that does not verify, with
// the reason in parentheses (PyPI logs the reason and says only "malformed
// or invalid token").
func invalidToken(reason string) *problem.Error {
	return refuse(problem.Invalid, InvalidToken, "malformed or invalid token ("+reason+")")
}

// malformed is PyPI's refusal of a string that is not a JWT at all.
func malformed(reason string) *problem.Error {
	return refuse(problem.Invalid, InvalidPayload, "malformed JWT ("+reason+")")
}

// unavailable is the refusal when an issuer cannot be reached; cause is
// the fetch failure, for the log.
func unavailable(cause error, issuer string, retry time.Duration) *problem.Error {
	e := refuse(problem.Unavailable, IssuerUnavailable,
		"the keys of the trusted publishing issuer "+issuer+" could not be fetched; try again later")
	e.Err.(*Error).cause = cause
	e.RetryAfter = retry
	return e
}

// InvalidPayloadError is the refusal of a mint-token request body that
// is not {"token": "<string>"}; description says what is wrong.
func InvalidPayloadError(description string) error {
	return refuse(problem.Invalid, InvalidPayload, description)
}

// NotEnabledError is the refusal when trusted publishing through the
// named issuer (or at all, when issuer is "") is turned off.
func NotEnabledError(issuer string) error {
	if issuer == "" {
		return refuse(problem.Forbidden, NotEnabled, "Trusted publishing functionality not enabled")
	}
	return refuse(problem.Forbidden, NotEnabled, issuer+" trusted publishing functionality not enabled")
}
