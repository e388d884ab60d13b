package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"cheeseshop/internal/oidc"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/words"
)

// maxMintTokenBody bounds the body of a mint-token request: a JSON
// object holding one ID token (1-3 KiB in practice, oidc.DefaultMaxTokenSize
// at most).
const maxMintTokenBody = 64 << 10

// MintTokenLimit bounds the refused token requests from one client
// address (ratelimit.ClientKey): each request reserves a slot before any
// verification work (a signature check, a fetch of an issuer's keys, the
// database), and a request that mints a token gives it back, so that a
// busy CI network behind one address is never held back by its
// successes.
var MintTokenLimit = ratelimit.Rule{Max: 60, Window: 10 * time.Minute}

// trustedPublishing serves PyPI's trusted publishing exchange
// (warehouse/oidc/views.py): the audience a CI job asks its ID token
// for, and the exchange of that token for a short-lived upload token.
// The answers are PyPI's, which twine, uv and the publish action print.
// Neither route reads a session: a cookie gives no power here.
type trustedPublishing struct {
	s        *Server
	verifier *oidc.Verifier   // nil: trusted publishing is off
	publish  *publish.Service // nil: trusted publishing is off
	limiter  *ratelimit.Limiter
}

// mintTokenError is one entry of PyPI's error list.
type mintTokenError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// audience answers GET /_/oidc/audience: {"audience": "..."}, or 403
// {"message"} when trusted publishing is off, as PyPI does.
func (tp *trustedPublishing) audience(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if tp.verifier == nil {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Trusted publishing functionality not enabled"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"audience": tp.verifier.Audience()})
}

// mintToken answers POST /_/oidc/mint-token {"token": "<JWT>"}: the ID
// token is verified (oidc), exchanged for an upload token (publish), and
// the answer is {"success": true, "token", "expires"}; a refusal is
// PyPI's 422 {"message": "Token request failed", "errors": [...]}.
func (tp *trustedPublishing) mintToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	if tp.verifier == nil || tp.publish == nil {
		tp.refuse(w, r, oidc.NotEnabledError(""))
		return
	}
	m := meta(r)
	slot, err := tp.limiter.Reserve(ctx, ratelimit.Limit{Key: "oidc:ip:" + ratelimit.ClientKey(m.IP), Rules: []ratelimit.Rule{MintTokenLimit}})
	if ex, ok := errors.AsType[*ratelimit.Exceeded](err); ok {
		wait := ex.RetryAfter.Round(time.Second)
		tp.refuse(w, r, &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait,
			Message: fmt.Sprintf("Too many refused token requests from this address. Try again in %s.", words.Duration(wait))})
		return
	} else if err != nil {
		tp.refuse(w, r, err)
		return
	}
	raw, err := readMintTokenRequest(w, r)
	if err != nil {
		tp.refuse(w, r, err)
		return
	}
	tok, err := tp.verifier.Verify(ctx, raw)
	if err != nil {
		tp.refuse(w, r, err)
		return
	}
	minted, err := tp.publish.Exchange(ctx, publish.Claims{Issuer: tok.Issuer.Name, Claims: tok.Claims}, m)
	if err != nil {
		tp.refuse(w, r, err)
		return
	}
	if err := slot.Release(ctx); err != nil {
		tp.s.log.WarnContext(ctx, "release the mint-token rate limit", "err", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "token": minted.Token, "expires": minted.Expires.Unix()})
}

// readMintTokenRequest reads the body {"token": "<string>"}, at most
// maxMintTokenBody bytes; anything else is PyPI's invalid-payload.
func readMintTokenRequest(w http.ResponseWriter, r *http.Request) (string, error) {
	var body struct {
		Token *string `json:"token"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxMintTokenBody))
	if err := dec.Decode(&body); err != nil {
		if _, big := errors.AsType[*http.MaxBytesError](err); big {
			return "", oidc.InvalidPayloadError(fmt.Sprintf("the request body is larger than %d bytes", maxMintTokenBody))
		}
		return "", oidc.InvalidPayloadError("the request body is not a JSON object {\"token\": \"<JWT>\"}: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", oidc.InvalidPayloadError("the request body has more than one JSON value")
	}
	if body.Token == nil {
		return "", oidc.InvalidPayloadError("token: field required")
	}
	return *body.Token, nil
}

// refuse answers a refused token request in PyPI's shape: 422 for every
// refusal of the exchange (a *publish.Error, an *oidc.Error), with its
// code and description; 503 with Retry-After when the issuer cannot be
// reached (or the database fails), 429 when the client is over
// MintTokenLimit, and 500 for a bug.
func (tp *trustedPublishing) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status, entry := http.StatusUnprocessableEntity, mintTokenError{}
	if pe, ok := errors.AsType[*publish.Error](err); ok {
		entry = mintTokenError{Code: pe.Code, Description: pe.Description}
	} else if oe, ok := errors.AsType[*oidc.Error](err); ok {
		entry = mintTokenError{Code: string(oe.Code), Description: oe.Description}
		if problem.KindOf(err) == problem.Unavailable {
			status = statusOf(err)
		}
	} else {
		// Not a refusal of the exchange: a rate limit, a fault of the
		// database, or a bug.
		status = statusOf(err)
		code := "invalid-payload"
		switch {
		case status == http.StatusTooManyRequests:
			code = "rate-limited"
		case status >= 500:
			code = "server-error"
		default:
			status = http.StatusUnprocessableEntity
		}
		entry = mintTokenError{Code: code, Description: userMessage(err, statusOf(err))}
	}
	tp.s.logFailure(r, "mint-token", status, err)
	setRetryAfter(w, status, err)
	writeJSON(w, status, map[string]any{"message": "Token request failed", "errors": []mintTokenError{entry}})
}
