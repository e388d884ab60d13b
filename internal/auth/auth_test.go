package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	h := NewHasher(2)
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
