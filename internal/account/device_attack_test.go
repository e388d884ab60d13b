package account

import (
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestDeviceEmailHostileAgent: the new-device email is sent to the
// account's owner but shows the User-Agent of whoever signs in, a phisher
// maybe. Its line breaks (U+2028, NEL) and bidirectional overrides must
// not reach the email, where they could forge lines ("Not you? Go to
// ...") or reorder the text around them.
func TestDeviceEmailHostileAgent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newDeviceFixture(t, st, true)
		f.register(t, "ann")
		c, _ := f.pending(t, "ann")
		hostile := audit.Meta{IP: "192.0.2.9", UserAgent: "Firefox\u2028\u2028Not you? Open https://evil.example/\u0085\u202eknil\u202c\tend"}
		if _, err := f.svc.CompleteSecondFactor(t.Context(), c, "totp", "", f.device(t), hostile); err != nil {
			t.Fatal(err)
		}
		text := f.mail.All()[len(f.mail.All())-1].Text
		for _, bad := range []string{"\u2028", "\u0085", "\u202e", "\u202c"} {
			if strings.Contains(text, bad) {
				t.Errorf("the email holds %+q of the client's User-Agent:\n%s", bad, text)
			}
		}
		if !strings.Contains(text, "Browser: FirefoxNot you?") {
			t.Errorf("the email lacks the cleaned User-Agent:\n%s", text)
		}
	})
}
