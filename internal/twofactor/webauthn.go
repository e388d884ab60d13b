package twofactor

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/useragent"
)

// Security keys (WebAuthn, go-webauthn v0.18). The relying party id is the
// host of the base URL and its origin the only accepted origin. Each
// ceremony's session data is kept whole in the challenge table, bound to
// the web session, for 5 minutes, and taken once. The whole credential
// record is stored as JSON, so that every check the library makes at
// sign-in (backup flags, attestation) has its data.
const (
	// MaxKeyLabel is the longest label of a security key, in characters.
	MaxKeyLabel = 64
	// ChallengeTTL bounds the time between a ceremony's options and its answer.
	ChallengeTTL = 5 * time.Minute

	// PurposeKeyLogin is the second step of signing in (a pending session).
	PurposeKeyLogin = "webauthn-login"
	// PurposeKeyReauth is a re-authentication (a signed-in session).
	PurposeKeyReauth = "webauthn-reauth"

	purposeKeyRegister = "webauthn-register"
)

// relyingParty returns the WebAuthn relying party of the base URL. A base
// URL whose host is an IP address cannot be one: browsers and the library
// only accept a domain name as relying party id.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	u, err := url.Parse(s.cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("twofactor: base URL %q: not an absolute URL", s.cfg.BaseURL)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return nil, problem.Errorf(problem.Forbidden, "Security keys need this site to be reached by a host name, not an IP address (%s). "+
			"The administrators must set the server's base URL to a name, such as http://localhost:%s/ on this machine.", host, u.Port())
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: s.cfg.Issuer,
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		// Security keys are a second factor after the password: user
		// presence is enough, as on PyPI.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementDiscouraged,
			UserVerification: protocol.VerificationDiscouraged,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("twofactor: webauthn relying party: %w", err)
	}
	return wa, nil
}

// KeysUsable reports whether security keys and passkeys can work on this
// site at all: its base URL names a host, not an IP address. Pages that
// would start a ceremony on their own (the login page's passkey autofill)
// offer none when they cannot.
func (s *Service) KeysUsable() bool {
	u, err := url.Parse(s.cfg.BaseURL)
	return err == nil && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil
}

// keyUser is a user as the WebAuthn library sees it, with its keys.
type keyUser struct {
	u     *store.User
	keys  []*store.SecurityKey
	creds []webauthn.Credential
}

// WebAuthnID is the user handle: the user id, 8 bytes big-endian, stable
// across renames.
func (k *keyUser) WebAuthnID() []byte                         { return binary.BigEndian.AppendUint64(nil, uint64(k.u.ID)) }
func (k *keyUser) WebAuthnName() string                       { return k.u.Username }
func (k *keyUser) WebAuthnDisplayName() string                { return k.u.Username }
func (k *keyUser) WebAuthnCredentials() []webauthn.Credential { return k.creds }

// loadKeyUser reads the user's keys and decodes their credential records.
func (s *Service) loadKeyUser(ctx context.Context, u *store.User) (*keyUser, error) {
	keys, err := s.store.SecurityKeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	ku := &keyUser{u: u, keys: keys}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(k.Credential), &c); err != nil {
			return nil, fmt.Errorf("twofactor: credential of security key %d: %w", k.ID, err)
		}
		ku.creds = append(ku.creds, c)
	}
	return ku, nil
}

// putSession keeps a ceremony's session data, whole, for the web session.
func (s *Service) putSession(ctx context.Context, c *account.Current, purpose string, sd *webauthn.SessionData) error {
	b, err := json.Marshal(sd)
	if err != nil {
		return fmt.Errorf("twofactor: session data: %w", err)
	}
	if err := s.store.PutChallenge(ctx, c.Session.IDHash, purpose, string(b), s.now().Add(ChallengeTTL)); err != nil {
		return fmt.Errorf("twofactor: %w", err)
	}
	return nil
}

// errNoChallenge is a ceremony answered without its options: expired,
// already used, or never asked for.
var errNoChallenge = errors.New("no pending challenge")

// takeSession takes a ceremony's session data, once; an expired one is
// errNoChallenge.
func (s *Service) takeSession(ctx context.Context, c *account.Current, purpose string) (*webauthn.SessionData, error) {
	data, expires, err := s.store.TakeChallenge(ctx, c.Session.IDHash, purpose)
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

// CheckKeyLabel says what is wrong with a new label for one of the user's
// keys (except the key numbered except, when renaming), or returns nil.
func (s *Service) CheckKeyLabel(ctx context.Context, userID int64, label string, except int64) error {
	label = strings.TrimSpace(label)
	switch n := utf8.RuneCountInString(label); {
	case n == 0:
		return problem.Errorf(problem.Invalid, "Give the security key a name (1 to %d characters), such as \"YubiKey on my keyring\".", MaxKeyLabel)
	case n > MaxKeyLabel:
		return problem.Errorf(problem.Invalid, "The name of a security key can have at most %d characters; this one has %d.", MaxKeyLabel, n)
	}
	if strings.IndexFunc(label, unicode.IsControl) >= 0 {
		return problem.Errorf(problem.Invalid, "The name of a security key cannot contain control characters.")
	}
	keys, err := s.store.SecurityKeys(ctx, userID)
	if err != nil {
		return fmt.Errorf("twofactor: %w", err)
	}
	for _, k := range keys {
		if k.ID != except && strings.EqualFold(k.Label, label) {
			return problem.Errorf(problem.Invalid, "You already have a security key named %q. Choose another name.", k.Label)
		}
	}
	return nil
}

// BeginKeyRegistration starts adding a security key to the signed-in
// user of c: it returns the options for navigator.credentials.create (the
// PublicKeyCredentialCreationOptionsJSON) and keeps the ceremony's session
// data, bound to the web session, for 5 minutes. It needs a recent
// re-authentication, as every change of second factors.
func (s *Service) BeginKeyRegistration(ctx context.Context, c *account.Current) ([]byte, error) {
	if err := s.canAddKey(c, "a security key"); err != nil {
		return nil, err
	}
	return s.begin(ctx, c, purposeKeyRegister, func(wa *webauthn.WebAuthn, ku *keyUser) (any, *webauthn.SessionData, error) {
		creation, sd, err := wa.BeginRegistration(ku,
			webauthn.WithExclusions(webauthn.Credentials(ku.creds).CredentialDescriptors()),
			webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementDiscouraged))
		if err != nil {
			return nil, nil, fmt.Errorf("twofactor: begin key registration: %w", err)
		}
		return creation.Response, sd, nil
	})
}

// canAddKey refuses to add a key (what: "a security key", "a passkey")
// to c's user without a recent re-authentication or before its recovery
// codes are confirmed: they are its way back in if it loses its keys.
func (s *Service) canAddKey(c *account.Current, what string) error {
	if err := s.requireRecentAuth(c); err != nil {
		return err
	}
	if !c.User.RecoveryCodesConfirmed {
		return problem.Errorf(problem.Forbidden, "Generate your recovery codes and confirm that you saved them before you add %s.", what)
	}
	return nil
}

// begin starts a ceremony of purpose with the user's keys: start asks the
// relying party for its options and session data; the session data is
// kept, bound to the web session, for 5 minutes, and the options are
// returned as JSON, for the browser.
func (s *Service) begin(ctx context.Context, c *account.Current, purpose string,
	start func(wa *webauthn.WebAuthn, ku *keyUser) (options any, sd *webauthn.SessionData, err error)) ([]byte, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	ku, err := s.loadKeyUser(ctx, c.User)
	if err != nil {
		return nil, err
	}
	options, sd, err := start(wa, ku)
	if err != nil {
		return nil, err
	}
	if err := s.putSession(ctx, c, purpose, sd); err != nil {
		return nil, err
	}
	return json.Marshal(options)
}

// FinishKeyRegistration adds the security key that answered the options
// of BeginKeyRegistration (response is the credential's toJSON()), named
// label, after a recent re-authentication.
func (s *Service) FinishKeyRegistration(ctx context.Context, c *account.Current, label string, response []byte, m audit.Meta) (*store.SecurityKey, error) {
	return s.registerKey(ctx, c, label, response, m, false)
}

