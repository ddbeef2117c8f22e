package bookkeeping

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"unicode/utf8"
)

// textConnector hands out connections whose []byte arguments that are valid UTF-8 travel as text.
//
// Open turns on the driver's client-side interpolation (one round trip per statement instead of
// prepare, execute and close). The driver writes a []byte argument as a _binary'...' literal, while a
// server-side prepared statement sent it as a string in the connection's character set: compared with a
// utf8mb4_unicode_ci column, _binary'alice' would no longer match ALICE, and MySQL refuses to store a
// binary string in a JSON column. App values scanned into `any` arrive as []byte, so they are sent back
// as text here, as before; bytes that are not UTF-8 (a VARBINARY key) stay binary, as before.
//
// It also asks each new connection whether its server is a Galera node (cluster.go), and makes READ
// COMMITTED its session's isolation level (textConn.BeginTx).
type textConnector struct {
	inner   driver.Connector
	cluster *cluster
}

func (c textConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if c.cluster != nil {
		if err := c.cluster.onConnect(ctx, conn); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return &textConn{Conn: conn, readCommitted: sessionReadCommitted(ctx, conn)}, nil
}

// sessionReadCommitted makes READ COMMITTED the isolation level of conn's session, the level every
// transaction of scimbridge's asks for (Runner.InTx), and reports whether the server took it. The
// standard statement, not a variable: MariaDB 10.11 calls it tx_isolation, MySQL 8 transaction_isolation.
// A server that refuses it (a proxy in front of the database, say) leaves its transactions asking for the
// level each time, with the driver's own transactions, in which no write waits (pending.go).
func sessionReadCommitted(ctx context.Context, conn driver.Conn) bool {
	e, ok := conn.(driver.ExecerContext)
	if !ok {
		return false
	}
	_, err := e.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", nil)
	return err == nil
}

func (c textConnector) Driver() driver.Driver { return c.inner.Driver() }

// textConn forwards to the MySQL driver's connection, which implements every optional interface below.
// readCommitted says its session's isolation level is READ COMMITTED (sessionReadCommitted); database/sql
// uses a connection from one goroutine at a time.
type textConn struct {
	driver.Conn
	readCommitted bool
	pending       []pendingStmt // what waits, in order
	pendingSize   int
	begun         bool // a lazy transaction's START TRANSACTION has been sent
	// lazy says a lazyTx is open: only its Commit and Rollback send or drop what is pending, so only
	// then may a deferred write wait (the driver's own transaction would commit without it).
	lazy bool
}

func (c *textConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.([]byte); ok && b != nil && utf8.Valid(b) {
		nv.Value = string(b)
	}
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *textConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if err := c.flush(ctx); err != nil { // a prepared statement runs on its own
		return nil, err
	}
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

// BeginTx begins a READ COMMITTED transaction on a READ COMMITTED session with START TRANSACTION alone:
// the driver would send SET TRANSACTION ISOLATION LEVEL first, a round trip on every write for a level
// the session already has. That START TRANSACTION waits to go with the transaction's first statement
// (pending.go: Open turns on the driver's multiStatements for every pool it makes). Any other level is asked for as before: the driver's SET TRANSACTION
// (without SESSION) holds for the next transaction only, which its START TRANSACTION is. If such a begin
// fails between the two, the level may still be pending for the next transaction, so the session is no
// longer trusted to be READ COMMITTED and later begins ask for the level again.
func (c *textConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	if c.readCommitted && sql.IsolationLevel(o.Isolation) == sql.LevelReadCommitted {
		o.Isolation = driver.IsolationLevel(sql.LevelDefault)
	}
	if c.readCommitted && sql.IsolationLevel(o.Isolation) == sql.LevelDefault && !o.ReadOnly {
		c.pending, c.pendingSize, c.begun = nil, 0, false
		if err := c.hold(ctx, startTransaction, nil); err != nil {
			return nil, err
		}
		c.lazy = true
		return lazyTx{c}, nil
	}
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
	if err != nil && sql.IsolationLevel(o.Isolation) != sql.LevelDefault {
		c.readCommitted = false
	}
	return tx, err
}

// ExecContext sends the statement with what is pending before it, or, for a deferred write
// (Tx.Later), keeps it for the next round trip.
func (c *textConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if c.lazy && isDeferred(ctx) {
		return laterResult{}, c.hold(ctx, q, args)
	}
	var res driver.Result
	err := c.withPending(ctx, q, args, func(q string, args []driver.NamedValue) (err error) {
		res, err = c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
		return err
	})
	return res, err
}

func (c *textConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	var rows driver.Rows
	err := c.withPending(ctx, q, args, func(q string, args []driver.NamedValue) (err error) {
		rows, err = c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
		return err
	})
	return rows, err
}

func (c *textConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *textConn) ResetSession(ctx context.Context) error {
	c.pending, c.pendingSize, c.begun, c.lazy = nil, 0, false, false // a transaction's end cleared them already
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *textConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }
