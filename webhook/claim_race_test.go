package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/jmoiron/sqlx"
)

// The lease UPDATE of a claim is conditional and counted: when it moves fewer rows than were locked (an
// engine whose SKIP LOCKED does not lock, such as TiDB, or another Galera node's replica), the claim
// rolls back and leases nothing, rather than sending deliveries another replica sends too. A single
// MariaDB server never lets it happen (its SKIP LOCKED read excludes the rows), hence sqlmock.
func TestClaimThatLosesARowToAnotherReplicaLeasesNothing(t *testing.T) {
	db, mock, err := sqlmock.New()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := New(sqlx.NewDb(db, "mysql"), Options{Endpoints: []Endpoint{{Name: "app", URL: "http://127.0.0.1:1/hook",
		Events: []string{"user.*"}, Secret: []byte("secret")}}, Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	mock.ExpectQuery("SELECT d.subject").WillReturnRows(sqlmock.NewRows([]string{"subject"}).AddRow("user:1").AddRow("user:2"))
	mock.ExpectQuery("SELECT id, subject").WillReturnRows(sqlmock.NewRows([]string{"id", "subject", "free"}).
		AddRow(1, "user:1", true).AddRow(2, "user:2", true))
	mock.ExpectBegin()
	mock.ExpectQuery("SELECT id, seq").WillReturnRows(sqlmock.NewRows([]string{"id", "seq", "event_id", "type", "subject", "attempts", "enqueued_at"}).
		AddRow(1, 10, "e1", "user.created", "user:1", 0, time.Unix(1e9, 0)).AddRow(2, 11, "e2", "user.created", "user:2", 0, time.Unix(1e9, 0)))
	mock.ExpectExec("UPDATE .* AND waiting = 1 AND \\(lease_until IS NULL OR lease_until <= \\?\\)").WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectRollback()
	got, err := w.claim(context.Background(), w.endpoints[0], 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("claimed %v, %v; want nothing", got, err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}
