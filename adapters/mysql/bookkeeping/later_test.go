package bookkeeping_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

const laterSchema = `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, big LONGTEXT NULL);
CREATE TABLE log (seq INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40) NOT NULL);`

// Deferred writes reach the table at the commit, in the order queued, in one round trip after the
// transaction's own statements; []byte arguments stay text, as they do one at a time.
func TestLaterWritesAtTheCommitInOrder(t *testing.T) {
	db, queries := openCounting(t, testdb.New(t, laterSchema))
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db}
	err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t (id, v) VALUES (1, 'now')"); err != nil {
			return err
		}
		for _, w := range []string{"first", "second", "third"} {
			if err := tx.Later(ctx, "INSERT INTO log (what) VALUES (?)", []byte(w)); err != nil {
				return err
			}
		}
		if err := tx.Later(ctx, "UPDATE t SET v = ? WHERE id = 1", "later"); err != nil {
			return err
		}
		// Through Deferred, as WriteValues takes it; its result is not known yet.
		res, err := tx.Deferred().ExecContext(ctx, "UPDATE t SET v = CONCAT(v, '+') WHERE id = ?", 1)
		if err != nil {
			return err
		}
		if _, err := res.RowsAffected(); err == nil {
			t.Error("a deferred write's RowsAffected answered before the commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := db.Get(&v, "SELECT v FROM t WHERE id = 1"); err != nil || v != "later+" {
		t.Errorf("t.v = %q (%v), want the updates applied in order: later+", v, err)
	}
	var log []string
	if err := db.Select(&log, "SELECT what FROM log ORDER BY seq"); err != nil || strings.Join(log, ",") != "first,second,third" {
		t.Errorf("log %v (%v), want first,second,third", log, err)
	}
	// START TRANSACTION with the INSERT, the five deferred writes with the COMMIT, and the checks' two SELECTs.
	if got := queries.Load(); got != 2+2 {
		t.Errorf("%d round trips, want 4", got)
	}
}

// A deferred write that fails fails the transaction at its commit: nothing of it is kept, neither
// the writes before it in the batch nor the transaction's own statements.
func TestLaterFailureRollsBackTheWholeTransaction(t *testing.T) {
	db, _ := openCounting(t, testdb.New(t, laterSchema))
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db}
	err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t (id, v) VALUES (1, 'now')"); err != nil {
			return err
		}
		if err := tx.Later(ctx, "INSERT INTO log (what) VALUES (?)", "kept?"); err != nil {
			return err
		}
		return tx.Later(ctx, "INSERT INTO t (id, v) VALUES (2, ?)", strings.Repeat("x", 21)) // too long: strict mode refuses it
	})
	var me *mysqldriver.MySQLError
	if !errors.As(err, &me) || me.Number != 1406 {
		t.Fatalf("err %v, want MySQL error 1406 (data too long) from the commit", err)
	}
	var n int
	if err := db.Get(&n, "SELECT (SELECT COUNT(*) FROM t) + (SELECT COUNT(*) FROM log)"); err != nil || n != 0 {
		t.Errorf("%d rows left (%v), want none", n, err)
	}
	// The COMMIT that went with the failing write did not run: the connection (the pool's only one) must
	// not have gone back with the transaction still open.
	if err := db.Get(&n, "SELECT @@in_transaction"); err != nil || n != 0 {
		t.Errorf("@@in_transaction = %d (%v) after the failed commit, want 0", n, err)
	}
}

