package web

import (
	"net/http"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
)

// sessionPages is the sessions page: where the user is signed in, and
// when its security keys and API tokens were last used.
type sessionPages struct {
	s    *Server
	acct *account.Service
	tf   *twofactor.Service // nil: no second factors on this server
	idx  *index.Service
}

// sessionsURL is the sessions page.
const sessionsURL = "/manage/account/sessions/"

// sessionRow is a session as the page shows it.
type sessionRow struct {
	account.SessionView
	Method string // how it signed in, in words
	// ConfirmingDevice: pending, waiting for the emailed confirmation of
	// a new device (its second factor passed).
	ConfirmingDevice bool
}

// methodNames are the ways a session signs in (store.Session.AuthMethod),
// in words.
var methodNames = map[string]string{
	"password":      "password",
	"totp":          "password and authenticator app",
	"webauthn":      "password and security key",
	"passkey":       "passkey",
	"recovery-code": "password and recovery code",
}

// maxSessionRows bounds the sessions the page lists (the latest activity
// first, and always the current one): whoever knows the password can make
// sessions faster than anyone reads them.
const maxSessionRows = 100

// sessionsPage is the data of the sessions page.
type sessionsPage struct {
	Sessions []sessionRow
	// Hidden counts the sessions beyond maxSessionRows.
	Hidden int
	// Keys are the user's security keys and passkeys (KeysOn: the server
	// has second factors at all).
	Keys   []*store.SecurityKey
	KeysOn bool
	// Tokens counts the user's API tokens; TokenUsed is the latest use of
	// any (zero: none was used).
	Tokens    int
	TokenUsed time.Time
	// Known are the browsers that skip the new-device confirmation.
	Known knownDevicesSection
}

func (p *sessionPages) page(w http.ResponseWriter, r *http.Request) {
	c := p.s.requireUser(w, r)
	if c == nil {
		return
	}
	ctx := r.Context()
	sessions, err := p.acct.Sessions(ctx, c)
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	data := sessionsPage{KeysOn: p.tf != nil}
	for i, x := range sessions {
		if i >= maxSessionRows && !x.Current {
			data.Hidden++
			continue
		}
		data.Sessions = append(data.Sessions, sessionRow{SessionView: x, Method: methodNames[x.AuthMethod],
			ConfirmingDevice: x.Pending && x.Awaiting == store.AwaitingDevice})
	}
	if p.tf != nil {
		m, err := p.tf.MethodsOf(ctx, c.User.ID)
		if err != nil {
			p.s.fail(w, r, err)
			return
		}
		data.Keys = m.Keys
	}
	if data.Known, err = p.knownDevices(r, c); err != nil {
		p.s.fail(w, r, err)
		return
	}
	tokens, err := p.idx.ListTokens(ctx, &index.Principal{User: c.User, Meta: meta(r)})
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	data.Tokens = len(tokens)
	for _, t := range tokens {
		if t.LastUsedAt.After(data.TokenUsed) {
			data.TokenUsed = t.LastUsedAt
		}
	}
	p.s.render(w, r, http.StatusOK, "account_sessions", "Your sessions", data)
}

// signOut ends one of the user's sessions; its own is signing out.
func (p *sessionPages) signOut(w http.ResponseWriter, r *http.Request) {
	c := p.s.requireUser(w, r)
	if c == nil {
		return
	}
	current, err := p.acct.SignOutSession(r.Context(), c, r.PathValue("id"), meta(r))
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	if current {
		p.s.setCookie(w, cookieSession, "", -1)
		p.s.addFlash(w, r, "ok", "You are logged out.")
		redirect(w, r, "/")
		return
	}
	p.s.addFlash(w, r, "ok", "That session is signed out.")
	redirect(w, r, sessionsURL)
}
