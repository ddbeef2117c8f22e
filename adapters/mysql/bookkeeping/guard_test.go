package bookkeeping_test

import (
	"context"
	"errors"
	"testing"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/internal/testdb"
)

// A transaction that the server ends behind fn's back (as a Galera node does when a replicated write
// set needs its locks, sometimes without an error for any statement) keeps none of what ran after the
// end, and runs again. Here the end is a ROLLBACK that fn sends itself, on one server: without the
// guard the INSERT after it commits on its own (autocommit) and the runner's COMMIT succeeds too.
func TestGuardedTransactionLostBehindItsBack(t *testing.T) {
	dsn := testdb.New(t, `CREATE TABLE t (id INT PRIMARY KEY, attempt INT NOT NULL);`)
	db, err := bookkeeping.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, guard := range []bool{false, true} {
		if _, err := db.Exec("DELETE FROM t"); err != nil {
			t.Fatal(err)
		}
		attempts := 0
		r := &bookkeeping.Runner{DB: db, Guard: guard, Rand: func() float64 { return 0 }}
		err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
			attempts++
			if _, err := tx.ExecContext(ctx, "INSERT INTO t (id, attempt) VALUES (1, ?)", attempts); err != nil {
				return err
			}
			if attempts == 1 {
				if _, err := tx.ExecContext(ctx, "ROLLBACK"); err != nil { // the transaction ends here
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO t (id, attempt) VALUES (2, ?)", attempts)
				return err
			}
			return nil
		})
		var rows []struct {
			ID      int `db:"id"`
			Attempt int `db:"attempt"`
		}
		if err := db.Select(&rows, "SELECT id, attempt FROM t ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		switch {
		case !guard:
			// What the guard is for: the row written after the end committed, the one before did not.
			if err != nil || attempts != 1 || len(rows) != 1 || rows[0].ID != 2 {
				t.Fatalf("unguarded: err %v, %d attempts, rows %+v; want the half-commit the guard prevents", err, attempts, rows)
			}
		case err != nil || attempts != 2 || len(rows) != 1 || rows[0].ID != 1 || rows[0].Attempt != 2:
			t.Fatalf("guarded: err %v, %d attempts, rows %+v; want one row from the second attempt", err, attempts, rows)
		}
	}
}

// When every attempt is lost, the error says so and is a conflict (answered 503 with Retry-After).
func TestGuardedTransactionLostEveryTime(t *testing.T) {
	db, err := bookkeeping.Open(testdb.New(t, `CREATE TABLE t (id INT PRIMARY KEY);`), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r := &bookkeeping.Runner{DB: db, Guard: true, Attempts: 2, Rand: func() float64 { return 0 }}
	err = r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		_, err := tx.ExecContext(ctx, "ROLLBACK")
		return err
	})
	if !errors.Is(err, bookkeeping.ErrTransactionLost) || !bookkeeping.Retryable(bookkeeping.MySQL, err) {
		t.Fatalf("err %v, want ErrTransactionLost, retryable", err)
	}
	// The guarded pool's connections are left clean: the next transaction on them commits.
	r.Attempts = 0
	if err := r.InTx(ctx, func(tx *bookkeeping.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t (id) VALUES (7)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM t WHERE id = 7"); err != nil || n != 1 {
		t.Fatalf("after the lost ones, a transaction's row: %d %v", n, err)
	}
}
