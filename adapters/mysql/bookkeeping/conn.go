package bookkeeping

import (
	"context"
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
// It also asks each new connection whether its server is a Galera node (cluster.go).
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
	return &textConn{conn}, nil
}

func (c textConnector) Driver() driver.Driver { return c.inner.Driver() }

// textConn forwards to the MySQL driver's connection, which implements every optional interface below.
type textConn struct{ driver.Conn }

func (c *textConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.([]byte); ok && b != nil && utf8.Valid(b) {
		nv.Value = string(b)
	}
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *textConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *textConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c *textConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *textConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *textConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *textConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *textConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }
