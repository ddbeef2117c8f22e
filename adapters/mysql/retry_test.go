package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/scimbridge/scimbridge/adapters/mysql/bookkeeping"
	"github.com/scimbridge/scimbridge/scim"
)

// A real server gives a deadlock or a dropped connection only by accident; sqlmock gives them on demand.

func mockStore(t *testing.T) (*Store, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dbx := sqlx.NewDb(db, "mysql")
	s := &Store{db: dbx, log: discardLog(), t: bookkeeping.NewTables("", dialect)}
	s.run = bookkeeping.Runner{DB: dbx, Tables: s.t, D: dialect}
	return s, mock
}

// MySQL's error numbers, as the server sends them.
const (
	errDupEntry       = 1062
	errLockWait       = 1205
	errDeadlock       = 1213
	errDataTooLong    = 1406
	errBadNull        = 1048
	errNoDefault      = 1364
	errTruncated      = 1265
	errIncorrectValue = 1366
	errOutOfRange     = 1264
	errRowIsReferred  = 1451
)

func TestDeadlockIsRetriedWholeTransaction(t *testing.T) {
	for _, code := range []uint16{errDeadlock, errLockWait} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s, mock := mockStore(t)
			mock.ExpectBegin()
			mock.ExpectExec("UPDATE x").WillReturnError(&mysqldriver.MySQLError{Number: code, Message: "try again"})
			mock.ExpectRollback()
			mock.ExpectBegin()
			mock.ExpectExec("UPDATE x").WillReturnResult(sqlmock.NewResult(0, 1))
			mock.ExpectCommit()
			runs := 0
			err := s.inTx(context.Background(), func(tx *bookkeeping.Tx) error {
				runs++
				_, err := tx.Exec("UPDATE x")
				return err
			})
			if err != nil || runs != 2 {
				t.Fatalf("err %v after %d runs; want success after 2", err, runs)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Galera reports a certification failure as 1213 or 1180, and a node leaving the cluster as 1047: the
// transaction runs again, as after a deadlock.
func TestClusterConflictsAreRetried(t *testing.T) {
	for _, code := range []uint16{1180, 1047} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s, mock := mockStore(t)
			mock.ExpectBegin()
			mock.ExpectExec("UPDATE x").WillReturnResult(sqlmock.NewResult(0, 1))
			mock.ExpectCommit().WillReturnError(&mysqldriver.MySQLError{Number: code, Message: "conflict"})
			mock.ExpectBegin()
			mock.ExpectExec("UPDATE x").WillReturnResult(sqlmock.NewResult(0, 1))
			mock.ExpectCommit()
			runs := 0
			err := s.inTx(context.Background(), func(tx *bookkeeping.Tx) error { runs++; _, err := tx.Exec("UPDATE x"); return err })
			if err != nil || runs != 2 {
				t.Fatalf("err %v after %d runs; want success after 2", err, runs)
			}
			if err := mock.ExpectationsWereMet(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// When every attempt meets a conflict the client gets 503 (which IdPs retry), not 500; the waits
// between attempts draw their jitter from the Runner's Rand, and the retries are counted.
func TestDeadlockGivesUpAfterFourAttemptsWith503(t *testing.T) {
	s, mock := mockStore(t)
	draws, retries := 0, 0
	s.run.Rand = func() float64 { draws++; return 0.5 }
	s.run.OnRetry = func() { retries++ }
	for i := 0; i < 4; i++ {
		mock.ExpectBegin()
		mock.ExpectExec("UPDATE x").WillReturnError(&mysqldriver.MySQLError{Number: errDeadlock, Message: "Deadlock found"})
		mock.ExpectRollback()
	}
	err := s.inTx(context.Background(), func(tx *bookkeeping.Tx) error { _, err := tx.Exec("UPDATE x"); return err })
	if se := scim.AsError(err); se.Status != 503 || !strings.Contains(se.Detail, "retry") {
		t.Fatalf("got %v, want 503 asking to retry", err)
	}
	if draws != 3 || retries != 3 {
		t.Fatalf("%d jitter draws, %d retries counted; want 3 of each (between 4 attempts)", draws, retries)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}

func TestCommitOnALostConnectionIsUnavailable(t *testing.T) {
	s, mock := mockStore(t)
	mock.ExpectBegin()
	mock.ExpectExec("INSERT").WillReturnResult(sqlmock.NewResult(1, 1))
	mock.ExpectCommit().WillReturnError(mysqldriver.ErrInvalidConn)
	err := s.inTx(context.Background(), func(tx *bookkeeping.Tx) error { _, err := tx.Exec("INSERT"); return err })
	if se := scim.AsError(err); se.Status != 503 {
		t.Fatalf("got %v, want 503", err)
	}
}

func TestClassify(t *testing.T) {
	s := &Store{log: discardLog()}
	my := func(n uint16, msg string) error { return &mysqldriver.MySQLError{Number: n, Message: msg} }
	cases := []struct {
		err          error
		status       int
		scimType     string
		detailHas    string
		detailHasNot string
	}{
		{my(errDupEntry, "Duplicate entry 'a@b' for key 'live_user_name'"), 409, scim.TypeUniqueness, "userName", "a@b"},
		{my(errDupEntry, "Duplicate entry 'x' for key 'users.uq_users_email'"), 409, scim.TypeUniqueness, "uq_users_email", "Duplicate"},
		{my(errDataTooLong, "Data too long for column 'first_name' at row 1"), 400, scim.TypeInvalidValue, "first_name", "row 1"},
		{my(errBadNull, "Column 'email' cannot be null"), 400, scim.TypeInvalidValue, "email", "cannot be null"},
		{my(errRowIsReferred, "Cannot delete or update a parent row: a foreign key constraint fails (`app`.`orders`...)"), 409, "", "refer", "orders"},
		{my(1146, "Table 'app.users' doesn't exist"), 500, "", "internal error", "users"},
		{my(errDeadlock, "Deadlock found when trying to get lock"), 503, "", "retry", "Deadlock"},
		{driver.ErrBadConn, 503, "", "unavailable", ""},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, 503, "", "unavailable", "refused"},
		{context.DeadlineExceeded, 503, "", "timed out", ""},
	}
	for _, c := range cases {
		se := scim.AsError(s.classify(c.err))
		if se.Status != c.status || se.ScimType != c.scimType || !contains(se.Detail, c.detailHas) ||
			(c.detailHasNot != "" && contains(se.Detail, c.detailHasNot)) {
			t.Errorf("%v -> %d %q %q", c.err, se.Status, se.ScimType, se.Detail)
		}
		if !errors.Is(se, c.err) && se.Err == nil {
			t.Errorf("%v: the cause is not kept for the log", c.err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
