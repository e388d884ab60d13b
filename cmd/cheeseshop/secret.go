package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cheeseshop/internal/auth"
)

// secretKey returns the server's secret key: the flag's value when given,
// else the content of <data>/secret.key, created (random, mode 0600) the
// first time. It seals TOTP secrets, so it must not live in the database,
// and every server of a deployment needs the same one.
func secretKey(data, flag string) ([]byte, error) {
	if flag != "" {
		if len(flag) < auth.MinSecretKeyLength {
			return nil, fmt.Errorf("--secret-key must be at least %d characters (e.g. `openssl rand -hex 32`)", auth.MinSecretKeyLength)
		}
		return []byte(flag), nil
	}
	path := filepath.Join(data, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(data, 0o750); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		key := make([]byte, 32)
		rand.Read(key)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return secretKey(data, flag) // another process made it first
		} else if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return nil, fmt.Errorf("secret key: write %s: %w", path, err)
		}
		b, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < auth.MinSecretKeyLength {
		return nil, fmt.Errorf("secret key: %s holds fewer than %d characters", path, auth.MinSecretKeyLength)
	}
	return []byte(key), nil
}
