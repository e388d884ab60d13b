package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	h := NewHasher(2, Params{})
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", enc)
	}
	if err := h.Verify(ctx, "correct horse battery staple", enc); err != nil {
		t.Fatalf("Verify(right password) = %v", err)
	}
	if err := h.Verify(ctx, "wrong", enc); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Verify(wrong password) = %v, want ErrMismatch", err)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery staple")
	if enc2 == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA", "$argon2id$v=19$m=1,t=1,p=1$!$AA"} {
		if err := h.Verify(ctx, "x", bad); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify with malformed hash %q = %v, want a format error", bad, err)
		}
	}
	// Two real checks; the malformed hashes cost nothing.
	if n := h.Verifications(); n != 2 {
		t.Fatalf("Verifications() = %d, want 2", n)
	}
}

// TestHasherParams: a Hasher's parameters go into its hashes, and any
// Hasher verifies a hash by the parameters the hash records.
func TestHasherParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if got := NewHasher(1, Params{}).Params(); got != DefaultParams {
		t.Fatalf("NewHasher(1, Params{}).Params() = %v, want DefaultParams %v", got, DefaultParams)
	}
	cheap := NewHasher(1, MinParams)
	enc, err := cheap.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=8,t=1,p=1$") {
		t.Fatalf("hash %q does not record MinParams", enc)
	}
	if err := NewHasher(1, Params{}).Verify(ctx, "correct horse battery staple", enc); err != nil {
		t.Fatalf("a default Hasher verifying a cheap hash: %v", err)
	}
	tests := []struct {
		p  Params
		ok bool
	}{
		{DefaultParams, true},
		{MinParams, true},
		{Params{Memory: 1 << 21, Time: 16, Threads: 4}, true},
		{Params{Memory: 1<<21 + 1, Time: 1, Threads: 1}, false},
		{Params{Memory: 64, Time: 17, Threads: 1}, false},
		{Params{Memory: 64, Time: 0, Threads: 1}, false},
		{Params{Memory: 64, Time: 1, Threads: 0}, false},
		{Params{Memory: 15, Time: 1, Threads: 2}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%v.Validate() = %v, want ok %v", tt.p, err, tt.ok)
		}
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	tok, hash := NewToken()
	if !LooksLikeToken(tok) {
		t.Fatalf("token %q does not look like a token", tok)
	}
	if HashToken(tok) != hash || strings.Contains(hash, tok) {
		t.Fatal("hash mismatch")
	}
	other, _ := NewToken()
	if other == tok {
		t.Fatal("two tokens are equal")
	}
	if LooksLikeToken("pypi-abc") || LooksLikeToken(TokenPrefix+"short") {
		t.Fatal("LooksLikeToken accepts foreign strings")
	}
}
