package auth

import "errors"

// ErrReauthRequired is the cause of every refusal of a change that needs
// a recent proof of identity (adding or removing a second factor,
// generating recovery codes, creating an API token): the web UI sends the
// user to re-authenticate and back. Test for it with errors.Is.
var ErrReauthRequired = errors.New("re-authentication required")