// registerKey adds the key that answered the registration options of
// c's session (a passkey's, when passkey), named label: the checks, the
// event and the email of every new key.
func (s *Service) registerKey(ctx context.Context, c *account.Current, label string, response []byte, m audit.Meta, passkey bool) (*store.SecurityKey, error) {
	purpose, what, method, notice := purposeKeyRegister, "a security key", "webauthn", "key-added"
	var check func(*protocol.ParsedCredentialCreationData) error
	if passkey {
		purpose, what, method, notice, check = purposePasskeyRegister, "a passkey", "passkey", "passkey-added", checkPasskey
	}
	if err := s.canAddKey(c, what); err != nil {
		return nil, err
	}
	label = strings.TrimSpace(label)
	if err := s.CheckKeyLabel(ctx, c.User.ID, label, 0); err != nil {
		return nil, err
	}
	key, err := s.newKey(ctx, c, purpose, label, response, check)
	if err != nil {
		return nil, err
	}
	key.Discoverable = passkey
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddSecurityKey(ctx, key); err != nil {
			return err
		}
		return audit.Record(ctx, tx, key.CreatedAt, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.TwoFactorAdded},
			map[string]any{"method": method, "label": label})
	})
	if store.IsUniqueViolation(err) {
		if _, e := s.store.SecurityKeyByCredentialID(ctx, key.CredentialID); e == nil {
			return nil, problem.Errorf(problem.Invalid, "This %s is already registered.", strings.TrimPrefix(what, "a "))
		}
		return nil, problem.Errorf(problem.Invalid, "You already have a security key named %q. Choose another name.", label)
	} else if err != nil {
		return nil, fmt.Errorf("twofactor: add security key: %w", err)
	}
	s.notify(ctx, c.User, notice, mail.Data{"Label": label})
	return key, nil
}

// newKey checks the answer (response, the credential's toJSON()) to the
// registration ceremony of purpose begun for c's session, and returns the
// key it makes, labelled label, not yet stored. check, when set, looks at
// the parsed answer before the library does (a passkey's flags), to
// refuse it with a clear message.
func (s *Service) newKey(ctx context.Context, c *account.Current, purpose, label string, response []byte,
	check func(*protocol.ParsedCredentialCreationData) error) (*store.SecurityKey, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	sd, err := s.takeSession(ctx, c, purpose)
	if errors.Is(err, errNoChallenge) {
		return nil, problem.Errorf(problem.Invalid, "This registration expired or was already used. Start again.")
	} else if err != nil {
		return nil, err
	}
	ku, err := s.loadKeyUser(ctx, c.User)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, problem.Errorf(problem.Invalid, "The security key's answer could not be read (%s). Try again.", protocolDetail(err))
	}
	if check != nil {
		if err := check(parsed); err != nil {
			return nil, err
		}
	}
	cred, err := wa.CreateCredential(ku, *sd, parsed)
	if err != nil {
		return nil, problem.Errorf(problem.Invalid, "The security key's answer was refused (%s). Try again.", protocolDetail(err))
	}
	blob, err := json.Marshal(cred)
	if err != nil {
		return nil, fmt.Errorf("twofactor: credential: %w", err)
	}
	return &store.SecurityKey{UserID: c.User.ID, Label: label, CredentialID: b64(cred.ID), PublicKey: b64(cred.PublicKey),
		Credential: string(blob), SignCount: int64(cred.Authenticator.SignCount), CreatedAt: s.now(),
		UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState}, nil
}

// checkKeyPurpose checks that a sign-in ceremony fits its session.
func checkKeyPurpose(c *account.Current, purpose string) error {
	switch purpose {
	case PurposeKeyLogin:
		if !c.Pending() {
			return problem.Errorf(problem.Invalid, "This session is already signed in.")
		}
	case PurposeKeyReauth:
		if c.Pending() {
			return problem.Errorf(problem.Unauthenticated, "Sign in first.")
		}
	default:
		return fmt.Errorf("twofactor: unknown security-key purpose %q", purpose)
	}
	return nil
}

