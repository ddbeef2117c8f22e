package bookkeeping

import (
	"context"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// On a Galera node a duplicate PRIMARY key (an AUTO_INCREMENT value another node took during a
// membership change) runs again, at most galeraDupRetries times; on one server it is a duplicate at
// once. A single server cannot produce the first, hence sqlmock.
func TestDuplicatePrimaryRunsAgainOnlyOnGalera(t *testing.T) {
	for _, galera := range []bool{false, true} {
		db, mock, err := sqlmock.New()
		if err != nil {
			t.Fatal(err)
		}
		dbx := sqlx.NewDb(db, "mysql")
		c := &cluster{}
		c.galera.Store(galera)
		clusters.Store(dbx.DB, c)
		dup := &mysqldriver.MySQLError{Number: errDupEntry, Message: "Duplicate entry '42' for key 'PRIMARY'"}
		for range galeraDupRetries + 1 {
			mock.ExpectBegin()
			if galera { // the witness (guard.go); the mock is its own guarded pool (no open func)
				mock.ExpectExec("SAVEPOINT scimbridge_witness").WillReturnResult(sqlmock.NewResult(0, 0))
			}
			mock.ExpectExec("INSERT").WillReturnError(dup)
			mock.ExpectRollback()
		}
		runs := 0
		r := &Runner{DB: dbx, Rand: func() float64 { return 0 }}
		err = r.InTx(context.Background(), func(tx *Tx) error { runs++; _, err := tx.Exec("INSERT x"); return err })
		want := 1
		if galera {
			want = galeraDupRetries + 1
		}
		if kind, _ := MySQL.Classify(err); kind != ErrDuplicate || runs != want {
			t.Errorf("galera %v: %d runs, %v; want %d runs and the duplicate", galera, runs, err, want)
		}
		clusters.Delete(dbx.DB)
		db.Close()
	}
}
