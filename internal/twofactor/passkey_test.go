package twofactor

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// Passkeys with a software authenticator (virtualwebauthn) in place of
// the browser: registration, sign-in alone and its refusals, the rate
// limit of sign-ins begun, and making a security key a passkey.

// testRP is the relying party of the fixture's base URL, as a browser on
// it sees it.
var testRP = virtualwebauthn.RelyingParty{ID: "index.test", Name: "cheeseshop", Origin: "http://index.test"}

// ec2Key returns a software P-256 key whose public coordinates are 32
// bytes each (virtualwebauthn drops leading zeros, which no real
// authenticator does; see web's newEC2Key).
func ec2Key() virtualwebauthn.Credential {
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			panic(err)
		}
		if pk := k.(*ecdsa.PrivateKey); len(pk.X.Bytes()) == 32 && len(pk.Y.Bytes()) == 32 {
			return c
		}
	}
}

// holder is a user with confirmed recovery codes, signed in, and its
// authenticator.
type holder struct {
	c    *account.Current
	auth virtualwebauthn.Authenticator
}

func (f *fixture) holder(name string, opts virtualwebauthn.AuthenticatorOptions) *holder {
	f.t.Helper()
	c := f.user(name)
	storetest.Must(f.t, f.st.SetRecoveryCodesConfirmed(f.t.Context(), c.User.ID, true))
	c.User.RecoveryCodesConfirmed = true
	return &holder{c: c, auth: virtualwebauthn.NewAuthenticatorWithOptions(opts)}
}

// create answers registration options with cred; the authenticator keeps
// the user handle the options give, as a passkey does.
func (h *holder) create(t *testing.T, options []byte, cred virtualwebauthn.Credential) []byte {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatalf("attestation options: %v\n%s", err, options)
	}
	h.auth.Options.UserHandle = []byte(ao.UserID)
	return []byte(virtualwebauthn.CreateAttestationResponse(testRP, h.auth, cred, *ao))
}

// addPasskey registers cred as a passkey named label.
func (f *fixture) addPasskey(h *holder, cred virtualwebauthn.Credential, label string) (*store.SecurityKey, error) {
	f.t.Helper()
	options, err := f.tf.BeginPasskeyRegistration(f.t.Context(), h.c)
	if err != nil {
		return nil, err
	}
	return f.tf.FinishPasskeyRegistration(f.t.Context(), h.c, label, h.create(f.t, options, cred), meta1)
}

// passkeyLogin signs in with cred held by auth, from m's address.
func (f *fixture) passkeyLogin(auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential, m audit.Meta) (*store.User, *store.SecurityKey, error) {
	f.t.Helper()
	options, secret, err := f.tf.BeginPasskeyLogin(f.t.Context(), m)
	if err != nil {
		return nil, nil, err
	}
	return f.tf.FinishPasskeyLogin(f.t.Context(), secret, f.assert(options, auth, cred), m)
}

// assert answers sign-in options with cred held by auth.
func (f *fixture) assert(options []byte, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential) []byte {
	f.t.Helper()
	ao, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		f.t.Fatalf("assertion options: %v\n%s", err, options)
	}
	if len(ao.AllowCredentials) != 0 {
		f.t.Fatalf("passkey sign-in options name credentials: %v", ao.AllowCredentials)
	}
	return []byte(virtualwebauthn.CreateAssertionResponse(testRP, auth, cred, *ao))
}

func TestPasskeyRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		for i, c := range []struct {
			name   string
			opts   virtualwebauthn.AuthenticatorOptions
			refuse string
		}{
			{name: "device-bound", opts: virtualwebauthn.AuthenticatorOptions{}},
			{name: "synced", opts: virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true}},
			{name: "no user verification", opts: virtualwebauthn.AuthenticatorOptions{UserNotVerified: true}, refuse: "did not verify that it is you"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := f.holder(fmt.Sprintf("reg%d", i), c.opts)
				options, err := f.tf.BeginPasskeyRegistration(ctx, h.c)
				storetest.Must(t, err)
				for _, want := range []string{`"residentKey":"required"`, `"requireResidentKey":true`, `"userVerification":"required"`, `"credProps":true`} {
					if !strings.Contains(string(options), want) {
						t.Errorf("options lack %s: %s", want, options)
					}
				}
				key, err := f.tf.FinishPasskeyRegistration(ctx, h.c, "Phone", h.create(t, options, ec2Key()), meta1)
				if c.refuse != "" {
					if kindOf(err) != problem.Invalid || !strings.Contains(err.Error(), c.refuse) {
						t.Fatalf("got %v, want a refusal saying %q", err, c.refuse)
					}
					if keys, _ := st.SecurityKeys(ctx, h.c.User.ID); len(keys) != 0 {
						t.Fatalf("a refused passkey was stored: %+v", keys)
					}
					return
				}
				storetest.Must(t, err)
				keys, err := st.SecurityKeys(ctx, h.c.User.ID)
				storetest.Must(t, err)
				if len(keys) != 1 {
					t.Fatalf("%d keys stored", len(keys))
				}
				k := keys[0]
				if !k.Discoverable || !k.UserVerified || k.BackupEligible != c.opts.BackupEligible || k.BackupState != c.opts.BackupState ||
					k.Label != "Phone" || k.ID != key.ID {
					t.Fatalf("stored passkey: %+v", k)
				}
				evs, _ := st.UserEvents(ctx, h.c.User.ID, 10)
				if len(evs) == 0 || evs[0].Tag != audit.TwoFactorAdded || !strings.Contains(evs[0].Details, `"passkey"`) {
					t.Fatalf("events: %+v", evs)
				}
				if has, _ := f.tf.HasTwoFactor(ctx, h.c.User.ID); !has {
					t.Fatal("a passkey is not two-factor authentication")
				}
				// Removed as a security key is, said as a passkey.
				storetest.Must(t, f.tf.RemoveKey(ctx, h.c, key.ID, meta1))
				evs, _ = st.UserEvents(ctx, h.c.User.ID, 1)
				if evs[0].Tag != audit.TwoFactorRemoved || audit.Describe(evs[0]) != "Two-factor method removed: passkey \u201cPhone\u201d" {
					t.Fatalf("removal event: %s %s", evs[0].Tag, audit.Describe(evs[0]))
				}
			})
		}

		// The preconditions of a security key.
		h := f.holder("stale", virtualwebauthn.AuthenticatorOptions{})
		f.clk.Add(ReauthWindow + time.Minute)
		if _, err := f.tf.BeginPasskeyRegistration(ctx, h.c); kindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "Confirm it is you") {
			t.Fatalf("registration without a recent proof: %v", err)
		}
		early := f.user("early")
		if _, err := f.tf.BeginPasskeyRegistration(ctx, early); kindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "recovery codes") {
			t.Fatalf("registration before recovery codes: %v", err)
		}
	})
}

func TestPasskeyCredPropsNotResident(t *testing.T) {
	f := newFixture(t, storetest.Open(t, store.SQLite))
	h := f.holder("nork", virtualwebauthn.AuthenticatorOptions{})
	options, err := f.tf.BeginPasskeyRegistration(t.Context(), h.c)
	storetest.Must(t, err)
	att := strings.Replace(string(h.create(t, options, ec2Key())), `"type":"public-key"`,
		`"type":"public-key","clientExtensionResults":{"credProps":{"rk":false}}`, 1)
	_, err = f.tf.FinishPasskeyRegistration(t.Context(), h.c, "Key", []byte(att), meta1)
	if kindOf(err) != problem.Invalid || !strings.Contains(err.Error(), "did not store the passkey") {
		t.Fatalf("a credential that credProps says is not resident: %v", err)
	}
}

func TestPasskeyLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		other := f.holder("other", virtualwebauthn.AuthenticatorOptions{})
		otherKey := ec2Key()
		_, err := f.addPasskey(other, otherKey, "Other")
		storetest.Must(t, err)

		for i, c := range []struct {
			name string
			// reg are the authenticator's flags at registration;
			// login changes them (and the credential) for the sign-in.
			reg   virtualwebauthn.AuthenticatorOptions
			login func(f *fixture, h *holder, cred *virtualwebauthn.Credential)
			// asKey registers the credential as a security key, not a
			// passkey.
			asKey bool
			// kind and msg are the refusal (0: success); event is the
			// event of the refusal, whose details hold detail.
			kind   problem.Kind
			msg    string
			event  string
			detail string
		}{
			{name: "signs in"},
			{name: "backup state changed is stored", reg: virtualwebauthn.AuthenticatorOptions{BackupEligible: true},
				login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) { h.auth.Options.BackupState = true }},
			{name: "no user verification", login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) {
				h.auth.Options.UserNotVerified = true
			}, kind: problem.Unauthenticated, msg: "did not verify that it is you", event: audit.TwoFactorFailure, detail: "user not verified"},
			{name: "not a passkey", asKey: true, kind: problem.Unauthenticated, msg: "is not a passkey", event: audit.TwoFactorFailure},
			{name: "user handle of another account", login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) {
				h.auth.Options.UserHandle = other.auth.Options.UserHandle
			}, kind: problem.Unauthenticated, msg: "does not belong to the account", event: audit.TwoFactorFailure},
			{name: "unknown credential", login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) {
				*cred = ec2Key()
			}, kind: problem.Unauthenticated, msg: "not registered on this site"},
			{name: "counter backwards", login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) {
				cred.Counter = 3
			}, kind: problem.Forbidden, msg: "signature counter went backwards", event: audit.SecurityKeyCloned},
			{name: "backup eligible flipped", login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) {
				h.auth.Options.BackupEligible = true
			}, kind: problem.Unauthenticated, msg: "was refused", event: audit.TwoFactorFailure, detail: "Backup Eligible flag inconsistency"},
			{name: "disabled user", login: func(f *fixture, h *holder, cred *virtualwebauthn.Credential) {
				storetest.Must(t, f.st.SetUserDisabled(context.Background(), h.c.User.ID, true))
			}, kind: problem.Forbidden, msg: "disabled", event: audit.LoginFailure},
		} {
			t.Run(c.name, func(t *testing.T) {
				m := audit.Meta{IP: fmt.Sprintf("198.51.100.%d", i+1), UserAgent: "test"}
				h := f.holder(fmt.Sprintf("login%d", i), c.reg)
				cred := ec2Key()
				cred.Counter = 5
				var err error
				if c.asKey {
					options, e := f.tf.BeginKeyRegistration(ctx, h.c)
					storetest.Must(t, e)
					_, err = f.tf.FinishKeyRegistration(ctx, h.c, "Key", h.create(t, options, cred), meta1)
				} else {
					_, err = f.addPasskey(h, cred, "Phone")
				}
				storetest.Must(t, err)
				cred.Counter = 6
				if c.login != nil {
					c.login(f, h, &cred)
				}
				u, key, err := f.passkeyLogin(h.auth, cred, m)
				if c.kind == 0 {
					storetest.Must(t, err)
					stored, _ := st.SecurityKeys(ctx, h.c.User.ID)
					if u.ID != h.c.User.ID || key.Label != "Phone" || stored[0].SignCount != 6 || stored[0].LastUsedAt.IsZero() ||
						stored[0].BackupState != h.auth.Options.BackupState || stored[0].BackupEligible != c.reg.BackupEligible {
						t.Fatalf("signed in %v with %+v; stored %+v", u, key, stored[0])
					}
					return
				}
				if kindOf(err) != c.kind || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("got %v, want %v saying %q", err, c.kind, c.msg)
				}
				evs, _ := st.UserEvents(ctx, h.c.User.ID, 10)
				if c.event != "" && (len(evs) == 0 || evs[0].Tag != c.event || !strings.Contains(evs[0].Details, c.detail)) {
					t.Fatalf("events after the refusal: %+v, want %s first, with %q", evs, c.event, c.detail)
				}
				if stored, _ := st.SecurityKeys(ctx, h.c.User.ID); stored[0].SignCount != 5 {
					t.Fatalf("a refused sign-in moved the counter to %d", stored[0].SignCount)
				}
			})
		}
		// The other user's passkey was never used by the refusals.
		if stored, _ := st.SecurityKeys(ctx, other.c.User.ID); !stored[0].LastUsedAt.IsZero() {
			t.Fatal("another user's passkey was used")
		}
	})
}