// BeginKeyLogin starts a proof with one of the user's security keys, for
// the second step of signing in (PurposeKeyLogin, a pending session) or a
// re-authentication (PurposeKeyReauth): it returns the options for
// navigator.credentials.get (PublicKeyCredentialRequestOptionsJSON).
func (s *Service) BeginKeyLogin(ctx context.Context, c *account.Current, purpose string) ([]byte, error) {
	if err := checkKeyPurpose(c, purpose); err != nil {
		return nil, err
	}
	return s.begin(ctx, c, purpose, func(wa *webauthn.WebAuthn, ku *keyUser) (any, *webauthn.SessionData, error) {
		if len(ku.creds) == 0 {
			return nil, nil, problem.Errorf(problem.NotFound, "No security key is registered on this account.")
		}
		assertion, sd, err := wa.BeginLogin(ku, webauthn.WithUserVerification(protocol.VerificationDiscouraged))
		if err != nil {
			return nil, nil, fmt.Errorf("twofactor: begin key login: %w", err)
		}
		return assertion.Response, sd, nil
	})
}

// FinishKeyLogin checks the answer of a security key to BeginKeyLogin's
// options (response is the credential's toJSON()) and returns the key
// that answered. The options work once and for 5 minutes. A key whose
// signature counter does not increase (when it keeps one) is refused as a
// possible clone, recorded and reported to the user by email. Failures
// count against the second-step rate limits.
func (s *Service) FinishKeyLogin(ctx context.Context, c *account.Current, purpose string, response []byte, m audit.Meta) (*store.SecurityKey, error) {
	if err := checkKeyPurpose(c, purpose); err != nil {
		return nil, err
	}
	u := c.User
	res, err := s.reserve(ctx, u, m)
	if err != nil {
		return nil, err
	}
	wa, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	sd, err := s.takeSession(ctx, c, purpose)
	if errors.Is(err, errNoChallenge) {
		return nil, s.failed(ctx, u, m, "webauthn", "", "expired or already used challenge",
			problem.Errorf(problem.Unauthenticated, "This security-key request expired or was already used. Try again."))
	} else if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, s.failed(ctx, u, m, "webauthn", "", "unreadable answer: "+protocolDetail(err),
			problem.Errorf(problem.Invalid, "The security key's answer could not be read. Try again."))
	}
	ku, err := s.loadKeyUser(ctx, u)
	if err != nil {
		return nil, err
	}
	var key *store.SecurityKey
	credID := b64(parsed.RawID)
	for _, k := range ku.keys {
		if k.CredentialID == credID {
			key = k
		}
	}
	if key == nil {
		return nil, s.failed(ctx, u, m, "webauthn", "", "unknown security key",
			problem.Errorf(problem.Unauthenticated, "This security key is not registered on your account. Use one of your registered keys."))
	}
	cred, err := wa.ValidateLogin(ku, *sd, parsed)
	if err != nil {
		return nil, s.failed(ctx, u, m, "webauthn", key.Label, "refused: "+protocolDetail(err),
			problem.Errorf(problem.Unauthenticated, "The security key's answer was refused. Try again with a key registered on your account."))
	}
	if err := s.useKey(ctx, u, m, key, parsed, cred); err != nil {
		return nil, err
	}
	if err := res.Release(ctx); err != nil {
		return nil, err
	}
	return key, nil
}

// useKey records a proof that the library accepted (cred, the updated
// credential record, from the answer parsed) with key, a key of u, and
// updates key. The signature counter: when the key keeps one (the stored
// or the new count is not zero), it must have increased since its last
// use; otherwise a copy of the key may be in use, and the proof is
// refused as cloned does. Every sign-in with a key (second step,
// re-authentication, passkey) checks it here.
func (s *Service) useKey(ctx context.Context, u *store.User, m audit.Meta, key *store.SecurityKey,
	parsed *protocol.ParsedCredentialAssertionData, cred *webauthn.Credential) error {
	got := int64(parsed.Response.AuthenticatorData.Counter)
	if (key.SignCount != 0 || got != 0) && got <= key.SignCount {
		return s.cloned(ctx, u, m, key, got)
	}
	cred.Authenticator.CloneWarning = false
	blob, err := json.Marshal(cred)
	if err != nil {
		return fmt.Errorf("twofactor: credential: %w", err)
	}
	now := s.now()
	ok, err := s.store.UseSecurityKey(ctx, key.ID, string(blob), key.SignCount, got, cred.Flags.BackupState, now)
	if err != nil {
		return fmt.Errorf("twofactor: %w", err)
	}
	if !ok {
		// Another sign-in with the same key moved the counter meanwhile.
		return s.cloned(ctx, u, m, key, got)
	}
	key.Credential, key.SignCount, key.LastUsedAt, key.BackupState = string(blob), got, now, cred.Flags.BackupState
	return nil
}

