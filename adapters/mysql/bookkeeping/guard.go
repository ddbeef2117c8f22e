package bookkeeping

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"sync"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// A Galera node can end a client's transaction behind its back: when a write set replicated from
// another node needs a lock the transaction holds, the node aborts the transaction (a "brute force"
// abort), and the client is told with a deadlock error on its next statement, usually. Not always:
// measured on MariaDB 10.11 with galera-4 (cluster.TestGaleraAddMemberRacesDelete), a user's DELETE
// whose mark write (MarkUsers) met an add of that user replicated from the other node was rolled
// back while every one of its statements, before and after, answered success. The statements after the
// abort then ran outside any transaction: with autocommit on, each committed on its own, and the DELETE
// left a member row of the deleted user behind (about one race in 300; `SELECT @@in_transaction` read 0
// just before the COMMIT that also succeeded).
//
// So on a Galera node (and wherever Guard asks) a transaction runs on a connection with autocommit off,
// where statements after such an abort open a new implicit transaction instead of committing, and it
// carries a witness: a savepoint set right after it begins and released just before it commits. A
// savepoint belongs to its transaction; if the release finds it gone, the transaction it was set in
// has ended, and what ran since is rolled back with ErrTransactionLost, which is retried as a conflict.

// ErrTransactionLost is a transaction that the server ended before its commit without an error for any
// of its statements: nothing of it is kept, and it may run again (Retryable).
var ErrTransactionLost = errors.New("the database ended the transaction before its commit (a cluster conflict)")

const (
	witnessSavepoint = "scimbridge_witness"
	errNoSavepoint   = 1305 // "SAVEPOINT ... does not exist"
)

// Txn is a transaction begun by Begin: a *sqlx.Tx whose Commit first checks its witness.
type Txn struct {
	*sqlx.Tx
	witness bool
}

// Begin begins a transaction on db (a pool Open made) that a silent abort cannot half-commit: on a
// Galera node, or when guard is set, it runs on db's autocommit-off pool and carries a witness (see
// above); elsewhere it is db.BeginTxx.
func Begin(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, guard bool) (*Txn, error) {
	guard = guard || onGalera(ctx, db)
	if guard {
		if pool := guardedPool(db); pool != nil {
			db = pool
		}
	}
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if !guard {
		return &Txn{Tx: tx}, nil
	}
	// With the transaction's first statement (pending.go), as its START TRANSACTION.
	if _, err := tx.ExecContext(deferring(ctx), "SAVEPOINT "+witnessSavepoint); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return &Txn{Tx: tx, witness: true}, nil
}

// beginIn is Begin on a pool, and a plain transaction on one connection (a Conn), where Begin's pool
// swap cannot apply.
func beginIn(ctx context.Context, db beginner, opts *sql.TxOptions) (*Txn, error) {
	if pool, ok := db.(*sqlx.DB); ok {
		return Begin(ctx, pool, opts, false)
	}
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Txn{Tx: tx}, nil
}

// Commit commits the transaction if its witness is still there; otherwise it rolls back what ran since
// the transaction was lost and returns ErrTransactionLost. The release goes with the COMMIT in one round
// trip (pending.go), which then does not run.
func (t *Txn) Commit() error {
	if t.witness {
		if _, err := t.ExecContext(deferring(context.Background()), "RELEASE SAVEPOINT "+witnessSavepoint); err != nil {
			_ = t.Tx.Rollback()
			return lostIf(err)
		}
	}
	return lostIf(t.Tx.Commit())
}

// lostIf is ErrTransactionLost for the error of a release that found its savepoint gone, else err.
func lostIf(err error) error {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) && me.Number == errNoSavepoint {
		return ErrTransactionLost
	}
	return err
}

// guarded is the autocommit-off pool of one pool Open made, opened on first use.
type guarded struct {
	once sync.Once
	open func() *sqlx.DB
	db   *sqlx.DB
}

// guardedPool is db's autocommit-off pool, or nil for a pool Open did not make. Its connections are
// used for transactions only (between BEGIN and COMMIT or ROLLBACK no statement runs outside one), and
// close when idle for a minute, so an unused pool costs nothing.
func guardedPool(db *sqlx.DB) *sqlx.DB {
	c, ok := clusters.Load(db.DB)
	if !ok || c.(*cluster).guarded.open == nil {
		return nil
	}
	g := &c.(*cluster).guarded
	g.once.Do(func() { g.db = g.open() })
	return g.db
}

// autocommitOff is cfg with autocommit off for each session, for guardedPool.
func autocommitOff(cfg *mysqldriver.Config) *mysqldriver.Config {
	off := cfg.Clone()
	off.Params = maps.Clone(cfg.Params)
	off.Params["autocommit"] = "0"
	return off
}
