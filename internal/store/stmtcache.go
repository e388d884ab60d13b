package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
)

// stmtCacheSize is how many prepared statements each SQLite connection
// keeps. The store runs about 250 fixed queries, of which a few dozen run
// often (an upload uses about 20); a few queries are built with as many
// placeholders as their arguments, and the least recently used statement
// makes room for them. A statement costs a few KiB of SQLite's memory.
const stmtCacheSize = 128

// The SQLite driver (modernc.org/sqlite) prepares a query anew each time
// it runs one outside a prepared statement, and preparing was a quarter of
// the CPU of an upload. A stmtConnector keeps each connection's prepared
// statements, keyed by their SQL, the way pgx keeps them for PostgreSQL
// (its statement cache, on by default, 512 statements per connection), so
// the store's queries stay plain strings on both databases.
//
// The cache lives in the driver connection rather than in sql.Stmt values
// shared by the pool: database/sql uses a driver connection from one
// goroutine at a time, so the cache needs no lock, and a statement is
// never prepared on a second connection while a transaction holds the
// first (a pool whose connections are all in transactions would wait for
// itself).
type stmtConnector struct {
	driver.Connector
}

// Connect opens a connection with an empty statement cache.
func (c stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("store: sqlite connection %T lacks a context method", dc)
	}
	return &stmtConn{sqliteConn: sc, stmts: map[string]*list.Element{}}, nil
}

// sqliteConn is what database/sql uses of a modernc.org/sqlite connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what a modernc.org/sqlite statement offers.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// sqliteRows is what modernc.org/sqlite rows offer.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// stmtConn is a SQLite connection that runs queries through its prepared
// statements, least recently used last in order.
type stmtConn struct {
	sqliteConn
	stmts map[string]*list.Element // of *cachedStmt
	order list.List
}

// cachedStmt is a prepared statement; busy while rows read from it are
// open (a query run again meanwhile, in the same transaction, runs
// unprepared rather than reset the rows' statement).
type cachedStmt struct {
	query string
	stmt  sqliteStmt
	busy  bool
}

// ExecContext runs query through its prepared statement.
func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

// QueryContext runs query through its prepared statement, which stays
// busy until the rows are closed.
func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	sr, ok := rows.(sqliteRows)
	if !ok {
		rows.Close()
		return nil, fmt.Errorf("store: sqlite rows %T lack column types", rows)
	}
	cs.busy = true
	return &stmtRows{sqliteRows: sr, stmt: cs}, nil
}

// stmt returns query's prepared statement, preparing it if need be, or nil
// when it is busy.
func (c *stmtConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.stmts[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.order.MoveToFront(e)
		return cs, nil
	}
	ds, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(sqliteStmt)
	if !ok {
		ds.Close()
		return nil, fmt.Errorf("store: sqlite statement %T lacks a context method", ds)
	}
	if len(c.stmts) >= stmtCacheSize {
		if err := c.evict(); err != nil {
			st.Close()
			return nil, err
		}
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.stmts[query] = c.order.PushFront(cs)
	return cs, nil
}

// evict closes the least recently used statement that is not busy.
func (c *stmtConn) evict() error {
	for e := c.order.Back(); e != nil; e = e.Prev() {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			continue
		}
		c.order.Remove(e)
		delete(c.stmts, cs.query)
		if err := cs.stmt.Close(); err != nil {
			return fmt.Errorf("store: close a prepared statement: %w", err)
		}
		return nil
	}
	return nil
}

// Close closes the prepared statements, then the connection.
func (c *stmtConn) Close() error {
	var errs []error
	for _, e := range c.stmts {
		errs = append(errs, e.Value.(*cachedStmt).stmt.Close())
	}
	clear(c.stmts)
	c.order.Init()
	errs = append(errs, c.sqliteConn.Close())
	return errors.Join(errs...)
}

// stmtRows are rows read from a prepared statement; closing them (which
// resets the statement) frees the statement for the next query.
type stmtRows struct {
	sqliteRows
	stmt *cachedStmt
}

// Close closes the rows and frees their statement.
func (r *stmtRows) Close() error {
	err := r.sqliteRows.Close()
	r.stmt.busy = false
	return err
}
