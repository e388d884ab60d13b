// Package store keeps cheeseshop's records in a SQL database: SQLite (the
// embedded default) or PostgreSQL. The SQL is written once, in portable SQL
// with $N placeholders, which both drivers bind; only the DDL differs per
// dialect, in migrations embedded in the binary.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/groupsync"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// Dialect names a database engine.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is a handle on the database. It is safe for concurrent use.
type Store struct {
	q
	db      *sql.DB
	dialect Dialect
	// walSync makes SQLite commits durable (see InTx); nil on PostgreSQL,
	// whose commits are.
	walSync *groupsync.Group
	walPath string
	// writeTurn, on SQLite, lets one InTx of this process hold the write
	// lock at a time; nil on PostgreSQL. See InTx.
	writeTurn chan struct{}
	// writeWait bounds the wait for the turn, as busy_timeout bounds the
	// wait for SQLite's lock.
	writeWait time.Duration
}

// sqliteBusyTimeout is how long a writer waits for SQLite's write lock:
// the busy_timeout of every connection, and the wait for InTx's turn.
const sqliteBusyTimeout = 10 * time.Second

// errWriteBusy is InTx's answer when another transaction of this process
// held SQLite's write lock for longer than sqliteBusyTimeout (or a
// transaction began another inside itself): a fault that may pass, as
// SQLITE_BUSY is.
var errWriteBusy = errors.New("store: the database is busy: another write held it too long")

// Open connects to the database named by rawURL: sqlite:///abs/path.db,
// sqlite://rel/path.db, or postgres://… (any URL pgx accepts). It does not
// migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	var (
		db      *sql.DB
		err     error
		dialect Dialect
		walPath string // SQLite's write-ahead log
	)
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		dialect = SQLite
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return nil, fmt.Errorf("store: sqlite URL %q has no path", rawURL)
		}
		if path, err = url.PathUnescape(path); err != nil {
			return nil, fmt.Errorf("store: sqlite URL %q: %w", rawURL, err)
		}
		walPath = path + "-wal"
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create folder for %s: %w", path, err)
		}
		// synchronous(NORMAL) does not sync the write-ahead log at each
		// commit; InTx does, for every transaction at once (walSync).
		dsn := "file:" + path + "?_pragma=busy_timeout(" + strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10) + ")&_pragma=journal_mode(WAL)" +
			"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
		connector, err := sqlite.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		db = sql.OpenDB(stmtConnector{connector})
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(0)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dialect = Postgres
		db, err = sql.Open("pgx", rawURL)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	default:
		return nil, fmt.Errorf("store: unsupported database URL %q: use sqlite:///path/to/db or postgres://…", redact(rawURL))
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", redact(rawURL), err)
	}
	st := &Store{q: q{db: db, dialect: dialect, searchWindow: searchWindow}, db: db, dialect: dialect}
	if dialect == SQLite {
		st.walPath, st.walSync = walPath, groupsync.New(groupsync.Data)
		st.writeTurn, st.writeWait = make(chan struct{}, 1), sqliteBusyTimeout
	}
	return st, nil
}

// redact hides a password in a database URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// Dialect returns the engine behind the store.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the underlying database handle, for tests and tools.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	if s.walSync != nil {
		s.walSync.Close()
	}
	return s.db.Close()
}

// Migrate applies every pending migration. It is safe to run from several
// processes at once on PostgreSQL (goose takes an advisory lock) and on
// SQLite (migrations run in immediate transactions).
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrations()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// MigrateTo applies the pending migrations up to version, for tests of a
// migration's effect on data written before it.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	p, err := s.migrations()
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("store: migrate to %d: %w", version, err)
	}
	return nil
}

// MigrationsDigest returns a digest of every embedded migration of both
// dialects (their names and contents): two binaries with the same digest
// build the same schema. Tests name their migrated template databases
// after it, so that test processes share one per schema.
func MigrationsDigest() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: migrations digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// migrations returns the migrations of the store's dialect.
func (s *Store) migrations() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
		locker, err := lockPostgres()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// InTx runs fn in a transaction, committing if it returns nil. On SQLite
