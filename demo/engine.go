package demo

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/sirupsen/logrus"
)

// DatabaseName is the name of the embedded in-memory database.
const DatabaseName = "legacy"

// LockWait is how long a statement waits for another connection's transaction to end before it fails
// with MySQL's lock wait timeout (1205), which scimbridge retries. MariaDB's default is 50 seconds.
const LockWait = 10 * time.Second

// Engine is an in-memory MySQL-compatible server (go-mysql-server) speaking the MySQL protocol on a TCP
// port, so that scimbridge and the sample app reach it exactly as they would reach MariaDB.
//
// go-mysql-server's memory engine does not support concurrent transactions: each one works on its own
// copy of a table and its commit puts that copy back whole, so a transaction (even a read) that ends
// after another one's commit silently undoes it. The engine therefore runs one transaction at a time:
// a connection takes a database-wide lock with its first statement and keeps it until it is out of any
// transaction. It takes no row locks; the database-wide lock is what keeps SELECT ... FOR UPDATE safe.
type Engine struct {
	srv  *server.Server
	addr string
	done chan struct{}
}

// StartEngine listens on addr ("127.0.0.1:0" for a free port) and serves an empty database "legacy".
func StartEngine(addr string) (*Engine, error) {
	// go-mysql-server logs every connection through logrus' standard logger at info level, and warns
	// about secure_file_priv; only errors matter here.
	logrus.SetLevel(logrus.ErrorLevel)

	// Primary key indexes are needed for the schema's foreign keys ("missing index for foreign key"
	// otherwise), also in databases made later with CREATE DATABASE.
	db := memory.NewDatabase(DatabaseName)
	db.BaseDatabase.EnablePrimaryKeyIndexes()
	pro := memory.NewDBProvider(db)
	pro.WithOption(memory.NativeIndexProvider(true))

	b := analyzer.NewBuilder(pro)
	for _, r := range analyzer.OnceAfterDefault {
		switch r.Id.String() {
		case "replaceAgg":
			// With primary key indexes it turns "SELECT MAX(pk) FROM t" into "SELECT pk FROM t ORDER BY pk
			// DESC LIMIT 1", which answers an empty table with no row instead of one row holding NULL:
			// mysql.Migrate's "SELECT COALESCE(MAX(version), 0)" then finds no row.
			b.RemoveOnceAfterRule(r.Id)
		case "unnestExistsSubqueries":
			// It turns "EXISTS (SELECT 1 FROM JSON_TABLE(b.doc, ...))" into a join that loses the reference
			// to the outer row ("unable to find field with index 12 in row of 0 columns"), which breaks
			// scimbridge's filters on multi-valued attributes.
			b.RemoveOnceAfterRule(r.Id)
		}
	}
	engine := sqle.New(b.Build(), nil)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	cfg := server.Config{Protocol: "tcp", Address: ln.Addr().String(), Listener: ln}
	serial := func(h mysql.Handler) (mysql.Handler, error) {
		return &serialHandler{Handler: h, sem: make(chan struct{}, 1), held: map[uint32]bool{}}, nil
	}
	srv, err := server.NewServerWithHandler(cfg, engine, sql.NewContext, memory.NewSessionBuilder(pro), nil, serial)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	e := &Engine{srv: srv, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		_ = srv.Start() // returns once Close has closed the listener
	}()
	return e, nil
}

// Addr is the host:port the engine listens on.
func (e *Engine) Addr() string { return e.addr }

// DSN is a go-sql-driver DSN for the "legacy" database. The engine has no user accounts: any user name
// without a password is let in.
func (e *Engine) DSN() string { return "root@tcp(" + e.addr + ")/" + DatabaseName }

// Close stops accepting connections and waits for the accept loop to end. Connections still open are
// not closed: close the clients first.
func (e *Engine) Close(ctx context.Context) error {
	err := e.srv.Close()
	select {
	case <-e.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// serialHandler runs one transaction at a time (see Engine), and gives some errors MySQL's numbers
// (mysqlError). A connection takes the lock before its
// statement runs and gives it back once the statement has left it outside any transaction, as the
// handler's status flags tell; a closed connection gives it back too.
type serialHandler struct {
	mysql.Handler
	sem  chan struct{} // holds a token while some connection has the lock
	mu   sync.Mutex
	held map[uint32]bool // connection ids holding the lock
}

func (h *serialHandler) acquire(ctx context.Context, c *mysql.Conn) error {
	h.mu.Lock()
	held := h.held[c.ConnectionID]
	h.mu.Unlock()
	if held {
		return nil
	}
	t := time.NewTimer(LockWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
	case <-t.C:
		return mysql.NewSQLError(mysql.ERLockWaitTimeout, mysql.SSUnknownSQLState,
			"Lock wait timeout exceeded; try restarting transaction (the demo database runs one transaction at a time)")
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	h.held[c.ConnectionID] = true
	h.mu.Unlock()
	return nil
}

// release gives the lock back unless the connection is inside a transaction (or always, when force).
func (h *serialHandler) release(c *mysql.Conn, force bool) {
	if !force && c.StatusFlags&uint16(mysql.ServerInTransaction) != 0 {
		return
	}
	h.mu.Lock()
	held := h.held[c.ConnectionID]
	delete(h.held, c.ConnectionID)
	h.mu.Unlock()
	if held {
		<-h.sem
	}
}

func (h *serialHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	if err := h.acquire(ctx, c); err != nil {
		return err
	}
	defer h.release(c, false)
	return mysqlError(h.Handler.ComQuery(ctx, c, query, callback))
}

func (h *serialHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	if err := h.acquire(ctx, c); err != nil {
		return "", err
	}
	defer h.release(c, false)
	rest, err := h.Handler.ComMultiQuery(ctx, c, query, callback)
	return rest, mysqlError(err)
}

func (h *serialHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	if err := h.acquire(ctx, c); err != nil {
		return nil, err
	}
	defer h.release(c, false)
	return h.Handler.ComPrepare(ctx, c, query, prepare)
}

func (h *serialHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	if err := h.acquire(ctx, c); err != nil {
		return err
	}
	defer h.release(c, false)
	return mysqlError(h.Handler.ComStmtExecute(ctx, c, prepare, callback))
}

func (h *serialHandler) ComResetConnection(c *mysql.Conn) error {
	if err := h.acquire(context.Background(), c); err != nil {
		return err
	}
	defer h.release(c, false)
	return h.Handler.ComResetConnection(c)
}

func (h *serialHandler) ConnectionClosed(c *mysql.Conn) {
	defer h.release(c, true)
	h.Handler.ConnectionClosed(c)
}
