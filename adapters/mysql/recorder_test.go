package mysql_test

import (
	"context"
	"database/sql/driver"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
)

// recorder keeps the text of every statement run through a database opened with openRecording, so
// that a test can EXPLAIN what the store really sent rather than a copy of its SQL.
type recorder struct {
	mu    sync.Mutex
	stmts []recorded
	trips int
}

// recorded is one statement; trip numbers the round trip it went in (several statements share one
// when a transaction sends some ahead of the next: bookkeeping's pending.go).
type recorded struct {
	query string
	args  []driver.NamedValue
	trip  int
}

// connSetUp are the statements Open's connections send once, when they connect: not a write's.
var connSetUp = map[string]bool{"SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'version')": true, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED": true}

func (r *recorder) add(q string, args []driver.NamedValue) {
	if connSetUp[q] {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips++
	for _, part := range strings.Split(q, ";\n") {
		n := strings.Count(part, "?") // the statements here hold no ? but their placeholders
		r.stmts = append(r.stmts, recorded{part, append([]driver.NamedValue(nil), args[:n]...), r.trips})
		args = args[n:]
	}
}

// roundTrips is how many round trips stmts took.
func roundTrips(stmts []recorded) int {
	n, last := 0, -1
	for _, s := range stmts {
		if s.trip != last {
			n, last = n+1, s.trip
		}
	}
	return n
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

// openRecording opens dsn with mysql.Open's settings (bookkeeping.OpenWrapped), the driver's connections
// recording every statement as the server receives it.
func openRecording(t *testing.T, dsn string) (*sqlx.DB, *recorder) {
	t.Helper()
	rec := &recorder{}
	db, err := bookkeeping.OpenWrapped(dsn, 20, func(c driver.Connector) driver.Connector { return recConnector{c, rec} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, rec
}

type recConnector struct {
	inner driver.Connector
	rec   *recorder
}

func (c recConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &recConn{conn, c.rec}, nil
}

func (c recConnector) Driver() driver.Driver { return c.inner.Driver() }

// recConn forwards to the MySQL driver's connection, which implements every optional interface used here.
type recConn struct {
	driver.Conn
	rec *recorder
}

func (c *recConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &recStmt{st, q, c.rec}, nil
}

func (c *recConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c *recConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	if err != driver.ErrSkip {
		c.rec.add(q, args)
	}
	return res, err
}

func (c *recConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != driver.ErrSkip {
		c.rec.add(q, args)
	}
	return rows, err
}

func (c *recConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }
func (c *recConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}
func (c *recConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }
func (c *recConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type recStmt struct {
	driver.Stmt
	q   string
	rec *recorder
}

func (s *recStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.rec.add(s.q, args)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *recStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.rec.add(s.q, args)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *recStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