// the transaction takes the write lock at once (BEGIN IMMEDIATE), so that
// read-then-write transactions never fail with SQLITE_BUSY.
//
// The commit is durable when InTx returns nil. PostgreSQL syncs its log
// at commit. SQLite runs with synchronous(NORMAL), which writes the
// commit to the write-ahead log without syncing it; InTx then syncs the
// log, outside the write lock, in a group commit: one fdatasync for the
// transactions of every connection that committed meanwhile. The log is
// written in order, so that sync also makes every earlier commit durable.
// When the sync fails, the transaction is committed (visible) but may be
// lost in a power failure, and InTx returns the error.
//
// On SQLite, the transactions of this process take turns before they ask
// for the write lock: a transaction that finds the lock held would
// otherwise sleep in SQLite's busy handler (1, 2, 5, 10 ms… before each
// new try) long after the holder is done, and four concurrent uploads
// spent more time asleep than writing. The turn passes as soon as the
// holder commits. Other processes on the same file (the admin commands)
// still meet the lock through busy_timeout.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.writeTurn != nil {
		if err := s.takeWriteTurn(ctx); err != nil {
			return err
		}
		released := false
		release := func() {
			if !released {
				released = true
				<-s.writeTurn
			}
		}
		defer release()
		if err := s.inTx(ctx, fn); err != nil {
			return err
		}
		release() // the sync below needs no lock
		return s.syncLog(ctx)
	}
	if err := s.inTx(ctx, fn); err != nil {
		return err
	}
	return s.syncLog(ctx)
}

// takeWriteTurn waits for this process's turn to write (see InTx), at most
// writeWait, or until ctx ends.
func (s *Store) takeWriteTurn(ctx context.Context) error {
	select {
	case s.writeTurn <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.writeWait)
	defer t.Stop()
	select {
	case s.writeTurn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: begin: %w", ctx.Err())
	case <-t.C:
		return errWriteBusy
	}
}

// inTx runs fn in a transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{q: q{db: sqlTx, dialect: s.dialect, searchWindow: s.searchWindow}}
	committed := false
	defer func() {
		// fn panicked: give the connection (and SQLite's write lock)
		// back now, not when ctx ends, which may be never.
		if !committed {
			sqlTx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return err
	}
	committed = true // the transaction is done either way
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// syncLog makes every commit so far durable on SQLite (see InTx); it
// waits for the sync even if ctx ends meanwhile, as the commit stands.
func (s *Store) syncLog(ctx context.Context) error {
	if s.walSync == nil {
		return nil
	}
	if err := s.walSync.Sync(context.WithoutCancel(ctx), s.walPath); err != nil {
		return fmt.Errorf("store: commit: sync the log: %w", err)
	}
	return nil
}

// AddEvent records an event outside a transaction and, on SQLite, makes
// it durable with every write before it before it returns. Every
// security-relevant action records its event after its change, so a
// change made by single statements (a logout, a session ended) is on
// disk once it is recorded. Events within a transaction are synced by
// InTx.
func (s *Store) AddEvent(ctx context.Context, e *Event) error {
	if err := s.q.AddEvent(ctx, e); err != nil {
		return err
	}
	return s.syncLog(ctx)
}

// Tx is a transaction; it has every query method of Store.
type Tx struct {
	q
}

// dbtx is what *sql.DB and *sql.Tx have in common.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q holds the queries, run on either the database or a transaction.
type q struct {
	db      dbtx
	dialect Dialect
	// searchWindow is how many names SearchProjects walks in order on
	// SQLite before it reads the trigram index: searchWindow, or fewer
	// in tests.
	searchWindow int
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// queryAll runs a query and returns its rows, each read by scan (a table's
// scan function, or one of the query's own); what names the rows in the
// errors.
func queryAll[T any](ctx context.Context, db dbtx, what string, scan func(row scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		c := e.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.Code == "23505"
	}
	return false
}

// insertID runs an INSERT … RETURNING id.
func (q q) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	if err := q.db.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// micros converts a time to the stored form, unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts a stored time back.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
