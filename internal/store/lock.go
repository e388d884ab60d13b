package store

import (
	"fmt"

	"github.com/pressly/goose/v3/lock"
)

// lockPostgres returns the advisory-lock session locker that keeps two
// replicas from migrating at the same time.
func lockPostgres() (lock.SessionLocker, error) {
	l, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	return l, nil
}
