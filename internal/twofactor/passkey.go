package twofactor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/ratelimit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/words"
)

// Passkeys. A passkey is a security key registered as a discoverable
// credential (stored on the authenticator, with the user handle) with
// user verification (a PIN or a biometric): it proves something the user
// has and something it is or knows, so it signs in alone, without a
// username or a password, and counts as two factors. It is a
// security_keys row with Discoverable set, so that every rule of keys
// (HasTwoFactor, the mandate, the statistics, removal) applies to it, and
// it still works as a second factor after a password.
//
// A passkey sign-in has no session until it succeeds: its ceremony's
// session data is kept in passkey_challenges under the SHA-256 of a
// random secret the browser holds in a cookie, for ChallengeTTL, and
// taken once. Every options call reserves a slot of
// PasskeyOptionsPerIP first, so that anonymous clients cannot fill the
// table.

const (
	purposePasskeyRegister = "passkey-register"
	// purposePasskeyUpgrade, followed by the key's id, is the
	// registration that replaces a key by a passkey.
	purposePasskeyUpgrade = "passkey-upgrade:"
)

// PasskeyOptionsPerIP bounds the passkey sign-ins begun per client
// address (an IPv6 client by its /64), answered or not. The login page
// begins one when it loads (for the browser's autofill of passkeys), one
// every 4 minutes while it stays open, and one per click of its button:
// 120 in 5 minutes is far above what the people behind one office's
// address do, and keeps what an anonymous flood can store small (the
// challenges live 5 minutes).
var PasskeyOptionsPerIP = ratelimit.Rule{Max: 120, Window: 5 * time.Minute}

// PasskeysEnabled reports whether users may register passkeys and sign in
// with them (--passkeys). Off, existing passkeys still work as security
// keys after a password.
func (s *Service) PasskeysEnabled() bool { return s.cfg.Passkeys }

// passkeysOn refuses every passkey ceremony when passkeys are turned off.
func (s *Service) passkeysOn() error {
	if !s.cfg.Passkeys {
		return problem.Errorf(problem.NotFound, "Passkeys are turned off on this server. Sign in with your username and password.")
	}
	return nil
}

// passkeyCreation are the registration options of a passkey: a resident
// (discoverable) credential with user verification, and the credProps
// extension, by which the browser says whether it made one; exclude
// lists the credentials the authenticator must not already hold.
func passkeyCreation(exclude []protocol.CredentialDescriptor) []webauthn.RegistrationOption {
	return []webauthn.RegistrationOption{
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	}
}

// checkPasskey refuses, with a message that says why, a registration
// answer that does not make a passkey: its authenticator did not verify
// the user, or (the browser says so with credProps) did not store the
// credential on itself.
func checkPasskey(parsed *protocol.ParsedCredentialCreationData) error {
	if !parsed.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
		return problem.Errorf(problem.Invalid, "Your authenticator did not verify that it is you (with a PIN, a fingerprint or your face), "+
			"which a passkey needs since it replaces your password. Set up a PIN or a biometric on it and try again, or add it as a security key instead.")
	}
	if cp := parsed.ClientExtensionResults.CredProps; cp != nil && cp.RK != nil && !*cp.RK {
		return problem.Errorf(problem.Invalid, "Your authenticator did not store the passkey on itself, so it could not sign you in without your username. "+
			"Use another authenticator, or add this one as a security key instead.")
	}
	return nil
}

// BeginPasskeyRegistration starts adding a passkey to the signed-in user
// of c, as BeginKeyRegistration does for a security key: same recent
// re-authentication and confirmed recovery codes.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, c *account.Current) ([]byte, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	if err := s.canAddKey(c, "a passkey"); err != nil {
		return nil, err
	}
	return s.begin(ctx, c, purposePasskeyRegister, func(wa *webauthn.WebAuthn, ku *keyUser) (any, *webauthn.SessionData, error) {
		creation, sd, err := wa.BeginRegistration(ku, passkeyCreation(webauthn.Credentials(ku.creds).CredentialDescriptors())...)
		if err != nil {
			return nil, nil, fmt.Errorf("twofactor: begin passkey registration: %w", err)
		}
		return creation.Response, sd, nil
	})
}

// FinishPasskeyRegistration adds the passkey that answered the options of
// BeginPasskeyRegistration, named label; an answer without user
// verification is refused.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, c *account.Current, label string, response []byte, m audit.Meta) (*store.SecurityKey, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	return s.registerKey(ctx, c, label, response, m, true)
}

// upgradable returns the user's key id, which must not be a passkey yet.
func (s *Service) upgradable(ctx context.Context, c *account.Current, id int64) (*store.SecurityKey, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, err
	}
	if err := s.canAddKey(c, "a passkey"); err != nil {
		return nil, err
	}
	key, err := s.keyOf(ctx, c.User.ID, id)
	if err != nil {
		return nil, err
	}
	if key.Discoverable {
		return nil, problem.Errorf(problem.Invalid, "The security key %q is already a passkey.", key.Label)
	}
	return key, nil
}

// BeginPasskeyUpgrade starts replacing the user's security key id by a
// passkey (a new, discoverable and user-verified credential, made by the
// same authenticator or another): the options exclude the user's other
// credentials, not this one, so that its authenticator may answer.
func (s *Service) BeginPasskeyUpgrade(ctx context.Context, c *account.Current, id int64) ([]byte, error) {
	if _, err := s.upgradable(ctx, c, id); err != nil {
		return nil, err
	}
	return s.begin(ctx, c, purposePasskeyUpgrade+strconv.FormatInt(id, 10), func(wa *webauthn.WebAuthn, ku *keyUser) (any, *webauthn.SessionData, error) {
		var exclude []protocol.CredentialDescriptor
		for i, k := range ku.keys {
			if k.ID != id {
				exclude = append(exclude, ku.creds[i].Descriptor())
			}
		}
		creation, sd, err := wa.BeginRegistration(ku, passkeyCreation(exclude)...)
		if err != nil {
			return nil, nil, fmt.Errorf("twofactor: begin passkey upgrade: %w", err)
		}
		return creation.Response, sd, nil
	})
}

// FinishPasskeyUpgrade replaces the user's key id by the passkey that
// answered BeginPasskeyUpgrade's options, in one transaction: the passkey
// keeps the key's label, and the old credential stops working.
func (s *Service) FinishPasskeyUpgrade(ctx context.Context, c *account.Current, id int64, response []byte, m audit.Meta) (*store.SecurityKey, error) {
	old, err := s.upgradable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	key, err := s.newKey(ctx, c, purposePasskeyUpgrade+strconv.FormatInt(id, 10), old.Label, response, checkPasskey)
	if err != nil {
		return nil, err
	}
	key.Discoverable = true
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSecurityKey(ctx, c.User.ID, id); errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No such security key on your account.")
		} else if err != nil {
			return err
		}
		if err := tx.AddSecurityKey(ctx, key); err != nil {
			return err
		}
		return audit.Record(ctx, tx, key.CreatedAt, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.SecurityKeyUpgraded},
			map[string]any{"method": "passkey", "label": key.Label})
	})
	if store.IsUniqueViolation(err) {
		return nil, problem.Errorf(problem.Invalid, "This passkey is already registered.")
	} else if problem.KindOf(err) != 0 {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("twofactor: upgrade security key: %w", err)
	}
	s.notify(ctx, c.User, "passkey-upgraded", mail.Data{"Label": key.Label})
	return key, nil
}

