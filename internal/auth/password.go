// Package auth holds the secrets of accounts: password hashing (argon2id)
// and API tokens (random, shown once, stored as a SHA-256).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// The fixed shape of new hashes.
const (
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Params are the argon2id cost parameters of new hashes. A hash records
// its own parameters, so Verify checks any hash within the accepted bound
// whatever the Hasher's Params: changing them affects new hashes only.
type Params struct {
	// Memory is in KiB (at least 8 per thread).
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// DefaultParams are the parameters of production: OWASP's minimum for
// argon2id (19 MiB, 2 passes, 1 thread; about 27 ms on a 2-core machine).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// MinParams are the cheapest parameters accepted: they protect nothing,
// and are meant for tests, which hash and verify thousands of passwords.
var MinParams = Params{Memory: 8, Time: 1, Threads: 1}

// Validate reports whether argon2id accepts p and it stays within the
// bound Verify accepts from a stored hash (at most 2 GiB and 16 passes),
// which keeps a forged or corrupt hash from costing unbounded work.
func (p Params) Validate() error {
	switch {
	case p.Threads == 0:
		return fmt.Errorf("auth: argon2 parameters %s: at least one thread", p)
	case p.Time == 0 || p.Time > 16:
		return fmt.Errorf("auth: argon2 parameters %s: between 1 and 16 passes", p)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<21:
		return fmt.Errorf("auth: argon2 parameters %s: between 8 KiB per thread and 2 GiB of memory", p)
	}
	return nil
}

// String returns p as a PHC string writes it: m=…,t=…,p=….
func (p Params) String() string { return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) }

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("auth: password does not match")

// Hasher hashes passwords, bounding how many argon2 computations run at
// once so that a burst of logins cannot exhaust memory.
type Hasher struct {
	sem    chan struct{}
	params Params
	// verified counts the argon2 computations of Verify.
	verified atomic.Uint64
}

// NewHasher returns a Hasher running at most concurrency hashes at once,
// whose new hashes cost p (the zero Params: DefaultParams). Parameters come
// from the program, not from its input: NewHasher panics if p is not
// valid (see Params.Validate).
func NewHasher(concurrency int, p Params) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	if p == (Params{}) {
		p = DefaultParams
	}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return &Hasher{sem: make(chan struct{}, concurrency), params: p}
}

// Params returns the parameters of the Hasher's new hashes.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hash returns a PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$%s$%s$%s", argon2.Version, p, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks a password against a PHC string, in constant time.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) error {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return fmt.Errorf("auth: unsupported password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return fmt.Errorf("auth: unsupported argon2 version %q", parts[2])
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return fmt.Errorf("auth: bad argon2 parameters %q: %w", parts[3], err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("auth: argon2 parameters out of range %q: %w", parts[3], err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("auth: bad salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return fmt.Errorf("auth: bad hash: %v", err)
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-h.sem }()
	h.verified.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// Verifications returns how many passwords Verify checked (argon2
// computations, not refusals of a malformed hash) since the Hasher was
// made: what rate limits are meant to bound, for tests and metrics.
func (h *Hasher) Verifications() uint64 { return h.verified.Load() }

// GeneratePassword returns a random password for accounts created by an
// administrator without one.
func GeneratePassword() string {
	return rand.Text()
}