// TestPasskeyChallenges: a sign-in's options work once, for their own
// secret, for ChallengeTTL; the sweep removes the expired ones.
func TestPasskeyChallenges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		h := f.holder("chal", virtualwebauthn.AuthenticatorOptions{})
		cred := ec2Key()
		_, err := f.addPasskey(h, cred, "Phone")
		storetest.Must(t, err)
		refused := func(what string, err error, msg string) {
			t.Helper()
			if kindOf(err) != problem.Unauthenticated || !strings.Contains(err.Error(), msg) {
				t.Fatalf("%s: %v, want a refusal saying %q", what, err, msg)
			}
		}

		options, secret, err := f.tf.BeginPasskeyLogin(ctx, meta1)
		storetest.Must(t, err)
		answer := f.assert(options, h.auth, cred)
		_, _, err = f.tf.FinishPasskeyLogin(ctx, "another secret", answer, meta1)
		refused("another cookie", err, "expired or was already used")
		_, _, err = f.tf.FinishPasskeyLogin(ctx, "", answer, meta1)
		refused("no cookie", err, "expired or was already used")
		_, _, err = f.tf.FinishPasskeyLogin(ctx, secret, answer, meta1)
		storetest.Must(t, err)
		_, _, err = f.tf.FinishPasskeyLogin(ctx, secret, answer, meta1)
		refused("the same challenge again", err, "expired or was already used")

		// An answer to another sign-in's challenge.
		_, secret2, err := f.tf.BeginPasskeyLogin(ctx, meta1)
		storetest.Must(t, err)
		_, _, err = f.tf.FinishPasskeyLogin(ctx, secret2, answer, meta1)
		refused("the answer to another challenge", err, "was refused")

		options, secret, err = f.tf.BeginPasskeyLogin(ctx, meta1)
		storetest.Must(t, err)
		answer = f.assert(options, h.auth, cred)
		f.clk.Add(ChallengeTTL)
		_, _, err = f.tf.FinishPasskeyLogin(ctx, secret, answer, meta1)
		refused("expired challenge", err, "expired or was already used")

		// Sweep: an expired challenge goes, a live one stays.
		_, old, err := f.tf.BeginPasskeyLogin(ctx, meta1)
		storetest.Must(t, err)
		f.clk.Add(ChallengeTTL + time.Second)
		options, live, err := f.tf.BeginPasskeyLogin(ctx, meta1)
		storetest.Must(t, err)
		storetest.Must(t, f.acct.Sweep(ctx))
		f.clk.Add(-ChallengeTTL) // the old one, were it still there, would be live again
		if _, _, err := f.tf.FinishPasskeyLogin(ctx, old, answer, meta1); kindOf(err) != problem.Unauthenticated ||
			!strings.Contains(err.Error(), "expired or was already used") {
			t.Fatalf("a swept challenge: %v", err)
		}
		if _, _, err := f.tf.FinishPasskeyLogin(ctx, live, f.assert(options, h.auth, cred), meta1); err != nil {
			t.Fatalf("the live challenge after the sweep: %v", err)
		}
	})
}