// BeginPasskeyLogin starts a sign-in with a passkey, by a visitor nobody
// knows yet: it reserves a slot of PasskeyOptionsPerIP for the client's
// address, and returns the options for navigator.credentials.get (no
// allowed credentials: the authenticator offers its passkeys of this
// site; user verification required) and the secret of the ceremony, for
// the browser's cookie, under whose SHA-256 its session data is kept for
// ChallengeTTL.
func (s *Service) BeginPasskeyLogin(ctx context.Context, m audit.Meta) (options []byte, secret string, err error) {
	if err := s.passkeysOn(); err != nil {
		return nil, "", err
	}
	limit := ratelimit.Limit{Key: "passkey:ip:" + ratelimit.ClientKey(m.IP), Rules: []ratelimit.Rule{PasskeyOptionsPerIP}}
	if _, err := s.limiter.Reserve(ctx, limit); err != nil {
		if ex, ok := errors.AsType[*ratelimit.Exceeded](err); ok {
			wait := ex.RetryAfter.Round(time.Second)
			return nil, "", &problem.Error{Kind: problem.TooManyRequests, RetryAfter: wait,
				Message: fmt.Sprintf("Too many passkey sign-ins from your address. Try again in %s.", words.Duration(wait))}
		}
		return nil, "", fmt.Errorf("twofactor: %w", err)
	}
	wa, err := s.relyingParty()
	if err != nil {
		return nil, "", err
	}
	assertion, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("twofactor: begin passkey login: %w", err)
	}
	data, err := json.Marshal(sd)
	if err != nil {
		return nil, "", fmt.Errorf("twofactor: session data: %w", err)
	}
	secret = rand.Text()
	if err := s.store.PutPasskeyChallenge(ctx, auth.HashToken(secret), string(data), s.now().Add(ChallengeTTL)); err != nil {
		return nil, "", fmt.Errorf("twofactor: %w", err)
	}
	if options, err = json.Marshal(assertion.Response); err != nil {
		return nil, "", fmt.Errorf("twofactor: passkey options: %w", err)
	}
	return options, secret, nil
}

// takePasskeySession takes the session data of the passkey sign-in whose
// secret the browser sent, once; an expired or unknown one is
// errNoChallenge.
func (s *Service) takePasskeySession(ctx context.Context, secret string) (*webauthn.SessionData, error) {
	if secret == "" || len(secret) > 64 {
		return nil, errNoChallenge
	}
	data, expires, err := s.store.TakePasskeyChallenge(ctx, auth.HashToken(secret))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.now().Before(expires)) {
		return nil, errNoChallenge
	} else if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(data), &sd); err != nil {
		return nil, fmt.Errorf("twofactor: session data: %w", err)
	}
	return &sd, nil
}

// passkeyAttempt is what the discoverable handler learnt of a passkey
// sign-in: the key that answered and its owner; refusal is why it
// stopped the sign-in (or a fault).
type passkeyAttempt struct {
	key     *store.SecurityKey
	owner   *keyUser
	refusal error
}

// passkeyRefused records a passkey sign-in refused before its signature
// was found good, and returns refusal. Unlike a failed second step it
// neither counts against the owner's second-step limits nor emails the
// owner: whoever knows a credential id (not a secret: the second step's
// options show them) can post such answers without the password, and
// must not be able to hold the owner's sign-ins or flood its mailbox.
// The per-address budget of PasskeyOptionsPerIP bounds them.
func (s *Service) passkeyRefused(ctx context.Context, u *store.User, m audit.Meta, label, reason string, refusal error) error {
	if err := s.record(ctx, u, m, audit.TwoFactorFailure, map[string]any{"method": "passkey", "label": label, "reason": reason}); err != nil {
		return err
	}
	return refusal
}