// A statement after a deferred write sees it (they go together, in order), and a transaction that sent
// nothing costs no round trip.
func TestLaterIsSeenByTheNextStatement(t *testing.T) {
	db, queries := openCounting(t, testdb.New(t, laterSchema))
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db}
	err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if err := tx.Later(ctx, "INSERT INTO log (what) VALUES (?)", "seen"); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM log WHERE what = 'seen'"); err != nil || n != 1 {
			t.Errorf("the next statement counts %d rows (%v), want the deferred one", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := queries.Load(); got != 2 { // START TRANSACTION, INSERT and SELECT; COMMIT
		t.Errorf("%d round trips, want 2", got)
	}
	queries.Store(0)
	if err := r.InTx(ctx, func(tx *bookkeeping.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := queries.Load(); got != 0 {
		t.Errorf("an empty transaction took %d round trips, want none", got)
	}
}

// Writes bigger together than one batch holds go in several, all of them.
func TestLaterSplitsBigBatches(t *testing.T) {
	db, queries := openCounting(t, testdb.New(t, laterSchema))
	ctx := context.Background()
	big := strings.Repeat("é'\\", 120_000) // 480 KB, about twice that escaped: one per round trip
	r := &bookkeeping.Runner{DB: db}
	err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		for i := range 4 {
			if err := tx.Later(ctx, "INSERT INTO t (id, v, big) VALUES (?, 'big', ?)", i, big); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM t WHERE big = ?", big); err != nil || n != 4 {
		t.Errorf("%d rows with the big value (%v), want 4", n, err)
	}
	if got := queries.Load() - 1; got != 4 { // a write per round trip, the first with START TRANSACTION, the last with COMMIT; not the check's SELECT
		t.Errorf("%d round trips, want 4", got)
	}
}

// On a pool Open did not make (no lazy transactions), Later writes at once.
func TestLaterWritesAtOnceOnAPoolOpenDidNotMake(t *testing.T) {
	dsn := testdb.New(t, laterSchema)
	db := sqlx.MustOpen("mysql", dsn)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db}
	err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if err := tx.Later(ctx, "INSERT INTO log (what) VALUES (?)", "at once"); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM log"); err != nil || n != 1 {
			t.Errorf("inside the transaction: %d rows (%v), want the write done", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// In an enclosing transaction (go-live's), each step's deferred writes go before its savepoint is
// released, and a step whose deferred write fails is rolled back to its savepoint alone.
func TestLaterWithinSavepoints(t *testing.T) {
	db, _ := openCounting(t, testdb.New(t, laterSchema))
	ctx := context.Background()
	outer, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Rollback()
	r := &bookkeeping.Runner{DB: db, Within: outer}
	if err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		return tx.Later(ctx, "INSERT INTO log (what) VALUES ('step 1')")
	}); err != nil {
		t.Fatal(err)
	}
	err = r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO log (what) VALUES ('step 2')"); err != nil {
			return err
		}
		return tx.Later(ctx, "INSERT INTO t (id, v) VALUES (1, ?)", strings.Repeat("x", 21))
	})
	if err == nil {
		t.Fatal("step 2's failing deferred write did not fail it")
	}
	var log []string
	if err := outer.Select(&log, "SELECT what FROM log ORDER BY seq"); err != nil || strings.Join(log, ",") != "step 1" {
		t.Errorf("log %v (%v), want step 1 alone", log, err)
	}
}

// openCounting opens dsn with Open, the driver's connections wrapped to count the queries they send
// the server (each a round trip), on one connection, counted from after its set-up.
func openCounting(t *testing.T, dsn string) (*sqlx.DB, *atomic.Int64) {
	t.Helper()
	n := &atomic.Int64{}
	db, err := bookkeeping.OpenWrapped(dsn, 1, func(c driver.Connector) driver.Connector { return countingConnector{c, n} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	n.Store(0)
	return db, n
}

type countingConnector struct {
	inner driver.Connector
	n     *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{conn, c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.inner.Driver() }

// countingConn counts the queries sent; it implements what bookkeeping's connection uses of the driver's.
type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	c.n.Add(1)
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// A transaction whose connection turns out dead at its first statement (driver.ErrBadConn: nothing
// reached the server) runs again on another, as database/sql did when the begin itself was a round trip.
func TestTransactionOnADeadConnectionRunsAgain(t *testing.T) {
	dsn := testdb.New(t, laterSchema)
	var dead atomic.Bool
	dead.Store(true)
	db, err := bookkeeping.OpenWrapped(dsn, 2, func(c driver.Connector) driver.Connector { return deadOnceConnector{c, &dead} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	runs := 0
	r := &bookkeeping.Runner{DB: db}
	err = r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		runs++
		_, err := tx.ExecContext(ctx, "INSERT INTO log (what) VALUES ('once')")
		return err
	})
	if err != nil || runs != 2 {
		t.Fatalf("err %v after %d runs; want success on the second", err, runs)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM log"); err != nil || n != 1 {
		t.Errorf("%d rows (%v), want 1", n, err)
	}
}

// deadOnceConnector's connections answer their first query with driver.ErrBadConn while dead is set,
// and clear it: one dead connection.
type deadOnceConnector struct {
	inner driver.Connector
	dead  *atomic.Bool
}

func (c deadOnceConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &deadOnceConn{countingConn{conn, &atomic.Int64{}}, c.dead, false}, nil
}

func (c deadOnceConnector) Driver() driver.Driver { return c.inner.Driver() }

type deadOnceConn struct {
	countingConn
	dead *atomic.Bool
	bad  bool
}

func (c *deadOnceConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if strings.HasPrefix(q, "START TRANSACTION") && c.dead.CompareAndSwap(true, false) {
		c.bad = true
		return nil, driver.ErrBadConn
	}
	return c.countingConn.ExecContext(ctx, q, args)
}

func (c *deadOnceConn) IsValid() bool { return !c.bad && c.countingConn.IsValid() }