// TestPasskeyOptionsLimit: concurrent sign-ins begun from one address
// cannot pass PasskeyOptionsPerIP; another address is not limited.
func TestPasskeyOptionsLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		n := PasskeyOptionsPerIP.Max + 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, limited := 0, 0
		for range n {
			wg.Go(func() {
				_, _, err := f.tf.BeginPasskeyLogin(ctx, audit.Meta{IP: "2001:db8:1:2::7"})
				mu.Lock()
				defer mu.Unlock()
				switch e, isProblem := err.(*problem.Error); {
				case err == nil:
					ok++
				case isProblem && e.Kind == problem.TooManyRequests && e.RetryAfter > 0:
					limited++
				default:
					t.Errorf("options: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != PasskeyOptionsPerIP.Max || limited != n-ok {
			t.Fatalf("%d options answered and %d limited of %d, want %d answered", ok, limited, n, PasskeyOptionsPerIP.Max)
		}
		// The same /64 is the same client; another address is not.
		if _, _, err := f.tf.BeginPasskeyLogin(ctx, audit.Meta{IP: "2001:db8:1:2::8"}); kindOf(err) != problem.TooManyRequests {
			t.Fatalf("the same /64: %v", err)
		}
		if _, _, err := f.tf.BeginPasskeyLogin(ctx, audit.Meta{IP: "2001:db8:1:3::7"}); err != nil {
			t.Fatalf("another address: %v", err)
		}
		f.clk.Add(PasskeyOptionsPerIP.Window)
		if _, _, err := f.tf.BeginPasskeyLogin(ctx, audit.Meta{IP: "2001:db8:1:2::7"}); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

// TestPasskeyUpgrade: a security key replaced by a passkey of the same
// label, in one step, the others untouched.
func TestPasskeyUpgrade(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		h := f.holder("upgrader", virtualwebauthn.AuthenticatorOptions{})
		old, other := ec2Key(), ec2Key()
		for _, k := range []struct {
			cred  virtualwebauthn.Credential
			label string
		}{{old, "Blue key"}, {other, "Spare key"}} {
			options, err := f.tf.BeginKeyRegistration(ctx, h.c)
			storetest.Must(t, err)
			_, err = f.tf.FinishKeyRegistration(ctx, h.c, k.label, h.create(t, options, k.cred), meta1)
			storetest.Must(t, err)
		}
		keys, _ := st.SecurityKeys(ctx, h.c.User.ID)
		blue, spare := keys[0], keys[1]

		options, err := f.tf.BeginPasskeyUpgrade(ctx, h.c, blue.ID)
		storetest.Must(t, err)
		ao, err := virtualwebauthn.ParseAttestationOptions(string(options))
		storetest.Must(t, err)
		if len(ao.ExcludeCredentials) != 1 || ao.ExcludeCredentials[0] != spare.CredentialID {
			t.Fatalf("the upgrade excludes %v, want only the other key %s", ao.ExcludeCredentials, spare.CredentialID)
		}
		if _, err := f.tf.BeginPasskeyUpgrade(ctx, h.c, spare.ID+100); kindOf(err) != problem.NotFound {
			t.Fatalf("upgrade of no such key: %v", err)
		}
		passkey := ec2Key()
		key, err := f.tf.FinishPasskeyUpgrade(ctx, h.c, blue.ID, h.create(t, options, passkey), meta1)
		storetest.Must(t, err)
		keys, _ = st.SecurityKeys(ctx, h.c.User.ID)
		if len(keys) != 2 || keys[0].ID != spare.ID || keys[1].ID != key.ID || keys[1].Label != "Blue key" || !keys[1].Discoverable ||
			keys[1].CredentialID == blue.CredentialID {
			t.Fatalf("keys after the upgrade: %+v %+v", keys[0], keys[1])
		}
		evs, _ := st.UserEvents(ctx, h.c.User.ID, 10)
		if evs[0].Tag != audit.SecurityKeyUpgraded || !strings.Contains(audit.Describe(evs[0]), "Blue key") {
			t.Fatalf("upgrade event: %+v", evs[0])
		}
		// The passkey signs in alone; the old credential no longer does.
		if u, _, err := f.passkeyLogin(h.auth, passkey, meta1); err != nil || u.ID != h.c.User.ID {
			t.Fatalf("sign-in with the upgraded key: %v", err)
		}
		if _, _, err := f.passkeyLogin(h.auth, old, meta1); kindOf(err) != problem.Unauthenticated {
			t.Fatalf("sign-in with the replaced credential: %v", err)
		}
		// A passkey is not upgraded again, and the options are taken.
		if _, err := f.tf.BeginPasskeyUpgrade(ctx, h.c, key.ID); kindOf(err) != problem.Invalid {
			t.Fatalf("upgrade of a passkey: %v", err)
		}
		if _, err := f.tf.FinishPasskeyUpgrade(ctx, h.c, spare.ID, h.create(t, options, ec2Key()), meta1); kindOf(err) != problem.Invalid ||
			!strings.Contains(err.Error(), "expired or was already used") {
			t.Fatalf("an upgrade without its own options: %v", err)
		}
	})
}

// TestPasskeysOff: with passkeys turned off, no ceremony begins, and a
// passkey still works as a security key after a password.
func TestPasskeysOff(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	f := newFixture(t, st)
	ctx := t.Context()
	h := f.holder("offline", virtualwebauthn.AuthenticatorOptions{})
	cred := ec2Key()
	_, err := f.addPasskey(h, cred, "Phone")
	storetest.Must(t, err)
	f.tf.cfg.Passkeys = false
	if _, _, err := f.tf.BeginPasskeyLogin(ctx, meta1); kindOf(err) != problem.NotFound {
		t.Fatalf("sign-in begun with passkeys off: %v", err)
	}
	if _, _, err := f.tf.FinishPasskeyLogin(ctx, "x", []byte("{}"), meta1); kindOf(err) != problem.NotFound {
		t.Fatalf("sign-in finished with passkeys off: %v", err)
	}
	if _, err := f.tf.BeginPasskeyRegistration(ctx, h.c); kindOf(err) != problem.NotFound {
		t.Fatalf("registration with passkeys off: %v", err)
	}
	pending, err := f.acct.Login(ctx, "offline", testPassword, meta1)
	storetest.Must(t, err)
	c, err := f.acct.Session(ctx, pending.Cookie)
	if err != nil || !c.Pending() {
		t.Fatalf("the password step: %v %+v", err, c)
	}
	options, err := f.tf.BeginKeyLogin(ctx, c, PurposeKeyLogin)
	storetest.Must(t, err)
	ao, err := virtualwebauthn.ParseAssertionOptions(string(options))
	storetest.Must(t, err)
	cred.Counter++
	if _, err := f.tf.FinishKeyLogin(ctx, c, PurposeKeyLogin, []byte(virtualwebauthn.CreateAssertionResponse(testRP, h.auth, cred, *ao)), meta1); err != nil {
		t.Fatalf("the passkey as a second factor: %v", err)
	}
}