// cloned refuses a key whose signature counter did not increase (a failed
// second step: its reserved slot stays counted), records the clone signal
// and emails the user.
func (s *Service) cloned(ctx context.Context, u *store.User, m audit.Meta, key *store.SecurityKey, got int64) error {
	if err := s.record(ctx, u, m, audit.SecurityKeyCloned,
		map[string]any{"label": key.Label, "stored_count": key.SignCount, "received_count": got}); err != nil {
		return err
	}
	s.notify(ctx, u, "key-copied", mail.Data{"Label": key.Label, "IP": m.IP, "Got": got, "Stored": key.SignCount})
	return problem.Errorf(problem.Forbidden, "Your security key %q was refused: its signature counter went backwards, "+
		"a sign that the key may have been copied. This was recorded and you were notified by email. Use another method.", key.Label)
}

// RenameKey changes the label of one of the user's keys.
func (s *Service) RenameKey(ctx context.Context, c *account.Current, id int64, label string, m audit.Meta) error {
	label = strings.TrimSpace(label)
	key, err := s.keyOf(ctx, c.User.ID, id)
	if err != nil {
		return err
	}
	if key.Label == label {
		return nil
	}
	if err := s.CheckKeyLabel(ctx, c.User.ID, label, id); err != nil {
		return err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RenameSecurityKey(ctx, c.User.ID, id, label); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.SecurityKeyRenamed},
			map[string]any{"method": "webauthn", "label": label, "old": key.Label})
	})
	if store.IsUniqueViolation(err) {
		return problem.Errorf(problem.Invalid, "You already have a security key named %q. Choose another name.", label)
	} else if err != nil {
		return fmt.Errorf("twofactor: rename security key: %w", err)
	}
	s.notify(ctx, c.User, "key-renamed", mail.Data{"Old": key.Label, "New": label})
	return nil
}

// RemoveKey removes one of the user's keys, after a recent
// re-authentication, unless it is the last second factor while a policy
// requires one.
func (s *Service) RemoveKey(ctx context.Context, c *account.Current, id int64, m audit.Meta) error {
	if err := s.requireRecentAuth(c); err != nil {
		return err
	}
	key, err := s.keyOf(ctx, c.User.ID, id)
	if err != nil {
		return err
	}
	method, notice := "webauthn", "key-removed"
	if key.Discoverable {
		method, notice = "passkey", "passkey-removed"
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := s.removable(ctx, tx, c.User); err != nil {
			return err
		}
		if err := tx.DeleteSecurityKey(ctx, c.User.ID, id); errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No such security key on your account.")
		} else if err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: c.User.ID, ActorID: c.User.ID, Tag: audit.TwoFactorRemoved},
			map[string]any{"method": method, "label": key.Label})
	})
	if problem.KindOf(err) != 0 {
		return err
	} else if err != nil {
		return fmt.Errorf("twofactor: remove security key: %w", err)
	}
	s.notify(ctx, c.User, notice, mail.Data{"Label": key.Label})
	return nil
}

// keyOf returns one of the user's keys, or a NotFound refusal.
func (s *Service) keyOf(ctx context.Context, userID, id int64) (*store.SecurityKey, error) {
	keys, err := s.store.SecurityKeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("twofactor: %w", err)
	}
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
	}
	return nil, problem.Errorf(problem.NotFound, "No such security key on your account.")
}

// maxProtocolDetail bounds protocolDetail.
const maxProtocolDetail = 200

// protocolDetail is the library's explanation of a refusal, for the
// security history and the owner's email. It quotes what the client
// sent (a ceremony type, an origin), which a script writes at will, up
// to the size of the request: it is cut, without line breaks or other
// control and format characters.
func protocolDetail(err error) string {
	detail := err.Error()
	if e, ok := errors.AsType[*protocol.Error](err); ok {
		detail = e.Details
		if e.DevInfo != "" {
			detail += ": " + e.DevInfo
		}
	}
	return useragent.Printable(detail, maxProtocolDetail)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
