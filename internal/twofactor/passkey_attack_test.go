package twofactor

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// withClientData returns the assertion answer with its clientDataJSON's
// field set to value: what a script, not a browser, can send.
func withClientData(t *testing.T, answer []byte, field, value string) []byte {
	t.Helper()
	var a map[string]any
	storetest.Must(t, json.Unmarshal(answer, &a))
	resp := a["response"].(map[string]any)
	raw, err := base64.RawURLEncoding.DecodeString(resp["clientDataJSON"].(string))
	storetest.Must(t, err)
	var cd map[string]any
	storetest.Must(t, json.Unmarshal(raw, &cd))
	cd[field] = value
	raw, err = json.Marshal(cd)
	storetest.Must(t, err)
	resp["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(raw)
	out, err := json.Marshal(a)
	storetest.Must(t, err)
	return out
}

// TestPasskeyRefusalHostileClientData: a passkey answer is posted by
// whoever knows a credential id, no signature needed to be refused; the
// library's explanation of the refusal quotes the answer's ceremony type
// and origin, which that poster writes. The owner's security history must
// not carry its line breaks nor its bulk, and no email goes to the owner
// (such answers need no password: they must not flood its mailbox), nor
// does the refusal count against the owner's second step.
func TestPasskeyRefusalHostileClientData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		ctx := t.Context()
		h := f.holder("victim", virtualwebauthn.AuthenticatorOptions{})
		cred := ec2Key()
		_, err := f.addPasskey(h, cred, "Phone")
		storetest.Must(t, err)
		before, err := mail.ReadOutbox(f.outbox)
		storetest.Must(t, err)
		hostile := "webauthn.get\n\nYour account is locked. Unlock it at https://evil.example/\u2028" + strings.Repeat("x", 100000)
		for _, field := range []string{"type", "origin"} {
			options, secret, err := f.tf.BeginPasskeyLogin(ctx, meta1)
			storetest.Must(t, err)
			answer := withClientData(t, f.assert(options, h.auth, cred), field, hostile)
			if _, _, err := f.tf.FinishPasskeyLogin(ctx, secret, answer, meta1); err == nil {
				t.Fatalf("a hostile %s signed in", field)
			} else if len(err.Error()) > 1000 || strings.Contains(err.Error(), "\n") {
				t.Errorf("the refusal of a hostile %s quotes it: %.300q", field, err.Error())
			}
			msgs, err := mail.ReadOutbox(f.outbox)
			storetest.Must(t, err)
			if len(msgs) != len(before) {
				t.Errorf("a refused passkey answer emailed the owner: %q", msgs[len(msgs)-1].Subject)
			}
			evs, err := st.UserEvents(ctx, h.c.User.ID, 1)
			storetest.Must(t, err)
			if evs[0].Tag != audit.TwoFactorFailure || len(evs[0].Details) > 1000 || strings.Contains(audit.Describe(evs[0]), "\n") {
				t.Errorf("the event of the hostile %s: %s %.300q", field, evs[0].Tag, evs[0].Details)
			}
		}
	})
}
