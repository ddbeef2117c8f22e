package bookkeeping_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

// questions is the number of statements the one session of db (a pool of one) has received, the SHOW
// itself included.
func questions(t *testing.T, db *sqlx.DB) int {
	t.Helper()
	var name string
	var n int
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Questions'").Scan(&name, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// readCommitted runs a transaction with r that reads t twice, while another session inserts a row in
// between and commits: READ COMMITTED sees it in the second read, REPEATABLE READ does not.
func readCommitted(t *testing.T, r *bookkeeping.Runner, other *sqlx.DB, id int) bool {
	t.Helper()
	var before, after int
	err := r.InTx(context.Background(), func(tx *bookkeeping.Tx) error {
		if err := tx.Get(&before, "SELECT COUNT(*) FROM t"); err != nil {
			return err
		}
		if _, err := other.Exec("INSERT INTO t (id) VALUES (?)", id); err != nil {
			return err
		}
		return tx.Get(&after, "SELECT COUNT(*) FROM t")
	})
	if err != nil {
		t.Fatal(err)
	}
	return after == before+1
}

// Every InTx transaction is READ COMMITTED. On a pool Open made, the session already is (each
// connection is set so when it connects), and a transaction begins with START TRANSACTION alone: one
// statement instead of SET TRANSACTION ISOLATION LEVEL and START TRANSACTION. A REPEATABLE READ
// transaction on the same session (the list snapshot's) does not change the next one's level, a guarded
// transaction (autocommit off) is READ COMMITTED too, and a pool Open did not make, whose session is
// REPEATABLE READ, still gets READ COMMITTED by asking for it.
func TestInTxIsReadCommittedInOneBeginStatement(t *testing.T) {
	dsn := testdb.New(t, `CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB`)
	db, err := bookkeeping.Open(dsn, 1) // one session: its status counts this test's statements
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := bookkeeping.Open(dsn, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db, Tables: bookkeeping.NewTables("", bookkeeping.MySQL)}

	q0 := questions(t, db)
	var level string
	if err := r.InTx(ctx, func(tx *bookkeeping.Tx) error { return tx.Get(&level, "SELECT @@tx_isolation") }); err != nil {
		t.Fatal(err)
	}
	// Between the two SHOWs: the begin, the SELECT and the COMMIT (the second SHOW counts itself).
	if sent := questions(t, db) - q0 - 1; level != "READ-COMMITTED" || sent != 3 {
		t.Fatalf("InTx: @@tx_isolation %s in %d statements; want READ-COMMITTED in 3 (START TRANSACTION, SELECT, COMMIT)", level, sent)
	}
	if !readCommitted(t, r, other, 1) {
		t.Fatal("InTx did not see a row another session committed during it: not READ COMMITTED")
	}
	// The list snapshot's kind of transaction, on the same session.
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n, m int
	if err := tx.Get(&n, "SELECT COUNT(*) FROM t"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec("INSERT INTO t (id) VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Get(&m, "SELECT COUNT(*) FROM t"); err != nil || m != n {
		t.Fatalf("REPEATABLE READ saw %d rows then %d (%v): the snapshot transaction did not get its level", n, m, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if !readCommitted(t, r, other, 3) {
		t.Fatal("InTx after a REPEATABLE READ transaction on its session is not READ COMMITTED")
	}
	// A guarded transaction (a Galera node's: Open's autocommit-off pool, its sessions set the same way).
	guarded := &bookkeeping.Runner{DB: db, Tables: r.Tables, Guard: true}
	if err := guarded.InTx(ctx, func(tx *bookkeeping.Tx) error { return tx.Get(&level, "SELECT @@tx_isolation") }); err != nil || level != "READ-COMMITTED" {
		t.Fatalf("guarded InTx: @@tx_isolation %s, %v; want READ-COMMITTED", level, err)
	}
	if !readCommitted(t, guarded, other, 5) {
		t.Fatal("a guarded InTx is not READ COMMITTED")
	}

	// A pool of the plain driver, its session left at the server's REPEATABLE READ.
	plain, err := sqlx.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.SetMaxOpenConns(1)
	if err := plain.Get(&level, "SELECT @@tx_isolation"); err != nil || level != "REPEATABLE-READ" {
		t.Fatalf("plain session: %s, %v; want the server's default REPEATABLE-READ", level, err)
	}
	if !readCommitted(t, &bookkeeping.Runner{DB: plain, Tables: r.Tables}, other, 4) {
		t.Fatal("InTx on a pool Open did not make is not READ COMMITTED")
	}
}
