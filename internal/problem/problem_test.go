package problem

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOfFollowsTheChain(t *testing.T) {
	cause := errors.New("the cause")
	wrapped := fmt.Errorf("context: %w", Wrap(cause, Conflict, "Someone else did it first."))
	tests := []struct {
		name    string
		err     error
		kind    Kind
		message string
	}{
		{"nil", nil, 0, ""},
		{"plain error", errors.New("boom"), 0, ""},
		{"refusal", Errorf(Invalid, "Name %q is too long.", "x"), Invalid, `Name "x" is too long.`},
		{"wrapped refusal", wrapped, Conflict, "Someone else did it first."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.kind {
				t.Errorf("KindOf = %v, want %v", got, tc.kind)
			}
			if got := MessageOf(tc.err); got != tc.message {
				t.Errorf("MessageOf = %q, want %q", got, tc.message)
			}
			if tc.kind != 0 && !Is(tc.err, tc.kind) {
				t.Errorf("Is(%v) = false", tc.kind)
			}
		})
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is lost: errors.Is(wrapped, cause) = false")
	}
	if Is(errors.New("boom"), 0) {
		t.Error("Is(err, 0) must be false: 0 is no kind")
	}
}

func TestKindString(t *testing.T) {
	for k := Kind(0); k <= Unavailable; k++ {
		if s := k.String(); s == "" || s[0] == 'K' {
			t.Errorf("Kind(%d) has no name: %q", int(k), s)
		}
	}
	if got := Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}
