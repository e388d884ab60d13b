// Package publish is trusted publishing: CI identities (an OpenID
// Connect issuer and the claims of its ID tokens) that projects trust to
// upload, and the exchange of a verified ID token for a short-lived
// upload token, as PyPI has them (Warehouse's warehouse/oidc). The
// signature, issuer, audience and times of an ID token are verified
// before (internal/oidc); this package decides which publisher the
// verified claims are, claims the token's jti once, and mints the token.
// It knows nothing of HTTP.
package publish

import (
	"fmt"
)

// Claims are the verified claims of an ID token and the name of the
// issuer that signed it: "github", "gitlab", "google", or an issuer the
// operator configured.
type Claims struct {
	Issuer string
	Claims map[string]any
}

// The error codes of a refused exchange, PyPI's.
const (
	CodeInvalidPublisher        = "invalid-publisher"
	CodeInvalidPendingPublisher = "invalid-pending-publisher"
	CodeInvalidReuseToken       = "invalid-reuse-token"
)

// Error is a refused exchange, with PyPI's code and description: the web
// layer answers it as PyPI does (422, {"message": "Token request failed",
// "errors": [{"code", "description"}]}).
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return fmt.Sprintf("publish: %s: %s", e.Code, e.Description) }

// noPublisher is PyPI's refusal of claims that no publisher matches, with
// the reason.
func noPublisher(reason string) *Error {
	return &Error{Code: CodeInvalidPublisher, Description: "valid token, but no corresponding publisher (" + reason + ")"}
}

// reuse is PyPI's refusal of an ID token exchanged before.
func reuse() *Error {
	return &Error{Code: CodeInvalidReuseToken, Description: "invalid token: already used"}
}
