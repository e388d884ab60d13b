package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rateLimitLockClass is the first key of the PostgreSQL advisory locks
// that serialise the reservations of a rate-limit key (the second is a
// hash of the key): "RATE".
const rateLimitLockClass = 0x52415445

// LockRateLimitKeys serialises the transactions that count attempts
// against any of keys, until the transaction ends, so that counting the
// attempts already made and adding one is atomic. On PostgreSQL it takes
// a transaction advisory lock per key (per 32-bit hash of the key, in
// ascending order, so that two transactions never wait for each other in
// a cycle); on SQLite the transaction already holds the database's write
// lock (BEGIN IMMEDIATE).
func (tx *Tx) LockRateLimitKeys(ctx context.Context, keys ...string) error {
	if tx.dialect != Postgres {
		return nil
	}
	hashes := make([]int32, 0, len(keys))
	for _, k := range keys {
		h := fnv.New32a()
		h.Write([]byte(k))
		hashes = append(hashes, int32(h.Sum32()))
	}
	slices.Sort(hashes)
	for _, h := range slices.Compact(hashes) {
		if _, err := tx.db.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`, rateLimitLockClass, h); err != nil {
			return fmt.Errorf("store: lock rate limit keys: %w", err)
		}
	}
	return nil
}

// AddHit counts one attempt against a rate-limit key and returns its id.
// It exists only in a transaction that called LockRateLimitKeys and
// counted the key's attempts first (ratelimit.Limiter.Reserve).
func (tx *Tx) AddHit(ctx context.Context, key string, at time.Time) (int64, error) {
	id, err := tx.insertID(ctx, `INSERT INTO rate_limit_hits (key, at) VALUES ($1, $2)`, key, micros(at))
	if err != nil {
		return 0, fmt.Errorf("store: rate limit hit: %w", err)
	}
	return id, nil
}

// DeleteHits forgets the attempts of the given ids (a reservation
// released after a success that does not count).
func (q q) DeleteHits(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i] = "$" + strconv.Itoa(i+1)
		args[i] = id
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM rate_limit_hits WHERE id IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil {
		return fmt.Errorf("store: release rate limit hits: %w", err)
	}
	return nil
}

// CountHits returns how many attempts were counted against key since
// since, and the time of the oldest of them (zero when there are none).
func (q q) CountHits(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := q.db.QueryRowContext(ctx, `SELECT count(*), min(at) FROM rate_limit_hits WHERE key = $1 AND at >= $2`, key, micros(since)).
		Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: count rate limit hits: %w", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMicros(oldest.Int64), nil
}

// HitTimes returns the times of the attempts counted against key since
// since, oldest first.
func (q q) HitTimes(ctx context.Context, key string, since time.Time) ([]time.Time, error) {
	return queryAll(ctx, q.db, "rate limit hits", func(row scanner) (time.Time, error) {
		var at int64
		err := row.Scan(&at)
		return fromMicros(at), err
	}, `SELECT at FROM rate_limit_hits WHERE key = $1 AND at >= $2 ORDER BY at`, key, micros(since))
}

// ClearHits forgets the attempts counted against key (after a success).
func (q q) ClearHits(ctx context.Context, key string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM rate_limit_hits WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: clear rate limit hits: %w", err)
	}
	return nil
}

// PruneHits forgets attempts older than before.
func (q q) PruneHits(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM rate_limit_hits WHERE at < $1`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune rate limit hits: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
