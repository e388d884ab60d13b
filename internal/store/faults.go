package store

import (
	"database/sql"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUnavailable reports whether err is a fault of the database that may
// pass, not a bug: the server unreachable, shutting down or out of
// resources (connections, disk, memory), or the SQLite file busy, full or
// failing to read. The web layer answers such faults 503 with
// Retry-After.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errWriteBusy) {
		return true
	}
	if e, ok := errors.AsType[*sqlite.Error](err); ok {
		switch e.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY:
			return true
		}
		return false
	}
	// Whatever the server said, a connection that could not be made is a
	// fault (the server down, or refusing connections to the database).
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		// Class 08: connection exception; 53: insufficient resources
		// (disk full, out of memory, too many connections); 57P0x: the
		// server is shutting down or starting.
		return strings.HasPrefix(e.Code, "08") || strings.HasPrefix(e.Code, "53") ||
			e.Code == "57P01" || e.Code == "57P02" || e.Code == "57P03"
	}
	if pgconn.Timeout(err) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	_, isNet := errors.AsType[*net.OpError](err)
	return isNet
}
