package webhook

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// tap is told about the queries a Worker runs, at the driver: after a query has started (its snapshot
// is taken) and when its rows are closed, with how many it returned. Tests use it to commit a
// transaction between two statements of a fan-out, and to count what a fan-out reads.
type tap struct {
	started func(query string)
	read    func(query string, rows int)
}

// tappedDB opens dsn as mysql.Open does (UTC times, the same session settings), through tap.
func tappedDB(t *testing.T, dsn string, tp *tap) *sqlx.DB {
	t.Helper()
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ParseTime, cfg.Loc = true, time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	inner, err := mysqldriver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sqlx.NewDb(sql.OpenDB(tapConnector{inner, tp}), "mysql")
	t.Cleanup(func() { db.Close() })
	return db
}

type tapConnector struct {
	inner driver.Connector
	tp    *tap
}

func (c tapConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &tapConn{conn, c.tp}, nil
}

func (c tapConnector) Driver() driver.Driver { return c.inner.Driver() }

// tapConn forwards to the MySQL driver's connection, which implements every interface used here.
type tapConn struct {
	driver.Conn
	tp *tap
}

func (c *tapConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &tapStmt{st, q, c.tp}, nil
}

func (c *tapConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c *tapConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *tapConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil {
		return rows, err
	}
	return c.tp.wrap(q, rows), nil
}

func (c *tapConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }
func (c *tapConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}
func (c *tapConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }
func (c *tapConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type tapStmt struct {
	driver.Stmt
	q  string
	tp *tap
}

func (s *tapStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *tapStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return rows, err
	}
	return s.tp.wrap(s.q, rows), nil
}

func (s *tapStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (tp *tap) wrap(q string, rows driver.Rows) driver.Rows {
	if tp.started != nil {
		tp.started(q)
	}
	return &tapRows{Rows: rows, q: q, tp: tp}
}

type tapRows struct {
	driver.Rows
	q  string
	tp *tap
	n  int
}

func (r *tapRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == nil {
		r.n++
	}
	return err
}

func (r *tapRows) Close() error {
	if r.tp.read != nil {
		r.tp.read(r.q, r.n)
	}
	return r.Rows.Close()
}
