package auth

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealer(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte("k"), 32)
	s, err := NewSealer(key, "totp")
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user:1"))
	if bytes.Contains([]byte(sealed), []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("the sealed value contains the plaintext")
	}
	if got, err := s.Open(sealed, []byte("user:1")); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if s.Seal([]byte("x"), nil) == s.Seal([]byte("x"), nil) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	other, _ := NewSealer(bytes.Repeat([]byte("o"), 32), "totp")
	otherPurpose, _ := NewSealer(key, "something else")
	for name, open := range map[string]func() ([]byte, error){
		"another context": func() ([]byte, error) { return s.Open(sealed, []byte("user:2")) },
		"another key":     func() ([]byte, error) { return other.Open(sealed, []byte("user:1")) },
		"another purpose": func() ([]byte, error) { return otherPurpose.Open(sealed, []byte("user:1")) },
		"damaged":         func() ([]byte, error) { return s.Open(sealed[:len(sealed)-2]+"AA", []byte("user:1")) },
		"not base64":      func() ([]byte, error) { return s.Open("!!", nil) },
		"too short":       func() ([]byte, error) { return s.Open("AAAA", nil) },
	} {
		if _, err := open(); !errors.Is(err, ErrUnseal) {
			t.Errorf("%s: Open = %v, want ErrUnseal", name, err)
		}
	}
	if _, err := NewSealer([]byte("short"), "totp"); err == nil {
		t.Error("NewSealer accepts a short key")
	}
}