// owner is the discoverable handler of a passkey sign-in: it finds the
// key of the credential id rawID and its owner, and refuses a key that is
// not a passkey or a user handle that is not the owner's.
func (s *Service) owner(ctx context.Context, a *passkeyAttempt, rawID, userHandle []byte, m audit.Meta) error {
	key, err := s.store.SecurityKeyByCredentialID(ctx, b64(rawID))
	if errors.Is(err, store.ErrNotFound) {
		a.refusal = problem.Errorf(problem.Unauthenticated, "This passkey is not registered on this site (it may have been removed). "+
			"Sign in with your username and password.")
		return a.refusal
	} else if err != nil {
		a.refusal = fmt.Errorf("twofactor: %w", err)
		return a.refusal
	}
	u, err := s.store.UserByID(ctx, key.UserID)
	if err != nil {
		a.refusal = fmt.Errorf("twofactor: %w", err)
		return a.refusal
	}
	if a.owner, a.refusal = s.loadKeyUser(ctx, u); a.refusal != nil {
		return a.refusal
	}
	a.key = key
	switch {
	case !key.Discoverable:
		a.refusal = s.passkeyRefused(ctx, u, m, key.Label, "not a passkey", problem.Errorf(problem.Unauthenticated,
			"Your security key %q is not a passkey: sign in with your username and password, then use it as your second step. "+
				"You can make it a passkey on your security keys page.", key.Label))
	case !bytes.Equal(userHandle, a.owner.WebAuthnID()):
		a.refusal = s.passkeyRefused(ctx, u, m, key.Label, "user handle of another account", problem.Errorf(problem.Unauthenticated,
			"The passkey's answer was refused: it does not belong to the account it names. Try again."))
	}
	return a.refusal
}

// FinishPasskeyLogin checks the answer of a passkey (response, the
// credential's toJSON()) to the options of BeginPasskeyLogin whose secret
// the browser sent, and returns the user it signs in and its key. The
// options work once and for ChallengeTTL. The answer must verify the
// user; the key must be a passkey, named by its owner's user handle,
// with the backup-eligible flag it was registered with; its signature
// counter is checked as FinishKeyLogin does; a disabled user is refused.
// Once the owner is known, a refusal is recorded in its history
// (passkeyRefused); a counter gone backwards is also emailed, as for keys.
func (s *Service) FinishPasskeyLogin(ctx context.Context, secret string, response []byte, m audit.Meta) (*store.User, *store.SecurityKey, error) {
	if err := s.passkeysOn(); err != nil {
		return nil, nil, err
	}
	sd, err := s.takePasskeySession(ctx, secret)
	if errors.Is(err, errNoChallenge) {
		return nil, nil, problem.Errorf(problem.Unauthenticated, "This passkey request expired or was already used. Try again.")
	} else if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, nil, problem.Errorf(problem.Invalid, "The passkey's answer could not be read. Try again.")
	}
	wa, err := s.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	var a passkeyAttempt
	_, cred, err := wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		if err := s.owner(ctx, &a, rawID, userHandle, m); err != nil {
			return nil, err
		}
		return a.owner, nil
	}, *sd, parsed)
	switch {
	case a.refusal != nil:
		return nil, nil, a.refusal
	case err != nil && a.owner == nil:
		// Refused before the handler ran (no user handle, say).
		return nil, nil, problem.Errorf(problem.Unauthenticated, "The passkey's answer was refused (%s). Try again.", protocolDetail(err))
	case err != nil:
		reason, msg := "refused: "+protocolDetail(err), "The passkey's answer was refused. Try again with a passkey registered on your account."
		if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
			reason, msg = "user not verified", "Your passkey did not verify that it is you (with a PIN, a fingerprint or your face), "+
				"which signing in with a passkey needs. Try again, or sign in with your username and password."
		}
		return nil, nil, s.passkeyRefused(ctx, a.owner.u, m, a.key.Label, reason, problem.Errorf(problem.Unauthenticated, "%s", msg))
	}
	u, key := a.owner.u, a.key
	if u.Disabled {
		if err := s.record(ctx, u, m, audit.LoginFailure, map[string]any{"reason": "account disabled", "method": "passkey"}); err != nil {
			return nil, nil, err
		}
		return nil, nil, problem.Errorf(problem.Forbidden, "This account is disabled. The administrators of this site can tell you why.")
	}
	if err := s.useKey(ctx, u, m, key, parsed, cred); err != nil {
		return nil, nil, err
	}
	return u, key, nil
}
