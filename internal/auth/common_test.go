package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	const (
		user  = "cheesemonger"
		email = "wensleydale@example.org"
	)
	tests := []struct {
		name, password, username, email string
		want                            string // part of the message; "" for accepted
	}{
		{"common", "password", user, email, "most common"},
		{"common digits", "12345678", user, email, "most common"},
		{"common keyboard row", "qwertyuiop", user, email, "most common"},
		{"common ignores case", "PassWord", user, email, "most common"},
		{"common from john's list", "Michelle", user, email, "most common"},
		{"passphrase", "plum lantern ostrich gravel", user, email, ""},
		{"passphrase without user data", "plum lantern ostrich gravel", "", "", ""},
		{"username itself", user, user, email, "username"},
		{"username in other case", "CheeseMonger", user, email, "username"},
		{"contains username", "my-Cheesemonger-2024!", user, email, "username"},
		{"part of username", "cheesemong", user, email, "username"},
		{"email local part", "Wensleydale", user, email, "email"},
		{"contains email local part", "wensleydale&stilton", user, email, "email"},
		{"short username may occur in a passphrase", "alpine meadow tulip", "al", "al@example.org", ""},
		{"too short", "abc123", user, email, "too short"},
		{"too short counts characters, not bytes", "ünïcödé", user, email, "too short"},
		{"eight characters of two bytes", "ünïcödéß", user, email, ""},
		{"too long", strings.Repeat("pass phrase ", 86), user, email, "too long"},
		{"longest accepted", strings.Repeat("x", MaxPasswordBytes-10) + "0123456789", user, email, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPassword(tt.password, tt.username, tt.email)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckPassword(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			var pe *PasswordError
			if !errors.As(err, &pe) {
				t.Fatalf("CheckPassword(%q) = %v (%T), want a *PasswordError", tt.password, err, err)
			}
			if !strings.Contains(pe.Msg, tt.want) || pe.Error() != pe.Msg {
				t.Fatalf("CheckPassword(%q) = %q, want a message about %q", tt.password, pe.Msg, tt.want)
			}
		})
	}
}

func TestCommonPasswordsList(t *testing.T) {
	t.Parallel()
	set := commonPasswords()
	if len(set) < 30000 {
		t.Fatalf("the common-password list has %d entries, want at least 30,000", len(set))
	}
	for p := range set {
		if p != strings.ToLower(p) || strings.HasPrefix(p, "#") || p == "" {
			t.Fatalf("entry %q: entries must be lower-case, non-empty and not comments", p)
		}
	}
	for _, p := range []string{"123456", "password", "qwerty", "letmein", "trustno1"} {
		if _, ok := set[p]; !ok {
			t.Errorf("%q is missing from the common-password list", p)
		}
	}
}
